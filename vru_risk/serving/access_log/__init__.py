"""The access log: who viewed which young person, when and why, as append-only, keyed,
hash-chained rows (:mod:`~vru_risk.serving.access_log.log`).

Beside the log: what a row is (``records``), the locks its writers queue on (``locks``), its
two records outside the database (``files``, kept up to date by ``mirror``), the checks before
it is used (``ready``), verification (``verify``, reported by ``report``), and key rotation and
pruning (``maintenance``).
"""
