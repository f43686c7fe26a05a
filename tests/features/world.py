"""Tiny hand-made worlds: a few people and events, written as a contract folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from tests.folders import write_csv
from vru_risk.data.load import DataFolder, open_folder
from vru_risk.features.build import build_features
from vru_risk.features.catalog import FeatureSpec, load_catalog
from vru_risk.features.config import FeatureBuildConfig

DEFAULTS: dict[str, dict[str, str]] = {
    "attendance": {"session": "am", "status": "present"},
    "exclusions": {"kind": "suspension", "days": "1", "reason": "persistent_disruption"},
    "police_contacts": {"role": "witness", "offence": "none"},
    "ae_visits": {"hospital": "Musgrove Park", "reason": "accident", "admitted": "false"},
}
EVENT_COLUMN = {
    "attendance": "date",
    "exclusions": "start_date",
    "police_contacts": "date",
    "ae_visits": "arrival",
}


def d(text: str | date) -> date:
    return text if isinstance(text, date) else date.fromisoformat(text)


@dataclass
class World:
    extract: date = date(2026, 8, 31)
    people: list[dict[str, str]] = field(default_factory=list)
    events: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    known_dates: bool = True  # write known_date columns

    def person(self, pid: str, birth: str = "2010-01-01", left: str = "") -> World:
        self.people.append(
            {
                "person_id": pid,
                "birth_date": birth,
                "sex": "unknown",
                "ethnicity": "unknown",
                "sen": "none",
                "fsm": "",
                "looked_after": "",
                "imd_decile": "",
                "school_id": "",
                "left_area_date": left,
            }
        )
        return self

    def event(
        self, table: str, pid: str, when: str | date, known: str | date | None = None, **cols: str
    ) -> World:
        when_d = d(when)
        row = {"person_id": pid, EVENT_COLUMN[table]: when_d.isoformat(), **DEFAULTS[table]}
        if table == "ae_visits":
            row["arrival"] = f"{when_d.isoformat()}T{cols.pop('time', '14:00:00')}"
        row.update(cols)
        if self.known_dates:
            row["known_date"] = d(known or when_d).isoformat()
        self.events.setdefault(table, []).append(row)
        return self

    def sessions(self, pid: str, start: str, statuses: str, lag_days: int = 0) -> World:
        """One school day per character from ``start`` (am only): P present, L late,
        U unauthorised, A authorised, X excluded, N not required."""
        codes = {
            "P": "present",
            "L": "late",
            "U": "unauthorised_absence",
            "A": "authorised_absence",
            "X": "excluded",
            "N": "not_required",
        }
        day = d(start)
        for ch in statuses:
            self.event("attendance", pid, day, day + timedelta(days=lag_days), status=codes[ch])
            day += timedelta(days=1)
        return self

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(folder / "people.csv", self.people)
        tables = {"people": {"refreshed": self.extract.isoformat()}}
        for table, rows in self.events.items():
            columns: dict[str, None] = {}
            for r in rows:
                columns.update(dict.fromkeys(r))
            write_csv(folder / f"{table}.csv", [{c: r.get(c, "") for c in columns} for r in rows])
            tables[table] = {"refreshed": self.extract.isoformat()}
        (folder / "manifest.json").write_text(
            json.dumps(
                {
                    "contract_version": "1",
                    "extract_date": self.extract.isoformat(),
                    "tables": tables,
                }
            )
        )
        return folder

    def open(self, folder: Path) -> DataFolder:
        return open_folder(self.write(folder), today=self.extract)

    def build(
        self,
        folder: Path,
        *,
        config: FeatureBuildConfig | None = None,
        spec: FeatureSpec | None = None,
        snapshot: tuple[str, ...] = (),
        triggers: bool = True,
    ) -> pd.DataFrame:
        config = config or FeatureBuildConfig()
        _, frame = build_features(
            self.open(folder),
            spec or load_catalog().spec(config.reporting_lag_days),
            config,
            use_triggers=triggers,
            snapshot_dates=tuple(d(s) for s in snapshot),
        )
        assert frame is not None
        frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
        return frame.set_index(["person_id", "as_of"]).sort_index()
