"""Where ``vru demo`` may write: only an embedded VRU_HOME that is empty or was made by it.

The demo adds users whose password is published (README, docs), records a demo ethics panel's
approval and loads synthetic flags: run against a real service's home, database or tracking
store, it would let anyone who has read the README sign in and put a synthetic model in
service. So before it writes anything it refuses (exit 2, saying to use an empty VRU_HOME):

- ``VRU_DATABASE_URL``, ``VRU_MLFLOW_TRACKING_URI`` or ``VRU_MLFLOW_ARTIFACT_ROOT`` set (the
  demo uses only the stores embedded in its home);
- a VRU_HOME that holds anything but lacks the marker :data:`DEMO_HOME_MARKER` the demo writes
  into an empty home;
- a marked home whose database holds users the demo does not make (names not starting with
  ``demo-``, other than the simulated service's practitioners ``sim-<programme>``) or whose
  registry holds model versions not trained by the demo (tag ``vru.demo``): it has been put
  to real use since.

Example
-------
>>> import tempfile
>>> from vru_risk.settings import Settings
>>> home = Path(tempfile.mkdtemp()) / "home"
>>> claim_demo_home(Settings(home=home)); (home / DEMO_HOME_MARKER).exists()
True
>>> (home / "app.db").write_text("")
0
>>> claim_demo_home(Settings(home=home))  # the demo's own home, used again
>>> (home / DEMO_HOME_MARKER).unlink()
>>> claim_demo_home(Settings(home=home))
Traceback (most recent call last):
...
vru_risk.cli.common.UserError: `vru demo` writes only into an empty VRU_HOME or one it made...
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from vru_risk.cli.common import UserError
from vru_risk.settings import Settings

#: Written by ``vru demo`` into the empty VRU_HOME it starts from.
DEMO_HOME_MARKER: Final = ".vru-demo-home"
#: Written by ``vru demo`` into the working folder it makes (``--dir``, default <home>/demo).
DEMO_FOLDER_MARKER: Final = ".vru-demo"
#: Every account the demo makes is named so (``vru_risk.cli.demo``).
DEMO_USER_PREFIX: Final = "demo-"
#: ... and the simulated service's practitioner accounts (``vru_risk.jobs.simulate_store``:
#: one per programme, a random password nobody knows) so.
SIMULATED_USER_PREFIX: Final = "sim-"

_USE_AN_EMPTY_HOME: Final = (
    "run the demo with an empty VRU_HOME of its own, e.g. `VRU_HOME=/tmp/vru-demo vru demo` "
    "(nothing of the demo belongs beside a real service: its passwords are published)"
)


def claim_demo_home(settings: Settings) -> None:
    """Refuse (UserError) a home the demo may not write into (see the module); mark an empty
    one as the demo's."""
    external = [
        name
        for name, value in (
            ("VRU_DATABASE_URL", settings.database_url),
            ("VRU_MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri),
            ("VRU_MLFLOW_ARTIFACT_ROOT", settings.mlflow_artifact_root),
        )
        if value
    ]
    if external:
        raise UserError(
            f"`vru demo` uses only the stores inside VRU_HOME, but {', '.join(external)} "
            f"{'is' if len(external) == 1 else 'are'} set (a real service's stores?); nothing "
            f"was written. Unset {'it' if len(external) == 1 else 'them'} and "
            f"{_USE_AN_EMPTY_HOME}"
        )
    home = settings.home
    marker = home / DEMO_HOME_MARKER
    if not home.exists() or (home.is_dir() and not any(home.iterdir())):
        home.mkdir(parents=True, exist_ok=True)
        marker.write_text("made by `vru demo`: synthetic data, published passwords, demo only\n")
        return
    if not marker.is_file():
        raise UserError(
            f"`vru demo` writes only into an empty VRU_HOME or one it made, and {home} holds "
            f"files it did not make; nothing was written. {_USE_AN_EMPTY_HOME[0].upper()}"
            f"{_USE_AN_EMPTY_HOME[1:]}"
        )
    found = [*_real_users(home / "app.db"), *_real_versions(settings)]
    if found:
        raise UserError(
            f"{home} was made by `vru demo` but has been put to real use since "
            f"({'; '.join(found)}); nothing was written. {_USE_AN_EMPTY_HOME[0].upper()}"
            f"{_USE_AN_EMPTY_HOME[1:]}"
        )


def _real_users(database: Path) -> list[str]:
    """Users of the home's database the demo does not make, as one finding (or none)."""
    if not database.is_file():
        return []
    from sqlalchemy import and_, func, not_, select

    from vru_risk.store import make_engine, session_factory, table_names
    from vru_risk.store.models import User

    engine = make_engine(f"sqlite:///{database.resolve()}")
    try:
        if "users" not in table_names(engine):
            return []
        with session_factory(engine)() as session:
            others = session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.username.not_like(f"{DEMO_USER_PREFIX}%"))
                .where(
                    not_(
                        and_(
                            User.username.like(f"{SIMULATED_USER_PREFIX}%"),
                            User.role == "practitioner",
                        )
                    )
                )
            )
    finally:
        engine.dispose()
    return [f"{others} user(s) the demo did not add"] if others else []


def _real_versions(settings: Settings) -> list[str]:
    """Model versions in the home's registry not trained by the demo, as one finding."""
    others = [f"{v}" for v, demo in registered_versions(settings.home) if not demo]
    if not others:
        return []
    return [f"model version(s) {', '.join(others)} not trained by the demo"]


def registered_versions(home: Path) -> list[tuple[int, bool]]:
    """Every model version in the home's MLflow store, and whether the demo trained it (tag
    ``vru.demo``).

    Read from the SQLite file directly, read-only, and closed: MLflow keeps the stores and
    engines it opens for the life of the process, so one opened here would still hold the
    demo's old store after ``vru demo`` replaces it (:mod:`vru_risk.cli.demo_state`)."""
    import sqlite3
    from contextlib import closing

    from vru_risk.models.tags import DEMO_TAG

    store = home / "mlflow.db"
    if not store.is_file():
        return []
    with closing(sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "model_versions" not in tables:
            return []
        rows = db.execute(
            "SELECT v.version, EXISTS (SELECT 1 FROM model_version_tags t WHERE t.name = v.name "
            "AND t.version = v.version AND t.key = ? AND t.value = 'true') "
            "FROM model_versions v ORDER BY v.version",
            (DEMO_TAG,),
        ).fetchall()
    return [(int(version), bool(demo)) for version, demo in rows]
