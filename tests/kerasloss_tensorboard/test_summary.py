"""`kerasloss summary`: one row per log_dir, checked against the event files read back."""

import csv
import io
import json

import pytest

from kerasloss_tensorboard import summary
from kerasloss_tensorboard.snapshot import Snapshot
from tests.helpers import tensorboard_reader
from tests.kerasloss_tensorboard.test_report import HOSTILE, logged  # noqa: F401  (the fixture)

pytestmark = pytest.mark.backend_neutral


@pytest.fixture(scope="module")
def rows(logged):  # noqa: F811
    return {entry["log_dir"]: entry for entry in summary.rows(Snapshot(logged))}


def test_last_and_best_epoch_of_loss_total_are_those_logged(logged, rows):  # noqa: F811
    train = tensorboard_reader.scalars(logged, "ls0.1/train")["loss/total"]
    validation = tensorboard_reader.scalars(logged, "ls0.1/validation")["loss/total"]
    entry = rows["ls0.1"]
    assert entry["last_epoch"] == 2
    assert entry["loss_total"] == pytest.approx({"train": train[-1][1], "validation": validation[-1][1]})
    best_step, best_value = min(validation, key=lambda point: point[1])
    assert (entry["best_run"], entry["best_epoch"]) == ("validation", best_step)
    assert entry["best_loss_total"] == pytest.approx(best_value)


def test_shares_are_each_weighted_component_over_the_total_at_the_end(logged, rows):  # noqa: F811
    train = {tag: points[-1][1] for tag, points in tensorboard_reader.scalars(logged, "ls0.1/train").items()}
    expected = {"cross_entropy": 0.9 * train["loss/cross_entropy"],
                "uniform_cross_entropy": 0.1 * train["loss/uniform_cross_entropy"],
                "regularization": train["loss/regularization"]}
    entry = rows["ls0.1"]
    assert entry["shares_run"] == "train"
    assert entry["shares"] == pytest.approx({k: v / train["loss/total"] for k, v in expected.items()}, rel=1e-5)
    assert sum(entry["shares"].values()) == pytest.approx(1.0, rel=1e-5)


def test_posthoc_metrics_are_read_at_the_best_epoch(logged, rows):  # noqa: F811
    posthoc = tensorboard_reader.scalars(logged, "ls0.1/posthoc")
    entry = rows["ls0.1"]
    assert entry["posthoc_epoch"] == entry["best_epoch"]
    assert entry["posthoc"] == pytest.approx(
        {tag: dict(posthoc[tag])[entry["best_epoch"]] for tag in ("metrics/accuracy", "metrics/ece")})


@pytest.mark.parametrize("best, evaluated", [(5, 4), (6, 4), (7, 8), (0, 0), (20, 8)])
def test_posthoc_metrics_come_from_the_evaluation_nearest_the_best_epoch(best, evaluated):
    steps = list(range(best + 1))
    total = [2.0] * len(steps)
    total[best] = 1.0
    payload = {"loss": [{"output": None, "runs": {"validation": {"steps": steps, "total": total, "bands": []}}}],
               "metrics": {"metrics/auc": [[0, 0.5], [4, 0.6], [8, 0.7]]}}
    entry = summary.row({"name": "a", "last_steps": {"validation": best}}, payload)
    assert entry["best_epoch"] == best and entry["posthoc_epoch"] == evaluated


def test_json_holds_the_rows(rows):
    entries = list(rows.values())
    assert json.loads(summary.render(entries, "json")) == entries


def test_csv_has_a_column_per_component_share_and_metric(rows):
    table = list(csv.DictReader(io.StringIO(summary.render(list(rows.values()), "csv"))))
    line = next(line for line in table if line["log_dir"] == "ls0.1")
    assert float(line["share uniform_cross_entropy"]) == pytest.approx(rows["ls0.1"]["shares"]["uniform_cross_entropy"])
    assert float(line["metrics/accuracy"]) == pytest.approx(rows["ls0.1"]["posthoc"]["metrics/accuracy"])
    assert {line["log_dir"] for line in table} == {HOSTILE, "ls0.1"}


def test_csv_text_a_spreadsheet_would_run_as_a_formula_is_quoted(rows):
    hostile = {**rows["ls0.1"], "log_dir": '=HYPERLINK("http://x","y")', "best_run": "@SUM(A1)",
               "shares": {"-cmd|' /C calc'!A0": 0.25}, "posthoc": {"+metrics/x": -0.5}}
    (line,) = list(csv.reader(io.StringIO(summary.render([hostile], "csv"))))[1:]
    header = next(csv.reader(io.StringIO(summary.render([hostile], "csv"))))
    assert line[0] == "'=HYPERLINK(\"http://x\",\"y\")" and line[4] == "'@SUM(A1)"
    assert header[8] == "share -cmd|' /C calc'!A0"  # the '-' is not at the cell's start: kept
    assert header[-1] == "'+metrics/x" and line[-1] == "-0.5"  # a negative number stays a number


def test_markdown_is_one_table_row_per_log_dir_with_names_as_text(rows):
    lines = summary.render([*rows.values(), {**rows["ls0.1"], "log_dir": "a|b*c\n"}], "markdown").splitlines()
    assert len(lines) == 2 + 3 and all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert {line.count(" | ") for line in lines} == {7}
    assert "| &lt;img src=x onerror=alert(1)&gt;&amp;amp; |" in lines[2]
    assert lines[4].startswith("| a\\|b\\*c\\\\n |")  # the newline shown as an escaped \\n


def test_table_aligns_columns_and_escapes_control_characters(rows):
    text = summary.render([{**rows["ls0.1"], "log_dir": "\x1b[31mred"}], "table")
    header, _, line = text.splitlines()
    assert line.startswith("\\x1b[31mred ") and "\x1b" not in text
    assert header.index("best epoch") == line.index("2 (validation)")


def test_an_unknown_format_is_refused(rows):
    with pytest.raises(ValueError, match=r"fmt must be one of \('table', 'markdown', 'json', 'csv'\), got 'html'"):
        summary.render(list(rows.values()), "html")


def test_a_run_without_loss_total_has_its_last_posthoc_evaluation():
    entry = summary.row({"name": "", "last_steps": {"posthoc": 3}},
                        {"loss": [], "metrics": {"metrics/auc": [[1, 0.5], [3, 0.75]]}})
    assert entry["log_dir"] == "." and entry["best_epoch"] is None and entry["shares"] == {}
    assert (entry["posthoc_epoch"], entry["posthoc"]) == (3, {"metrics/auc": 0.75})
    assert summary.render([entry], "table").splitlines()[2].endswith("auc 0.75")
