"""What ``vru demo`` leaves in its home, and whether a later run reuses it or replaces it.

A run that reaches its end writes :data:`DEMO_DONE` into the home (the people, seed and folder
it was run with, the code that ran it, the model version, when, and the summary it printed),
atomically and only then: a run stopped before its end (Ctrl-C, a failure) leaves no such file.

A later run **reuses** the earlier demo, going straight to the service, when the file is there,
was written for the same people, seed and folder by the same code, and the home is intact (its
folder, databases, version and flags, and an audit log the service can use). Otherwise it
**replaces** it: the file first, then everything the demo makes in its home
(:func:`made_by_demo`), its folder and the audit anchor kept beside the home, so the new run
starts from an empty home with a new audit log. What else is in the home is left alone, and
named. ``vru demo --fresh`` replaces whatever is there. Either way the output says which, and why.

Only a home :func:`~vru_risk.cli.demo_home.claim_demo_home` has accepted (the demo's, never put
to real use) is ever replaced.

Example
-------
>>> import tempfile
>>> home = Path(tempfile.mkdtemp())
>>> run = DemoRun(people=2000, seed=0, folder=home / "demo")
>>> write_record(home, run, version=1, state="candidate", summary="done")
>>> done = read_record(home)
>>> (done.run == run, done.version, done.code == code_identity())
(True, 1, True)
>>> changed_parameters(done, DemoRun(people=10_000, seed=0, folder=home / "demo"))
'it was made with --people 2000 (now 10000)'
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Final

from rich.table import Table

from vru_risk.cli.common import UserError, console
from vru_risk.cli.demo_home import DEMO_FOLDER_MARKER, DEMO_HOME_MARKER, registered_versions
from vru_risk.settings import Settings

#: Written into the demo's home at the end of a run that reached it.
DEMO_DONE: Final = ".vru-demo-done.json"
#: What the demo (and the service it ends in) makes in its home, and nothing else: a
#: replacement removes these, and the files beside its databases and review log (SQLite's
#: journals, lock files: :data:`MADE_PREFIXES`), and leaves anything else there.
MADE: Final = (
    "mlartifacts",
    "audit",
    "cache",
    "features",
    "flags",
    "monitoring",
    "reports",
    "screenshots",
)
MADE_PREFIXES: Final = ("app.db", "mlflow.db", "review_log.")


def made_by_demo(name: str) -> bool:
    """Whether an entry of the demo's home, by its name, is one the demo makes.

    >>> [made_by_demo(n) for n in ("app.db-wal", "review_log.jsonl", "flags", "notes.txt")]
    [True, True, True, False]
    """
    return name in MADE or name.startswith(MADE_PREFIXES)


@dataclass(frozen=True)
class DemoRun:
    """The parameters that decide what a demo run makes."""

    people: int
    seed: int
    folder: Path


@dataclass(frozen=True)
class DemoRecord:
    """The :data:`DEMO_DONE` file of a run that reached its end."""

    run: DemoRun
    code: str
    version: int
    state: str
    finished: str
    summary: str


@cache
def code_identity() -> str:
    """The code that runs: vru-risk's package version, and its git commit when it runs from a
    checkout (``-dirty`` when files were changed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        identity = f"vru-risk {version('vru-risk')}"
    except PackageNotFoundError:
        identity = "vru-risk (not installed)"
    source = Path(__file__).resolve().parents[2]
    if (source / ".git").exists():
        try:
            found = subprocess.run(
                ["git", "-C", str(source), "describe", "--always", "--dirty"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return identity
        if found.returncode == 0 and found.stdout.strip():
            identity += f" (git {found.stdout.strip()})"
    return identity


def write_record(home: Path, run: DemoRun, *, version: int, state: str, summary: str) -> None:
    """Record a run that reached its end (written to a temporary file, then renamed)."""
    doc = {
        "people": run.people,
        "seed": run.seed,
        "folder": str(run.folder.resolve()),
        "code": code_identity(),
        "version": version,
        "state": state,
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": summary,
    }
    tmp = home / f"{DEMO_DONE}.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(home / DEMO_DONE)


def read_record(home: Path) -> DemoRecord | None:
    """The record of the last run that reached its end, or None (none, or unreadable)."""
    try:
        doc = json.loads((home / DEMO_DONE).read_text(encoding="utf-8"))
        return DemoRecord(
            run=DemoRun(int(doc["people"]), int(doc["seed"]), Path(doc["folder"])),
            code=str(doc["code"]),
            version=int(doc["version"]),
            state=str(doc["state"]),
            finished=str(doc["finished"]),
            summary=str(doc["summary"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def changed_parameters(record: DemoRecord, run: DemoRun) -> str | None:
    """Why ``record`` was not made by ``run``'s parameters and code, or None."""
    if record.run.people != run.people:
        return f"it was made with --people {record.run.people} (now {run.people})"
    if record.run.seed != run.seed:
        return f"it was made with --seed {record.run.seed} (now {run.seed})"
    if record.run.folder != run.folder.resolve():
        return f"it was made in --dir {record.run.folder} (now {run.folder.resolve()})"
    if record.code != code_identity():
        return f"it was made by {record.code} (now {code_identity()})"
    return None


def reusable(settings: Settings, run: DemoRun, *, fresh: bool) -> tuple[DemoRecord | None, str]:
    """(the earlier demo to reuse, None) or (None, why the home's demo state is replaced)."""
    if fresh:
        return None, "--fresh"
    record = read_record(settings.home)
    if record is None:
        return None, "no earlier run of the demo reached its end here (stopped or interrupted?)"
    changed = changed_parameters(record, run)
    if changed is not None:
        return None, changed
    missing = missing_state(settings, record)
    if missing is not None:
        return None, f"the earlier demo is no longer intact ({missing})"
    return record, ""


def missing_state(settings: Settings, record: DemoRecord) -> str | None:
    """What the earlier demo's service lacks (files, its version, a usable audit log), or None."""
    from vru_risk.cli.admin import require_audit_log
    from vru_risk.store import make_engine

    home, folder = settings.home, record.run.folder
    needed = [home / "app.db", home / "mlflow.db", folder / DEMO_FOLDER_MARKER]
    if record.state == "candidate":
        needed.append(folder / "flags.jsonl")
    absent = [str(p) for p in needed if not p.exists()]
    if absent:
        return f"missing {', '.join(absent)}"
    if (record.version, True) not in registered_versions(home):
        return f"model version {record.version} is not in its registry"
    engine = make_engine(settings.app_database_url)
    try:
        require_audit_log(engine)
    except UserError as exc:
        return str(exc).removesuffix("; nothing changed")
    finally:
        engine.dispose()
    return None


def replace_demo_state(settings: Settings, folder: Path) -> list[str]:
    """Remove the demo's record, then what the demo makes in its home, its ``folder`` (when
    it holds the demo's marker) and the default audit anchor beside the home; return what was
    removed. Refused (UserError, nothing removed) when VRU_AUDIT_ANCHOR_PATH names an existing
    anchor elsewhere (it belongs to whoever set it)."""
    home = settings.home
    anchor = settings.audit_anchor
    if settings.audit_anchor_path is not None and anchor.exists():
        raise UserError(
            "the earlier demo is replaced, which starts a new audit log, but "
            f"VRU_AUDIT_ANCHOR_PATH names an existing anchor ({anchor}) that `vru demo` does not "
            "delete; nothing was removed. Delete it yourself or unset VRU_AUDIT_ANCHOR_PATH"
        )
    (home / DEMO_DONE).unlink(missing_ok=True)  # first: a stop from here leaves no record
    removed: list[str] = []
    targets = sorted(p for p in home.iterdir() if made_by_demo(p.name))
    if (folder / DEMO_FOLDER_MARKER).exists():
        targets.append(folder)
    if anchor.exists():
        targets.append(anchor)
    for path in targets:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(path.name if path.parent == home else str(path))
    return removed


def left_in_home(home: Path, folder: Path) -> list[str]:
    """What is in the home that the demo did not make (left alone by a replacement)."""
    ours = {DEMO_HOME_MARKER, DEMO_DONE, f"{DEMO_DONE}.tmp"}
    return sorted(
        p.name
        for p in home.iterdir()
        if not made_by_demo(p.name) and p.name not in ours and p.resolve() != folder.resolve()
    )


@dataclass
class StageClock:
    """Each stage's wall time, printed as it ends, and the table of all of them."""

    start: float = field(default_factory=time.monotonic)
    times: list[tuple[str, float]] = field(default_factory=list)
    _open: tuple[str, float] | None = None

    def begin(self, title: str) -> None:
        """End the open stage (if any) and start ``title`` under a rule."""
        self.end()
        console.rule(title)
        self._open = (title, time.monotonic())

    def end(self) -> None:
        if self._open is None:
            return
        title, began = self._open
        seconds = time.monotonic() - began
        self.times.append((title, seconds))
        self._open = None
        console.print(f"[dim]{title}: {seconds:.1f} s[/]")

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def table(self) -> Table:
        self.end()
        table = Table(title="time per stage (wall clock)")
        table.add_column("stage")
        table.add_column("seconds", justify="right")
        for title, seconds in self.times:
            table.add_row(title, f"{seconds:.1f}")
        table.add_row("[bold]total[/]", f"[bold]{self.elapsed():.1f}[/]")
        return table


def prepare_home(settings: Settings, run: DemoRun, *, fresh: bool) -> DemoRecord | None:
    """The earlier demo to reuse (said so), or None after replacing whatever demo state the
    home holds (said so, with the reason) so that a full run starts from an empty home."""
    earlier, why = reusable(settings, run, fresh=fresh)
    if earlier is not None:
        console.print(
            f"[bold]reusing the demo made on {earlier.finished} (version {earlier.version})[/]; "
            "`vru demo --fresh` rebuilds it"
        )
        return earlier
    folder = run.folder
    if folder.exists() and not (folder / DEMO_FOLDER_MARKER).exists():
        raise UserError(
            f"{folder} exists and was not made by `vru demo`; choose another --dir or remove it"
        )
    removed = replace_demo_state(settings, folder)
    if removed:
        console.print(
            f"[bold]replacing the earlier demo in {settings.home}[/] ({why}): removed "
            f"{', '.join(removed)}"
        )
    else:
        console.print(f"a new demo in {settings.home}")
    kept = left_in_home(settings.home, folder)
    if kept:
        console.print(f"left in {settings.home} (not made by the demo): {', '.join(kept)}")
    return None
