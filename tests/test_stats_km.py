"""Kaplan-Meier estimator: checked against R's printed output and against lifelines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_leukemia, load_rossi, load_waltons

from analysis.stats.km import at_risk, greenwood_se_at, km_fit, survival_at


@pytest.fixture(scope="module")
def remission():
    """Freireich et al. (1963) remission data (Kleinbaum & Klein, Survival Analysis, ch. 1-2):
    Rx = 0 is 6-MP, Rx = 1 placebo; t in weeks, status 1 = relapse."""
    return load_leukemia()


# R survival, summary(survfit(Surv(t2, relapse) ~ 1, data = drug6mp)) (conf.type "log", R's
# default), as printed e.g. in KMsurv tutorials and Klein & Moeschberger Table 4.1A
# (same 6-MP data): time, n.risk, n.event, survival, std.err, lower 95%, upper 95%.
R_6MP_LOG = [
    (6, 21, 3, 0.857, 0.0764, 0.720, 1.000),
    (7, 17, 1, 0.807, 0.0869, 0.653, 0.996),
    (10, 15, 1, 0.753, 0.0963, 0.586, 0.968),
    (13, 12, 1, 0.690, 0.1068, 0.510, 0.935),
    (16, 11, 1, 0.627, 0.1141, 0.439, 0.896),
    (22, 7, 1, 0.538, 0.1282, 0.337, 0.858),
    (23, 6, 1, 0.448, 0.1346, 0.249, 0.807),
]
# Same printout, placebo group (Group=2), a few rows incl. the last (S = 0: std.err NaN, CI NA).
R_PLACEBO_LOG = [
    (1, 21, 2, 0.9048, 0.0641, 0.78754, 1.000),
    (2, 19, 2, 0.8095, 0.0857, 0.65785, 0.996),
    (15, 4, 1, 0.1429, 0.0764, 0.05011, 0.407),
    (17, 3, 1, 0.0952, 0.0641, 0.02549, 0.356),
    (22, 2, 1, 0.0476, 0.0465, 0.00703, 0.322),
]


def _row(km, t):
    i = int(np.nonzero(km.times == t)[0][0])
    return km.n_at_risk[i], km.n_events[i], km.survival[i], km.se[i], km.ci_lower[i], km.ci_upper[i]


@pytest.mark.parametrize("row", R_6MP_LOG)
def test_6mp_matches_r_survfit_log_ci(remission, row):
    """R survfit printed output (6-MP group, conf.type = "log"), to its printed precision."""
    group = remission[remission.Rx == 0]
    km = km_fit(group.t, group.status, transform="log")
    t, n_risk, n_event, surv, se, lo, hi = row
    got = _row(km, t)
    assert got[0] == n_risk and got[1] == n_event
    assert got[2] == pytest.approx(surv, abs=5e-4)
    assert got[3] == pytest.approx(se, abs=5e-5)
    assert got[4] == pytest.approx(lo, abs=5e-4)
    assert got[5] == pytest.approx(hi, abs=5e-4)


@pytest.mark.parametrize("row", R_PLACEBO_LOG)
def test_placebo_matches_r_survfit_log_ci(remission, row):
    """R survfit printed output (placebo group, conf.type = "log")."""
    group = remission[remission.Rx == 1]
    km = km_fit(group.t, group.status, transform="log")
    t, n_risk, n_event, surv, se, lo, hi = row
    got = _row(km, t)
    assert got[0] == n_risk and got[1] == n_event
    assert got[2] == pytest.approx(surv, abs=5e-5)
    assert got[3] == pytest.approx(se, abs=5e-5)
    assert got[4] == pytest.approx(lo, abs=5e-5 if lo < 0.1 else 5e-4)
    assert got[5] == pytest.approx(hi, abs=5e-4)


def test_curve_reaching_zero_has_undefined_se_and_ci(remission):
    """R prints std.err NaN and CI NA at t = 23 in the placebo group, where S drops to 0."""
    group = remission[remission.Rx == 1]
    km = km_fit(group.t, group.status)
    assert km.survival[-1] == 0
    assert math.isnan(km.se[-1]) and math.isnan(km.ci_lower[-1]) and math.isnan(km.ci_upper[-1])
    assert survival_at(km, 30).estimate == 0.0  # stays at 0 after the last event


def test_greenwood_by_hand_6mp(remission):
    """Greenwood SE at t = 10 from the risk table by hand (6-MP group; risk table as in Kleinbaum & Klein ch. 2):
    S(10) = (18/21)(16/17)(14/15) = 0.7529;
    sum d/(n(n-d)) = 3/(21*18) + 1/(17*16) + 1/(15*14) = 0.0079365 + 0.0036765 + 0.0047619 = 0.0163749;
    SE = 0.7529 * sqrt(0.0163749) = 0.0963."""
    group = remission[remission.Rx == 0]
    km = km_fit(group.t, group.status)
    s10 = (18 / 21) * (16 / 17) * (14 / 15)
    se10 = s10 * math.sqrt(3 / (21 * 18) + 1 / (17 * 16) + 1 / (15 * 14))
    est = survival_at(km, 10)
    assert est.estimate == pytest.approx(s10, rel=1e-12)
    assert greenwood_se_at(km, 10) == pytest.approx(se10, rel=1e-12)
    assert greenwood_se_at(km, 5) == 0.0
    estimate, lo, hi = est  # the documented 3-tuple
    assert se10 == pytest.approx(0.0963, abs=5e-5)
    # log-log CI by its formula: S^exp(+/- z sigma / log S)
    z = 1.959963984540054
    sigma = se10 / s10
    assert est.lo == pytest.approx(s10 ** math.exp(-z * sigma / math.log(s10)), rel=1e-12)
    assert est.hi == pytest.approx(s10 ** math.exp(z * sigma / math.log(s10)), rel=1e-12)
    assert est.lo < s10 < est.hi


@pytest.mark.parametrize(
    "loader, time, event",
    [(load_leukemia, "t", "status"), (load_waltons, "T", "E"), (load_rossi, "week", "arrest")],
)
def test_matches_lifelines_kaplan_meier_fitter(loader, time, event):
    """Second implementation: lifelines' KaplanMeierFitter (survival, event table, and its
    exponential-Greenwood CI = our log-log CI) on three public datasets."""
    df = loader()
    km = km_fit(df[time], df[event], transform="log-log")
    ref = KaplanMeierFitter().fit(df[time], df[event])
    table = ref.event_table.loc[km.times]
    np.testing.assert_array_equal(km.n_at_risk, table["at_risk"].to_numpy())
    np.testing.assert_array_equal(km.n_events, table["observed"].to_numpy())
    np.testing.assert_array_equal(km.n_censored, table["censored"].to_numpy())
    np.testing.assert_allclose(km.survival, ref.survival_function_.iloc[:, 0].loc[km.times], rtol=1e-12)
    ci = ref.confidence_interval_.loc[km.times].to_numpy()
    ok = np.isfinite(km.ci_lower) & (km.survival < 1)
    np.testing.assert_allclose(km.ci_lower[ok], ci[ok, 0], rtol=1e-10)
    np.testing.assert_allclose(km.ci_upper[ok], ci[ok, 1], rtol=1e-10)


def test_at_risk_and_step_lookup():
    """at_risk(t) counts times >= t (R's n.risk); survival_at is right-continuous."""
    km = km_fit([1, 2, 2, 3, 5, 8], [1, 1, 0, 1, 0, 1])
    assert [at_risk(km, t) for t in (0, 1, 2, 2.5, 5, 8, 9)] == [6, 6, 5, 3, 2, 1, 0]
    assert survival_at(km, 0.5).estimate == 1.0
    assert survival_at(km, 1).estimate == pytest.approx(5 / 6)
    assert survival_at(km, 2.9).estimate == pytest.approx(5 / 6 * 4 / 5)
    assert survival_at(km, 3).estimate == pytest.approx(5 / 6 * 4 / 5 * 2 / 3)
    assert survival_at(km, 8).estimate == 0.0


def test_beyond_follow_up_is_not_estimable():
    km = km_fit([1, 2, 3], [1, 0, 0])
    assert math.isnan(survival_at(km, 4).estimate)


def test_all_censored_stays_at_one():
    """No events: S = 1 throughout, SE 0; the log-log CI is NA there as in R (log 1 = 0), the log CI [1, 1]."""
    km = km_fit([3, 5, 7], [0, 0, 0])
    assert km.events == 0
    assert np.all(km.survival == 1) and np.all(km.se == 0)
    assert np.all(np.isnan(km.ci_lower)) and np.all(np.isnan(km.ci_upper))
    km = km_fit([3, 5, 7], [0, 0, 0], transform="log")
    assert np.all(km.ci_lower == 1) and np.all(km.ci_upper == 1)


def test_empty_and_bad_input():
    assert km_fit([], []).n == 0
    with pytest.raises(ValueError):
        km_fit([1, -1], [1, 1])
    with pytest.raises(ValueError):
        km_fit([1, 2], [1])
    with pytest.raises(ValueError):
        km_fit([1, 2], [1, 1], transform="arcsine")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=12), st.booleans()),  # coarse times -> many ties
        min_size=1,
        max_size=30,
    )
)
def test_random_tied_data_matches_lifelines(rows):
    """Property: on arbitrary tied/censored data the curve equals lifelines' and the CI brackets S."""
    time = np.array([t for t, _ in rows], dtype=float)
    event = np.array([int(e) for _, e in rows])
    km = km_fit(time, event)
    ref = KaplanMeierFitter().fit(time, event)
    np.testing.assert_allclose(km.survival, ref.survival_function_.iloc[:, 0].loc[km.times], rtol=1e-12)
    assert np.all(np.diff(km.survival) <= 1e-15)
    ok = np.isfinite(km.ci_lower)
    assert np.all(km.ci_lower[ok] <= km.survival[ok] + 1e-12)
    assert np.all(km.survival[ok] <= km.ci_upper[ok] + 1e-12)
    assert at_risk(km, 0) == len(rows)
