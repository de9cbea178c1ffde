"""The numpy Efron-ties Cox fitter (large cohorts) against R coxph printouts and lifelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter

from analysis.stats import cox
from analysis.stats.efron import efron_fit, null_log_likelihood

# time, status, a, b: tied event times (8, 12, 16, 25, 40) and censoring tied with events
SMALL = np.array([
    [5, 1, 0, 1], [8, 1, 1, 0], [8, 1, 0, 0], [8, 0, 1, 1], [12, 1, 1, 1], [12, 1, 0, 1], [15, 0, 0, 0],
    [16, 1, 1, 0], [16, 1, 1, 1], [16, 1, 0, 0], [20, 0, 1, 0], [22, 1, 0, 1], [25, 1, 1, 1], [25, 0, 0, 0],
    [30, 1, 0, 0], [31, 0, 1, 1], [33, 1, 1, 0], [40, 0, 0, 1], [40, 1, 1, 1], [45, 0, 0, 0],
], dtype=float)


def test_matches_r_coxph_efron_printout():
    """R 4.2.2, survival 3.5-3: coxph(Surv(time, status) ~ a + b, ties = "efron") on SMALL:
    coef 0.158795915912, 0.086645513108; se 0.581914641874, 0.582211392813;
    loglik (null, fitted) -30.312265452039, -30.247602133760;
    residuals(type = "schoenfeld") first rows (times 5, 8, 8): a -0.543915205675, 0.427822692164,
    -0.572177307836; b 0.470449283902, -0.519202158637, -0.519202158637; last (40): 0.620569614164, 0.296850817449."""
    fit = efron_fit(SMALL[:, 0], SMALL[:, 1], SMALL[:, 2:], ["a", "b"])
    assert fit.converged
    np.testing.assert_allclose(fit.params_.to_numpy(), [0.158795915912, 0.086645513108], rtol=1e-8)
    np.testing.assert_allclose(fit.standard_errors_.to_numpy(), [0.581914641874, 0.582211392813], rtol=1e-8)
    assert fit.log_likelihood_ == pytest.approx(-30.247602133760, rel=1e-11)
    assert null_log_likelihood(SMALL[:, 0], SMALL[:, 1]) == pytest.approx(-30.312265452039, rel=1e-11)
    residuals = fit.schoenfeld  # events in data order, which is time order here
    np.testing.assert_allclose(residuals[:3], [[-0.543915205675, 0.470449283902], [0.427822692164, -0.519202158637],
                                               [-0.572177307836, -0.519202158637]], atol=1e-8)
    np.testing.assert_allclose(residuals[-1], [0.620569614164, 0.296850817449], atol=1e-8)


# 15 patients, 3 distinct times: heavy ties (lifelines stops ~1e-4 short of the maximum here)
HEAVY_TIES = np.array([[1, 0, 0, 1], [2, 0, 1, 1], [3, 0, 1, 1], [1, 1, 1, 0], [2, 1, 0, 0], [2, 1, 0, 0], [3, 0, 1, 0],
                       [1, 1, 1, 0], [2, 1, 0, 1], [1, 1, 0, 0], [1, 0, 1, 0], [3, 1, 0, 1], [1, 0, 0, 0], [1, 1, 1, 0],
                       [2, 1, 0, 0]], dtype=float)


def test_heavy_ties_match_r_coxph():
    """R 4.2.2, survival 3.5-3, ties = "efron" on HEAVY_TIES: coef -0.6640672001, -1.3059377827;
    loglik (null, fitted) -18.922124899032, -17.030326470549."""
    fit = efron_fit(HEAVY_TIES[:, 0], HEAVY_TIES[:, 1], HEAVY_TIES[:, 2:], ["a", "b"])
    np.testing.assert_allclose(fit.params_.to_numpy(), [-0.6640672001, -1.3059377827], rtol=1e-8)
    assert fit.log_likelihood_ == pytest.approx(-17.030326470549, rel=1e-11)
    assert null_log_likelihood(HEAVY_TIES[:, 0], HEAVY_TIES[:, 1]) == pytest.approx(-18.922124899032, rel=1e-11)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(15, 120), max_time=st.integers(3, 40))
def test_equals_lifelines_on_random_tied_data(seed, n, max_time):
    """Coefficients, SEs and Schoenfeld residuals equal lifelines' CoxPHFitter to its convergence
    tolerance (lifelines stops earlier: see test_heavy_ties_match_r_coxph), and the maximum found
    is never below lifelines'."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n) == 1]).astype(float)
    time = rng.integers(1, max_time + 1, n).astype(float)
    event = rng.random(n) < 0.7
    if event.sum() < 3 or np.ptp(x[:, 0]) == 0 or np.ptp(x[:, 1]) == 0:
        return
    for column in range(2):  # a separated indicator has no finite estimate in either fitter
        if cox.monotone_direction(time, event, x[:, column]):
            return
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "T": time, "E": event})
    reference = CoxPHFitter().fit(frame, "T", "E")
    fit = efron_fit(time, event, x, ["a", "b"])
    assert fit.converged
    np.testing.assert_allclose(fit.params_.to_numpy(), reference.params_.to_numpy(), atol=1e-3)
    np.testing.assert_allclose(fit.standard_errors_.to_numpy(), reference.standard_errors_.to_numpy(), rtol=1e-3)
    assert fit.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-7)
    assert fit.log_likelihood_ >= reference.log_likelihood_ - 1e-10 * abs(reference.log_likelihood_)
    residuals = reference.compute_residuals(frame, kind="schoenfeld")
    mine = pd.DataFrame(fit.schoenfeld, index=np.flatnonzero(event), columns=["a", "b"])
    np.testing.assert_allclose(mine.loc[residuals.index].to_numpy(), residuals[["a", "b"]].to_numpy(), atol=1e-3)


def test_fit_cox_above_the_threshold_equals_lifelines_path(monkeypatch):
    """fit_cox gives the same HRs, CIs, P values, LR tests and PH tests by either fitter."""
    rng = np.random.default_rng(7)
    n = 300
    grade = pd.Categorical(rng.choice(["1", "2", "3"], n), categories=["1", "2", "3"], ordered=True)
    sex = pd.Categorical(rng.choice(["M", "F"], n), categories=["M", "F"], ordered=True)
    hazard = np.exp(0.4 * (np.asarray(grade) == "3") + 0.3 * (np.asarray(sex) == "F"))
    time = np.round(rng.exponential(20 / hazard), 1) + 0.1  # continuous times: the PH test ranks are unambiguous
    event = (rng.random(n) < 0.75).astype(int)
    factors = pd.DataFrame({"grade": grade, "sex": sex})
    by_lifelines = cox.fit_cox(time, event, factors, ["grade", "sex"])
    monkeypatch.setattr(cox, "LARGE_N", 10)
    by_numpy = cox.fit_cox(time, event, factors, ["grade", "sex"])
    assert by_numpy["converged"] and by_lifelines["converged"]
    assert by_numpy["log_likelihood"] == pytest.approx(by_lifelines["log_likelihood"], rel=1e-9)
    for mine, theirs in zip(by_numpy["terms"], by_lifelines["terms"]):
        assert mine["hr"] == pytest.approx(theirs["hr"], rel=1e-6)
        assert mine["ci"] == pytest.approx(theirs["ci"], rel=1e-6)
        assert mine["p"] == pytest.approx(theirs["p"], rel=1e-5)
    assert by_numpy["factor_p"]["grade"]["chi2"] == pytest.approx(by_lifelines["factor_p"]["grade"]["chi2"], rel=1e-6)
    assert by_numpy["ph_test"]["global"]["chi2"] == pytest.approx(by_lifelines["ph_test"]["global"]["chi2"], rel=1e-5)
    for term, values in by_lifelines["ph_test"]["terms"].items():
        assert by_numpy["ph_test"]["terms"][term]["chi2"] == pytest.approx(values["chi2"], rel=1e-5)
