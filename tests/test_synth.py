"""The synthetic cohort generator (analysis/synth): design, pairing, tables, determinism.

The published-number reproduction itself is tested in test_reproduction.py
through the real pipeline; here the generator's parts are checked against
independent references (lifelines, analysis.stats, the data layer's validation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.cli import main as cli_main
from analysis.data import load_cohort
from analysis.synth import SHIPPED_PATIENTS, SHIPPED_SEED, generate
from analysis.synth.assign import assign_pairs
from analysis.synth.design import (DAYS_PER_MONTH, Design, km_steps, load_published, rate_at,
                                   solve_design, spss_median)
from analysis.synth.writer import FILES

SHIPPED_FILES = [f"{name}.csv" for name in FILES] + ["SYNTHETIC", "README.md"]


def _published(quantity_id: str) -> tuple[float, int]:
    item = next(q for q in load_published()["quantities"] if q["id"] == quantity_id)
    return float(item["published"]), int(item["decimals"])


def _rounds_to(value: float, quantity_id: str) -> bool:
    published, decimals = _published(quantity_id)
    return abs(value - published) <= 0.5 * 10.0 ** -decimals


# ---------------------------------------------------------------- shipped data
def test_shipped_data_rebuild_byte_for_byte(tmp_path):
    """The documented command with the documented seed rebuilds every shipped file exactly."""
    assert cli_main(["synth", "--seed", str(SHIPPED_SEED), "--patients", str(SHIPPED_PATIENTS),
                     "--out", str(tmp_path)]) == 0
    for name in SHIPPED_FILES:
        assert (tmp_path / name).read_bytes() == (paths.SHIPPED_DATA / name).read_bytes(), name


def test_shipped_data_is_marked_synthetic_and_valid():
    cohort = load_cohort(paths.SHIPPED_DATA)
    assert cohort.is_synthetic
    assert "SYNTHETIC" in (paths.SHIPPED_DATA / "SYNTHETIC").read_text(encoding="utf-8")
    assert "not patient data" in (paths.SHIPPED_DATA / "README.md").read_text(encoding="utf-8")
    assert cohort.warnings == []


def test_shipped_cohort_is_internally_consistent():
    cohort = load_cohort(paths.SHIPPED_DATA)
    p = cohort.patients
    assert p["first_ablation_date"].between("2012-10-01", "2019-01-31").all()
    assert (p["pfs_months"] <= p["os_months"] + 1e-12).all()
    # a PFS-censored patient is alive and censored at the same last contact
    censored = p["pfs_event"] == 0
    assert p.loc[censored, "alive"].all()
    assert np.allclose(p.loc[censored, "pfs_months"], p.loc[censored, "os_months"])
    # no censoring in the first year of PFS, none before 16 months in OS (alive follow-up 16-50)
    assert (p.loc[censored, "pfs_months"] >= 12).all()
    assert p.loc[p["alive"], "followup_months"].min() >= 15.5
    # the plan's synchronous rule: PO diagnosis within 6 months of the HCC diagnosis
    assert ((p["po_timing"] == "synchronous") == (p["hcc_to_po_months"] <= 6)).all()
    assert p["n_sessions"].between(1, 3).all() and p["n_pos"].between(1, 4).all()
    sessions = cohort.sessions.merge(p[["patient_id", "progression_date"]], on="patient_id")
    assert not (sessions["session_date"] >= sessions["progression_date"]).any()
    # pneumothorax is the most common complication
    assert cohort.complications["complication"].value_counts().index[0] == "pneumothorax"
    assert set(cohort.complications["sir_class"]) <= set("ABCDEF")


# ---------------------------------------------------------------- design
def test_solved_design_hits_published_survival_targets_with_project_estimators():
    """Check the solver's numpy KM arithmetic against analysis.stats (lifelines-based)."""
    from analysis.stats.km import km_fit, survival_at
    from analysis.stats.median_ci import median_ci

    design = solve_design()
    assert len(design) == _published("n_patients")[0]
    for endpoint, days, event in (("pfs", design.pfs_days, design.pfs_event),
                                  ("os", design.os_days, design.os_event)):
        km = km_fit(days / DAYS_PER_MONTH, event)
        median, lo, hi = median_ci(km, "spss")
        assert _rounds_to(median, f"{endpoint}_median")
        assert _rounds_to(lo, f"{endpoint}_median_ci_lo") and _rounds_to(hi, f"{endpoint}_median_ci_hi")
        for months in (12, 24, 36):
            quantity = f"{endpoint}_rate_{months}"
            if any(q["id"] == quantity for q in load_published()["quantities"]):
                assert _rounds_to(100 * survival_at(km, months).estimate, quantity)
    reverse = km_fit(design.os_days / DAYS_PER_MONTH, 1 - design.os_event)
    assert _rounds_to(median_ci(reverse, "spss").estimate, "followup_median")


def test_design_pairs_satisfy_pfs_before_os():
    design = solve_design()
    assert (design.pfs_days <= design.os_days).all()
    pfs_censored = design.pfs_event == 0
    assert (design.os_event[pfs_censored] == 0).all()
    assert (design.pfs_days[pfs_censored] == design.os_days[pfs_censored]).all()


def test_km_steps_agrees_with_lifelines():
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    days = rng.integers(1, 1500, 80)
    event = (rng.random(80) < 0.7).astype(int)
    times, d, s, se = km_steps(days, event)
    fitter = KaplanMeierFitter().fit(days / DAYS_PER_MONTH, event)
    expected = fitter.survival_function_at_times(times).to_numpy()
    assert np.allclose(s, expected)
    for t in (6.0, 12.0, 24.0):
        assert rate_at(times, s, t) == pytest.approx(float(fitter.survival_function_at_times(t).iloc[0]))


def test_spss_median_agrees_with_stats_module():
    from analysis.stats.km import km_fit
    from analysis.stats.median_ci import median_ci

    rng = np.random.default_rng(11)
    for _ in range(5):
        days = rng.integers(10, 1500, 70)
        event = (rng.random(70) < 0.8).astype(int)
        ours = spss_median(*km_steps(days, event))
        theirs = median_ci(km_fit(days / DAYS_PER_MONTH, event), "spss")
        assert np.allclose(ours, tuple(theirs), equal_nan=True)


def test_assign_pairs_keeps_marginals_and_order():
    design = solve_design()
    rng = np.random.default_rng(5)
    pfs_score = rng.standard_normal(len(design))
    os_score = rng.standard_normal(len(design))
    pfs_days, pfs_event, os_days, os_event = assign_pairs(design, pfs_score, os_score)

    def multiset(a, b):
        return sorted(zip(a.tolist(), b.tolist()))

    assert multiset(pfs_days, pfs_event) == multiset(design.pfs_days, design.pfs_event)
    assert multiset(os_days, os_event) == multiset(design.os_days, design.os_event)
    assert (pfs_days <= os_days).all()
    # the worst PFS score gets the shortest PFS
    assert pfs_days[np.argmax(pfs_score)] == design.pfs_days.min()


def test_assign_pairs_rejects_impossible_design():
    design = Design(pfs_days=np.array([100, 200]), pfs_event=np.array([1, 1]),
                    os_days=np.array([50, 300]), os_event=np.array([1, 1]))
    with pytest.raises(RuntimeError, match="no pairing"):
        assign_pairs(design, np.array([0.0, 1.0]), np.array([0.0, 1.0]))


# ---------------------------------------------------------------- any N
@pytest.fixture(scope="module")
def large_cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth2000")
    assert cli_main(["synth", "--seed", "7", "--patients", "2000", "--out", str(out)]) == 0
    return out, load_cohort(out)


def test_large_cohort_is_valid_with_shipped_distributions(large_cohort):
    from analysis.stats.km import km_fit
    from analysis.stats.median_ci import median_ci

    _, cohort = large_cohort
    p = cohort.patients
    assert len(p) == 2000 and cohort.warnings == []
    assert p["sex"].eq("M").mean() == pytest.approx(33 / 62, abs=0.04)
    assert p["age"].mean() == pytest.approx(61.0, abs=1.0)
    assert cohort.lesions["diameter_cm"].mean() == pytest.approx(2.3, abs=0.1)
    assert p["n_pos"].between(1, 4).all()
    assert p["major_complication"].mean() == pytest.approx(13 / 62, abs=0.035)
    assert p["technical_efficacy"].mean() == pytest.approx(60 / 62, abs=0.02)
    assert p["etiology"].eq("HBV").mean() > 0.7 and p["child_pugh"].eq("A").mean() > 0.8
    pfs = median_ci(km_fit(p["pfs_months"], p["pfs_event"]), "spss").estimate
    os_ = median_ci(km_fit(p["os_months"], p["os_event"]), "spss").estimate
    assert pfs == pytest.approx(11.4, abs=1.0)
    assert os_ == pytest.approx(33.0, abs=2.5)


def test_same_seed_same_bytes_other_seed_other_data(large_cohort, tmp_path):
    out, _ = large_cohort
    again = tmp_path / "again"
    other = tmp_path / "other"
    assert cli_main(["synth", "--seed", "7", "--patients", "2000", "--out", str(again)]) == 0
    assert cli_main(["synth", "--seed", "8", "--patients", "2000", "--out", str(other)]) == 0
    for name in FILES:
        assert (again / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()
    assert (other / "patients.csv").read_bytes() != (out / "patients.csv").read_bytes()


def test_generate_tables_follow_the_contract_columns():
    from analysis.data.contract import COLUMNS

    tables = generate(SHIPPED_SEED, 1000)
    for name, frame in tables.items():
        assert list(frame.columns) == list(COLUMNS[name]), name
        assert all(frame[c].map(type).eq(str).all() for c in frame.columns), name
    assert tables["lesions"]["technical_success"].eq("yes").all()


def test_cli_refuses_zero_patients(tmp_path, capsys):
    assert cli_main(["synth", "--patients", "0", "--out", str(tmp_path)]) == 2
    assert "--patients" in capsys.readouterr().err


def test_contract_file_list_matches_writer():
    from analysis.data.contract import OPTIONAL_FILES, REQUIRED_FILES

    assert set(FILES) == set(REQUIRED_FILES) | {"screening"} and "screening" in OPTIONAL_FILES
    assert isinstance(pd.read_csv(paths.SHIPPED_DATA / "screening.csv"), pd.DataFrame)


def test_cli_reports_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    assert cli_main(["synth", "--out", str(blocker / "cohort")]) == 2
    assert "cannot write" in capsys.readouterr().err
