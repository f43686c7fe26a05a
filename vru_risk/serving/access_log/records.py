"""What an audit-log row is: its event, its canonical form and keyed MAC, and the two kinds of
row the log writes about itself (a key rotation, a pruning checkpoint).

A row's ``mac`` is HMAC-SHA256(key, previous row's mac + canonical JSON of the row, sequence
number and time included). The rows MAC'd with one key form a *key segment*; each segment is
known by the **fingerprint** of its key, HMAC-SHA256(key, a fixed label), which identifies the
key without revealing it (and is never a valid MAC of any row: a row's MAC input starts with 64
hex digits).

Example
-------
>>> fp = key_fingerprint(b"0123456789abcdef")
>>> len(fp), fp == key_fingerprint(b"0123456789abcdef"), fp == key_fingerprint(b"x" * 16)
(64, True, False)
>>> route = rotation_route(2, 57, "a" * 64, "b" * 64)
>>> parse_rotation(route) == Rotation(2, 57, "a" * 64, "b" * 64)
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Final

GENESIS: Final = "0" * 64
FINGERPRINT_LABEL: Final = b"vru-risk audit key fingerprint v1"
ENDORSEMENT_LABEL: Final = b"vru-risk audit key rotation v1"
#: purposes of the rows the audit log writes about itself; refused in ordinary events
ROTATION_PURPOSE: Final = "audit: key rotated"
PRUNE_PURPOSE: Final = "audit: rows pruned"
RESERVED_PREFIX: Final = "audit: "
_LIMITS: Final = {"username": 64, "role": 32, "person_id": 128, "purpose": 64, "route": 255}
_HEX64 = r"[0-9a-f]{64}"
_ROTATION = re.compile(
    rf"^vru audit-log rotate-key: key segment (\d+) from row (\d+), fingerprint ({_HEX64}), "
    rf"endorsed ({_HEX64})$"
)
_PRUNE = re.compile(
    rf"^vru audit-log prune: rows through (\d+) deleted \(written before "
    rf"(\d{{4}}-\d{{2}}-\d{{2}})\); row \d+ chains from ({_HEX64})$"
)


class AuditLogError(RuntimeError):
    """The audit log cannot be written or trusted (no key, wrong key, bad event, missing
    anchor, database refused); the message says what to do."""


@dataclass(frozen=True)
class AuditEvent:
    """One thing to record: who looked at (or acted on) what, and why."""

    username: str
    role: str
    person_id: str | None
    model_version: int | None
    purpose: str
    route: str


@dataclass(frozen=True)
class Segment:
    """A key segment: rows from ``first_seq`` on are MAC'd with the key of ``fingerprint``
    (until the next segment's first row)."""

    segment: int
    first_seq: int
    fingerprint: str


@dataclass(frozen=True)
class Rotation:
    """A key-rotation row: segment ``segment`` begins with it (row ``first_seq``), keyed by
    ``fingerprint``; ``endorsement`` is the previous key's HMAC of the change."""

    segment: int
    first_seq: int
    fingerprint: str
    endorsement: str


@dataclass(frozen=True)
class Checkpoint:
    """A pruning checkpoint row: rows up to ``through`` were deleted; row ``through + 1``
    chains from ``mac`` (the last deleted row's MAC)."""

    through: int
    before: str
    mac: str


def check_event(event: AuditEvent) -> None:
    """Raise :class:`AuditLogError` for an event that cannot be a row."""
    for name, limit in _LIMITS.items():
        value = getattr(event, name)
        if value is None and name == "person_id":
            continue
        if not isinstance(value, str) or not value.strip():
            raise AuditLogError(f"audit event has an empty {name}: {event}")
        if len(value) > limit:
            raise AuditLogError(f"audit event {name} is longer than {limit} characters")
    if event.purpose.startswith(RESERVED_PREFIX):
        raise AuditLogError(
            f"audit event purpose {event.purpose!r}: purposes starting {RESERVED_PREFIX!r} are "
            "kept for the rows the audit log writes about itself"
        )


def canonical(
    seq: int,
    at: str,
    username: str,
    role: str,
    person_id: str | None,
    model_version: int | None,
    purpose: str,
    route: str,
) -> bytes:
    """The bytes a row's MAC covers (besides the previous MAC)."""
    body = {
        "seq": seq,
        "at": at,
        "username": username,
        "role": role,
        "person_id": person_id,
        "model_version": model_version,
        "purpose": purpose,
        "route": route,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_mac(key: bytes, prev_mac: str, body: bytes) -> str:
    return hmac.new(key, prev_mac.encode() + body, hashlib.sha256).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """The keyed fingerprint of an audit key (identifies it; reveals nothing of it)."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def endorsement(old_key: bytes, prev_mac: str, seq: int, new_fingerprint: str) -> str:
    """The retiring key's HMAC over a rotation: which row, after which MAC, to which key."""
    message = b"|".join((ENDORSEMENT_LABEL, prev_mac.encode(), str(seq).encode()))
    return hmac.new(old_key, message + b"|" + new_fingerprint.encode(), hashlib.sha256).hexdigest()


def short(fingerprint: str) -> str:
    """A fingerprint as shown to people: its first 12 hex digits."""
    return fingerprint[:12]


def rotation_route(segment: int, first_seq: int, fingerprint: str, endorsed: str) -> str:
    return (
        f"vru audit-log rotate-key: key segment {segment} from row {first_seq}, "
        f"fingerprint {fingerprint}, endorsed {endorsed}"
    )


def parse_rotation(route: str) -> Rotation | None:
    found = _ROTATION.match(route)
    if found is None:
        return None
    return Rotation(int(found[1]), int(found[2]), found[3], found[4])


def checkpoint_route(through: int, before: str, mac: str) -> str:
    return (
        f"vru audit-log prune: rows through {through} deleted (written before {before}); "
        f"row {through + 1} chains from {mac}"
    )


def parse_checkpoint(route: str) -> Checkpoint | None:
    found = _PRUNE.match(route)
    if found is None:
        return None
    return Checkpoint(int(found[1]), found[2], found[3])


def spans(numbers: list[range]) -> str:
    """Ranges of row numbers as text.

    >>> spans([range(3, 5), range(7, 8)])
    '3-4, 7'
    """
    return ", ".join(str(r.start) if len(r) == 1 else f"{r.start}-{r[-1]}" for r in numbers)


def as_spans(seqs: list[int]) -> list[range]:
    """Sorted numbers as runs of consecutive ones.

    >>> as_spans([7, 3, 4])
    [range(3, 5), range(7, 8)]
    """
    out: list[range] = []
    for s in sorted(seqs):
        if out and out[-1].stop == s:
            out[-1] = range(out[-1].start, s + 1)
        else:
            out.append(range(s, s + 1))
    return out
