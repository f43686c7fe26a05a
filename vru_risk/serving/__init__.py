"""The service practitioners and the ethics panel use: a FastAPI app (JSON API and pages) over
the application database (:mod:`vru_risk.store`), showing the daily job's flags to the programmes
they are offered to.

- :mod:`~vru_risk.serving.app` builds the app from the settings; :mod:`~vru_risk.serving.server`
  runs it under uvicorn; :mod:`~vru_risk.serving.middleware` guards every request.
- :mod:`~vru_risk.serving.deps`: the app's state and the routes' dependencies (sessions, the
  signed-in user and roles, CSRF, the audit log, the model in service), built on
  :mod:`~vru_risk.serving.credentials`, :mod:`~vru_risk.serving.auth` (sessions, CSRF),
  :mod:`~vru_risk.serving.tokens` (API tokens), :mod:`~vru_risk.store.users`,
  :mod:`~vru_risk.serving.login_limits` and :mod:`~vru_risk.serving.rate_limit`.
- :mod:`~vru_risk.serving.model_service`: the champion in service; :mod:`~vru_risk.serving.
  moment_store`: the materialised moments a score explains.
- Flags in the database: reading them and decisions on them are :mod:`vru_risk.store`'s
  (``flag_store``, ``decisions``, ``flag_checks``, ``flag_loader``, ``inputs``: what a request
  may carry); the service adds staged loads (:mod:`~vru_risk.serving.flag_staging`),
  :mod:`~vru_risk.serving.withdrawal` and :mod:`~vru_risk.serving.retention` (+
  ``retention_files``).
- :mod:`~vru_risk.serving.access_log`: who viewed whom (keyed, hash-chained);
  :mod:`~vru_risk.serving.routes`: one router per resource; :mod:`~vru_risk.serving.schemas`:
  the API's models; ``pages/``: templates and the stylesheet.
"""
