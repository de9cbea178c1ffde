"""The corrections ledger: applied in memory at load time, validated like raw data, never written back."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.data import load_cohort
from analysis.data.errors import DataError

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"
HEADER = "correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"
DAYS_PER_MONTH = 365.25 / 12


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(EXAMPLE, target)
    return target


def ledger(d: Path, *rows: str) -> None:
    (d / "corrections.csv").write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")


def digests(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def patient(cohort, pid: str) -> pd.Series:
    return cohort.patients.set_index("patient_id").loc[pid]


def test_progression_correction_changes_pfs(data):
    # P003: first ablation 2012-10-11, progression 2013-04-10 (raw)
    before = load_cohort(data)
    assert patient(before, "P003")["pfs_months"] == pytest.approx(
        (date(2013, 4, 10) - date(2012, 10, 11)).days / DAYS_PER_MONTH)
    ledger(data, "C001,patients.csv,P003,progression_date,2013-04-10,2013-06-10,CT re-read by radiologist,2026-11-20,JD")
    raw = digests(data)
    after = load_cohort(data)
    assert patient(after, "P003")["pfs_months"] == pytest.approx(
        (date(2013, 6, 10) - date(2012, 10, 11)).days / DAYS_PER_MONTH)
    assert patient(after, "P003")["progression_date"] == pd.Timestamp("2013-06-10")
    assert digests(data) == raw   # nothing written
    applied = after.corrections
    assert list(applied.columns) == ["correction_id", "file", "record_id", "column", "old_value",
                                     "new_value", "reason", "corrected_on", "corrected_by"]
    assert applied.to_dict("records") == [{
        "correction_id": "C001", "file": "patients.csv", "record_id": "P003", "column": "progression_date",
        "old_value": "2013-04-10", "new_value": "2013-06-10", "reason": "CT re-read by radiologist",
        "corrected_on": "2026-11-20", "corrected_by": "JD"}]


def test_filling_a_blank_date_turns_censoring_into_an_event(data):
    # P003 is alive (blank death_date), last follow-up 2014-11-15
    ledger(data, "C1,patients,P003,death_date,,2014-11-15,death certificate received,2026-11-21,AB")
    cohort = load_cohort(data)
    row = patient(cohort, "P003")
    assert row["os_event"] == 1 and not row["alive"]
    assert row["os_months"] == pytest.approx((date(2014, 11, 15) - date(2012, 10, 11)).days / DAYS_PER_MONTH)


def test_lesion_correction_changes_patient_summary(data):
    # P001 lesions 2.8 and 3.0 cm: largest 3.0; correct the first to 4.2
    ledger(data, "C1,lesions.csv,P001-S1-L1,diameter_cm,2.8,4.2,pathology report,2026-11-21,AB")
    row = patient(load_cohort(data), "P001")
    assert row["largest_po_cm"] == 4.2 and row["mean_po_cm"] == pytest.approx(3.6)


def test_chained_corrections_of_one_cell(data):
    ledger(data,
           "C1,patients.csv,P002,age,55.2,56.2,typo,2026-11-01,AB",
           "C2,patients.csv,P002,age,56.2,57.0,second look,2026-11-02,CD")
    cohort = load_cohort(data)
    assert patient(cohort, "P002")["age"] == 57.0
    assert list(cohort.corrections["correction_id"]) == ["C1", "C2"]


def test_stale_correction_is_refused(data, capsys):
    ledger(data, "C1,patients.csv,P003,progression_date,2013-04-11,2013-06-10,x,2026-11-20,JD")
    raw = digests(data)
    assert main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert ("corrections.csv:2 column 'old_value' value '2013-04-11': stale correction: old_value does not "
            "match the value in patients.csv (line 4 holds '2013-04-10')") in err
    assert digests(data) == raw


def test_chain_out_of_order_is_stale(data):
    ledger(data,
           "C1,patients.csv,P002,age,56.2,57.0,second look,2026-11-02,CD",
           "C2,patients.csv,P002,age,55.2,56.2,typo,2026-11-01,AB")
    with pytest.raises(DataError) as caught:
        load_cohort(data)
    stale = [p for p in caught.value.problems if "stale" in p.rule]
    # C1 comes first but starts from C2's new value: C1 is stale, and the message names the value the
    # cell really holds at that point of the chain (55.2), not C2's new value; C2 then applies to 55.2.
    assert [p.line for p in stale] == [2] and "holds '55.2'" in stale[0].rule


def test_corrected_value_is_validated_like_raw(data):
    ledger(data, "C9,patients.csv,P001,progression_date,2018-12-18,2016-01-01,x,2026-11-20,JD")
    with pytest.raises(DataError) as caught:
        load_cohort(data)
    rules = [str(p) for p in caught.value.problems]
    assert any("patients.csv:2 column 'progression_date' value '2016-01-01': date order: progression_date "
               "is before first_ablation_date (value set by correction C9" in r for r in rules), rules


def test_empty_ledger_and_no_ledger(data):
    assert load_cohort(data).corrections.empty
    ledger(data)
    cohort = load_cohort(data)
    assert cohort.corrections.empty and "corrections.csv" in cohort.provenance


def test_summary_lists_corrections_with_reason(data, capsys):
    ledger(data, "C001,patients.csv,P003,progression_date,2013-04-10,2013-06-10,CT re-read,2026-11-20,JD")
    assert main(["validate", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "Corrections applied: 1" in out
    assert "C001: patients.csv P003 progression_date: '2013-04-10' -> '2013-06-10' (CT re-read; JD, 2026-11-20)" in out


def test_a_complication_is_corrected_by_its_session_and_place(data, capsys):
    """complications.csv has no id column: its rows are named <session_id>#<n>, the n-th row of
    that session in the file. Re-grading the second complication of P003-S1 from SIR B to D
    makes the session (and P003) a major complication; the first row is untouched."""
    with open(data / "complications.csv", "a", encoding="utf-8") as handle:
        handle.write("P003-S1,pleural_effusion,B,drainage\n")
    before = load_cohort(data)
    assert not patient(before, "P003")["major_complication"]
    ledger(data, "C001,complications.csv,P003-S1#2,sir_class,B,D,re-graded from the chart,2026-11-20,JD")
    raw = digests(data)
    after = load_cohort(data)
    assert digests(data) == raw
    assert patient(after, "P003")["major_complication"]
    sessions = after.sessions.set_index("session_id")
    assert sessions.loc["P003-S1", "n_complications"] == 2 and sessions.loc["P003-S1", "major_complication"]
    assert after.corrections["record_id"].tolist() == ["P003-S1#2"]
    assert (patient(after, "P001")["major_complication"], patient(after, "P019")["major_complication"]) == (
        patient(before, "P001")["major_complication"], patient(before, "P019")["major_complication"])

    # the first row holds B as well, but a correction of it is a separate record; row 3 does not exist
    ledger(data, "C001,complications.csv,P003-S1#1,sir_class,C,D,wrong old value,2026-11-20,JD",
           "C002,complications.csv,P003-S1#3,sir_class,B,D,no such row,2026-11-20,JD",
           "C003,complications,P003-S1#2,session_id,P003-S1,P004-S1,moved,2026-11-20,JD")
    assert main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "corrections.csv:2 column 'old_value' value 'C': stale correction" in err
    assert "(line 3 holds 'B')" in err
    assert ("corrections.csv:3 column 'record_id' value 'P003-S1#3': unknown record_id: no row of "
            "complications.csv is this session_id#n") in err
    assert "corrections.csv:4 column 'column' value 'session_id': the id column cannot be corrected" in err
