"""The normal, chi-square, beta and gamma functions the estimators use.

Each is the ``scipy.special`` function that ``scipy.stats`` itself calls for it
(scipy/stats/_continuous_distns.py: ``norm._ppf`` is ``ndtri``, ``norm._sf`` is
``ndtr(-x)``, ``chi2._sf`` is ``chdtrc``, ``beta._ppf`` and ``beta._isf`` are the inverses of
the regularised incomplete beta and of its complement), so the values are the same; importing ``scipy.stats`` would add
0.35 s of CPU to every ``results`` run (it builds about 100 distribution objects and
parses their docstrings at import), a third of the whole computation on the shipped cohort.

References: Abramowitz & Stegun (1964) 26.2 (normal), 26.4 (chi-square), 26.5
(incomplete beta), 6.1 (log gamma); R's ``qnorm``, ``pchisq(lower.tail = FALSE)``, ``qbeta``,
``lgamma``.
"""

from __future__ import annotations

# The scipy.special functions used here, all numpy ufuncs of its compiled module ``_ufuncs``.
UFUNCS = ("ndtri", "ndtr", "chdtrc", "betaincinv", "betainccinv", "gammaln")


def _load_ufuncs():
    """scipy.special's compiled ufunc module, without running the ``scipy.special`` package's ``__init__``.

    That ``__init__`` costs 17% of a 62-patient ``results`` run (about 0.7 G of 4.4 G instructions,
    cachegrind): it imports scipy's array-API layer (which walks every numpy submodule, f2py
    included) and rewrites the docstrings of 94 functions to add array-API notes. The functions
    themselves live in the extension module ``scipy/special/_ufuncs`` (and the modules it imports
    from its own folder), which needs none of that. So, when ``scipy.special`` is not imported yet, a
    bare package object for it (the real folder as its ``__path__``) stands in while that extension
    is imported, and is removed at once: a later ``import scipy.special`` (tableone, lifelines) runs
    the real ``__init__``, which finds the same extension modules in ``sys.modules`` and exports the
    very same ufunc objects (``tests/test_stats_distributions.py`` checks it). Any other shape of
    scipy falls back to the ordinary import.
    """
    import sys

    if "scipy.special" not in sys.modules:
        import _imp
        import importlib
        import os
        import types

        import scipy

        _imp.acquire_lock()   # no other thread may import scipy.special while the stand-in is there
        try:
            if "scipy.special" not in sys.modules:
                stand_in = types.ModuleType("scipy.special")
                stand_in.__path__ = [os.path.join(os.path.dirname(scipy.__file__), "special")]
                sys.modules["scipy.special"] = stand_in
                try:
                    module = importlib.import_module("scipy.special._ufuncs")
                    if all(callable(getattr(module, name, None)) for name in UFUNCS):
                        return module
                except ImportError:
                    pass
                finally:
                    if sys.modules.get("scipy.special") is stand_in:
                        del sys.modules["scipy.special"]
        finally:
            _imp.release_lock()
    from scipy import special

    return special


_special = _load_ufuncs()


def normal_quantile(probability: float) -> float:
    """z with Phi(z) = probability (R: ``qnorm(probability)``)."""
    return float(_special.ndtri(probability))


def two_sided_z(alpha: float) -> float:
    """The two-sided critical value z_{1 - alpha/2} of a (1 - alpha) confidence interval."""
    return normal_quantile(1.0 - alpha / 2.0)


def normal_sf(x):
    """1 - Phi(x), computed as Phi(-x) (no cancellation in the upper tail) (R: ``pnorm(x, lower.tail = FALSE)``)."""
    return _special.ndtr(-x)


def chi2_sf(statistic, df):
    """P(X >= statistic) for X ~ chi-square with ``df`` degrees of freedom (R: ``pchisq(statistic, df, lower.tail = FALSE)``)."""
    return _special.chdtrc(df, statistic)


def beta_quantile(probability, a, b):
    """The ``probability`` quantile of Beta(a, b), the inverse regularised incomplete beta I^{-1}_p(a, b) (R: ``qbeta``)."""
    return _special.betaincinv(a, b, probability)


def beta_upper_quantile(tail, a, b):
    """x with P(X > x) = ``tail`` for X ~ Beta(a, b), the inverse of the complemented incomplete beta
    (R: ``qbeta(tail, a, b, lower.tail = FALSE)``); exact in the upper tail, where 1 - tail rounds."""
    return _special.betainccinv(a, b, tail)


def log_gamma(x):
    """log |Gamma(x)| (R: ``lgamma``)."""
    return _special.gammaln(x)
