"""The results object's schema: one shape from every command, checked on write and read, documented from itself."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from analysis.data import load_cohort
from analysis.results import compute_results, dumps, read_results, write_results
from analysis.results_schema import (REFERENCE_FILE, SCHEMA_FILE, SCHEMA_VERSION, ResultsShapeError, check,
                                     json_schema, reference_text, schema_text)

DATA = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture(scope="module")
def results():
    return json.loads(dumps(compute_results(load_cohort(DATA))))


def test_docs_are_written_from_the_models():
    """docs/results.schema.json and docs/RESULTS.md are current (``python -m analysis.results_schema``)."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), "run python -m analysis.results_schema"
    assert REFERENCE_FILE.read_text(encoding="utf-8") == reference_text(), "run python -m analysis.results_schema"


def test_every_model_key_is_in_the_reference():
    reference = REFERENCE_FILE.read_text(encoding="utf-8")
    schema = json_schema()
    for name, spec in [("Results", schema), *schema["$defs"].items()]:
        assert f"## {name}" in reference
        for key in spec.get("properties", {}):
            assert f"| `{key}` |" in reference, (name, key)


def test_results_validate_against_the_json_schema_file(results):
    """The JSON Schema file alone (as another tool would use it) accepts the results file."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(results)
    assert results["schema_version"] == SCHEMA_VERSION


def test_the_results_command_and_the_render_write_one_shape(results, tmp_path, monkeypatch):
    """``python -m analysis results`` and the render's pre-render write the same keys (no ``reproduction``
    added by one of them only): both write ``compute_results`` through ``write_results``."""
    from analysis.cli import main
    from analysis.publish import publish_results

    assert main(["results", "--data", str(DATA), "--out", str(tmp_path / "cli.json")]) == 0
    monkeypatch.setenv("ABLATION_DATA_DIR", str(DATA))
    monkeypatch.delenv("ABLATION_RESULTS", raising=False)
    monkeypatch.delenv("ABLATION_RENDER_CACHE", raising=False)
    import analysis.figures.catalog as catalog

    monkeypatch.setattr(catalog, "write_all_figures", lambda *a, **k: {})  # figures are not the point here
    assert publish_results(tmp_path / "render") == 0
    from_cli = json.loads((tmp_path / "cli.json").read_text(encoding="utf-8"))
    from_render = json.loads((tmp_path / "render" / "results.json").read_text(encoding="utf-8"))
    assert from_cli == from_render
    assert "reproduction" in from_cli


@pytest.mark.parametrize("change, where", [
    (lambda r: r.pop("decisions"), "decisions"),
    (lambda r: r.__setitem__("surprise", 1), "surprise"),
    (lambda r: r["pfs"].__setitem__("median", "11.4 months"), "pfs.median"),
    (lambda r: r["km"]["os"]["figures"]["overall"]["groups"][0].pop("at_risk"), "km.os.figures.overall.groups.0"),
    (lambda r: r["warnings"].append("EPV < 10"), "warnings"),
    (lambda r: r.__setitem__("schema_version", 1), "schema_version"),
])
def test_a_wrong_shape_is_refused_on_write_and_on_read(results, tmp_path, change, where):
    bad = copy.deepcopy(results)
    change(bad)
    with pytest.raises(ResultsShapeError, match=r"(?s)results to write.*" + where.replace(".", r"\.")):
        write_results(bad, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ResultsShapeError, match="bad.json"):
        read_results(tmp_path / "bad.json")


def test_open_sections_take_new_estimator_keys(results):
    """The statistics stream adds keys to Cox models / terms / follow-up without touching the schema."""
    extended = copy.deepcopy(results)
    extended["cox"]["pfs"]["estimable"] = True
    extended["cox"]["pfs"]["univariable"][0]["firth"] = False
    extended["followup"]["quantiles"] = {"25": 1.0}
    assert check(extended) is extended


def test_a_bad_results_file_stops_the_render_cleanly(results, tmp_path, monkeypatch, capsys):
    from analysis.publish import publish_results

    bad = copy.deepcopy(results)
    del bad["km"]
    (tmp_path / "results.json").write_text(json.dumps(bad), encoding="utf-8")
    monkeypatch.setenv("ABLATION_RESULTS", str(tmp_path / "results.json"))
    assert publish_results(tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "results.json" in err and "km" in err and "Traceback" not in err
