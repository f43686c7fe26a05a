"""The fairness stage: whom a ranking flags and misses, by group, at the service's operating point.

The flow, one module each: ``operating_points`` (who is flagged: the places the service would have
offered, replayed; the hindsight monthly lists of :mod:`vru_risk.models.service_lists`; a threshold,
the top k or a top fraction), ``allocation`` (which of the first two a model's audit judges, and
why), ``inputs`` (validation), ``groups`` (group labels and reference groups), ``metrics``
(per-group rates, suppression, composition, comparisons), ``audit`` (``audit`` → ``AuditResult``),
``confusion`` and ``bootstrap`` (intervals resampling people), ``gate`` (the fairness gate),
``mitigation`` and ``reweighing`` (alternatives for the panel), ``proxy`` (do the features carry an
attribute?), ``notes`` and ``unassessable`` (groups that cannot be assessed, in words),
``model_audit`` (the audit of a trained model over its audit window) and ``report`` (JSON and HTML
for the ethics panel).
"""
