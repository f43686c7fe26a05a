"""Use cases, callable from Python: a synthetic county, a contract check, a feature build, a
training, an audit (of a model version or of any tool's scores) and the daily flags job.

Each job takes the :class:`~vru_risk.settings.Settings` it needs and its request, returns a
typed result and raises :class:`~vru_risk.jobs.common.JobError` (invalid input, the message says
what to do); it prints nothing. Long work reports through an optional ``progress(stage, done,
total)`` callback, and what a user should hear on the way (a cached table reused, runs left
running) through an optional ``on_event`` callback (:mod:`vru_risk.jobs.events`). The CLI and the
service call jobs; jobs call the stages below them.

Importing this package imports nothing heavy: each job module imports its stages.
"""
