"""The ethics panel's review log: append-only, gapless, hash-chained JSON lines.

Every decision about a model version (approve, reject, override, suspend, clear-leakage) is one
line: its sequence number (1, 2, 3, ... with no gaps), the time, the version and its content
hash, the action, the reviewer, the reason, the hash of the previous entry and its own hash
(sha256 of its canonical JSON without the ``hash`` field). Editing, removing or reordering a
line breaks the chain, and :meth:`ReviewLog.entries` refuses to read it. An approval of a
programmes file's fair lotteries (``approve-lottery``) is a line too: it carries the file's
sha256 as ``programmes_hash`` and version :data:`NO_VERSION`.

Loading a champion consults this log (:func:`service_status`): an MLflow alias set by hand,
without a matching approval for the version's content hash, is refused.

Example
-------
>>> import tempfile, pathlib
>>> log = ReviewLog(pathlib.Path(tempfile.mkdtemp()) / "review_log.jsonl")
>>> e = log.append(version=1, content_hash="abc", action="reject", reviewer="a", reason="r")
>>> (e.seq, len(log.entries()))
(1, 1)
"""

from __future__ import annotations

import hashlib
import json
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from vru_risk.file_lock import exclusive_lock

Action = Literal["approve", "reject", "override", "suspend", "clear-leakage", "approve-lottery"]
ACTIONS: Final = ("approve", "reject", "override", "suspend", "clear-leakage", "approve-lottery")
#: the version an entry about no model version carries (a lottery approval): registry versions
#: start at 1, so it never matches a model's entries
NO_VERSION: Final = 0
GENESIS: Final = "0" * 64


#: fields an entry holds only when they have a value (so older entries keep their hashes)
OPTIONAL_FIELDS = ("reference_hash", "criteria_hash", "programmes_hash")


class ReviewLogError(ValueError):
    """A review log that has been altered, or an entry that cannot be written."""


@dataclass(frozen=True)
class ReviewEntry:
    seq: int
    time: str
    version: int
    content_hash: str
    action: str
    reviewer: str
    reason: str
    demo: bool
    previous_hash: str
    hash: str
    #: an approval's or override's record of what the model will be watched against: the
    #: hashes of the version's monitoring reference and of the monitoring criteria (None: none
    #: existed, or an entry written before they were recorded)
    reference_hash: str | None = None
    criteria_hash: str | None = None
    #: an ``approve-lottery`` entry's sha256 of the programmes file whose lotteries it approves
    programmes_hash: str | None = None

    def body(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("hash")
        for key in OPTIONAL_FIELDS:  # absent from entries written before them: same digest
            if data[key] is None:
                data.pop(key)
        return data


def canonical_digest(body: dict[str, object]) -> str:
    """sha256 of ``body``'s canonical JSON (sorted keys, no spaces): an entry's hash in this log
    and in the lottery record (:mod:`vru_risk.flags.lottery`)."""
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


class ReviewLog:
    """One JSON-lines file; appends are serialised with an exclusive file lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _locked(self) -> AbstractContextManager[None]:
        return exclusive_lock(self.path.with_suffix(".lock"))

    def entries(self) -> list[ReviewEntry]:
        """Every entry, oldest first, after checking numbering and the hash chain."""
        if not self.path.exists():
            return []
        out: list[ReviewEntry] = []
        previous = GENESIS
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                entry = ReviewEntry(**json.loads(line))
            except (ValueError, TypeError) as exc:
                raise ReviewLogError(
                    f"{self.path} line {number} is not a review entry ({exc}); the log has been "
                    "altered: restore it from backup"
                ) from None
            if entry.seq != number:
                raise ReviewLogError(
                    f"{self.path} line {number} has sequence number {entry.seq}: entries are "
                    "missing or reordered; restore the log from backup"
                )
            if entry.previous_hash != previous or canonical_digest(entry.body()) != entry.hash:
                raise ReviewLogError(
                    f"{self.path} entry {number} does not match its hash chain: the log has "
                    "been edited; restore it from backup"
                )
            previous = entry.hash
            out.append(entry)
        return out

    def append(
        self,
        *,
        version: int,
        content_hash: str,
        action: str,
        reviewer: str,
        reason: str,
        demo: bool = False,
        reference_hash: str | None = None,
        criteria_hash: str | None = None,
        programmes_hash: str | None = None,
    ) -> ReviewEntry:
        """Append one decision (after verifying the chain so far) and return it."""
        if action not in ACTIONS:
            raise ReviewLogError(f"unknown review action {action!r}; one of {', '.join(ACTIONS)}")
        if (action == "approve-lottery") != (programmes_hash is not None):
            raise ReviewLogError(
                "an approve-lottery entry, and only one, carries the programmes file's hash"
            )
        if not reviewer.strip() or not reason.strip():
            raise ReviewLogError("a review needs a reviewer's name and a written reason")
        with self._locked():
            existing = self.entries()
            body: dict[str, object] = {
                "seq": len(existing) + 1,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "version": version,
                "content_hash": content_hash,
                "action": action,
                "reviewer": reviewer.strip(),
                "reason": reason.strip(),
                "demo": demo,
                "previous_hash": existing[-1].hash if existing else GENESIS,
            }
            optional = {
                "reference_hash": reference_hash,
                "criteria_hash": criteria_hash,
                "programmes_hash": programmes_hash,
            }
            body.update({k: v for k, v in optional.items() if v is not None})
            entry = ReviewEntry(**body, hash=canonical_digest(body))  # type: ignore[arg-type]
            line = {k: v for k, v in asdict(entry).items() if v is not None or k not in optional}
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, sort_keys=True) + "\n")
        return entry

    def for_version(self, version: int) -> list[ReviewEntry]:
        return [e for e in self.entries() if e.version == version]


def lottery_approval(entries: list[ReviewEntry], programmes_hash: str) -> ReviewEntry | None:
    """The latest ``approve-lottery`` entry for the programmes file with sha256
    ``programmes_hash`` (None: the panel never approved the lotteries of that file)."""
    found = [
        e for e in entries if e.action == "approve-lottery" and e.programmes_hash == programmes_hash
    ]
    return found[-1] if found else None


@dataclass(frozen=True)
class ServiceStatus:
    """Whether a version may be used for scoring, from the review log alone."""

    usable: bool
    reason: str
    approval: ReviewEntry | None = None


def service_status(entries: list[ReviewEntry], version: int, content_hash: str) -> ServiceStatus:
    """A version is in service when its latest approval (or completed override) matches its
    content hash and no suspension came after it."""
    mine = [e for e in entries if e.version == version]
    approval: ReviewEntry | None = None
    overriders: dict[str, ReviewEntry] = {}
    suspended_after = False
    for e in mine:
        if e.action == "approve":
            approval, overriders, suspended_after = e, {}, False
        elif e.action == "override":
            overriders[e.reviewer] = e
            if len(overriders) >= 2:
                approval, suspended_after = e, False
        elif e.action == "suspend":
            suspended_after = True
            overriders = {}
    if approval is None:
        return ServiceStatus(
            False,
            f"version {version} has no approval in the review log (an alias set by hand is not "
            "an approval); the ethics panel approves with `vru review approve`",
        )
    if approval.content_hash != content_hash:
        return ServiceStatus(
            False,
            f"version {version}'s files (content hash {content_hash[:12]}...) are not the ones "
            f"approved in review entry {approval.seq} ({approval.content_hash[:12]}...)",
        )
    if suspended_after:
        return ServiceStatus(
            False, f"version {version} was suspended by the ethics panel after its approval"
        )
    return ServiceStatus(True, f"approved in review entry {approval.seq}", approval)


@dataclass(frozen=True)
class ReviewState:
    """A version's review state in words, from its review history alone: ``approved``,
    ``overridden`` (two members approved against a failed gate), ``override pending`` (one
    member so far), ``rejected``, ``suspended`` or ``not reviewed``; and who decided it."""

    state: str
    reviewers: tuple[str, ...]


def review_state(entries: list[ReviewEntry], version: int) -> ReviewState:
    """The latest decisive state of ``version`` and the members behind it.

    >>> e = lambda a, r: ReviewEntry(0, "", 1, "h", a, r, "", False, "", "")
    >>> review_state([e("override", "ann"), e("override", "bo")], 1)
    ReviewState(state='overridden', reviewers=('ann', 'bo'))
    >>> review_state([e("approve", "ann"), e("suspend", "bo")], 1).state
    'suspended'
    """
    current = ReviewState("not reviewed", ())
    overriders: list[str] = []
    for e in (x for x in entries if x.version == version):
        if e.action == "approve":
            current, overriders = ReviewState("approved", (e.reviewer,)), []
        elif e.action == "reject":
            current, overriders = ReviewState("rejected", (e.reviewer,)), []
        elif e.action == "suspend":
            current, overriders = ReviewState("suspended", (e.reviewer,)), []
        elif e.action == "override":
            if e.reviewer not in overriders:
                overriders.append(e.reviewer)
            done = len(overriders) >= 2
            current = ReviewState(
                "overridden" if done else "override pending (1 of 2 members)", tuple(overriders)
            )
            if done:
                overriders = []
    return current
