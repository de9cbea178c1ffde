"""Log-rank test and log-rank test for trend, against printed references and second methods."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.datasets import load_larynx, load_leukemia
from lifelines.statistics import multivariate_logrank_test

from analysis.stats.logrank import logrank_test, observed_expected, trend_statistic, trend_test


@pytest.fixture(scope="module")
def remission():
    """Freireich (1963) remission data (lifelines load_leukemia): Rx 0 = 6-MP, 1 = placebo."""
    df = load_leukemia()
    df["group"] = np.where(df.Rx == 0, "6-MP", "Placebo")
    return df


@pytest.mark.parametrize("capped", [False, True])
def test_equals_lifelines_logrank_test(remission, capped):
    """Second implementation: lifelines' logrank_test on the two groups."""
    from lifelines.statistics import logrank_test as lifelines_logrank

    time = np.minimum(remission.t, 20) if capped else remission.t
    event = np.where(remission.t <= 20, remission.status, 0) if capped else remission.status
    ours = logrank_test(time, event, remission.group, levels=["6-MP", "Placebo"])
    a, b = remission.group == "6-MP", remission.group == "Placebo"
    ref = lifelines_logrank(time[a], time[b], event[a], event[b])
    assert ours["chi2"] == pytest.approx(ref.test_statistic, rel=1e-12)
    assert ours["p"] == pytest.approx(ref.p_value, rel=1e-10)


def test_remission_logrank_matches_kleinbaum_klein_and_r(remission):
    """Kleinbaum & Klein (Survival Analysis, 3rd ed., ch. 2): log-rank chi2 = 16.79 (P < 0.0001);
    R survdiff prints O = 9 / 21, E = 19.3 / 10.7, Chisq = 16.8 on 1 df, p = 4e-05 (4.17e-05)."""
    result = logrank_test(remission.t, remission.status, remission.group, levels=["6-MP", "Placebo"])
    assert result["applicable"]
    assert result["chi2"] == pytest.approx(16.79, abs=0.005)
    assert result["df"] == 1
    assert result["p"] == pytest.approx(4.17e-05, abs=5e-08)
    groups = result["groups"]
    assert (groups["6-MP"]["events"], groups["Placebo"]["events"]) == (9, 21)
    assert groups["6-MP"]["expected"] == pytest.approx(19.3, abs=0.05)
    assert groups["Placebo"]["expected"] == pytest.approx(10.7, abs=0.05)


def test_remission_capped_at_20_weeks_matches_r(remission):
    """Same lab, follow-up capped at 20 weeks: R survdiff O = 7 / 19, E = 16 / 10, Chisq = 14."""
    time = np.minimum(remission.t, 20)
    event = np.where(remission.t <= 20, remission.status, 0)
    result = logrank_test(time, event, remission.group, levels=["6-MP", "Placebo"])
    assert result["chi2"] == pytest.approx(14.0, abs=0.05)
    assert result["groups"]["6-MP"]["events"] == 7
    assert result["groups"]["6-MP"]["expected"] == pytest.approx(16, abs=0.5)


def test_observed_expected_by_hand():
    """O, E, V by hand for a tiny example. Group a: 1, 3+; group b: 2, 4.
    t=1: n=4 (a2, b2), d=1 -> E_a = 2/4 = 0.5, V = 1*3/3 * (2/4)(2/4) = 0.25
    t=2: n=3 (a1, b2), d=1 -> E_a = 1/3,      V = 1*2/2 * (1/3)(2/3) = 2/9
    t=4: n=1 (b1),     d=1 -> E_a = 0,        V = 0 (n - 1 = 0)
    O_a = 1, E_a = 5/6, V_aa = 0.25 + 2/9 = 17/36; chi2 = (1 - 5/6)^2 / (17/36) = 1/17."""
    time, event, group = [1, 3, 2, 4], [1, 0, 1, 1], ["a", "a", "b", "b"]
    observed, expected, variance = observed_expected(time, event, group, ["a", "b"])
    np.testing.assert_allclose(observed, [1, 2])
    np.testing.assert_allclose(expected, [5 / 6, 13 / 6])
    assert variance[0, 0] == pytest.approx(17 / 36)
    assert variance[0, 1] == pytest.approx(-17 / 36)
    assert logrank_test(time, event, group)["chi2"] == pytest.approx(1 / 17)


def test_k_groups_lifelines_equals_quadratic_form():
    """Second method for K = 4 (larynx cancer stages, Klein & Moeschberger section 1.8):
    lifelines' multivariate test equals (O - E)' V^- (O - E) from our O, E, V."""
    df = load_larynx()
    stage = np.select([df.Stage_II == 1, df.Stage_III == 1, df.Stage_IV == 1], ["II", "III", "IV"], "I")
    levels = ["I", "II", "III", "IV"]
    result = logrank_test(df.time, df.death, stage, levels=levels, trend=True)
    observed, expected, variance = observed_expected(df.time, df.death, stage, levels)
    diff = (observed - expected)[:-1]
    quadratic = float(diff @ np.linalg.solve(variance[:-1, :-1], diff))
    assert result["df"] == 3
    assert result["chi2"] == pytest.approx(quadratic, rel=1e-9)
    ref = multivariate_logrank_test(df.time, stage, df.death)
    assert result["chi2"] == pytest.approx(ref.test_statistic, rel=1e-12)
    assert result["trend"]["z"] > 0  # hazard rises with stage


def test_trend_statistic_matches_printed_survdiff_example():
    """Klein & Moeschberger Example 7.7 (BNCT rats, 3 ordered treatments), R survdiff output
    printed in J. Fan's STA678 handout #4: obs = (10, 9, 8), exp = (2.656485, 7.600097,
    16.743418), var = [[1.9706489, -0.9545184, -1.016130], [-0.9545184, 4.5471241, -3.592606],
    [-1.0161305, -3.5926057, 4.608736]]; scores 1, 2, 3 -> trend chi2 = 30.0511, p = 4.208e-08."""
    variance = [[1.9706489, -0.9545184, -1.016130], [-0.9545184, 4.5471241, -3.592606], [-1.0161305, -3.5926057, 4.608736]]
    result = trend_statistic([10, 9, 8], [2.656485, 7.600097, 16.743418], variance, [1, 2, 3])
    assert result["chi2"] == pytest.approx(30.0511, abs=5e-4)
    assert result["p"] == pytest.approx(4.208098e-08, rel=1e-3)


def test_trend_with_two_groups_equals_logrank(remission):
    result = logrank_test(remission.t, remission.status, remission.group, levels=["6-MP", "Placebo"], trend=True)
    assert result["trend"]["chi2"] == pytest.approx(result["chi2"], rel=1e-10)


def test_trend_equals_cox_score_test_without_ties():
    """Second method: without tied times the trend test is the Cox partial-likelihood score
    test of the numeric score (Collett 2015, ch. 3); score and information at beta = 0 from
    statsmodels' PHReg."""
    from statsmodels.duration.hazard_regression import PHReg

    rng = np.random.default_rng(20240611)
    n = 60
    score = rng.integers(1, 4, n).astype(float)
    time = rng.exponential(10 / score)
    event = (rng.uniform(size=n) < 0.8).astype(int)
    result = trend_test(time, event, score, levels=[1.0, 2.0, 3.0])
    model = PHReg(time, score[:, None], status=event, ties="breslow")
    u = model.score(np.zeros(1))[0]
    information = -model.hessian(np.zeros(1))[0, 0]
    assert result["chi2"] == pytest.approx(u * u / information, rel=1e-9)


def test_single_group_is_not_applicable():
    result = logrank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"], levels=["a", "b"])
    assert result["applicable"] is False
    assert result["chi2"] is None and result["p"] is None
    assert "single group" in result["note"]
    assert result["groups"]["b"]["n"] == 0


def test_no_events_is_not_applicable():
    result = logrank_test([1, 2, 3, 4], [0, 0, 0, 0], ["a", "b", "a", "b"])
    assert result["applicable"] is False and "no events" in result["note"]


def test_empty_level_is_left_out_and_named():
    result = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], ["x", "x", "x", "z", "z", "z"],
                          levels=["x", "y", "z"], trend=True)
    assert result["df"] == 1
    assert "no patients in y" in result["note"]
    assert result["trend"]["scores"] == [1.0, 3.0]  # z keeps its place in the ordering


def test_missing_group_values_are_dropped():
    full = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"])
    with_missing = logrank_test([1, 2, 3, 4, 9], [1, 1, 1, 1, 1], ["a", "b", "a", "b", None])
    assert with_missing["chi2"] == pytest.approx(full["chi2"])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10), st.booleans(), st.sampled_from(["a", "b", "c"])),
        min_size=4,
        max_size=40,
    )
)
def test_random_data_matches_lifelines_multivariate(rows):
    """Property: our statistic equals lifelines' multivariate_logrank_test on arbitrary tied data."""
    time = np.array([r[0] for r in rows], dtype=float)
    event = np.array([int(r[1]) for r in rows])
    group = np.array([r[2] for r in rows], dtype=object)
    ours = logrank_test(time, event, group, levels=["a", "b", "c"])
    if not ours["applicable"]:
        return
    ref = multivariate_logrank_test(time, group.astype(str), event)
    assert ours["df"] == ref.degrees_of_freedom
    assert ours["chi2"] == pytest.approx(ref.test_statistic, rel=1e-8, abs=1e-10)
