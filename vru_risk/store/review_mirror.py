"""The ethics panel's review log (``VRU_HOME/review_log.jsonl``) mirrored into the database.

The JSONL file stays the record the champion loader trusts (its hash chain is checked on every
read); the mirror lets the pages list reviews from the database and travels with its backups.
:func:`sync_review_log` adds the entries the mirror lacks and refuses to go on when an entry
already mirrored differs from the file (one of the two was altered); :func:`mirror_review_log`
does it in a transaction of its own, as the server (at start and after each review on its pages)
and the ``vru review`` and ``vru db upgrade`` commands do.

Example
-------
>>> import tempfile, pathlib
>>> from vru_risk.store import open_database, session_factory
>>> log = ReviewLog(pathlib.Path(tempfile.mkdtemp()) / "review_log.jsonl")
>>> _ = log.append(version=1, content_hash="h", action="reject", reviewer="ana", reason="r")
>>> with session_factory(open_database("sqlite://")).begin() as s:
...     sync_review_log(s, log), sync_review_log(s, log)
(1, 0)
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vru_risk.models.review_log import ReviewLog, ReviewLogError
from vru_risk.store.models import ReviewLogMirror

log = logging.getLogger("vru_risk.serving")


def sync_review_log(session: Session, log: ReviewLog) -> int:
    """Mirror the review log's new entries; return how many were added.

    Raises :class:`ReviewLogError` when the file's chain is broken or a mirrored entry differs.
    """
    entries = log.entries()
    mirrored = {row.seq: row for row in session.scalars(select(ReviewLogMirror))}
    extra = sorted(set(mirrored) - {e.seq for e in entries})
    if extra:
        raise ReviewLogError(
            f"the database mirrors review entries {extra} that {log.path} does not have: the "
            "file was truncated or replaced; restore it from backup"
        )
    added = 0
    for entry in entries:
        row = mirrored.get(entry.seq)
        if row is None:
            session.add(ReviewLogMirror(seq=entry.seq, body=entry.body(), digest=entry.hash))
            added += 1
        elif row.digest != entry.hash:
            raise ReviewLogError(
                f"review entry {entry.seq} in {log.path} differs from the copy in the database; "
                "one of them was altered: compare them and restore from backup"
            )
    session.flush()
    return added


def mirrored_entries(session: Session) -> list[dict[str, object]]:
    """The mirrored entries' bodies (with their hash), oldest first."""
    rows = session.scalars(select(ReviewLogMirror).order_by(ReviewLogMirror.seq))
    return [{**row.body, "hash": row.digest} for row in rows]


def mirror_review_log(
    sessions: sessionmaker[Session], review_log: ReviewLog, *, raise_broken: bool = False
) -> int:
    """Copy new review-log entries into the database mirror, in a write transaction of
    ``sessions``; return how many were added.

    A broken log (:class:`ReviewLogError`) is raised with ``raise_broken`` (the commands say
    it), else logged as a warning (the server: its champion loader, which checks the same
    chain, has refused the log already) and nothing is added.
    """
    try:
        try:
            with sessions.begin() as session:
                return sync_review_log(session, review_log)
        except IntegrityError:
            # another process (``vru serve --workers N``, a command) mirrored the same entries at
            # the same moment: the second pass finds them there
            with sessions.begin() as session:
                return sync_review_log(session, review_log)
    except ReviewLogError as exc:
        if raise_broken:
            raise
        log.warning("the review log cannot be mirrored: %s", exc)
        return 0
