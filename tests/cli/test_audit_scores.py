"""``vru audit-scores`` end to end: the three operating points and their tie rules, the
direction flag, label values, and every invalid input exiting 2 with nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, RunVru

FAST = ("--resamples", "50", "--seed", "3")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def scores_csv(
    path: Path, scores: list[float], labels: list[Any], sex: list[str] | None = None
) -> Path:
    sex = sex or ["female" if i % 2 else "male" for i in range(len(scores))]
    rows = [[i, s, y, g] for i, (s, y, g) in enumerate(zip(scores, labels, sex, strict=True))]
    return write_csv(path, ["id", "score", "outcome", "sex"], rows)


# 12 rows; three scores sit exactly on 0.7
SCORES = [0.9, 0.8, 0.7, 0.7, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
LABELS = [1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0]


def run(vru: RunVru, csv_path: Path, out: Path, *args: str) -> CliResult:
    return vru(
        "audit-scores",
        csv_path,
        "--score",
        "score",
        "--label",
        "outcome",
        "--group",
        "sex",
        "--out",
        out,
        *FAST,
        *args,
    )


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


def flagged_by_group(data: dict[str, Any]) -> dict[str, int]:
    return {g["group"]: g["flagged"] for g in data["groups"] if g["attribute"] == "sex"}


def test_threshold_flags_a_score_equal_to_it(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, LABELS), out, "--threshold", "0.7")
    assert result.code == 0, result.output
    data = report(out)
    assert data["overall"]["flagged"] == 5  # 0.9, 0.8 and the three at 0.7
    assert data["overall"]["positives"] == sum(LABELS)
    assert data["operating_point"] == {"kind": "threshold", "value": 0.7, "lower_is_riskier": False}
    assert data["subject"]["kind"] == "external"
    assert data["subject"]["score_column"] == "score"
    assert data["performance"] is None and data["review_history"] is None
    assert "5 of 12 rows flagged" in result.stdout
    assert "fairness gate:" in result.stdout
    assert str(out / "report.html") in result.stdout.replace("\n", "")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "https://" not in html and "http://" not in html


def test_top_k_flags_ties_and_says_how_many(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, LABELS), out, "--top-k", "3")
    assert result.code == 0, result.output
    assert report(out)["overall"]["flagged"] == 5  # the 3rd score is 0.7, shared by three rows
    assert "5 of 12 rows flagged" in result.stdout
    assert "2 more tied" in result.stdout


def test_top_frac(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, LABELS), out, "--top-frac", "0.25")
    assert result.code == 0, result.output
    assert report(out)["overall"]["flagged"] == 5  # ceil(0.25 * 12) = 3, plus ties at 0.7


@pytest.mark.parametrize(
    ("mode", "flagged"),
    [(("--threshold", "0.3"), 4), (("--top-k", "2"), 2), (("--top-frac", "0.5"), 6)],
)
def test_lower_is_riskier_flips_every_mode(
    vru: RunVru, tmp_path: Path, mode: tuple[str, str], flagged: int
) -> None:
    # the four lowest scores belong to girls: a list cut from the bottom holds girls first
    sex = ["male"] * 8 + ["female"] * 4
    csv_path = scores_csv(tmp_path / "s.csv", SCORES, LABELS, sex)
    out = tmp_path / "report"
    result = run(vru, csv_path, out, *mode, "--lower-is-riskier")
    assert result.code == 0, result.output
    data = report(out)
    assert data["overall"]["flagged"] == flagged
    assert flagged_by_group(data)["female"] == min(flagged, 4)
    assert data["subject"]["lower_is_riskier"] is True


def test_labels_true_false_in_any_case(vru: RunVru, tmp_path: Path) -> None:
    labels = ["TRUE" if y else "false" for y in LABELS]
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, labels), out, "--top-k", "3")
    assert result.code == 0, result.output
    assert report(out)["overall"]["positives"] == sum(LABELS)


def test_positive_label(vru: RunVru, tmp_path: Path) -> None:
    labels = ["harmed" if y else "not harmed" for y in LABELS]
    csv_path = scores_csv(tmp_path / "s.csv", SCORES, labels)
    refused = run(vru, csv_path, tmp_path / "no", "--top-k", "3")
    assert refused.code == 2
    assert "'harmed'" in refused.stderr and "'not harmed'" in refused.stderr
    assert "--positive-label" in refused.stderr

    out = tmp_path / "report"
    result = run(vru, csv_path, out, "--top-k", "3", "--positive-label", "harmed")
    assert result.code == 0, result.output
    data = report(out)
    assert data["overall"]["positives"] == sum(LABELS)
    assert data["subject"]["positive_label"] == "harmed"

    wrong = run(vru, csv_path, tmp_path / "wrong", "--top-k", "3", "--positive-label", "yes")
    assert wrong.code == 2
    assert "'yes'" in wrong.stderr


def test_person_groups_rows_and_missing_groups_are_unknown(vru: RunVru, tmp_path: Path) -> None:
    rows = [
        [f"p{i // 2}", s, y, "" if i == 0 else ("NA" if i == 1 else "x")]
        for i, (s, y) in enumerate(zip(SCORES, LABELS, strict=True))
    ]
    csv_path = write_csv(tmp_path / "s.csv", ["person", "score", "outcome", "sex"], rows)
    out = tmp_path / "report"
    result = run(vru, csv_path, out, "--top-k", "3", "--person", "person")
    assert result.code == 0, result.output
    data = report(out)
    assert data["data_window"]["people"] == 6
    assert {g["group"]: g["count"] for g in data["groups"]} == {"unknown": 2, "x": 10}


def test_groups_and_intersections(vru: RunVru, tmp_path: Path) -> None:
    rows = [
        [s, y, "female" if i % 2 else "male", "black" if i % 3 else "white"]
        for i, (s, y) in enumerate(zip(SCORES, LABELS, strict=True))
    ]
    csv_path = write_csv(tmp_path / "s.csv", ["score", "outcome", "sex", "ethnicity"], rows)
    out = tmp_path / "report"
    result = vru(
        "audit-scores", csv_path, "--score", "score", "--label", "outcome", "--group", "sex",
        "--group", "ethnicity", "--intersection", "ethnicity*sex", "--top-k", "4", "--out", out,
        *FAST,
    )  # fmt: skip
    assert result.code == 0, result.output
    attributes = {g["attribute"] for g in report(out)["groups"]}
    assert attributes == {"sex", "ethnicity", "ethnicity*sex"}


def test_a_group_of_one_and_a_group_without_the_outcome_are_named_not_zero(
    vru: RunVru, tmp_path: Path
) -> None:
    """A group of a single person, one where nobody had the outcome and an unrecorded group:
    the report completes, shows their rates as "cannot be assessed" and says why, in words for
    people of any population (never "young people": the scores may be of adults)."""
    sex = ["female", "male"] * 6 + ["solo", "quiet", "quiet", "quiet", ""]
    scores = [*SCORES, 0.95, 0.9, 0.3, 0.2, 0.6]
    labels = [*LABELS, 1, 0, 0, 0, 1]
    csv_path = scores_csv(tmp_path / "s.csv", scores, labels, sex)
    out = tmp_path / "report"
    result = run(vru, csv_path, out, "--threshold", "0.5")
    assert result.code == 0, result.output
    data = report(out)
    rates = {
        n["group"]: n for n in data["cannot_assess"] if n["stage"] == "group rates"
    }  # every group is below the audit's minimum sizes (50 people, 10 with the outcome)
    assert set(rates) == {"female", "male", "solo", "quiet", "unknown"}
    assert "only 1 person, who had the outcome and was flagged" in rates["solo"]["reason"]
    assert "only 3 people, none with the outcome" in rates["quiet"]["reason"]
    groups = {g["group"]: g for g in data["groups"]}
    assert groups["quiet"]["tpr"] is None and groups["solo"]["fpr"] is None
    gate = {(c["group"], c["metric"]): c for c in data["gate"]["criteria"]}
    assert gate[("solo", "tpr_ratio")]["status"] == "not assessable"
    assert "only 1 person" in gate[("solo", "tpr_ratio")]["reason"]
    assert data["gate"]["status"] == "inconclusive"  # nothing failed, nothing could pass
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Groups that could not be assessed" in html and "Sex: solo" in html
    assert "cannot be assessed" in html
    assert "INCONCLUSIVE" in result.stdout
    assert "groups not assessed in full: 5" in " ".join(result.stdout.split())
    never_young(data, html, result.stdout)


def never_young(data: Any, html: str, stdout: str) -> None:
    """The report's words (every string of report.json, the page, the run's output) never say
    "young": another tool's scores may be of adults, or of households."""
    assert [text for text in strings(data) if "young" in text.lower()] == []
    assert "young" not in html.lower()
    assert "young" not in stdout.lower()


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


# ------------------------------------------------------------------------------ bad input


def refused(result: CliResult, out: Path, *phrases: str) -> None:
    assert result.code == 2, result.output
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_missing_column_is_named_with_the_columns_present(vru: RunVru, tmp_path: Path) -> None:
    csv_path = scores_csv(tmp_path / "s.csv", SCORES, LABELS)
    out = tmp_path / "report"
    result = vru(
        "audit-scores", csv_path, "--score", "score", "--label", "outcome", "--group",
        "ethnicity", "--top-k", "3", "--out", out, *FAST,
    )  # fmt: skip
    refused(result, out, "'ethnicity'", "--group", "id, score, outcome, sex")


def test_duplicated_column(vru: RunVru, tmp_path: Path) -> None:
    csv_path = write_csv(
        tmp_path / "s.csv", ["score", "outcome", "sex", "score"], [[0.1, 0, "f", 0.2]] * 3
    )
    out = tmp_path / "report"
    refused(run(vru, csv_path, out, "--top-k", "1"), out, "'score'", "more than once")


def test_non_numeric_score_names_the_line(vru: RunVru, tmp_path: Path) -> None:
    scores: list[Any] = list(SCORES)
    scores[2] = "high"
    scores[7] = "n/a"
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", scores, LABELS), out, "--top-k", "3")
    refused(result, out, "not a finite number", "2 rows", "line 4: 'high'", "9: 'n/a'")


def test_empty_score_names_the_line(vru: RunVru, tmp_path: Path) -> None:
    scores: list[Any] = list(SCORES)
    scores[0] = ""
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", scores, LABELS), out, "--top-k", "3")
    refused(result, out, "'score'", "is empty", "line 2")


def test_non_binary_labels_list_the_values(vru: RunVru, tmp_path: Path) -> None:
    labels: list[Any] = list(LABELS)
    labels[5] = 2
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, labels), out, "--top-k", "3")
    refused(result, out, "'outcome'", "exactly two values", "'0'", "'1'", "'2'")


def test_one_valued_labels_are_refused(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, [0] * 12), out, "--top-k", "3")
    refused(result, out, "exactly two values", "'0' (12 rows)")


@pytest.mark.parametrize(
    "modes",
    [(), ("--threshold", "0.5", "--top-k", "3"), ("--top-k", "3", "--top-frac", "0.1")],
)
def test_exactly_one_operating_point(vru: RunVru, tmp_path: Path, modes: tuple[str, ...]) -> None:
    out = tmp_path / "report"
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, LABELS), out, *modes)
    refused(result, out, "exactly one of --threshold")


def test_existing_out_is_refused(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("earlier work", encoding="utf-8")
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, LABELS), out, "--top-k", "3")
    assert result.code == 2
    assert "not empty" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_an_empty_out_folder_is_used(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    result = run(vru, scores_csv(tmp_path / "s.csv", SCORES, LABELS), out, "--top-k", "3")
    assert result.code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json"]


def test_missing_empty_and_headless_files(vru: RunVru, tmp_path: Path) -> None:
    out = tmp_path / "report"
    refused(run(vru, tmp_path / "nope.csv", out, "--top-k", "1"), out, "does not exist")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    refused(run(vru, empty, out, "--top-k", "1"), out, "is empty")
    header_only = write_csv(tmp_path / "header.csv", ["score", "outcome", "sex"], [])
    refused(run(vru, header_only, out, "--top-k", "1"), out, "no rows")
    binary = tmp_path / "scores.parquet"
    binary.write_bytes(b"PAR1\x00\xff\xfe\x80 not text")
    refused(run(vru, binary, out, "--top-k", "1"), out, "not a CSV file")


# --- a punitive score: false-positive parity, a chosen reference, pinned figures ----------------
# Two groups of people with a 1-10 score (not a probability), flagged at 7 or more. Counts chosen
# so that every rate is known by hand:
#   A: 400 people, 100 with the outcome (75 flagged), 300 without (60 flagged)
#      -> recall 0.75, miss rate 0.25, false-positive rate 0.20, precision 75/135
#   B: 300 people,  60 with the outcome (36 flagged), 240 without (96 flagged)
#      -> recall 0.60, miss rate 0.40, false-positive rate 0.40, precision 36/132
PUNITIVE = {"A": (100, 75, 300, 60), "B": (60, 36, 240, 96)}


def punitive_csv(path: Path) -> Path:
    rows: list[list[Any]] = []
    for group, (positives, flagged_pos, negatives, flagged_neg) in PUNITIVE.items():
        for label, n, flagged in ((1, positives, flagged_pos), (0, negatives, flagged_neg)):
            for k in range(n):
                score = 7 + k % 4 if k < flagged else 1 + k % 6
                rows.append([f"{group}{len(rows)}", score, label, group])
    return write_csv(path, ["id", "score", "outcome", "area"], rows)


def punitive(vru: RunVru, tmp_path: Path, *args: str) -> tuple[CliResult, Path]:
    out = tmp_path / "report"
    result = vru(
        "audit-scores", punitive_csv(tmp_path / "p.csv"), "--score", "score", "--label",
        "outcome", "--group", "area", "--threshold", "7", "--out", out,
        "--resamples", "200", "--seed", "1", *args,
    )  # fmt: skip
    return result, out


def test_hand_computed_group_rates_are_pinned(vru: RunVru, tmp_path: Path) -> None:
    result, out = punitive(vru, tmp_path)
    assert result.code == 0, result.output
    groups = {g["group"]: g for g in report(out)["groups"]}
    assert groups["A"]["is_reference"]  # the largest group by default
    for group, (pos, fpos, neg, fneg) in PUNITIVE.items():
        g = groups[group]
        assert g["tpr"] == pytest.approx(fpos / pos) and g["fnr"] == pytest.approx(1 - fpos / pos)
        assert g["fpr"] == pytest.approx(fneg / neg)
        assert g["ppv"] == pytest.approx(fpos / (fpos + fneg))
    assert groups["B"]["fpr_ratio"] == pytest.approx(2.0)
    assert groups["B"]["fnr_difference"] == pytest.approx(0.15)


def test_a_punitive_score_is_gated_on_false_positives_against_a_chosen_reference(
    vru: RunVru, tmp_path: Path
) -> None:
    result, out = punitive(vru, tmp_path, "--gate-metric", "fpr", "--reference", "area=B")
    assert result.code == 0, result.output
    data = report(out)
    assert data["subject"]["gate_metric"] == "fpr" and data["reference"]["area"] == "B"
    gate = data["gate"]
    assert gate["metric"] == "fpr" and "False-positive parity" in gate["primary"]
    judged = {c["metric"] for c in gate["criteria"]}
    assert {"fpr_ratio", "fpr_difference"} <= judged and "tpr_ratio" not in judged
    ratio = next(c for c in gate["criteria"] if c["metric"] == "fpr_ratio")
    assert ratio["group"] == "A" and ratio["estimate"] == pytest.approx(0.5)
    assert ratio["status"] == "fail" and ratio["high"] < 0.8  # A is wrongly flagged half as often
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "false-positive-rate ratio to reference and 95% interval" in html
    assert "false-positive rate and 95% interval" in html
    never_young(data, html, result.stdout)  # scores of any population, of any age
    a = next(g for g in data["groups"] if g["group"] == "A")
    low, high = a["intervals"]["fpr"]
    assert low < 0.2 < high
    assert f"{low:.1%}"[:-1] in html or f"{100 * low:.1f}" in html  # the interval is printed
    # the 1-10 scores are not probabilities: calibration says so, not "too few to judge"
    calibration = [c for c in gate["criteria"] if c["metric"] == "calibration_error"]
    assert calibration and all("not calibrated probabilities" in c["reason"] for c in calibration)


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (("--gate-metric", "accuracy"), ("--gate-metric 'accuracy'", "recall, fpr, precision")),
        (("--reference", "C"), ("--reference C", "name the column")),
        (("--reference", "area=C"), ("no row has area = 'C'", "A, B")),
        (("--reference", "sex=f"), ("'sex' is not an audited --group column",)),
    ],
)
def test_bad_gate_metric_or_reference_is_refused(
    vru: RunVru, tmp_path: Path, args: tuple[str, ...], phrases: tuple[str, ...]
) -> None:
    result, out = punitive(vru, tmp_path, *args)
    refused(result, out, *phrases)
