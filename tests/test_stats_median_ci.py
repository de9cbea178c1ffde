"""Median survival and its CI: SPSS symmetric interval and Brookmeyer-Crowley (R survfit)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_larynx, load_leukemia, load_waltons
from lifelines.utils import median_survival_times

from analysis.stats.km import km_fit
from analysis.stats.median_ci import median_ci, percentile_ci, spss_standard_error

Z975 = 1.959963984540054


@pytest.fixture(scope="module")
def remission():
    """Freireich (1963) remission data, lifelines' load_leukemia: Rx 0 = 6-MP, 1 = placebo."""
    return load_leukemia()


def test_spss_worked_example_by_hand(remission):
    """SPSS median CI, placebo group, computed by hand (Klein & Moeschberger, Practical Note 3).

    Placebo remission times (weeks, all relapses): 1 1 2 2 3 4 4 5 5 8 8 8 8 11 11 12 12 15 17 22 23.
    Risk table (t, n, d): (1,21,2) (2,19,2) (3,17,1) (4,16,2) (5,14,2) (8,12,4) ...
    S(5) = 12/21 = 0.5714, S(8) = 8/21 = 0.3810.
    t_p = 8 (first event time with S <= 0.5);
    u = 5  (largest event time with S >= 0.55: S(5) = 0.5714);
    l = 8  (smallest event time with S <= 0.45: S(8) = 0.3810);
    f = (12/21 - 8/21) / (8 - 5) = 4/63 = 0.063492.
    Greenwood: sum d/(n(n-d)) = 2/(21*19) + 2/(19*17) + 1/(17*16) + 2/(16*14) + 2/(14*12) + 4/(12*8)
             = 0.0050125 + 0.0061920 + 0.0036765 + 0.0089286 + 0.0119048 + 0.0416667 = 0.0773810;
    SE(S(8)) = (8/21) * sqrt(0.0773810) = 0.105971.
    SE(t_p) = 0.105971 / 0.063492 = 1.66904;  CI = 8 -/+ 1.959964 * 1.66904 = (4.72873, 11.27127).
    """
    group = remission[remission.Rx == 1]
    km = km_fit(group.t, group.status)
    greenwood = 2 / (21 * 19) + 2 / (19 * 17) + 1 / (17 * 16) + 2 / (16 * 14) + 2 / (14 * 12) + 4 / (12 * 8)
    assert greenwood == pytest.approx(0.0773810, abs=1e-7)
    se_s = 8 / 21 * math.sqrt(greenwood)
    assert se_s == pytest.approx(0.105971, abs=1e-6)
    se_tp = se_s / ((12 / 21 - 8 / 21) / (8 - 5))
    assert se_tp == pytest.approx(1.66904, abs=1e-5)

    median, lo, hi = median_ci(km, "spss")
    assert median == 8
    assert spss_standard_error(km) == pytest.approx(se_tp, rel=1e-12)
    assert lo == pytest.approx(8 - Z975 * se_tp, rel=1e-12)
    assert hi == pytest.approx(8 + Z975 * se_tp, rel=1e-12)
    assert (round(lo, 3), round(hi, 3)) == (4.729, 11.271)


def test_spss_density_from_time_zero_and_truncation():
    """When the first event already takes S below 0.55, u is time 0 (S = 1); the lower limit is
    truncated at 0. By hand: 10 patients, events at 1 (x5), 2, 3, 4, 5, 6.
    S(1) = 5/10 = 0.5 -> t_p = 1;  u = 0 (S = 1);  l = 2 (S(2) = 4/10 = 0.4 <= 0.45);
    f = (1 - 0.4) / (2 - 0) = 0.3;  SE(S(1)) = 0.5 * sqrt(5 / (10 * 5)) = 0.158114;
    SE(t_p) = 0.158114 / 0.3 = 0.527046;  CI = 1 -/+ 1.03300 = (-0.0330 -> 0, 2.0330)."""
    km = km_fit([1, 1, 1, 1, 1, 2, 3, 4, 5, 6], [1] * 10)
    median, lo, hi = median_ci(km, "spss")
    se_tp = 0.5 * math.sqrt(5 / 50) / 0.3
    assert median == 1
    assert spss_standard_error(km) == pytest.approx(se_tp, rel=1e-12)
    assert lo == 0.0
    assert hi == pytest.approx(1 + Z975 * se_tp, rel=1e-12)


def test_spss_ci_is_symmetric_when_not_truncated(remission):
    group = remission[remission.Rx == 0]
    median, lo, hi = median_ci(km_fit(group.t, group.status), "spss")
    assert median == 23
    assert median - lo == pytest.approx(hi - median)


# R survival, quantile(survfit(Surv(time, cens) ~ group, data = leuk)) with conf.type "log"
# (R's default), as printed in a course lab ("Session 6 lab exercise: Survival Analysis part 1"):
#   $quantile 6 MP 13 23 NA | Placebo 4 8 12;  $lower 6 MP 6 16 23 | Placebo 2 4 8;
#   $upper 6 MP NA NA NA | Placebo 8 12 NA.   (MASS's gehan printout: 23 (16, NA), 8 (4, 12).)
R_QUANTILES_LOG = {
    (0, 0.25): (13, 6, None),
    (0, 0.50): (23, 16, None),
    (0, 0.75): (None, 23, None),
    (1, 0.25): (4, 2, 8),
    (1, 0.50): (8, 4, 12),
    (1, 0.75): (12, 8, None),
}


@pytest.mark.parametrize("key", sorted(R_QUANTILES_LOG))
def test_brookmeyer_crowley_matches_r_quantile_survfit(remission, key):
    """Brookmeyer-Crowley limits as R's quantile.survfit prints them (conf.type = "log")."""
    rx, p = key
    group = remission[remission.Rx == rx]
    km = km_fit(group.t, group.status, transform="log")
    got = percentile_ci(km, p, "brookmeyer_crowley")
    for value, expected in zip(got, R_QUANTILES_LOG[key]):
        if expected is None:
            assert math.isnan(value)
        else:
            assert value == expected


@pytest.mark.parametrize(
    "loader, time, event",
    [(load_waltons, "T", "E"), (load_larynx, "time", "death"), (load_leukemia, "t", "status")],
)
def test_brookmeyer_crowley_loglog_matches_lifelines(loader, time, event):
    """Second method: lifelines finds the median and its CI as the first times where the
    curve and its exponential-Greenwood (log-log) band reach 0.5; no flat at 0.5 here."""
    df = loader()
    if loader is load_leukemia:
        df = df[df.Rx == 1]
    km = km_fit(df[time], df[event], transform="log-log")
    kmf = KaplanMeierFitter().fit(df[time], df[event])
    ref = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()  # [lower, upper]
    median, lo, hi = median_ci(km, "brookmeyer_crowley")
    assert median == kmf.median_survival_time_
    # lifelines reports the band crossing of the *upper* curve as its upper limit
    assert lo == ref[0]
    assert (hi == ref[1]) or (math.isnan(hi) and math.isinf(ref[1]))


def test_flat_at_exactly_half_uses_r_midpoint_rule():
    """R: a curve flat at exactly 0.5 gives the midpoint of the flat (quantile.survfit).
    Events at 1, 2, 3, 4 (n = 4): S = .75, .5, .25, 0 -> R median (2 + 3)/2 = 2.5;
    SPSS takes the first time with S <= 0.5 -> 2."""
    km = km_fit([1, 2, 3, 4], [1, 1, 1, 1])
    assert median_ci(km, "brookmeyer_crowley").estimate == 2.5
    assert median_ci(km, "spss").estimate == 2


def test_flat_at_half_to_the_end_uses_last_time():
    """Flat at 0.5 up to the last (censored) time 4: R gives (2 + 4)/2 = 3."""
    km = km_fit([1, 2, 3, 4], [1, 1, 0, 0])
    assert median_ci(km, "brookmeyer_crowley").estimate == 3.0


def test_median_not_reached_is_nan():
    """S never reaches 0.5: median NaN ("NR") by both methods."""
    km = km_fit([1, 2, 3, 4, 5, 6], [1, 0, 0, 0, 0, 0])
    for method in ("spss", "brookmeyer_crowley"):
        median, lo, hi = median_ci(km, method)
        assert math.isnan(median) and math.isnan(hi)


def test_all_censored_gives_nan():
    km = km_fit([1, 2, 3], [0, 0, 0])
    assert all(math.isnan(v) for v in median_ci(km, "spss"))
    assert all(math.isnan(v) for v in median_ci(km, "brookmeyer_crowley"))


def test_unknown_method_and_bad_p():
    km = km_fit([1, 2], [1, 1])
    with pytest.raises(ValueError):
        median_ci(km, "sas")
    with pytest.raises(ValueError):
        percentile_ci(km, 1.0)


def test_alpha_changes_the_band(remission):
    group = remission[remission.Rx == 1]
    km = km_fit(group.t, group.status)
    wide = median_ci(km, "spss", alpha=0.01)
    narrow = median_ci(km, "spss", alpha=0.05)
    assert wide.lo < narrow.lo and wide.hi > narrow.hi
    assert np.isfinite(median_ci(km, "brookmeyer_crowley", alpha=0.01).lo)
