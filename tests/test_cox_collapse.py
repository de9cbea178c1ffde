"""Subjects with the same (time, event, x) as one weighted row give the fit and cox.zph of the subjects.

``efron._Sorted(collapse=True)`` (used from 10,000 subjects) sums weighted distinct rows instead of
subjects; every Cox quantity is a sum over subjects, so the results must equal the one-row-a-subject
computation (which tests/test_vs_r.py checks against R) to rounding. Here the collapse is forced on
small cohorts and compared with it switched off: ties heavy and light, indicator and continuous
columns, no distinct rows to merge, events at every time, Firth's likelihood, and the residuals of
cox.zph in the subjects' own order.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.stats import efron

RTOL = 1e-10


def _cohort(rng: np.random.Generator, n: int, p: int, distinct_times: int, continuous: bool):
    time = rng.integers(1, distinct_times + 1, n).astype(float)
    columns = [(rng.random(n) < rng.uniform(0.2, 0.6)).astype(float) for _ in range(p)]
    if continuous:   # a few-valued score and a column of many values
        columns[-1] = rng.integers(0, 4, n).astype(float)
        columns.append(rng.normal(size=n).round(1))
    x = np.column_stack(columns)
    hazard = np.exp(x @ rng.normal(0, 0.4, x.shape[1]))
    event = rng.random(n) < hazard / (1 + hazard)
    return time, event, x


def _fit_both(monkeypatch, *args, **kwargs):
    monkeypatch.setattr(efron, "_COLLAPSE_FROM", 0)
    efron._ORDERS.clear()
    efron._ZPH_LAST.clear()
    collapsed = efron.efron_fit(*args, **kwargs)
    monkeypatch.setattr(efron, "_COLLAPSE_FROM", 10 ** 12)
    plain = efron.efron_fit(*args, **kwargs)
    return collapsed, plain


def _close(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_collapsed_fit_is_the_subjects_fit(monkeypatch, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 3000))
    time, event, x = _cohort(rng, n, int(rng.integers(1, 5)), int(rng.choice([5, 40, 400])), seed % 3 == 0)
    names = [f"x{k}" for k in range(x.shape[1])]
    collapsed, plain = _fit_both(monkeypatch, time, event, x, names)
    assert collapsed.iterations == plain.iterations and collapsed.flag == plain.flag
    assert (collapsed.infinite == plain.infinite).all()
    for attribute in ("coef", "variance", "score"):
        _close(getattr(collapsed, attribute), getattr(plain, attribute))
    for attribute in ("loglik", "loglik_init", "score_test"):
        assert getattr(collapsed, attribute) == pytest.approx(getattr(plain, attribute), rel=1e-12)


def test_collapse_merges_rows_only_when_it_pays(monkeypatch) -> None:
    monkeypatch.setattr(efron, "_COLLAPSE_FROM", 0)
    rng = np.random.default_rng(7)
    time, event, x = _cohort(rng, 2000, 2, 30, False)
    data = efron._Sorted(time, event, x, collapse=True)
    assert data.weight is not None and data.weight.sum() == 2000 and data.x.shape[0] <= 30 * 2 * 4
    assert (np.diff(data.time) >= 0).all()
    # every subject's row holds its own time, event and x
    sorted_rows = data.row_of
    order = data.order
    assert (data.time[sorted_rows] == time[order]).all() and (data.event[sorted_rows] == event[order]).all()
    assert (data.x[sorted_rows] == x[order]).all()
    unique_times = np.arange(2000, dtype=float)   # no two subjects alike: nothing to merge
    assert efron._Sorted(unique_times, event, x, collapse=True).weight is None


def test_firth_on_collapsed_rows(monkeypatch) -> None:
    rng = np.random.default_rng(11)
    n = 1500
    x = (rng.random((n, 2)) < 0.3).astype(float)
    time = rng.integers(1, 60, n).astype(float)
    event = (rng.random(n) < 0.5) & (x[:, 1] == 0)   # no events where x1 = 1: monotone likelihood
    collapsed, plain = _fit_both(monkeypatch, time, event, x, ["a", "b"], firth=True)
    _close(collapsed.coef, plain.coef)
    _close(collapsed.variance, plain.variance)
    assert collapsed.loglik == pytest.approx(plain.loglik, rel=1e-12)
    assert collapsed.loglik_unpenalised == pytest.approx(plain.loglik_unpenalised, rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_zph_on_collapsed_rows_is_the_subjects_zph(monkeypatch, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    time, event, x = _cohort(rng, int(rng.integers(300, 2500)), 3, int(rng.choice([8, 80, 800])), seed % 2 == 1)
    terms = {"a": [0], "b": [1, 2]} if x.shape[1] == 3 else {"a": [0], "b": [1, 2], "c": [3]}
    coef = efron.efron_fit(time, event, x, [str(k) for k in range(x.shape[1])]).coef
    out = {}
    for label, threshold in (("collapsed", 0), ("plain", 10 ** 12)):
        monkeypatch.setattr(efron, "_COLLAPSE_FROM", threshold)
        efron._ZPH_LAST.clear()
        out[label] = (efron.zph_test(time, event, x, coef, terms), efron.zph_residuals(time, event, x, coef, terms))
    (test_c, resid_c), (test_p, resid_p) = out["collapsed"], out["plain"]
    for name in list(terms) + ["global"]:
        got = test_c["global"] if name == "global" else test_c["terms"][name]
        want = test_p["global"] if name == "global" else test_p["terms"][name]
        assert got["df"] == want["df"]
        assert got["chi2"] == pytest.approx(want["chi2"], rel=1e-9)
    # residuals: one per event subject, in time order and, within a tied time, the subjects' order
    _close(resid_c["x"], resid_p["x"])
    assert (resid_c["time"] == resid_p["time"]).all()
    for name in terms:
        _close(resid_c["y"][name], resid_p["y"][name])
    _close(resid_c["var"], resid_p["var"])
    assert len(resid_c["time"]) == int(event.sum())


def test_zph_km_transform_is_one_minus_km_before_each_time() -> None:
    """R cox.zph(transform = "km"): 1 - S(t-) of the overall KM curve, here at each event subject."""
    rng = np.random.default_rng(3)
    time = rng.integers(1, 30, 500).astype(float)
    event = rng.random(500) < 0.6
    x = rng.random((500, 1))
    resid = efron.zph_residuals(time, event, x, np.array([0.2]), {"a": [0]})
    expected = []
    for t in resid["time"]:   # the product-limit estimate just before t, written out
        survival = 1.0
        for u in np.unique(time[time < t]):
            survival *= 1 - ((time == u) & event).sum() / (time >= u).sum()
        expected.append(1 - survival)
    _close(resid["x"], expected)
