"""Every derived variable against a hand computation from the raw CSV (plain Python, no pandas).

Rules from STUDY.md: months = days / 30.4375; PFS event = progression or death, else
censored at last follow-up; OS event = death; radical = resection, transplant,
ablation, TACE+ablation; metachronous when the PO diagnosis comes more than 6 months
after the HCC diagnosis; major complication = SIR class C-F.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import load_cohort

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"
DAYS_PER_MONTH = 30.4375
RADICAL = {"resection", "transplant", "ablation", "TACE+ablation"}
MAJOR = {"C", "D", "E", "F"}


def rows(name: str) -> list[dict[str, str]]:
    with open(EXAMPLE / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def hand_computed() -> dict[str, dict]:
    lesions, sessions, complications = rows("lesions"), rows("sessions"), rows("complications")
    out = {}
    for p in rows("patients"):
        pid = p["patient_id"]
        first, last = day(p["first_ablation_date"]), day(p["last_followup_date"])
        prog, death = day(p["progression_date"]), day(p["death_date"])
        pfs_end = min(d for d in (prog, death) if d) if (prog or death) else last
        own_lesions = [x for x in lesions if x["patient_id"] == pid]
        own_sessions = sorted((s for s in sessions if s["patient_id"] == pid), key=lambda s: s["session_date"])
        own_ids = {s["session_id"] for s in own_sessions}
        own_complications = [c for c in complications if c["session_id"] in own_ids]
        sizes = [float(x["diameter_cm"]) for x in own_lesions]
        hcc_to_po = (day(p["po_diagnosis_date"]) - day(p["hcc_diagnosis_date"])).days / DAYS_PER_MONTH
        out[pid] = {
            "pfs_months": (pfs_end - first).days / DAYS_PER_MONTH,
            "pfs_event": int(bool(prog or death)),
            "os_months": ((death or last) - first).days / DAYS_PER_MONTH,
            "os_event": int(death is not None),
            "radical_treatment": p["primary_treatment"] in RADICAL,
            "hcc_to_po_months": hcc_to_po,
            "po_timing": "metachronous" if hcc_to_po > 6 else "synchronous",
            "n_pos": len(own_lesions),
            "largest_po_cm": max(sizes),
            "mean_po_cm": sum(sizes) / len(sizes),
            "n_sessions": len(own_sessions),
            "modality_first": own_sessions[0]["modality"],
            "any_complication": bool(own_complications),
            "major_complication": any(c["sir_class"] in MAJOR for c in own_complications),
            "technical_success": all(x["technical_success"] == "yes" for x in own_lesions),
            "technical_efficacy": all(x["complete_ablation"] == "yes" for x in own_lesions),
            "alive": death is None,
            "followup_months": ((death or last) - first).days / DAYS_PER_MONTH,  # ends at death
        }
    return out


@pytest.fixture(scope="module")
def cohort():
    return load_cohort(EXAMPLE)


def test_every_derived_variable_matches_hand_computation(cohort):
    expected = hand_computed()
    got = cohort.patients.set_index("patient_id")
    assert sorted(got.index) == sorted(expected)
    for pid, values in expected.items():
        for column, value in values.items():
            actual = got.at[pid, column]
            if isinstance(value, float):
                assert actual == pytest.approx(value, rel=1e-12), (pid, column)
            else:
                assert actual == value, (pid, column, actual, value)


def test_two_patients_by_eye(cohort):
    """P001 and P003 worked out from the CSV by hand (dates in the file, days by calendar)."""
    p = cohort.patients.set_index("patient_id")
    # P001: ablation 2017-07-26, progression 2018-12-18 (510 days), death 2021-05-02 (1376 days)
    assert (date(2018, 12, 18) - date(2017, 7, 26)).days == 510
    assert p.at["P001", "pfs_months"] == pytest.approx(510 / 30.4375)
    assert p.at["P001", "os_months"] == pytest.approx(1376 / 30.4375)
    assert (p.at["P001", "pfs_event"], p.at["P001", "os_event"]) == (1, 1)
    assert p.at["P001", "radical_treatment"]                 # TACE+ablation is radical
    assert p.at["P001", "po_timing"] == "metachronous"       # 573 days = 18.8 months
    assert p.at["P001", "n_pos"] == 2 and p.at["P001", "largest_po_cm"] == 3.0
    assert p.at["P001", "major_complication"]                # SIR class C pneumothorax
    # P003: TACE alone (not radical), PO 81 days after HCC (synchronous), alive, minor (B) complication
    assert not p.at["P003", "radical_treatment"]
    assert p.at["P003", "po_timing"] == "synchronous"
    assert p.at["P003", "os_event"] == 0 and p.at["P003", "alive"]
    assert p.at["P003", "any_complication"] and not p.at["P003", "major_complication"]


def test_session_and_complication_views(cohort):
    complications = rows("complications")
    sessions = cohort.sessions.set_index("session_id")
    for sid in sessions.index:
        own = [c for c in complications if c["session_id"] == sid]
        assert sessions.at[sid, "n_complications"] == len(own)
        assert sessions.at[sid, "major_complication"] == any(c["sir_class"] in MAJOR for c in own)
    assert list(cohort.complications["major"]) == [c["sir_class"] in MAJOR for c in complications]
    lesion_dates = cohort.lesions.set_index("lesion_id")["session_date"]
    session_dates = {s["session_id"]: s["session_date"] for s in rows("sessions")}
    for lesion in rows("lesions"):
        assert lesion_dates[lesion["lesion_id"]] == pd.Timestamp(session_dates[lesion["session_id"]])


def test_factors_follow_the_plan(cohort):
    p, f = cohort.patients, cohort.factors
    assert list(f.columns) == list(cohort.plan.factors)
    assert f.index.equals(p.index)
    for i in p.index:
        assert f.at[i, "sex"] == {"M": "Male", "F": "Female"}[p.at[i, "sex"]]
        assert f.at[i, "age_group"] == ("<60 years" if p.at[i, "age"] < 60 else "≥60 years")
        assert f.at[i, "radical_treatment"] == ("Radical" if p.at[i, "radical_treatment"] else "Non-radical")
        assert f.at[i, "bclc_group"] == ("0-B" if p.at[i, "bclc_initial"] in {"0", "A", "B"} else "C-D")
        assert f.at[i, "pos_count"] == {1: "1", 2: "2", 3: "3-4", 4: "3-4"}[p.at[i, "n_pos"]]
        afp = p.at[i, "afp_ng_ml"]
        assert (pd.isna(f.at[i, "afp_group"]) if pd.isna(afp)
                else f.at[i, "afp_group"] == ("<400 ng/mL" if afp < 400 else "≥400 ng/mL"))
    # the first level is the Cox reference, in the plan's order
    assert list(f["pos_count"].cat.categories) == ["1", "2", "3-4"] and f["pos_count"].cat.ordered
    assert list(f["systemic_therapy"].cat.categories) == ["No", "Yes"]


def test_contract_types(cohort):
    p = cohort.patients
    for column in ("hcc_diagnosis_date", "po_diagnosis_date", "first_ablation_date", "progression_date",
                   "death_date", "last_followup_date"):
        assert pd.api.types.is_datetime64_any_dtype(p[column]), column
    assert p["age"].dtype == float and p["afp_ng_ml"].dtype == float
    assert pd.api.types.is_integer_dtype(p["ecog"])
    assert p["afp_ng_ml"].isna().sum() == sum(1 for r in rows("patients") if r["afp_ng_ml"] == "")
    assert cohort.lesions["diameter_cm"].dtype == float
