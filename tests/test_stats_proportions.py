"""Exact (Clopper-Pearson) confidence intervals."""

from __future__ import annotations

import pytest
from scipy.stats import beta

from analysis.stats.proportions import clopper_pearson, proportion


def test_closed_forms_at_the_boundaries():
    """x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n) (Clopper & Pearson 1934).
    n = 10: 1 - 0.025^(1/10) = 0.30850; n = 62: 0.025^(1/62) = exp(-3.688879/62) = 0.94224."""
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9))
    assert clopper_pearson(0, 10)[1] == pytest.approx(0.30850, abs=5e-6)
    assert clopper_pearson(62, 62) == (pytest.approx(0.025 ** (1 / 62), rel=1e-9), 1.0)
    assert clopper_pearson(62, 62)[0] == pytest.approx(0.94224, abs=5e-6)


def test_textbook_value():
    """7 successes in 20: exact 95% CI 0.1539-0.5922 (e.g. Agresti & Coull 1998 discussion;
    any exact binomial table)."""
    lo, hi = clopper_pearson(7, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.1539, 0.5922)


@pytest.mark.parametrize("count, n", [(13, 62), (60, 62), (1, 145), (27, 62)])
def test_equals_beta_quantiles(count, n):
    """Second method: lo = Beta^-1(0.025; x, n - x + 1), hi = Beta^-1(0.975; x + 1, n - x)."""
    lo, hi = clopper_pearson(count, n)
    assert lo == pytest.approx(beta.ppf(0.025, count, n - count + 1), rel=1e-9)
    assert hi == pytest.approx(beta.ppf(0.975, count + 1, n - count), rel=1e-9)


def test_proportion_dict_and_edge_cases():
    item = proportion(13, 62)
    assert item["count"] == 13 and item["denominator"] == 62
    assert item["proportion"] == pytest.approx(13 / 62)
    assert item["ci_method"] == "clopper-pearson"
    assert proportion(0, 0) == {"count": 0, "denominator": 0, "proportion": None, "ci": [None, None],
                                "ci_method": "clopper-pearson", "reason": "denominator 0: proportion not estimable"}
    assert proportion(13, 62)["reason"] is None
    with pytest.raises(ValueError):
        proportion(5, 3)
