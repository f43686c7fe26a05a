"""Support programmes from configuration: eligibility, capacity per period, shared sources.

The packaged ``programmes.yaml`` is seeded from the Somerset VRU (DESIGN.md); a VRU passes its own
file. Every problem in a file is reported at once.

Example
-------
>>> progs = load_programmes()
>>> [p.id for p in progs.programmes]
['jump_start', 'early_intervention', 'school_inclusion', 'admit_ae']
>>> eit = progs.by_id("early_intervention")
>>> eit.age_eligible(17), eit.age_eligible(18)
(True, False)
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vru_risk.data.contract import EVENT_TABLES
from vru_risk.flags.flag import TriggerKind
from vru_risk.pydantic_errors import error_location

FEATURE_SOURCES = tuple(t for t in EVENT_TABLES if t != "interventions")


class ProgrammeConfigError(ValueError):
    """A programmes file that cannot be used; ``problems`` lists every one."""

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{origin}: programmes configuration refused ({len(problems)} problem(s)):\n{listed}\n"
            "Fix the file (see the comments in the packaged programmes.yaml) and run again."
        )


#: What a practitioner reads as the programme's next steps: one line of text each, at most this
#: long (a page is read in two minutes).
GUIDANCE_MAX: Final = 600
#: Text that starts with this is a placeholder for a VRU to replace (the packaged file's).
EXAMPLE_MARK: Final = "EXAMPLE"
Guidance = Annotated[str, Field(min_length=1, max_length=GUIDANCE_MAX)] | None


class LotteryConfig(BaseModel):
    """A programme's fair lottery (off unless ``enabled``): on a day its places run out, the
    places left among the moments scored within ``score_tolerance`` (calibrated probability)
    of the last place are drawn by a lottery seeded with ``seed`` (:mod:`vru_risk.flags.lottery`),
    and the pre-registered analysis of the winners against the losers: the risk difference
    ``effect`` (signed: negative when support lowers the rate) to detect within
    ``within_months``, from a ``base_rate``, at ``alpha`` and
    ``power``. A lottery runs only when the ethics panel approved this file and the power
    calculation is sufficient (:mod:`vru_risk.jobs.lottery_gate`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    score_tolerance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    effect: Annotated[float, Field(gt=-1.0, lt=1.0)] | None = None
    within_months: Annotated[int, Field(ge=1, le=120)] | None = None
    base_rate: Annotated[float, Field(gt=0.0, lt=1.0)] | None = None
    alpha: Annotated[float, Field(gt=0.0, lt=0.5)] = 0.05
    power: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.8

    @model_validator(mode="after")
    def _check(self) -> LotteryConfig:
        if not self.enabled:
            return self
        missing = [n for n in ("effect", "within_months", "base_rate") if getattr(self, n) is None]
        if missing:
            raise ValueError(
                f"an enabled lottery needs its pre-registered analysis: give {', '.join(missing)}"
            )
        if self.score_tolerance <= 0.0:
            raise ValueError(
                "an enabled lottery needs score_tolerance above 0 (the score distance from the "
                "last place within which moments count as equally ranked, e.g. 0.01)"
            )
        assert self.base_rate is not None
        assert self.effect is not None
        if self.effect == 0.0 or not 0.0 < self.base_rate + self.effect < 1.0:
            raise ValueError(
                f"effect {self.effect:g} must be a non-zero risk difference (negative: support "
                f"lowers the rate) leaving base_rate + effect ({self.base_rate:g} + "
                f"{self.effect:g}) strictly between 0 and 1"
            )
        return self


class Programme(BaseModel):
    """One programme's eligibility, capacity and data-sharing agreement, and what its
    practitioners read as the next step (all optional): ``offer`` (what it offers), ``contact``
    (how to make contact), ``consent`` (consent guidance) and ``safeguarding`` (what to do
    with a safeguarding concern)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    name: str
    description: str = ""
    min_age: Annotated[int, Field(ge=0, le=25)]
    max_age: Annotated[int, Field(ge=0, le=25)]
    trigger_kinds: tuple[TriggerKind, ...]
    hospitals: tuple[str, ...] | None = None
    schools: tuple[str, ...] | None = None
    capacity: Annotated[int, Field(ge=0)]
    period: Literal["week", "month"]
    min_percentile: Annotated[float, Field(ge=0.0, le=100.0)] = 90.0
    #: how the period's places are spent (:mod:`vru_risk.flags.allocate`)
    policy: Literal["first_come", "paced"] = "first_come"
    shared_sources: tuple[str, ...]
    intervention_names: tuple[str, ...] = ()
    offer: Guidance = None
    contact: Guidance = None
    consent: Guidance = None
    safeguarding: Guidance = None
    #: what one period of the programme costs (any currency, as the VRU budgets it): the
    #: evaluation's reach table shows the cost per young person who started support
    cost_per_period: Annotated[float, Field(ge=0.0)] | None = None
    #: the fair lottery among equally ranked moments at the cut (off by default)
    lottery: LotteryConfig = Field(default_factory=LotteryConfig)

    @model_validator(mode="after")
    def _check(self) -> Programme:
        problems = []
        for name in ("offer", "contact", "consent", "safeguarding"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                problems.append(f"{name} is blank: write the text or leave the field out")
        if self.min_age > self.max_age:
            problems.append(f"min_age {self.min_age} is above max_age {self.max_age}")
        unknown = [s for s in self.shared_sources if s not in FEATURE_SOURCES]
        if unknown:
            problems.append(
                f"shared_sources has unknown source(s) {unknown}; sources: "
                f"{', '.join(FEATURE_SOURCES)}"
            )
        if not self.trigger_kinds:
            problems.append("trigger_kinds lists none: the programme could never be offered")
        if self.hospitals is not None and "ae_visit" not in self.trigger_kinds:
            problems.append("hospitals are given but ae_visit is not one of its trigger_kinds")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def guidance_is_example(self) -> bool:
        """Whether any next-step text is still the packaged placeholder (starts "EXAMPLE")."""
        texts = (self.offer, self.contact, self.consent, self.safeguarding)
        return any(t is not None and t.startswith(EXAMPLE_MARK) for t in texts)

    def age_eligible(self, age: int | None) -> bool:
        return age is not None and self.min_age <= age <= self.max_age

    def period_start(self, day: date) -> date:
        """The first day of the capacity period holding ``day`` (Monday, or the 1st)."""
        if self.period == "week":
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)

    def period_end(self, day: date) -> date:
        if self.period == "week":
            return self.period_start(day) + timedelta(days=6)
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])

    def supports(self, intervention_programme: str) -> bool:
        """Whether an ``interventions.programme`` value means this programme."""
        names = {n.casefold() for n in (*self.intervention_names, self.name, self.id)}
        return intervention_programme.casefold() in names


class Programmes(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    programmes_version: int
    programmes: tuple[Programme, ...]

    @model_validator(mode="after")
    def _unique(self) -> Programmes:
        ids = [p.id for p in self.programmes]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"programme id(s) listed twice: {dup}")
        if not self.programmes:
            raise ValueError("no programmes are configured")
        return self

    def by_id(self, programme_id: str) -> Programme:
        for p in self.programmes:
            if p.id == programme_id:
                return p
        raise KeyError(
            f"no programme {programme_id!r}; configured: {', '.join(p.id for p in self.programmes)}"
        )


def load_programmes(path: Path | None = None) -> Programmes:
    """Read and check a programmes file (the packaged Somerset seed by default)."""
    if path is None:
        origin = "programmes.yaml (packaged)"
        text = resources.files("vru_risk.flags").joinpath("programmes.yaml").read_text("utf-8")
    else:
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProgrammeConfigError(origin, [f"{path} does not exist"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ProgrammeConfigError(origin, [f"cannot read it as UTF-8 text: {exc}"]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProgrammeConfigError(origin, [f"not valid YAML: {exc}"]) from None
    try:
        return Programmes.model_validate(doc)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = list(e["loc"])
            where = error_location(loc)
            if len(loc) >= 2 and loc[0] == "programmes" and isinstance(loc[1], int):
                items = doc.get("programmes") if isinstance(doc, dict) else None
                if isinstance(items, list) and loc[1] < len(items):
                    item = items[loc[1]]
                    pid = item.get("id") if isinstance(item, dict) else None
                    where = f"programme {pid or '#' + str(loc[1] + 1)}" + (
                        "." + error_location(loc[2:]) if loc[2:] else ""
                    )
            problems.append(f"{where}: {e['msg']}")
        raise ProgrammeConfigError(origin, problems) from None
