"""The project's Efron-ties Cox fitter (R coxph's algorithm) against R printouts and an independent optimiser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import cox
from analysis.stats.efron import efron_fit, null_log_likelihood, zph_test

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
    assert fit.converged and not fit.infinite.any()
    np.testing.assert_allclose(fit.coef, [0.158795915912, 0.086645513108], rtol=1e-8)
    np.testing.assert_allclose(fit.se, [0.581914641874, 0.582211392813], rtol=1e-8)
    assert fit.loglik == pytest.approx(-30.247602133760, rel=1e-11)
    assert fit.loglik_init == pytest.approx(-30.312265452039, rel=1e-11)
    assert null_log_likelihood(SMALL[:, 0], SMALL[:, 1]) == pytest.approx(-30.312265452039, rel=1e-11)
    from analysis.stats.efron import _Sorted

    residuals, _ = _Sorted(SMALL[:, 0], SMALL[:, 1].astype(bool), SMALL[:, 2:]).schoenfeld(fit.coef)
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
    np.testing.assert_allclose(fit.coef, [-0.6640672001, -1.3059377827], rtol=1e-8)
    assert fit.loglik == pytest.approx(-17.030326470549, rel=1e-11)
    assert null_log_likelihood(HEAVY_TIES[:, 0], HEAVY_TIES[:, 1]) == pytest.approx(-18.922124899032, rel=1e-11)


def test_cox_zph_matches_r_printout():
    """R 4.2.2, survival 3.5-3: print(cox.zph(coxph(Surv(time, status) ~ a + b, SMALL))$table, digits = 12):
    a 1.5154733141211 (p 0.218305803079), b 0.0140606675485 (p 0.905609944826), GLOBAL 1.7661620066159
    on 2 df (p 0.413506930819)."""
    fit = efron_fit(SMALL[:, 0], SMALL[:, 1], SMALL[:, 2:], ["a", "b"])
    zph = zph_test(SMALL[:, 0], SMALL[:, 1], SMALL[:, 2:], fit.coef, {"a": [0], "b": [1]})
    assert zph["terms"]["a"]["chi2"] == pytest.approx(1.5154733141211, rel=1e-10)
    assert zph["terms"]["b"]["chi2"] == pytest.approx(0.0140606675485, rel=1e-9)
    assert zph["global"]["chi2"] == pytest.approx(1.7661620066159, rel=1e-10)
    assert zph["global"]["p"] == pytest.approx(0.413506930819, rel=1e-9)


def test_fit_and_ph_test_do_not_depend_on_row_order():
    """Ties are handled by time, never by file order: shuffled rows give the same numbers."""
    rng = np.random.default_rng(11)
    n = 120
    time = rng.integers(1, 8, n).astype(float)  # heavy ties
    event = rng.random(n) < 0.7
    x = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n)]).astype(float)
    fit = efron_fit(time, event, x, ["a", "b"])
    zph = zph_test(time, event, x, fit.coef, {"a": [0], "b": [1]})
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(n)
        shuffled = efron_fit(time[order], event[order], x[order], ["a", "b"])
        np.testing.assert_allclose(shuffled.coef, fit.coef, rtol=1e-10)
        again = zph_test(time[order], event[order], x[order], shuffled.coef, {"a": [0], "b": [1]})
        assert again["global"]["p"] == pytest.approx(zph["global"]["p"], rel=1e-8)
        assert again["terms"]["a"]["p"] == pytest.approx(zph["terms"]["a"]["p"], rel=1e-8)


def test_level_without_events_flags_an_infinite_coefficient_as_r_does():
    """R: coxph(Surv(t, s) ~ x) with no events where x = 1 warns "Loglik converged before variable 1;
    coefficient may be infinite"; the fitter flags the same coefficient, after at most 20 iterations."""
    time = np.arange(1.0, 21.0)
    x = np.tile([0.0, 1.0], 10)[:, None]  # x = 1 patients spread over the whole follow-up
    event = (x[:, 0] == 0).astype(float)  # ... and none of them has an event
    fit = efron_fit(time, event, x, ["x"])
    assert fit.converged and fit.iterations <= 20
    assert fit.infinite.tolist() == [True]
    assert "coefficient may be infinite" in fit.messages[0]


def test_collinear_columns_are_redundant_not_an_error():
    """R gives NA for a column that is a linear combination of the others (cholesky2's rank check)."""
    rng = np.random.default_rng(5)
    n = 40
    a = rng.integers(0, 2, n).astype(float)
    x = np.column_stack([a, 1 - a])  # together they make the intercept: rank 1
    fit = efron_fit(rng.exponential(5, n), rng.random(n) < 0.8, x, ["a", "not_a"])
    assert np.isfinite(fit.coef[0]) and np.isnan(fit.coef[1])
    assert fit.variance[1, 1] == 0


def _penalised_objective(time, event, x):
    """-(log L + 1/2 log det I) written independently (per death time, Efron's sum over l)."""
    order = np.argsort(time)
    time, event, x = time[order], event[order].astype(bool), x[order]

    def objective(beta):
        eta = x @ beta
        r = np.exp(eta)
        loglik, info = 0.0, np.zeros((x.shape[1], x.shape[1]))
        for t in np.unique(time[event]):
            at_risk = time >= t
            dead = (time == t) & event
            d = dead.sum()
            loglik += eta[dead].sum()
            for l in range(d):
                w = r * at_risk - (l / d) * r * dead
                total = w.sum()
                mean = w @ x / total
                loglik -= np.log(total)
                info += (x * w[:, None]).T @ x / total - np.outer(mean, mean)
        sign, logdet = np.linalg.slogdet(info)
        return -(loglik + 0.5 * logdet) if sign > 0 else np.inf

    return objective


@pytest.mark.parametrize("case", ["separated", "ordinary"])
def test_firth_equals_an_independent_maximisation_of_the_penalised_likelihood(case):
    """Firth's estimate (Heinze & Schemper 2001) = scipy's Nelder-Mead/BFGS maximum of the same
    penalised partial likelihood, coded separately above; finite where ML is infinite."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(21)
    n = 30
    time = rng.integers(1, 25, n).astype(float)
    a = (rng.random(n) < 0.4).astype(float)
    b = rng.integers(0, 2, n).astype(float)
    event = rng.random(n) < 0.6
    if case == "separated":
        event &= a == 0  # no events where a = 1: the ML estimate of a is -infinity
    x = np.column_stack([a, b])
    fit = efron_fit(time, event, x, ["a", "b"], firth=True)
    assert fit.converged and np.all(np.isfinite(fit.coef))
    objective = _penalised_objective(time, event, x)
    reference = minimize(objective, np.zeros(2), method="Nelder-Mead",
                         options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000})
    reference = minimize(objective, reference.x, method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(fit.coef, reference.x, atol=2e-5)
    assert fit.loglik == pytest.approx(-reference.fun, rel=1e-9)
    if case == "separated":
        assert efron_fit(time, event, x, ["a", "b"]).infinite[0]


def test_fit_cox_firth_option_reports_penalised_estimates():
    """fit_cox(monotone="firth"): the monotone model is refitted; its terms say method "firth"."""
    rng = np.random.default_rng(3)
    group = np.repeat(["A", "B"], 20)
    factors = pd.DataFrame({"g": pd.Categorical(group, categories=["A", "B"], ordered=True)})
    time, event = rng.exponential(10, 40), np.where(group == "A", 1, 0)
    plain = cox.fit_cox(time, event, factors, ["g"])
    assert plain["terms"][0]["estimable"] is False and plain["terms"][0]["reason_code"] == "no_events_in_level"
    firth = cox.fit_cox(time, event, factors, ["g"], monotone="firth")
    row = firth["terms"][0]
    assert firth["method"] == "firth" and row["method"] == "firth" and row["estimable"]
    assert 0 < row["hr"] < 0.2 and row["reason_code"] == "firth"


def test_a_log_likelihood_of_exactly_zero_is_not_a_division_error() -> None:
    """The only event's risk set is the subject itself: log L = 0 for every beta. coxfit6 divides in C
    doubles (1 - 0/0 is NaN, never within eps), so R runs out of iterations: coef 0, loglik (0, 0),
    "Ran out of iterations and did not converge" (R 4.2.2, survival 3.5-3)."""
    fit = efron_fit(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]), np.array([[0.0], [1.0], [1.0]]), ["x"])
    assert fit.loglik_init == 0.0 and fit.loglik == 0.0 and fit.coef[0] == 0.0
    assert not fit.converged and fit.messages == ["Ran out of iterations and did not converge"]
