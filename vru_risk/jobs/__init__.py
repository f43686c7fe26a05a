"""Use cases: a training, an audit, the daily flags job.

Each job takes Settings, returns a typed result and raises domain errors; it prints nothing.
The CLI and the service call jobs; jobs call the stages below them.
"""
