"""Kaplan-Meier estimator with Greenwood standard errors and pointwise CIs.

The product-limit estimate S(t) = prod_{t_j <= t} (1 - d_j / n_j), from the
event table (at every distinct observed time t_j: n_j at risk, d_j events,
c_j censored), is the same as lifelines' ``KaplanMeierFitter`` (the tests
compare the two column by column; numpy is used here for speed). On top of it:

* Greenwood variance (Greenwood 1926; Klein & Moeschberger 2003, eq. 4.2.2)::

      Var[S(t)] = S(t)^2 * sum_{t_j <= t} d_j / (n_j (n_j - d_j))

  ``se`` is its square root (the standard error of S, as R survfit's
  ``std.err * surv`` and SPSS's "Std. Error" report it).

* Pointwise (1 - alpha) CI of S(t), with the transform named in the plan
  (Klein & Moeschberger section 4.3; R survfit ``conf.type``)::

      "log-log":  S^exp(+/- z * sigma / log S)      (lifelines' "exponential
                  Greenwood"; R conf.type = "log-log")
      "log":      S * exp(+/- z * sigma)             (R's default conf.type)
      "plain":    S +/- z * sigma * S, clipped to [0, 1]

  with sigma^2 = sum d_j / (n_j (n_j - d_j)) (the variance of log S) and
  z = Phi^{-1}(1 - alpha/2). Where S = 1 (no event yet) the log-log interval
  is undefined (NaN, R's NA: log S = 0) and the others are [1, 1]; where
  S = 0, or after a step with n_j = d_j, the log-based intervals are
  undefined and are NaN (R gives NA there).

Times are in whatever unit the caller uses (months in this project).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

TRANSFORMS = ("log-log", "log", "plain")


class SurvivalEstimate(NamedTuple):
    """S(t) with its pointwise CI (NaN when t is beyond follow-up): ``estimate, lo, hi = ...``."""

    estimate: float
    lo: float
    hi: float


@dataclass(frozen=True)
class KMResult:
    """A fitted Kaplan-Meier curve, one entry per distinct observed time (events or censorings).

    times      distinct observed times, ascending (time 0 not included; S(0) = 1)
    n_at_risk  number at risk just before each time (time >= t_j)
    n_events   events at each time
    n_censored censorings at each time
    survival   S(t_j), the product-limit estimate just after t_j
    se         Greenwood standard error of S(t_j)
    ci_lower, ci_upper  pointwise CI with ``transform`` at level 1 - ``alpha``
    n, events  subjects and events in all
    """

    times: np.ndarray
    n_at_risk: np.ndarray
    n_events: np.ndarray
    n_censored: np.ndarray
    survival: np.ndarray
    se: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    transform: str
    alpha: float
    n: int
    events: int

    @property
    def max_time(self) -> float:
        """Largest observed time (event or censoring); NaN for an empty curve."""
        return float(self.times[-1]) if len(self.times) else float("nan")

    @property
    def event_times(self) -> np.ndarray:
        return self.times[self.n_events > 0]

    def _index_at(self, t: float) -> int:
        """Index of the last observed time <= t, or -1 before the first one."""
        return int(np.searchsorted(self.times, t, side="right")) - 1

    def to_dict(self) -> dict:
        """Plain lists (JSON-ready apart from NaN) for figures and the results file."""
        return {
            "time": self.times.tolist(),
            "n_at_risk": self.n_at_risk.astype(int).tolist(),
            "n_events": self.n_events.astype(int).tolist(),
            "n_censored": self.n_censored.astype(int).tolist(),
            "survival": self.survival.tolist(),
            "se": self.se.tolist(),
            "ci_lower": self.ci_lower.tolist(),
            "ci_upper": self.ci_upper.tolist(),
            "transform": self.transform,
            "alpha": self.alpha,
        }


def _z(alpha: float) -> float:
    from analysis.stats.distributions import two_sided_z

    return two_sided_z(alpha)


def pointwise_ci(survival: np.ndarray, sigma: np.ndarray, alpha: float, transform: str):
    """Pointwise CI of S from sigma = SE(log S) (see module docstring for the formulas)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown CI transform {transform!r}; expected one of {TRANSFORMS}")
    s = np.asarray(survival, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    z = _z(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "log-log":
            log_s = np.log(s)
            lower = s ** np.exp(-z * sigma / log_s)
            upper = s ** np.exp(z * sigma / log_s)
        elif transform == "log":
            lower = s * np.exp(-z * sigma)
            upper = np.minimum(s * np.exp(z * sigma), 1.0)
        else:
            lower = np.clip(s - z * sigma * s, 0.0, 1.0)
            upper = np.clip(s + z * sigma * s, 0.0, 1.0)
    one = s >= 1.0
    # S = 1: R's survfit gives NA for log-log (log(1) = 0 in the denominator), [1, 1] otherwise
    lower = np.where(one, np.nan if transform == "log-log" else 1.0, lower)
    upper = np.where(one, np.nan if transform == "log-log" else 1.0, upper)
    undefined = ~np.isfinite(sigma) | ((s <= 0.0) & (transform != "plain"))
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return lower, upper


def km_fit(time, event, alpha: float = 0.05, transform: str = "log-log") -> KMResult:
    """Fit the Kaplan-Meier curve of right-censored ``time`` with ``event`` (1 = event, 0 = censored).

    Reference: Kaplan & Meier (1958); Greenwood (1926); Klein & Moeschberger,
    Survival Analysis (2nd ed., 2003), sections 4.2-4.3.
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown CI transform {transform!r}; expected one of {TRANSFORMS}")
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    if time.shape != event.shape:
        raise ValueError("time and event must have the same length")
    if np.isnan(time).any() or np.isnan(event).any():
        raise ValueError("time and event must not contain missing values")
    if (time < 0).any():
        raise ValueError("survival times must be >= 0")
    if len(time) == 0:
        empty = np.array([], dtype=float)
        return KMResult(empty, empty, empty, empty, empty, empty, empty, empty, transform, alpha, 0, 0)

    # Event table: at each distinct observed time, at risk (time >= t), events, censored.
    # Built with numpy rather than lifelines' KaplanMeierFitter: the results file fits
    # ~60 curves and lifelines' pandas bookkeeping costs ~5 ms a fit. The tests check
    # every column against KaplanMeierFitter (survival_function_, confidence_interval_,
    # event_table) on public datasets.
    times, inverse = np.unique(time, return_inverse=True)
    n_events = np.bincount(inverse, weights=event, minlength=len(times))
    n_total = np.bincount(inverse, minlength=len(times)).astype(float)
    n_censored = n_total - n_events
    n_at_risk = len(time) - np.concatenate(([0.0], np.cumsum(n_total)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1.0 - n_events / n_at_risk)

    # Greenwood: sigma^2 = sum d / (n (n - d)); infinite once a step empties the risk set
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_events > 0, n_events / (n_at_risk * (n_at_risk - n_events)), 0.0)
    sigma = np.sqrt(np.cumsum(terms))
    with np.errstate(invalid="ignore"):
        se = survival * sigma
    se = np.where(survival <= 0.0, np.nan, se)  # R: std.err NA once S = 0
    lower, upper = pointwise_ci(survival, sigma, alpha, transform)
    return KMResult(
        times=times,
        n_at_risk=n_at_risk,
        n_events=n_events,
        n_censored=n_censored,
        survival=survival,
        se=se,
        ci_lower=lower,
        ci_upper=upper,
        transform=transform,
        alpha=float(alpha),
        n=int(len(time)),
        events=int(event.sum()),
    )


def survival_at(km: KMResult, t: float) -> SurvivalEstimate:
    """S(t) with its pointwise CI at time ``t``: the step function's value at the last observed time <= t.

    Beyond the largest observed time the curve is not estimable: NaN (R's
    ``summary(fit, times, extend = FALSE)`` drops such times), unless it has
    already dropped to 0, which it then stays at (CI NaN, as R's NA).
    """
    nan = float("nan")
    if km.n == 0:
        return SurvivalEstimate(nan, nan, nan)
    if t > km.max_time:
        # known only if the curve has already reached 0 (last observation an event)
        return SurvivalEstimate(0.0, nan, nan) if km.survival[-1] <= 0.0 else SurvivalEstimate(nan, nan, nan)
    i = km._index_at(t)
    if i < 0:
        lower, upper = pointwise_ci(np.array([1.0]), np.array([0.0]), km.alpha, km.transform)
        return SurvivalEstimate(1.0, float(lower[0]), float(upper[0]))
    return SurvivalEstimate(float(km.survival[i]), float(km.ci_lower[i]), float(km.ci_upper[i]))


def greenwood_se_at(km: KMResult, t: float) -> float:
    """Greenwood SE of S(t) (0 before the first event; NaN where ``survival_at`` is NaN or S = 0)."""
    if km.n == 0 or t > km.max_time:
        return float("nan")
    i = km._index_at(t)
    return 0.0 if i < 0 else float(km.se[i])


def at_risk(km: KMResult, t: float) -> int:
    """Number at risk at time ``t``: subjects whose observed time is >= t (R's ``n.risk`` convention)."""
    if km.n == 0:
        return 0
    i = int(np.searchsorted(km.times, t, side="left"))
    if i >= len(km.times):
        return 0
    return int(km.n_at_risk[i])
