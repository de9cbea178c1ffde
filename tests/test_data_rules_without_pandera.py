"""Valid tables pass the rules without pandera; a table breaking one is reported by pandera as before
(analysis/data/schema.py TableSchema; issue 17: pandera's import and validation were 15% of `results`)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import schema
from analysis.data.cohort import load_cohort
from analysis.data.errors import DataError

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "synthetic"


def _through_pandera(monkeypatch):
    """Every table validated by pandera, as before the shortcut."""
    monkeypatch.setattr(schema.TableSchema, "passes", lambda self, frame: False)


@pytest.mark.parametrize("data", [EXAMPLE, SHIPPED], ids=["example", "shipped"])
def test_valid_data_pass_the_same_with_and_without_pandera(data, monkeypatch):
    seen = []
    real = schema.TableSchema.passes
    monkeypatch.setattr(schema.TableSchema, "passes", lambda self, frame: seen.append(real(self, frame)) or seen[-1])
    fast = load_cohort(data)
    assert seen and all(seen)              # every table of valid data passed without pandera
    _through_pandera(monkeypatch)
    slow = load_cohort(data)               # pandera finds nothing either
    pd.testing.assert_frame_equal(fast.patients, slow.patients)
    assert fast.warnings == slow.warnings


def _broken_copy(tmp_path: Path, edit) -> Path:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    path = data / "patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(edit(lines), encoding="utf-8")
    return data


BREAKS = {
    "duplicated row": lambda lines: "".join(lines + [lines[1]]),
    "duplicate id": lambda lines: "".join(lines[:2] + [lines[1].split(",")[0] + "," + lines[2].split(",", 1)[1]]
                                          + lines[3:]),
    "blank required": lambda lines: "".join([lines[0], "," + lines[1].split(",", 1)[1]] + lines[2:]),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_broken_table_is_reported_by_pandera_as_before(name, tmp_path, monkeypatch):
    data = _broken_copy(tmp_path, BREAKS[name])
    with pytest.raises(DataError) as fast:
        load_cohort(data)
    _through_pandera(monkeypatch)
    with pytest.raises(DataError) as slow:
        load_cohort(data)
    assert fast.value.report() == slow.value.report()
    assert RULE[name] in fast.value.report()


RULE = {"duplicated row": schema.DUPLICATE_ROW, "duplicate id": schema.DUPLICATE_ID,
        "blank required": schema.REQUIRED}


def test_a_rule_that_does_not_hold_or_cannot_run_is_left_to_pandera():
    frame = pd.DataFrame({"a": ["x", "y"]}, index=pd.Index([2, 3], name="line"))
    holds = schema.TableSchema({"a": schema.Column([schema.Check(lambda s: s != "", "required")])}, "t")
    assert holds.passes(frame)
    for fn in (lambda s: s == "x", lambda s: 1 / 0, lambda s: True, lambda s: (s != "").astype(object)):
        assert not schema.TableSchema({"a": schema.Column([schema.Check(fn, "rule")])}, "t").passes(frame)
    assert not schema.TableSchema({"b": schema.Column([])}, "t").passes(frame)          # a missing column
    repeated = pd.DataFrame({"a": ["x", "x"]}, index=frame.index)
    assert not schema.TableSchema({"a": schema.Column([], unique=True)}, "t").passes(repeated)
    assert not schema.TableSchema({}, "t", [schema.Check(lambda d: ~d.duplicated(), "dup")]).passes(repeated)
