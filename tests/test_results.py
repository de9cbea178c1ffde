"""The results file: contract keys, valid deterministic JSON, CLI, edge cases."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import load_cohort
from analysis.results import compute_results, dumps, write_results

DATA = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture(scope="module")
def cohort():
    return load_cohort(DATA)


@pytest.fixture(scope="module")
def results(cohort):
    return compute_results(cohort)


def _strict_loads(text: str):
    def reject(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=reject)


def test_contract_keys(results):
    """The minimum of STUDY.md plus the documented extensions of docs/ARCHITECTURE.md."""
    for key in ("schema_version", "synthetic", "data", "plan", "software", "n_patients", "n_lesions", "n_sessions",
                "flow", "pfs", "os", "km", "followup", "logrank", "cox", "technical_success", "technical_efficacy",
                "major_complications", "technical", "complications", "table1", "warnings"):
        assert key in results, key
    for endpoint in ("pfs", "os"):
        summary = results[endpoint]
        for key in ("n", "events", "median", "median_ci", "median_ci_method", "median_ci_by_method", "rates", "at_risk"):
            assert key in summary
        assert set(summary["rates"]) == {"12", "24", "36"}
        assert set(summary["rates"]["12"]) == {"estimate", "ci", "se", "reason"}  # reason: why estimate is null
        assert set(summary["at_risk"]) == {"0", "6", "12", "18", "24", "30", "36", "42", "48"}
        assert set(summary["median_ci_by_method"]) == {"spss", "brookmeyer_crowley"}
        cox = results["cox"][endpoint]
        for key in ("univariable", "multivariable", "selected", "epv", "ties", "ph_test", "warnings"):
            assert key in cox
        assert cox["ties"] == "efron"
        for row in cox["univariable"]:
            assert set(row) >= {"factor", "level", "term", "hr", "ci", "p", "factor_p", "n", "events", "warning"}
            assert row["term"] == f"{row['factor']}[{row['level']}]"
        assert set(results["logrank"][endpoint]) == set(results["plan"]["logrank_factors"])
    for key in ("technical_success", "technical_efficacy", "major_complications"):
        assert set(results[key]) >= {"count", "denominator", "proportion", "ci", "ci_method"}
    assert set(results["followup"]) >= {"median", "ci", "range", "method", "plain_median", "n_alive"}


def test_counts_agree_with_the_raw_files(results):
    patients = pd.read_csv(DATA / "patients.csv")
    screening = pd.read_csv(DATA / "screening.csv", keep_default_na=False)
    assert results["n_patients"] == len(patients)
    assert results["n_lesions"] == len(pd.read_csv(DATA / "lesions.csv"))
    assert results["os"]["events"] == int(patients.death_date.notna().sum())
    pfs_events = int((patients.progression_date.notna() | patients.death_date.notna()).sum())
    assert results["pfs"]["events"] == pfs_events
    assert results["pfs"]["at_risk"]["0"] == len(patients)
    flow = results["flow"]
    assert flow["screened"] == len(screening)
    assert flow["included"] == int((screening.included == "yes").sum())
    assert sum(flow["excluded"].values()) == flow["screened"] - flow["included"]
    assert flow["analysed"] == len(patients)


def test_json_is_strict_deterministic_and_timeless(cohort, results, tmp_path):
    text = dumps(results)
    again = dumps(compute_results(cohort))
    assert text == again
    assert _strict_loads(text) == results
    assert "NaN" not in text and "Infinity" not in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)  # no timestamps
    keys = list(_strict_loads(text))
    assert keys == sorted(keys)
    path = write_results(results, tmp_path / "sub" / "results.json")
    assert path.read_text(encoding="utf-8") == text


def test_cli_writes_the_file(tmp_path, capsys):
    from analysis.cli import main

    out = tmp_path / "r.json"
    assert main(["results", "--data", str(DATA), "--out", str(out)]) == 0
    assert _strict_loads(out.read_text(encoding="utf-8"))["n_patients"] == 20
    assert str(out) in capsys.readouterr().out


def test_cli_bad_data_exits_2_without_traceback(tmp_path, capsys):
    from analysis.cli import main

    bad = tmp_path / "bad"
    shutil.copytree(DATA, bad)
    patients = (bad / "patients.csv").read_text(encoding="utf-8").splitlines()
    patients[1] = patients[1].replace(",M,", ",X,", 1)
    (bad / "patients.csv").write_text("\n".join(patients) + "\n", encoding="utf-8")
    assert main(["results", "--data", str(bad), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "patients.csv" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_separation_is_reported_not_printed(results):
    """The example cohort has no OS event among Child-Pugh B/C: HR withheld, warning shown."""
    rows = [r for r in results["cox"]["os"]["univariable"] if r["term"] == "child_pugh[B or C]"]
    assert rows and rows[0]["hr"] is None and rows[0]["ci"] == [None, None]
    assert rows[0]["reason_code"] == "no_events_in_level" and "no events in level 'B or C'" in rows[0]["reason"]
    assert any(w["kind"] == "cox_fit" and w["subject"] == "os/univariable/child_pugh" and "child_pugh[B or C]" in w["message"]
               and "not estimable" in w["message"] for w in results["warnings"])
    assert "child_pugh" not in results["cox"]["os"]["selected"]


def _variant(cohort, **patients_changes):
    patients = cohort.patients.copy()
    for column, value in patients_changes.items():
        patients[column] = value
    return dataclasses.replace(cohort, patients=patients)


def test_all_censored_median_not_reached(cohort):
    """All patients alive: OS median and CI are null (tables print NR), rates are 1."""
    results = compute_results(_variant(cohort, os_event=0))
    assert results["os"]["events"] == 0
    assert results["os"]["median"] is None and results["os"]["median_ci"] == [None, None]
    assert results["os"]["rates"]["12"]["estimate"] == 1.0
    assert all(row["hr"] is None for row in results["cox"]["os"]["univariable"])
    assert all(not test["applicable"] for test in results["logrank"]["os"].values())


def test_single_group_logrank_is_stated(cohort):
    factors = cohort.factors.copy()
    factors["sex"] = pd.Categorical(["Male"] * len(factors), categories=["Male", "Female"], ordered=True)
    results = compute_results(dataclasses.replace(cohort, factors=factors))
    sex = results["logrank"]["pfs"]["sex"]
    assert sex["applicable"] is False and sex["chi2"] is None and sex["p"] is None
    assert "single group" in sex["note"]
    assert sex["groups"]["Female"]["n"] == 0
    assert any(w["kind"] == "logrank" and w["values"] == {"endpoint": "pfs", "factor": "sex"}
               and "single group" in w["message"] for w in results["warnings"])


def test_epv_warning_when_few_events(cohort):
    """A multivariable model with fewer than 10 events per parameter is flagged."""
    rng = np.random.default_rng(5)
    factors = cohort.factors.copy()
    # make two factors strongly prognostic for PFS so that both are selected
    order = np.argsort(cohort.patients["pfs_months"].to_numpy())
    early = np.zeros(len(order), dtype=bool)
    early[order[: len(order) // 2]] = True
    # (a few flipped, else the split is a perfect separation and is rightly not selected)
    factors["sex"] = pd.Categorical(np.where(early ^ (rng.uniform(size=len(early)) < 0.15), "Female", "Male"),
                                    categories=["Male", "Female"], ordered=True)
    flip = early ^ (rng.uniform(size=len(early)) < 0.15)
    factors["age_group"] = pd.Categorical(np.where(flip, "≥60 years", "<60 years"),
                                          categories=["<60 years", "≥60 years"], ordered=True)
    results = compute_results(dataclasses.replace(cohort, factors=factors))
    cox = results["cox"]["pfs"]
    assert len(cox["selected"]) >= 1 and cox["multivariable"]
    assert cox["epv"] == pytest.approx(results["pfs"]["events"] / len(cox["multivariable"]))
    assert cox["epv"] < 10
    low = [w for w in cox["warnings"] if w["kind"] == "low_epv"]
    assert len(low) == 1 and low[0]["values"]["epv"] == cox["epv"] and low[0]["values"]["min_epv"] == 10
    assert low[0] in results["warnings"]
    from analysis.tables.builders import tbl_cox

    assert any(note.startswith("Caution:") and "events per variable" in note
               for note in tbl_cox(results, "pfs").footnotes)


def test_bad_plan_setting_exits_2(tmp_path, capsys):
    """A median CI method the code does not know is reported like bad data (plan file, key, value)."""
    import yaml

    from analysis.cli import main
    from analysis.paths import PLAN_FILE

    plan = yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))
    plan["survival"]["median_ci_method"] = "sas"
    bad_plan = tmp_path / "plan.yml"
    bad_plan.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    assert main(["results", "--data", str(DATA), "--plan", str(bad_plan), "--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "plan.yml" in err and "survival.median_ci_method" in err and "'sas'" in err
    assert "Traceback" not in err


def test_installed_version_is_importlib_metadatas():
    from importlib.metadata import PackageNotFoundError, version

    from analysis.results import SOFTWARE, installed_version

    for name in SOFTWARE + ("pandera", "pydantic", "pyyaml", "hypothesis"):
        try:
            expected = version(name)
        except PackageNotFoundError:
            with pytest.raises(PackageNotFoundError):
                installed_version(name)
            continue
        assert installed_version(name) == expected, name
