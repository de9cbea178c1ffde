"""Technical outcomes and complications on the example cohort, recounted from the raw CSVs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.data import load_cohort
from analysis.stats.technical import complication_outcomes, technical_outcomes

DATA = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture(scope="module")
def cohort():
    return load_cohort(DATA)


@pytest.fixture(scope="module")
def raw():
    return {name: pd.read_csv(DATA / f"{name}.csv", dtype=str, keep_default_na=False)
            for name in ("patients", "lesions", "sessions", "complications")}


def test_technical_outcomes_recounted(cohort, raw):
    result = technical_outcomes(cohort.patients, cohort.lesions)
    lesions = raw["lesions"]
    assert result["lesion"]["success"]["count"] == int((lesions.technical_success == "yes").sum())
    assert result["lesion"]["efficacy"]["count"] == int((lesions.complete_ablation == "yes").sum())
    assert result["lesion"]["efficacy"]["denominator"] == len(lesions)
    complete_patients = lesions.groupby("patient_id").complete_ablation.apply(lambda s: (s == "yes").all())
    assert result["patient"]["efficacy"]["count"] == int(complete_patients.sum())
    assert result["patient"]["efficacy"]["denominator"] == len(raw["patients"])


def test_complications_recounted(cohort, raw):
    major = ["C", "D", "E", "F"]
    result = complication_outcomes(cohort.patients, cohort.sessions, cohort.complications, list("ABCDEF"), major)
    comp = raw["complications"].merge(raw["sessions"][["session_id", "patient_id"]], on="session_id")
    is_major = comp.sir_class.isin(major)
    assert result["per_patient"]["major"]["count"] == comp[is_major].patient_id.nunique()
    assert result["per_patient"]["minor"]["count"] == comp[~is_major].patient_id.nunique()
    assert result["per_patient"]["any"]["count"] == comp.patient_id.nunique()
    assert result["per_session"]["any"]["count"] == comp.session_id.nunique()
    assert result["per_session"]["any"]["denominator"] == len(raw["sessions"])
    assert result["events"]["any"] == len(comp)
    for cls in "ABCDEF":
        rows = comp[comp.sir_class == cls]
        assert result["by_sir_class"][cls]["events"] == len(rows)
        assert result["by_sir_class"][cls]["patients"]["count"] == rows.patient_id.nunique()
    for kind, rows in comp.groupby("complication"):
        assert result["by_type"][kind]["patients"]["count"] == rows.patient_id.nunique()
    # the derived patient flag agrees
    assert result["per_patient"]["major"]["count"] == int(cohort.patients.major_complication.sum())


def test_no_complications():
    patients = pd.DataFrame({"patient_id": ["P1"]})
    sessions = pd.DataFrame({"session_id": ["S1"], "patient_id": ["P1"]})
    empty = pd.DataFrame({"session_id": [], "complication": [], "sir_class": []})
    result = complication_outcomes(patients, sessions, empty, list("ABCDEF"), ["C", "D", "E", "F"])
    assert result["per_patient"]["any"]["count"] == 0
    assert result["per_patient"]["any"]["ci"][0] == 0.0
    assert result["by_type"] == {}
