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


def test_equals_statsmodels_on_a_grid():
    """Every count of every n up to 120, three confidence levels: the same limits as
    statsmodels' ``proportion_confint(method="beta")``, the library the interval used to call."""
    from statsmodels.stats.proportion import proportion_confint

    worst = 0.0
    for alpha in (0.05, 0.1, 0.01):
        for n in range(1, 121):
            for count in range(n + 1):
                lo, hi = clopper_pearson(count, n, alpha)
                ref_lo, ref_hi = proportion_confint(count, n, alpha=alpha, method="beta")
                ref_lo = 0.0 if count == 0 else ref_lo
                ref_hi = 1.0 if count == n else ref_hi
                worst = max(worst, abs(lo - ref_lo), abs(hi - ref_hi))
    assert worst < 1e-12


def test_equals_r_binom_test():
    """R's ``binom.test(x, n)$conf.int`` (the Clopper-Pearson interval) for a spread of x/n."""
    import os
    import shutil
    import subprocess

    if not shutil.which("Rscript"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Rscript is missing")
        pytest.skip("Rscript not installed")
    cases = [(0, 1), (1, 1), (0, 62), (13, 62), (60, 62), (62, 62), (1, 145), (27, 62), (499, 1000), (3, 7)]
    code = "; ".join(f"cat(sprintf('%.17g %.17g\\n', binom.test({x}, {n}, conf.level = 0.95)$conf.int[1], "
                     f"binom.test({x}, {n}, conf.level = 0.95)$conf.int[2]))" for x, n in cases)
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True).stdout.split()
    for i, (x, n) in enumerate(cases):
        lo, hi = clopper_pearson(x, n)
        assert lo == pytest.approx(float(out[2 * i]), rel=1e-10, abs=1e-14)
        assert hi == pytest.approx(float(out[2 * i + 1]), rel=1e-10, abs=1e-14)
