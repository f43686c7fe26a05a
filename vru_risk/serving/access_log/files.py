"""The audit log's two records outside the database: ``head.json`` and the anchor.

``head.json`` (``VRU_HOME/audit/head.json``) holds the newest row's (seq, mac), rewritten after
each commit: it catches removal of the newest rows, which a chain cannot show by itself.

The **anchor** (``VRU_AUDIT_ANCHOR_PATH``) is kept *outside* the data folder: the fingerprint
of every key segment and the newest (seq, mac), never a key. It catches what head.json cannot
when VRU_HOME is lost or rewritten with the database: all rows and head.json deleted (a "fresh"
log), a head rolled back, a key segment removed. Production points it at a location that
neither the database host nor VRU_HOME's owner can rewrite (another host's mount, a versioned
or write-once store).

Both are written atomically (a temporary file renamed over the old one), never backwards, under
one file lock beside head.json; both are parsed strictly: a sequence number that is negative,
zero, or not an integer makes the file unreadable (altered), never "no head".

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_anchor(folder / "anchor.json", Anchor((Segment(1, 1, "f" * 64),), (3, "a" * 64)))
>>> read_anchor(folder / "anchor.json").head
(3, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
>>> parse_head({"seq": -4, "mac": "a" * 64})
Traceback (most recent call last):
...
ValueError: seq -4 is not a row number (a whole number from 1)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from vru_risk.file_lock import exclusive_lock
from vru_risk.serving.access_log.records import AuditLogError, Segment

ANCHOR_FORMAT: Final = "vru-risk audit anchor v1"
_MAC = re.compile(r"^[0-9a-f]{64}$")
_Doc = TypeVar("_Doc")


@dataclass(frozen=True)
class Anchor:
    """What the anchor records: every key segment, and the newest row it was told of."""

    segments: tuple[Segment, ...]
    head: tuple[int, str] | None


def _row_number(value: Any, name: str) -> int:
    if type(value) is not int or value < 1:  # bool, float and "3" are not row numbers
        raise ValueError(f"{name} {value!r} is not a row number (a whole number from 1)")
    return value


def _mac(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise ValueError(f"{name} is not a MAC (64 hexadecimal digits)")
    return value


def parse_head(doc: Any) -> tuple[int, str]:
    """(seq, mac) of a head document, or ValueError."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return _row_number(doc.get("seq"), "seq"), _mac(doc.get("mac"), "mac")


def parse_anchor(doc: Any) -> Anchor:
    """An anchor document, or ValueError."""
    if not isinstance(doc, dict) or doc.get("format") != ANCHOR_FORMAT:
        raise ValueError(f"not an object of format {ANCHOR_FORMAT!r}")
    raw = doc.get("segments")
    if not isinstance(raw, list):
        raise ValueError("segments is not a list")
    segments: list[Segment] = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"segment {number} is not an object")
        segment = Segment(
            _row_number(item.get("segment"), "segment"),
            _row_number(item.get("first_seq"), "first_seq"),
            _mac(item.get("fingerprint"), "fingerprint"),
        )
        if segment.segment != number:
            raise ValueError(f"segment {number} is numbered {segment.segment}")
        segments.append(segment)
    head = doc.get("head")
    return Anchor(tuple(segments), None if head is None else parse_head(head))


def _read_json(path: Path, what: str) -> Any | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditLogError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _altered(path, what, exc) from None


def _altered(path: Path, what: str, exc: ValueError, restore: str = "backup") -> AuditLogError:
    return AuditLogError(
        f"{path} is not a readable {what} ({exc}); it has been altered. Restore it from {restore}."
    )


def _read(
    path: Path, what: str, parse: Callable[[Any], _Doc], restore: str = "backup"
) -> _Doc | None:
    """The document at ``path`` parsed by ``parse``, or None when there is none (yet)."""
    doc = _read_json(path, what)
    if doc is None:
        return None
    try:
        return parse(doc)
    except ValueError as exc:
        raise _altered(path, what, exc, restore) from None


def read_head(path: Path) -> tuple[int, str] | None:
    """The (seq, mac) of head.json, or None when there is none yet."""
    return _read(path, "audit head", parse_head)


def read_anchor(path: Path) -> Anchor | None:
    """The anchor, or None when there is none (yet)."""
    return _read(path, "audit anchor", parse_anchor, "its backup")


def _replace(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` atomically (a temporary file renamed over it).

    No fsync: a record that lags the table after a crash is reported as a lag, never as
    tampering (SQLite in WAL mode with synchronous=NORMAL does not sync every commit either).
    """
    temp = path.with_name(path.name + ".tmp")
    with temp.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh)
    temp.replace(path)


def write_head(path: Path, seq: int, mac: str) -> None:
    _replace(path, {"seq": seq, "mac": mac, "written": datetime.now(UTC).isoformat()})


def write_anchor(path: Path, anchor: Anchor) -> None:
    if not path.parent.is_dir():
        raise AuditLogError(
            f"the audit anchor's folder {path.parent} does not exist (VRU_AUDIT_ANCHOR_PATH): "
            "mount or create it; the anchor is never written anywhere else"
        )
    _replace(
        path,
        {
            "format": ANCHOR_FORMAT,
            "segments": [
                {"segment": s.segment, "first_seq": s.first_seq, "fingerprint": s.fingerprint}
                for s in anchor.segments
            ],
            "head": None if anchor.head is None else {"seq": anchor.head[0], "mac": anchor.head[1]},
            "written": datetime.now(UTC).isoformat(),
        },
    )


def files_lock(head_path: Path) -> AbstractContextManager[None]:
    """The lock every writer of head.json and the anchor takes (``head.lock`` beside it)."""
    return exclusive_lock(head_path.with_suffix(".lock"))
