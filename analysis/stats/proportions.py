"""A proportion with its exact (Clopper-Pearson) confidence interval.

Clopper & Pearson (1934): the (1 - alpha) interval [lo, hi] solves
P(X >= k | lo) = alpha/2 and P(X <= k | hi) = alpha/2 for X ~ Binomial(n, p),
i.e. lo = Beta^{-1}(alpha/2; k, n - k + 1), hi = Beta^{-1}(1 - alpha/2; k + 1, n - k),
with lo = 0 when k = 0 and hi = 1 when k = n (R: ``binom.test``). The beta quantiles are
``scipy.special``'s inverse incomplete beta (analysis.stats.distributions), the function
behind ``statsmodels.stats.proportion.proportion_confint(method="beta")``, which
tests/test_stats_proportions.py checks this against, without importing ``scipy.stats`` on
every run (0.35 s).
"""

from __future__ import annotations

CI_METHOD = "clopper-pearson"


def clopper_pearson(count: int, denominator: int, alpha: float = 0.05) -> tuple[float | None, float | None]:
    """Exact CI of count/denominator; (None, None) when the denominator is 0."""
    from analysis.stats.distributions import beta_quantile, beta_upper_quantile

    count, denominator = int(count), int(denominator)
    if denominator < 0 or count < 0 or count > denominator:
        raise ValueError(f"need 0 <= count <= denominator, got {count}/{denominator}")
    if denominator == 0:
        return (None, None)
    # the exact limits at the boundaries are 0 and 1 (the beta quantile is undefined there)
    lo = 0.0 if count == 0 else float(beta_quantile(alpha / 2, count, denominator - count + 1))
    hi = 1.0 if count == denominator else float(beta_upper_quantile(alpha / 2, count + 1, denominator - count))
    return (lo, hi)


def proportion(count: int, denominator: int, alpha: float = 0.05) -> dict:
    """{count, denominator, proportion, ci: [lo, hi], ci_method, reason} (proportion None, and the reason, when n = 0)."""
    lo, hi = clopper_pearson(count, denominator, alpha)
    return {
        "count": int(count),
        "denominator": int(denominator),
        "proportion": (int(count) / int(denominator)) if denominator else None,
        "ci": [lo, hi],
        "ci_method": CI_METHOD,
        "reason": None if denominator else "denominator 0: proportion not estimable",
    }
