"""The normal, chi-square and beta distribution functions the estimators use.

Each is the ``scipy.special`` function that ``scipy.stats`` itself calls for it
(scipy/stats/_continuous_distns.py: ``norm._ppf`` is ``ndtri``, ``norm._sf`` is
``ndtr(-x)``, ``chi2._sf`` is ``chdtrc``, ``beta._ppf`` and ``beta._isf`` are the inverses of
the regularised incomplete beta and of its complement), so the values are the same; importing ``scipy.stats`` would add
0.35 s of CPU to every ``results`` run (it builds about 100 distribution objects and
parses their docstrings at import), a third of the whole computation on the shipped cohort.

References: Abramowitz & Stegun (1964) 26.2 (normal), 26.4 (chi-square), 26.5
(incomplete beta); R's ``qnorm``, ``pchisq(lower.tail = FALSE)``, ``qbeta``.
"""

from __future__ import annotations

from scipy import special


def normal_quantile(probability: float) -> float:
    """z with Phi(z) = probability (R: ``qnorm(probability)``)."""
    return float(special.ndtri(probability))


def two_sided_z(alpha: float) -> float:
    """The two-sided critical value z_{1 - alpha/2} of a (1 - alpha) confidence interval."""
    return normal_quantile(1.0 - alpha / 2.0)


def normal_sf(x):
    """1 - Phi(x), computed as Phi(-x) (no cancellation in the upper tail) (R: ``pnorm(x, lower.tail = FALSE)``)."""
    return special.ndtr(-x)


def chi2_sf(statistic, df):
    """P(X >= statistic) for X ~ chi-square with ``df`` degrees of freedom (R: ``pchisq(statistic, df, lower.tail = FALSE)``)."""
    return special.chdtrc(df, statistic)


def beta_quantile(probability, a, b):
    """The ``probability`` quantile of Beta(a, b), the inverse regularised incomplete beta I^{-1}_p(a, b) (R: ``qbeta``)."""
    return special.betaincinv(a, b, probability)


def beta_upper_quantile(tail, a, b):
    """x with P(X > x) = ``tail`` for X ~ Beta(a, b), the inverse of the complemented incomplete beta
    (R: ``qbeta(tail, a, b, lower.tail = FALSE)``); exact in the upper tail, where 1 - tail rounds."""
    return special.betainccinv(a, b, tail)
