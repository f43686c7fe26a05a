"""Verification of the audit log: every row's keyed MAC, the numbering, the key segments, the
pruning checkpoint, head.json and the anchor outside the data folder.

:func:`verify_rows` is a pure function of what was read (rows, segments, keys, the two records
outside the database); :meth:`~vru_risk.serving.access_log.log.AuditLog.verify` reads them. It never
allocates per *claimed* row: missing numbers are kept as ranges, so a head.json claiming 10^15
rows costs nothing.
"""

from __future__ import annotations

import bisect
import hmac
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from vru_risk.serving.access_log.ready import segment_disagreements
from vru_risk.serving.access_log.records import (
    GENESIS,
    PRUNE_PURPOSE,
    ROTATION_PURPOSE,
    Segment,
    as_spans,
    canonical,
    endorsement,
    key_fingerprint,
    parse_checkpoint,
    parse_rotation,
    row_mac,
    short,
    spans,
)
from vru_risk.serving.access_log.report import WRONG_KEY_HINT, Outside, StoredRow, VerifyReport


@dataclass
class _Keys:
    """The key for each row number, from the segments and the keys supplied."""

    segments: Sequence[Segment]
    keys: Mapping[str, bytes]  # fingerprint -> key
    current: bytes

    def __post_init__(self) -> None:
        self.starts = [s.first_seq for s in self.segments]

    def segment_of(self, seq: int) -> Segment | None:
        at = bisect.bisect_right(self.starts, seq) - 1
        return self.segments[max(at, 0)] if self.segments else None

    def for_seq(self, seq: int) -> bytes | None:
        segment = self.segment_of(seq)
        if segment is None:  # a log written before key segments: the one key there is
            return self.current
        return self.keys.get(segment.fingerprint)

    def for_segment(self, number: int) -> bytes | None:
        if 1 <= number <= len(self.segments):
            return self.keys.get(self.segments[number - 1].fingerprint)
        return None


def verify_rows(
    rows: Sequence[StoredRow],
    segments: Sequence[Segment],
    keys: Mapping[str, bytes],
    current_key: bytes,
    outside: Outside,
) -> VerifyReport:
    """Check ``rows`` (ordered by seq) against their MACs, the segments and the records
    outside the database; ``keys`` maps each supplied key's fingerprint to the key (the
    current key included)."""
    keyring = _Keys(segments, keys, current_key)

    def verifies(i: int, seq: int) -> bool | None:
        key = keyring.for_seq(seq)
        if key is None:
            return None
        r = rows[i]
        body = canonical(seq, r.at, r.username, r.role, r.person_id, r.model_version,
                         r.purpose, r.route)  # fmt: skip
        return hmac.compare_digest(row_mac(key, r.prev_mac, body), r.mac)

    by_mac = {r.mac: i for i, r in enumerate(rows)}
    by_seq = {r.seq: i for i, r in enumerate(rows)}
    claims = [
        (name, claim)
        for name, claim in (("head.json", outside.head), ("the anchor", outside.anchor_head))
        if claim is not None
    ]
    claimed = max((claim[0] for _, claim in claims), default=None)
    pruned_through, pruned_mac = _newest_checkpoint(rows, verifies)
    shift = min(max(0, (claimed or 0) - pruned_through - len(rows)), 10_000)
    original: dict[int, int | None] = {}
    unchecked: list[int] = []

    def original_seq(start: int) -> int | None:
        """The number row ``start`` was written with, if its MAC proves one."""
        stack = [start]
        while stack:
            i = stack[-1]
            if i in original:
                stack.pop()
                continue
            in_place = verifies(i, rows[i].seq)
            if in_place is None or in_place:  # no key for it: counted in place, unchecked
                if in_place is None:
                    unchecked.append(rows[i].seq)
                original[i] = rows[i].seq
                stack.pop()
                continue
            prev = rows[i].prev_mac
            if prev == GENESIS:
                candidate: int | None = 1
            elif prev == pruned_mac:
                candidate = pruned_through + 1
            elif prev in by_mac and by_mac[prev] != i:
                p = by_mac[prev]
                if p not in original:
                    if p in stack:  # a forged cycle of links
                        original[i] = None
                        stack.pop()
                        continue
                    stack.append(p)
                    continue
                ps = original[p]
                candidate = None if ps is None else ps + 1
            else:
                # its predecessor is gone: if rows were deleted and the rest renumbered, it
                # was written up to `shift` places later than where it sits now
                candidate = next(
                    (s for s in range(rows[i].seq + 1, rows[i].seq + shift + 1)
                     if verifies(i, s)),
                    None,
                )  # fmt: skip
            original[i] = candidate if candidate and verifies(i, candidate) else None
            stack.pop()
        return original[start]

    edited: list[int] = []
    inserted: list[int] = []
    moved: dict[int, int] = {}
    accounted: set[int] = set()
    for i, r in enumerate(rows):
        was = original_seq(i)
        if was == r.seq:
            accounted.add(r.seq)
        elif was is not None:
            moved[r.seq] = was
            accounted.add(was)
        else:
            before = rows[i - 1].mac if i > 0 else GENESIS
            after = rows[i + 1].prev_mac if i + 1 < len(rows) else None
            beyond_head = claimed is not None and r.seq > claimed
            if after == before or (after is None and beyond_head):
                inserted.append(r.seq)
            else:
                edited.append(r.seq)
                accounted.add(r.seq)
    last = max(accounted, default=pruned_through)
    present = sorted(s for s in accounted if s > pruned_through)
    truncated, truncated_text, head_problem, problems, notes = _check_claims(
        rows, by_seq, claims, last, pruned_through, set(inserted), outside
    )
    problems += _check_anchor(segments, outside, has_rows=bool(rows))
    problems += _check_segments(rows, by_seq, keyring, pruned_through, notes)
    problems += _check_keys(segments, keys, current_key, notes)
    if pruned_through:
        notes.append(
            f"note: rows 1-{pruned_through} were pruned (`vru audit-log prune`); the chain "
            f"is checked from row {pruned_through + 1}"
        )
    checked = len(rows) - len(unchecked)
    if not segments and checked and len(edited) == checked:  # no fingerprint to tell by
        notes.append(
            "note: every row checked fails its MAC: the likely cause is a wrong key, not edits: "
            f"{WRONG_KEY_HINT}, and VRU_AUDIT_PREVIOUS_KEYS for rotated keys"
        )
    return VerifyReport(
        rows=len(rows),
        head_seq=None if outside.head is None else outside.head[0],
        anchor_seq=None if outside.anchor_head is None else outside.anchor_head[0],
        edited=edited,
        deleted=_gaps(present, pruned_through + 1, last),
        inserted=inserted,
        reordered=sorted(moved),
        moved_from=dict(sorted(moved.items())),
        truncated=truncated,
        truncated_text=truncated_text,
        unchecked=as_spans(unchecked),
        head_problem=head_problem,
        problems=problems,
        pruned_through=pruned_through,
        notes=notes,
    )


def _newest_checkpoint(
    rows: Sequence[StoredRow], verifies: Callable[[int, int], bool | None]
) -> tuple[int, str | None]:
    """(through, mac) of the newest pruning checkpoint row whose MAC verifies in place;
    (0, None) when nothing was pruned."""
    for i in range(len(rows) - 1, -1, -1):
        r = rows[i]
        if r.purpose != PRUNE_PURPOSE:
            continue
        found = parse_checkpoint(r.route)
        if found is not None and 0 < found.through < r.seq and verifies(i, r.seq) is True:
            return found.through, found.mac
    return 0, None


def _gaps(present: list[int], first: int, last: int) -> list[range]:
    """The runs of numbers in [first, last] not in ``present`` (sorted, unique).

    >>> _gaps([2, 3, 6], 1, 8)
    [range(1, 2), range(4, 6), range(7, 9)]
    """
    gaps: list[range] = []
    expected = first
    for s in present:
        if s > expected:
            gaps.append(range(expected, s))
        expected = max(expected, s + 1)
    if last >= expected:
        gaps.append(range(expected, last + 1))
    return gaps


def _check_claims(
    rows: Sequence[StoredRow],
    by_seq: Mapping[int, int],
    claims: list[tuple[str, tuple[int, str]]],
    last: int,
    pruned_through: int,
    inserted: set[int],
    outside: Outside,
) -> tuple[range, str, str | None, list[str], list[str]]:
    """Truncation and rolled-back heads, from head.json's and the anchor's newest row:
    (truncated, its text, head problem, anchor problems, notes)."""
    truncated, text, problems, notes = range(0), "", [], []
    head_problem = outside.head_problem
    if claims:
        source, (claimed, _) = max(claims, key=lambda c: c[1][0])
        if claimed > last:
            truncated = range(last + 1, claimed + 1)
            held = f" (rows {rows[0].seq}-{rows[-1].seq})" if pruned_through and rows else ""
            text = (
                f"{source} claims {claimed} rows, the table has {len(rows)}{held}: "
                f"{len(truncated)} rows missing at the end (rows {spans([truncated])})"
            )
        beyond = [r.seq for r in rows if r.seq > claimed and r.seq not in inserted]
        if beyond:
            notes.append(
                f"note: {len(beyond)} valid row(s) after row {claimed}, the newest that "
                "head.json and the anchor record (written while they were being updated, or "
                "after a crash)"
            )
    for source, (seq, mac) in claims:
        i = by_seq.get(seq)
        if i is None or rows[i].mac == mac:
            continue
        problem = f"{source} names row {seq} with a MAC the table's row does not carry"
        if source != "head.json":
            problems.append(f"ANCHOR: {problem}")
        elif head_problem is None:
            head_problem = problem
    head, anchor = outside.head, outside.anchor_head
    if head is not None and anchor is not None and head[0] < anchor[0] and head_problem is None:
        head_problem = (
            f"head.json names row {head[0]} but the anchor recorded row {anchor[0]}: head.json "
            "was rolled back (or restored from an older backup)"
        )
    if head is None and rows and head_problem is None:
        head_problem = (
            f"{outside.head_path} is missing although the table has rows: truncation cannot "
            "be ruled out by it; restore head.json from backup"
        )
    return truncated, text, head_problem, problems, notes


def _check_anchor(segments: Sequence[Segment], outside: Outside, *, has_rows: bool) -> list[str]:
    """The anchor against the segment table: every key segment recorded in both."""
    path = outside.anchor_path
    if outside.anchor_problem is not None:
        return [f"ANCHOR: {outside.anchor_problem}"]
    anchor = outside.anchor
    if anchor is None:
        if segments or has_rows:
            return [
                f"ANCHOR: {path} (VRU_AUDIT_ANCHOR_PATH) is missing although the audit log has "
                "rows: the record kept outside the data folder was deleted, or "
                "VRU_AUDIT_ANCHOR_PATH changed; restore it from its backup"
                + (
                    ""
                    if segments
                    else " (a log written before key segments gets its anchor from the next "
                    "command that uses the audit log, or the server's start)"
                )
            ]
        return []
    return [f"ANCHOR: {path} {problem}" for problem in segment_disagreements(anchor, segments)]


def _check_segments(
    rows: Sequence[StoredRow],
    by_seq: Mapping[int, int],
    keyring: _Keys,
    pruned_through: int,
    notes: list[str],
) -> list[str]:
    """Each rotation in the table is a valid, endorsed rotation row of the chain, and each
    valid rotation row is in the table."""
    segments, problems = keyring.segments, []
    if segments and segments[0].first_seq != 1:
        problems.append(f"SEGMENTS: key segment 1 starts at row {segments[0].first_seq}, not 1")
    for previous, segment in itertools.pairwise(segments):
        i = by_seq.get(segment.first_seq)
        if segment.first_seq <= pruned_through or i is None:
            continue  # pruned, or reported as deleted
        row = rows[i]
        rotation = parse_rotation(row.route) if row.purpose == ROTATION_PURPOSE else None
        if rotation is None or (rotation.segment, rotation.first_seq, rotation.fingerprint) != (
            segment.segment,
            segment.first_seq,
            segment.fingerprint,
        ):
            problems.append(
                f"SEGMENTS: row {segment.first_seq} should begin key segment "
                f"{segment.segment} but does not record that rotation"
            )
            continue
        old_key = keyring.for_segment(previous.segment)
        if old_key is None:
            notes.append(
                f"note: the rotation to key segment {segment.segment} (row {row.seq}) is not "
                f"checked against the retired key of segment {previous.segment}: that key was "
                "not given"
            )
        elif not hmac.compare_digest(
            endorsement(old_key, row.prev_mac, row.seq, rotation.fingerprint),
            rotation.endorsement,
        ):
            problems.append(
                f"SEGMENTS: the rotation at row {row.seq} was not endorsed by the key of "
                f"segment {previous.segment}"
            )
    known = {(s.segment, s.first_seq, s.fingerprint) for s in segments}
    for row in rows:
        rotation = parse_rotation(row.route) if row.purpose == ROTATION_PURPOSE else None
        if rotation is None or (rotation.segment, row.seq, rotation.fingerprint) in known:
            continue
        key = keyring.keys.get(rotation.fingerprint)  # a rotation row is MAC'd by its new key
        body = canonical(row.seq, row.at, row.username, row.role, row.person_id,
                         row.model_version, row.purpose, row.route)  # fmt: skip
        if key is not None and hmac.compare_digest(row_mac(key, row.prev_mac, body), row.mac):
            problems.append(
                f"SEGMENTS: row {row.seq} records key segment {rotation.segment}, which the "
                "segment table does not list"
            )
    return problems


def _check_keys(
    segments: Sequence[Segment],
    keys: Mapping[str, bytes],
    current_key: bytes,
    notes: list[str],
) -> list[str]:
    """VRU_AUDIT_KEY is the newest segment's key; every retired key belongs to a segment."""
    if not segments:
        return []
    problems = []
    newest = segments[-1]
    current = key_fingerprint(current_key)
    if current != newest.fingerprint:
        retired = next((s for s in segments if s.fingerprint == current), None)
        if retired is not None:
            problems.append(
                f"KEY: VRU_AUDIT_KEY is the retired key of key segment {retired.segment}; the "
                f"log is keyed by segment {newest.segment} from row {newest.first_seq}: set "
                "VRU_AUDIT_KEY to the newest key (and keep this one in VRU_AUDIT_PREVIOUS_KEYS)"
            )
        else:
            problems.append(
                f"KEY: audit key does not match the audit log: {WRONG_KEY_HINT}. Its "
                f"fingerprint {short(current)} is not that of key segment {newest.segment} "
                f"({short(newest.fingerprint)}, from row {newest.first_seq})"
            )
    listed = {s.fingerprint for s in segments}
    stray = [fp for fp in keys if fp not in listed and fp != current]
    if stray:
        notes.append(
            f"note: {len(stray)} key(s) in VRU_AUDIT_PREVIOUS_KEYS match no key segment of "
            "this log (a typo, or another log's key?)"
        )
    return problems
