"""analysis.inputs_read: every way of reading the results through the recorder is noted."""

from __future__ import annotations

import json

import pytest

from analysis import inputs_read
from analysis.inputs_read import KEYS, RecordingMapping, parts_read, recording


def test_each_read_is_noted_and_a_whole_read_cannot_bypass_it(monkeypatch):
    monkeypatch.setattr(inputs_read, "_reads", {})
    monkeypatch.setattr(inputs_read, "_loads", {})
    r = recording("/x/results.json", {"a": {"n": 1}, "b": 2, "c": 3, "d": 4})
    assert r["a"] == {"n": 1} and r.get("b") == 2 and "zz" not in r and r.get("missing", 5) == 5
    assert 7 not in r   # not a string: never a key of a JSON object, nothing to note
    assert parts_read() == {"/x/results.json": {"keys": ["a", "b", "missing", "zz"], "loads": 1}}
    assert len(r) == 4
    assert KEYS in parts_read()["/x/results.json"]["keys"]
    assert sorted(dict(r)) == ["a", "b", "c", "d"]   # a copy reads every key: all noted
    assert set(parts_read()["/x/results.json"]["keys"]) >= {"a", "b", "c", "d"}
    with pytest.raises(TypeError):    # not a dict: no C fast path reads it unrecorded
        json.dumps(r)
    assert not isinstance(r, dict) and isinstance(r, RecordingMapping)
    with pytest.raises(TypeError):
        r["a"] = 1   # read-only
    recording("/x/results.json", {})
    assert parts_read()["/x/results.json"]["loads"] == 2


def test_report_load_records_the_results_it_reads(tmp_path, monkeypatch):
    """analysis.report.load() hands the documents a recording mapping over the results file."""
    from analysis import report
    from analysis.results import compute_results, write_results
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis import paths

    monkeypatch.setattr(inputs_read, "_reads", {})
    monkeypatch.setattr(inputs_read, "_loads", {})
    path = write_results(compute_results(load_cohort(paths.SHIPPED_DATA, load_plan())), tmp_path / "results.json")
    monkeypatch.setenv(report.RESULTS_ENV_VAR, str(path))
    R = report.load()
    assert isinstance(R.results, RecordingMapping)
    R.table_markdown("baseline")
    keys = parts_read()[str(path.resolve())]["keys"]
    assert "table1" in keys and "cox" not in keys
