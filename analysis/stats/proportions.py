"""A proportion with its exact (Clopper-Pearson) confidence interval.

Clopper & Pearson (1934): the (1 - alpha) interval [lo, hi] solves
P(X >= k | lo) = alpha/2 and P(X <= k | hi) = alpha/2 for X ~ Binomial(n, p),
i.e. lo = Beta^{-1}(alpha/2; k, n - k + 1), hi = Beta^{-1}(1 - alpha/2; k + 1, n - k),
with lo = 0 when k = 0 and hi = 1 when k = n. Computed by
``statsmodels.stats.proportion.proportion_confint(method="beta")``.
"""

from __future__ import annotations

CI_METHOD = "clopper-pearson"


def clopper_pearson(count: int, denominator: int, alpha: float = 0.05) -> tuple[float | None, float | None]:
    """Exact CI of count/denominator; (None, None) when the denominator is 0."""
    from statsmodels.stats.proportion import proportion_confint

    count, denominator = int(count), int(denominator)
    if denominator < 0 or count < 0 or count > denominator:
        raise ValueError(f"need 0 <= count <= denominator, got {count}/{denominator}")
    if denominator == 0:
        return (None, None)
    lo, hi = proportion_confint(count, denominator, alpha=alpha, method="beta")
    # statsmodels returns NaN at the boundaries on some versions; the exact limits there are 0 and 1
    lo = 0.0 if count == 0 else float(lo)
    hi = 1.0 if count == denominator else float(hi)
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
