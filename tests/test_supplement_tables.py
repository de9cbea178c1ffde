"""Supplement tables read the results dict and format it through the theme."""

from __future__ import annotations

from analysis.tables import supplement


def results() -> dict:
    return {
        "plan": {"median_ci_method": "spss", "min_events_per_variable": 10, "alpha": 0.05, "endpoints": ["pfs", "os"],
                 "factors": {"radical_treatment": {"label": "Treatment of primary HCC",
                                                   "levels": ["Radical", "Non-radical"], "reference": "Radical"}}},
        "pfs": {"label": "Progression-free survival", "median": 11.43,
                "median_ci_by_method": {"spss": [10.07, 12.80], "brookmeyer_crowley": [8.9, None]}},
        "os": {"label": "Overall survival", "median": None,
               "median_ci_by_method": {"spss": [None, None], "brookmeyer_crowley": [27.5, None]}},
        "cox": {
            "pfs": {"selected": ["radical_treatment"], "epv": 56.0,
                    "ph_test": {"terms": {"radical_treatment[Non-radical]": {"chi2": 2.934, "p": 0.0867}},
                                "global": {"chi2": 2.934, "p": 0.0867}}},
            "os": {"selected": [], "epv": None, "ph_test": None},
        },
        "data": {"files": {"patients.csv": "ab" * 32},
                 "corrections": [{"correction_id": "C1", "file": "patients", "record_id": "P001",
                                  "column": "sex", "old_value": "M", "new_value": "F",
                                  "reason": "chart audit", "corrected_on": "2026-11-20", "corrected_by": "DM"}]},
    }


def test_median_ci_table_prints_both_methods_and_not_reached() -> None:
    md = supplement.tbl_median_ci(results()).to_markdown()
    assert "(10.1\u201312.8)" in md and "(8.9\u2013NR)" in md
    assert "| Overall survival          | NR" in md


def test_ph_table_lists_terms_global_and_epv_or_says_there_is_no_model() -> None:
    md = supplement.tbl_ph(results()).to_markdown()
    # publication labels only: no code name such as radical_treatment[Non-radical]
    assert "Treatment of primary HCC: Non-radical vs Radical" in md and "2.93" in md and "0.087" in md
    assert "[" not in md
    assert "Events per variable" in md and "56.0" in md
    assert "No multivariable model" in md


def test_corrections_table_lists_every_correction_with_its_reason_for_synthetic_data() -> None:
    synthetic = dict(results(), synthetic=True)
    md = supplement.tbl_corrections(synthetic).to_markdown()
    assert "C1" in md and "chart audit" in md and "P001" in md
    empty = results()
    empty["data"]["corrections"] = []
    assert "None" in supplement.tbl_corrections(empty).to_markdown()


def test_corrections_of_patient_data_give_only_counts_per_variable_the_rows_go_to_the_audit() -> None:
    real = dict(results(), synthetic=False)
    md = supplement.tbl_corrections(real).to_markdown()
    assert "P001" not in md and "chart audit" not in md and "| sex " in md and "| 1 " in md
    audit = supplement.tbl_corrections_audit(real["data"]["corrections"]).to_markdown()
    assert "P001" in audit and "chart audit" in audit
