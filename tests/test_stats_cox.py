"""Cox models on plan-style factors: R coxph printouts, statsmodels PHReg, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_leukemia

from analysis.stats.cox import build_design, fit_cox, monotone_direction, term_name


def _factor(values, levels):
    return pd.Categorical(values, categories=levels, ordered=True)


@pytest.fixture(scope="module")
def remission():
    """Kleinbaum & Klein remission data (lifelines load_leukemia): Rx 0 = 6-MP (group 1),
    Rx 1 = placebo (group 2); logWBC grouped into three levels (<= 2.3, <= 3, > 3)."""
    df = load_leukemia()
    factors = pd.DataFrame(
        {
            "group": _factor(np.where(df.Rx == 0, "1", "2"), ["1", "2"]),
            "katlogWBC": _factor(np.select([df.logWBC <= 2.3, df.logWBC <= 3], ["0", "1"], "2"), ["0", "1", "2"]),
        }
    )
    return df, factors


def _term(model, term):
    return next(row for row in model["terms"] if row["term"] == term)


def test_binary_factor_matches_r_coxph(remission):
    """R coxph(Surv(t, status) ~ Group) (Efron): coef 1.5721, exp(coef) 4.8169, se 0.4124,
    z 3.812, p 0.000138; exp(-coef) CI 0.09251-0.4659 -> HR CI 2.146-10.81; LR test 16.35 on 1 df."""
    df, factors = remission
    model = fit_cox(df.t, df.status, factors, ["group"])
    row = _term(model, "group[2]")
    assert row["hr"] == pytest.approx(4.8169, abs=5e-4)
    assert np.log(row["hr"]) == pytest.approx(1.5721, abs=5e-5)
    assert row["p"] == pytest.approx(0.000138, abs=5e-7)
    assert row["ci"][0] == pytest.approx(1 / 0.4659, abs=2e-3)
    assert row["ci"][1] == pytest.approx(1 / 0.09251, abs=2e-2)
    assert model["factor_p"]["group"]["test"] == "wald"
    assert model["factor_p"]["group"]["chi2"] == pytest.approx(3.812**2, abs=0.01)
    assert (row["n"], row["events"]) == (21, 21)
    assert model["references"]["group"] == {"level": "1", "n": 21, "events": 9}
    assert model["ties"] == "efron"
    assert model["epv"] == 30


def test_four_level_factor_matches_r_coxph_larynx():
    """Larynx cancer data (Klein & Moeschberger section 1.8; lifelines load_larynx), stage as a
    factor with stage I as reference. R coxph (Efron), as printed in a worked trend-test example
    (notes.fazuh.com, "larynx data trend test example"): coefficients II 0.0648, III 0.6148,
    IV 1.7349; Wald p II vs I 0.8876; likelihood-ratio test p = 0.0009. (The page's 0.0949 for
    III vs I is not the Wald P of its own coefficient, 0.6148 / 0.3552 -> 0.0835, so not used.)"""
    from lifelines.datasets import load_larynx

    df = load_larynx()
    stage = np.select([df.Stage_II == 1, df.Stage_III == 1, df.Stage_IV == 1], ["II", "III", "IV"], "I")
    factors = pd.DataFrame({"stage": _factor(stage, ["I", "II", "III", "IV"])})
    model = fit_cox(df.time, df.death, factors, ["stage"])
    for level, coef in (("II", 0.0648), ("III", 0.6148), ("IV", 1.7349)):
        assert np.log(_term(model, f"stage[{level}]")["hr"]) == pytest.approx(coef, abs=5e-5)
    assert _term(model, "stage[II]")["p"] == pytest.approx(0.8876, abs=5e-5)
    factor_p = model["factor_p"]["stage"]
    assert factor_p["test"] == "likelihood_ratio" and factor_p["df"] == 3
    assert factor_p["p"] == pytest.approx(0.0009, abs=5e-5)
    assert all(row["factor_p"] == factor_p["p"] for row in model["terms"])


def test_multivariable_factor_lr_agrees_with_statsmodels(remission):
    """Likelihood-ratio P of a 3-level factor inside a multivariable model: 2 (l_full - l_reduced)
    with both log partial likelihoods (Efron) from statsmodels' PHReg instead of lifelines."""
    from scipy.stats import chi2
    from statsmodels.duration.hazard_regression import PHReg

    df, factors = remission
    model = fit_cox(df.t, df.status, factors, ["group", "katlogWBC"])
    design = build_design(df.t, df.status, factors, ["group", "katlogWBC"])
    frame = design.frame

    def llf(columns):
        return PHReg(frame["_duration"], frame[columns], status=frame["_event"], ties="efron").fit().llf

    statistic = 2 * (llf(design.columns) - llf(["group[2]"]))
    assert model["factor_p"]["katlogWBC"]["chi2"] == pytest.approx(statistic, rel=1e-6)
    assert model["factor_p"]["katlogWBC"]["p"] == pytest.approx(chi2.sf(statistic, 2), rel=1e-5)
    assert model["factor_p"]["group"]["test"] == "wald"
    assert model["n_parameters"] == 3
    assert model["epv"] == pytest.approx(10.0)


def test_binary_hr_agrees_with_statsmodels_phreg_efron(remission):
    """Second library: statsmodels PHReg with ties='efron' on the same (tied) data."""
    from statsmodels.duration.hazard_regression import PHReg

    df, factors = remission
    model = fit_cox(df.t, df.status, factors, ["group", "katlogWBC"])
    design = build_design(df.t, df.status, factors, ["group", "katlogWBC"])
    ref = PHReg(design.frame["_duration"], design.frame[design.columns], status=design.frame["_event"], ties="efron").fit()
    for term, coef, se in zip(design.columns, ref.params, ref.bse):
        row = _term(model, term)
        assert np.log(row["hr"]) == pytest.approx(coef, abs=1e-5)
        assert np.log(row["ci"][1]) - np.log(row["hr"]) == pytest.approx(1.959963984540054 * se, abs=1e-4)


def test_null_log_likelihood_matches_lifelines(remission):
    """LR test vs the null model: our Efron null log-likelihood reproduces lifelines' LR test."""
    df, factors = remission
    model = fit_cox(df.t, df.status, factors, ["katlogWBC"])
    design = build_design(df.t, df.status, factors, ["katlogWBC"])
    cph = CoxPHFitter().fit(design.frame, "_duration", "_event")
    assert model["factor_p"]["katlogWBC"]["chi2"] == pytest.approx(cph.log_likelihood_ratio_test().test_statistic, rel=1e-8)


def test_ph_test_is_r_cox_zph_per_factor_and_global(remission):
    """R 4.2.2, survival 3.5-3, cox.zph(coxph(Surv(t, status) ~ group + katlogWBC)) on the remission
    data: the test is per factor (katlogWBC's two indicators together, 2 df) and global (3 df):
    group chisq 0.180885557299 (p 0.670613308601), katlogWBC 0.696324262104 on 2 df
    (p 0.705984404941), GLOBAL 0.813153506113 on 3 df (p 0.846318370475)."""
    df, factors = remission
    model = fit_cox(df.t, df.status, factors, ["group", "katlogWBC"])
    ph = model["ph_test"]
    assert set(ph["terms"]) == {"group", "katlogWBC"}
    assert ph["terms"]["katlogWBC"]["df"] == 2 and ph["global"]["df"] == 3
    assert ph["terms"]["group"]["chi2"] == pytest.approx(0.180885557299, rel=1e-9)
    assert ph["terms"]["katlogWBC"]["p"] == pytest.approx(0.705984404941, rel=1e-9)
    assert ph["global"]["p"] == pytest.approx(0.846318370475, rel=1e-9)
    assert "cox.zph" in ph["method"]


def test_ph_test_flags_crossing_hazards():
    """Simulated crossing hazards (group B: early high, late low hazard) -> small PH P."""
    rng = np.random.default_rng(7)
    n = 200
    group = np.repeat(["A", "B"], n // 2)
    time = np.where(group == "A", rng.exponential(10, n), rng.weibull(0.4, n) * 6)
    event = np.ones(n, dtype=int)
    factors = pd.DataFrame({"g": _factor(group, ["A", "B"])})
    model = fit_cox(time, event, factors, ["g"])
    assert model["ph_test"]["global"]["p"] < 0.01


def test_level_without_events_is_not_estimable():
    """Perfect separation: no events in level B -> hr None and a warning, never a huge HR."""
    rng = np.random.default_rng(3)
    n = 40
    group = np.repeat(["A", "B"], n // 2)
    time = rng.exponential(10, n)
    event = np.where(group == "A", 1, 0)
    factors = pd.DataFrame({"g": _factor(group, ["A", "B"])})
    model = fit_cox(time, event, factors, ["g"])
    row = _term(model, "g[B]")
    assert row["hr"] is None and row["ci"] == [None, None] and row["p"] is None
    assert row["estimable"] is False and row["reason_code"] == "no_events_in_level"
    assert "no events in level 'B'" in row["reason"]
    assert any("HR not estimable" in w for w in model["warnings"])


def test_reference_without_events_is_not_estimable():
    rng = np.random.default_rng(4)
    group = np.repeat(["A", "B"], 20)
    factors = pd.DataFrame({"g": _factor(group, ["A", "B"])})
    model = fit_cox(rng.exponential(10, 40), np.where(group == "B", 1, 0), factors, ["g"])
    assert _term(model, "g[B]")["hr"] is None
    assert "reference level" in _term(model, "g[B]")["warning"]


def test_monotone_likelihood_detection():
    """Bryson & Johnson: every event has the largest x in its risk set -> +1."""
    assert monotone_direction([1, 2, 3, 4], [1, 1, 0, 0], [1, 1, 0, 0]) == 1
    assert monotone_direction([1, 2, 3, 4], [1, 1, 0, 0], [0, 0, 1, 1]) == -1
    assert monotone_direction([1, 2, 3, 4], [1, 1, 1, 0], [1, 0, 1, 0]) == 0
    assert monotone_direction([1, 2], [0, 0], [1, 0]) == 0


def test_no_events_at_all():
    factors = pd.DataFrame({"g": _factor(["A", "B", "A", "B"], ["A", "B"])})
    model = fit_cox([1, 2, 3, 4], [0, 0, 0, 0], factors, ["g"])
    assert model["terms"][0]["hr"] is None and "no events" in model["warnings"][0]


def test_missing_values_complete_case_and_empty_level(remission):
    df, factors = remission
    factors = factors.copy()
    factors.loc[:4, "group"] = np.nan
    model = fit_cox(df.t, df.status, factors, ["group"])
    assert model["n"] == 37
    factors["empty"] = _factor(["x"] * len(df), ["x", "y"])
    model = fit_cox(df.t, df.status, factors, ["group", "empty"])
    assert term_name("empty", "y") not in [t["term"] for t in model["terms"]]
    assert any("no patient in level 'y'" in w for w in model["warnings"])
