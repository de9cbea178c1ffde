"""Every statistic is defined on valid edge cohorts: results never raise, and what cannot be
estimated says so with its reason (issue 13, item 1).

Each cohort is the example data with a few cells changed (dates stay valid for the contract)
or a subset of its patients, written to a temporary directory and run through the whole
``compute_results``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import load_cohort
from analysis.results import compute_results, dumps

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"


def _write(tmp_path: Path, patients: pd.DataFrame, complications_rows: bool = True) -> Path:
    keep = set(patients["patient_id"])
    out = tmp_path / "data"
    out.mkdir(parents=True)
    patients.to_csv(out / "patients.csv", index=False)
    lesions = pd.read_csv(EXAMPLE / "lesions.csv", dtype=str, keep_default_na=False)
    sessions = pd.read_csv(EXAMPLE / "sessions.csv", dtype=str, keep_default_na=False)
    complications = pd.read_csv(EXAMPLE / "complications.csv", dtype=str, keep_default_na=False)
    lesions[lesions["patient_id"].isin(keep)].to_csv(out / "lesions.csv", index=False)
    sessions = sessions[sessions["patient_id"].isin(keep)]
    sessions.to_csv(out / "sessions.csv", index=False)
    complications = complications[complications["session_id"].isin(set(sessions["session_id"]))]
    (complications if complications_rows else complications.iloc[:0]).to_csv(out / "complications.csv", index=False)
    return out


def _patients() -> pd.DataFrame:
    return pd.read_csv(EXAMPLE / "patients.csv", dtype=str, keep_default_na=False)


def _no_deaths(p):
    p["death_date"] = ""
    return p


def _nothing_happens(p):
    p["death_date"] = ""
    p["progression_date"] = ""
    return p


def _most_progress_on_day_zero(p):
    p = p.iloc[:12].copy()
    p.loc[p.index[:7], "progression_date"] = p.loc[p.index[:7], "first_ablation_date"]
    return p


def _one_patient_level_progresses_on_day_zero(p):
    p["sex"] = "M"
    p.loc[p.index[0], "sex"] = "F"
    p.loc[p.index[0], "progression_date"] = p.loc[p.index[0], "first_ablation_date"]
    return p


def _everyone_dies(p):
    missing = p["death_date"] == ""
    p.loc[missing, "death_date"] = p.loc[missing, "last_followup_date"]
    return p


def _two_patients(p):
    return p.iloc[:2].copy()


CASES = {
    "no deaths": (_no_deaths, True),
    "no events at all": (_nothing_happens, True),
    "7 of 12 progress on day 0": (_most_progress_on_day_zero, True),
    "one-patient level progresses on day 0": (_one_patient_level_progresses_on_day_zero, True),
    "everyone dies": (_everyone_dies, True),
    "two patients": (_two_patients, True),
    "complications.csv without rows": (lambda p: p, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_results_are_defined_on_edge_cohorts(case, tmp_path):
    change, with_complications = CASES[case]
    directory = _write(tmp_path, change(_patients()), with_complications)
    results = compute_results(load_cohort(directory))
    json.loads(dumps(results))  # strictly valid JSON, no NaN
    for endpoint in ("pfs", "os"):
        summary = results[endpoint]
        reasons = summary["median_not_estimable"]
        if summary["median"] is None:
            assert reasons["estimate"], f"{endpoint}: null median without a reason"
        for limit, reason in zip(summary["median_ci"], reasons["ci"]):
            assert (limit is None) == (reason is not None) or summary["median"] is None
        for model in results["cox"][endpoint]["univariable"]:
            if model["hr"] is None:
                assert model["estimable"] is False and model["reason"], model["term"]


def test_day_zero_progressions_give_r_median_zero(tmp_path):
    """R survfit: median PFS 0 when 7 of 12 progress on the ablation day; the SPSS CI is not estimable
    (density undefined at a drop at time 0) and says why."""
    directory = _write(tmp_path, _most_progress_on_day_zero(_patients()))
    results = compute_results(load_cohort(directory))
    pfs = results["pfs"]
    assert pfs["median_by_method"] == {"spss": 0.0, "brookmeyer_crowley": 0.0}
    assert pfs["median_ci_by_method"]["brookmeyer_crowley"][0] == 0.0
    assert pfs["median_ci"] == [None, None] and "time 0" in pfs["median_not_estimable"]["ci"][0]


def test_no_deaths_means_no_cox_p_and_the_reason(tmp_path):
    directory = _write(tmp_path, _no_deaths(_patients()))
    results = compute_results(load_cohort(directory))
    for row in results["cox"]["os"]["univariable"]:
        assert row["p"] is None and row["reason_code"] == "no_events"
    assert all(entry["p"] is None and entry["reason"] for model in results["cox"]["os"]["univariable_models"].values()
               for entry in model["factor_p"].values())


def test_follow_up_of_the_dead_ends_at_death(tmp_path):
    """The contract lets last_followup_date fall after death_date; follow-up still ends at death."""
    patients = _patients()
    dead = patients.index[patients["death_date"] != ""][0]
    death = pd.Timestamp(patients.loc[dead, "death_date"])
    patients.loc[dead, "last_followup_date"] = (death + pd.Timedelta(days=400)).date().isoformat()
    cohort = load_cohort(_write(tmp_path, patients))
    row = cohort.patients.set_index("patient_id").loc[patients.loc[dead, "patient_id"]]
    first = pd.Timestamp(patients.loc[dead, "first_ablation_date"])
    assert row["followup_months"] == pytest.approx((death - first).days / 30.4375)


def test_results_do_not_depend_on_the_order_of_the_rows(tmp_path):
    """Ties are broken by time, not by file order: shuffled patients give the same Cox and PH numbers."""
    patients = _patients()
    first = compute_results(load_cohort(_write(tmp_path / "a", patients)))
    shuffled = patients.sample(frac=1.0, random_state=3).reset_index(drop=True)
    second = compute_results(load_cohort(_write(tmp_path / "b", shuffled)))
    for endpoint in ("pfs", "os"):
        for one, two in zip(first["cox"][endpoint]["univariable"], second["cox"][endpoint]["univariable"]):
            assert one["term"] == two["term"]
            assert (one["p"] is None) == (two["p"] is None)
            if one["p"] is not None:
                assert one["hr"] == pytest.approx(two["hr"], rel=1e-10)
                assert one["p"] == pytest.approx(two["p"], rel=1e-9)
        for name, model in first["cox"][endpoint]["univariable_models"].items():
            other = second["cox"][endpoint]["univariable_models"][name]
            if model["ph_test"]:
                assert model["ph_test"]["global"]["p"] == pytest.approx(other["ph_test"]["global"]["p"], rel=1e-9)


def test_plan_option_for_monotone_likelihood_is_checked(tmp_path):
    """cox.monotone_likelihood must be one of the options: a clear plan error (exit status 2), not a traceback."""
    from analysis.cli import main

    plan = (Path(__file__).parents[1] / "analysis_plan.yml").read_text(encoding="utf-8")
    assert "monotone_likelihood: not_estimable" in plan
    bad = tmp_path / "plan.yml"
    bad.write_text(plan.replace("monotone_likelihood: not_estimable", "monotone_likelihood: ignore"), encoding="utf-8")
    assert main(["results", "--data", str(EXAMPLE), "--plan", str(bad), "--out", str(tmp_path / "r.json")]) == 2
