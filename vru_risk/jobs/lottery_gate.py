"""The gate a fair lottery passes before ``vru flags generate`` may draw anyone.

Giving a place by lottery rather than by score is an ethical decision and a research design,
so neither is the operator's alone. A programmes file that enables a lottery
(:class:`~vru_risk.flags.programmes.LotteryConfig`) is used only when

(a) the ethics panel approved the lotteries of that very file: the review log holds an
    ``approve-lottery`` entry whose ``programmes_hash`` is the file's sha256 (any edit to the
    file, a tolerance or a seed, needs a new approval: ``vru review approve-lottery``), and
(b) the pre-registered analysis can answer its question: the power calculation
    (:func:`vru_risk.evaluation.power.check_lottery_power`) is sufficient for the winners and
    losers expected per arm each month. Those come from the programme's own record of complete
    months when it has one (the smaller arm), and otherwise from its places per month, the most
    either arm could hold (so a programme too small even then is refused before any draw).

Otherwise the job refuses (exit 2), saying which condition failed and what to do, before it
reads data or writes anything.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vru_risk.evaluation.power import PowerCheck, check_lottery_power
from vru_risk.flags.lottery import Draw, LotteryRecord, LotteryRecordError
from vru_risk.flags.programmes import Programme, Programmes, load_programmes
from vru_risk.jobs.common import JobError
from vru_risk.models.review_log import (
    NO_VERSION,
    ReviewEntry,
    ReviewLog,
    ReviewLogError,
    lottery_approval,
)

#: weeks in a month, on average (a weekly programme's places per month)
WEEKS_PER_MONTH = 52 / 12


def programmes_hash(path: Path | None) -> str:
    """The sha256 of the programmes file's bytes (the packaged file's when ``path`` is None)."""
    if path is None:
        data = resources.files("vru_risk.flags").joinpath("programmes.yaml").read_bytes()
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise JobError(f"cannot read the programmes file {path}: {exc}") from None
    return hashlib.sha256(data).hexdigest()


def expected_per_arm(programme: Programme, draws: list[Draw]) -> tuple[float, str]:
    """Young people expected in the smaller arm (winners or losers) per month, and whence."""
    months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for d in draws:
        if d.programme == programme.id:
            arms = months[(d.day.year, d.day.month)]
            arms[0] += len(d.winners)
            arms[1] += len(d.losers)
    complete = sorted(months)[:-1]  # the newest month may still be under way
    if complete:
        mean = sum(min(months[m]) for m in complete) / len(complete)
        return mean, f"the smaller arm's mean over {len(complete)} complete month(s) recorded"
    places = programme.capacity * (WEEKS_PER_MONTH if programme.period == "week" else 1)
    return float(places), "its places per month, the most either arm could hold"


@dataclass(frozen=True)
class LotteryClearance:
    """The lotteries a run may draw: the panel's approval and each programme's power check."""

    approval: ReviewEntry
    power: dict[str, PowerCheck]


def check_lotteries(
    programmes: Programmes,
    programmes_path: Path | None,
    review_log: ReviewLog,
    record: LotteryRecord,
) -> LotteryClearance | None:
    """None when no programme enables a lottery; the clearance when every enabled one passes
    both conditions; :class:`JobError` naming the failed condition and what to do otherwise."""
    enabled = [p for p in programmes.programmes if p.lottery.enabled]
    if not enabled:
        return None
    names = ", ".join(p.id for p in enabled)
    digest = programmes_hash(programmes_path)
    try:
        entries = review_log.entries()
        draws = record.draws()
    except (ReviewLogError, LotteryRecordError) as exc:
        raise JobError(f"no lottery may run: {exc}") from None
    approval = lottery_approval(entries, digest)
    if approval is None:
        where = programmes_path or "the packaged programmes file"
        others = [e for e in entries if e.action == "approve-lottery"]
        why = (
            f"the ethics panel's latest lottery approval (review entry {others[-1].seq}) is of "
            f"another version of the programmes file (sha256 {str(others[-1].programmes_hash)[:12]}"
            f"...), not of this one (sha256 {digest[:12]}...): the file changed since"
            if others
            else "the ethics panel has not approved a lottery for this programmes file "
            f"(sha256 {digest[:12]}...)"
        )
        raise JobError(
            f"lottery refused ({names}): {why}. Ask the panel to approve this file with "
            f"`vru review approve-lottery --programmes {where}`, or set "
            "`lottery: {enabled: false}`. Nothing was written."
        )
    checks: dict[str, PowerCheck] = {}
    for p in enabled:
        per_arm, whence = expected_per_arm(p, draws)
        cfg = p.lottery
        assert cfg.effect is not None
        assert cfg.within_months is not None
        assert cfg.base_rate is not None
        check = check_lottery_power(
            per_arm, cfg.base_rate, cfg.effect, cfg.within_months, cfg.alpha, cfg.power
        )
        if not check.sufficient:
            raise JobError(
                f"lottery refused ({p.id}): the power calculation is not sufficient with "
                f"{per_arm:.1f} young people per arm per month ({whence}): {check.explanation} "
                "Pre-register a larger effect or a longer within_months (and have the panel "
                "approve the changed file), or set `lottery: {enabled: false}`. Nothing was "
                "written."
            )
        checks[p.id] = check
    return LotteryClearance(approval, checks)


def approve_lottery(
    review_log: ReviewLog, programmes_path: Path | None, *, reviewer: str, reason: str
) -> ReviewEntry:
    """Record the panel's approval of the lotteries of the programmes file at
    ``programmes_path`` (tied to its sha256); refused for a file that cannot be used or
    enables no lottery."""
    try:
        programmes = load_programmes(programmes_path)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    if not any(p.lottery.enabled for p in programmes.programmes):
        raise JobError(
            f"{programmes_path or 'the packaged programmes file'} enables no lottery: there is "
            "nothing to approve (set `lottery: {enabled: true, ...}` on a programme first)"
        )
    try:
        return review_log.append(
            version=NO_VERSION,
            content_hash="",
            action="approve-lottery",
            reviewer=reviewer,
            reason=reason,
            programmes_hash=programmes_hash(programmes_path),
        )
    except ReviewLogError as exc:
        raise JobError(f"approve-lottery refused: {exc}") from None
