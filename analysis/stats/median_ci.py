"""Median (and other percentile) survival time with a 95% CI, by two methods.

The p-th percentile t_p is the time at which the Kaplan-Meier curve reaches
1 - p (p = 0.5 for the median). Comparisons use a tolerance of
sqrt(machine epsilon) ~ 1.5e-8, as R does, because S is a product of floats.

``method="brookmeyer_crowley"`` -- R ``survival::quantile.survfit`` (what
``print(survfit(...))`` shows), after Brookmeyer & Crowley (1982):

* t_p = the first time the curve reaches 1 - p (S(t) <= 1 - p). If the curve
  is *exactly* 1 - p over a flat stretch [t_j, t_{j+1}), t_p is the midpoint
  (t_j + t_{j+1}) / 2; if that flat stretch runs to the end of follow-up, the
  midpoint of t_j and the largest observed time.
* lower limit = the same rule applied to the lower pointwise band; upper limit
  = the same rule applied to the upper band (None/NaN when the upper band never
  reaches 1 - p). The band is the Kaplan-Meier pointwise CI with the curve's
  transform (this project: log-log, R ``conf.type = "log-log"``), so the
  interval is usually asymmetric.

``method="spss"`` -- the symmetric interval SPSS prints (Klein & Moeschberger,
Survival Analysis 2nd ed., section 4.5 Practical Note 3; Collett 2015, 2.4.1)::

    t_p  = smallest event time with S(t) <= 1 - p      (no midpoint rule)
    u    = largest event time with S(u) >= 1 - p + 0.05 (time 0, S = 1, if none)
    l    = smallest event time with S(l) <= 1 - p - 0.05
    f    = (S(u) - S(l)) / (l - u)                      (crude density at t_p)
    SE   = SE_Greenwood(S(t_p)) / f
    CI   = t_p -/+ z_{1 - alpha/2} * SE

  A lower limit below 0 is truncated to 0 (a time cannot be negative; SPSS
  prints the negative number). ``spss_standard_error`` gives SE(t_p) itself.

  When no l exists (the curve never reaches 1 - p - 0.05), when l = u (the
  curve falls from above 1 - p + 0.05 to below 1 - p - 0.05 in one step at
  time 0, e.g. most events on day 0: f would be infinite), or when the
  Greenwood SE at t_p is undefined (S(t_p) = 0), the CI is undefined (NaN).
  ``not_estimable_reason`` says which.

A percentile that is not reached (the curve stays above 1 - p) is NaN; the
tables print it as "NR" (not reached). Its CI limits are NaN too, except the
Brookmeyer-Crowley lower limit, which may exist.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analysis.stats.km import KMResult, pointwise_ci

METHODS = ("spss", "brookmeyer_crowley")
TOLERANCE = float(np.sqrt(np.finfo(float).eps))


class PercentileCI(NamedTuple):
    """(estimate, lo, hi); NaN where not estimable. Unpacks as ``median, lo, hi = ...``."""

    estimate: float
    lo: float
    hi: float


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _first_crossing(times: np.ndarray, curve: np.ndarray, level: float, last_time: float) -> float:
    """R's ``findq``: first time a step curve (value just after each time) reaches ``level``.

    ``times``/``curve`` start at (0, 1). NaN values are dropped (R's approx does
    the same); a flat stretch exactly at ``level`` gives the midpoint of its ends.
    """
    keep = np.isfinite(curve)
    x, y = times[keep], curve[keep]
    # only the first time of each distinct value matters (censorings repeat it)
    first = np.concatenate(([True], y[1:] != y[:-1]))
    x, y = x[first], y[first]
    if len(y) == 0 or y.min() > level + TOLERANCE:
        return float("nan")
    below = np.nonzero(y <= level + TOLERANCE)[0]
    j = int(below[0])
    if abs(y[j] - level) >= TOLERANCE:
        return float(x[j])
    # flat exactly at the level: midpoint with the next drop, or with the end of follow-up
    strictly = np.nonzero(y < level - TOLERANCE)[0]
    if len(strictly) == 0:
        return float((x[j] + last_time) / 2)
    return float((x[j] + x[int(strictly[0])]) / 2)


def _brookmeyer_crowley(km: KMResult, p: float, alpha: float) -> PercentileCI:
    level = 1.0 - p
    if alpha == km.alpha:
        lower, upper = km.ci_lower, km.ci_upper
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = np.where(km.survival > 0, km.se / km.survival, np.inf)
        lower, upper = pointwise_ci(km.survival, sigma, alpha, km.transform)
    times = np.concatenate(([0.0], km.times))
    last = km.max_time
    estimate = _first_crossing(times, np.concatenate(([1.0], km.survival)), level, last)
    lo = _first_crossing(times, np.concatenate(([1.0], lower)), level, last)
    hi = _first_crossing(times, np.concatenate(([1.0], upper)), level, last)
    return PercentileCI(estimate, lo, hi)


def _spss(km: KMResult, p: float, alpha: float) -> PercentileCI:
    from analysis.stats.distributions import two_sided_z

    nan = float("nan")
    has_event = km.n_events > 0
    reached = np.nonzero(km.survival[has_event] <= 1.0 - p + TOLERANCE)[0]
    if len(reached) == 0:
        return PercentileCI(nan, nan, nan)
    t_p = float(km.times[has_event][reached[0]])
    se_tp = spss_standard_error(km, p)
    if not np.isfinite(se_tp):
        return PercentileCI(t_p, nan, nan)
    z = two_sided_z(alpha)
    return PercentileCI(t_p, max(t_p - z * se_tp, 0.0), t_p + z * se_tp)


def spss_standard_error(km: KMResult, p: float = 0.5) -> float:
    """SE(t_p) of the SPSS method, SE_Greenwood(S(t_p)) / f (NaN when undefined)."""
    level = 1.0 - p
    has_event = km.n_events > 0
    times, surv, se = km.times[has_event], km.survival[has_event], km.se[has_event]
    reached = np.nonzero(surv <= level + TOLERANCE)[0]
    lower_side = np.nonzero(surv <= level - 0.05 + TOLERANCE)[0]
    if len(reached) == 0 or len(lower_side) == 0:
        return float("nan")
    upper_side = np.nonzero(surv >= level + 0.05 - TOLERANCE)[0]
    u, s_u = (float(times[upper_side[-1]]), float(surv[upper_side[-1]])) if len(upper_side) else (0.0, 1.0)
    l, s_l = float(times[lower_side[0]]), float(surv[lower_side[0]])
    if l <= u or not np.isfinite(se[reached[0]]):
        return float("nan")  # f undefined (a drop at time 0) or Greenwood SE undefined (S = 0)
    return float(se[reached[0]]) / ((s_u - s_l) / (l - u))


def not_estimable_reason(km: KMResult, p: float = 0.5, method: str = "spss", alpha: float | None = None) -> dict:
    """Why the percentile or a CI limit is NaN: {estimate, lo, hi} -> reason text, or None where estimable."""
    level = 1.0 - p
    result = percentile_ci(km, p, method, alpha)
    out = {"estimate": None, "lo": None, "hi": None}
    if km.n == 0:
        return {key: "no patients" for key in out}
    if km.events == 0:
        return {key: "no events (not reached)" for key in out}
    if not np.isfinite(result.estimate):
        out["estimate"] = f"not reached: the curve stays above {level:g}"
    if method == "spss":
        reason = None
        if not np.isfinite(result.estimate):
            reason = "percentile not reached"
        else:
            has_event = km.n_events > 0
            times, surv, se = km.times[has_event], km.survival[has_event], km.se[has_event]
            reached = np.nonzero(surv <= level + TOLERANCE)[0]
            lower_side = np.nonzero(surv <= level - 0.05 + TOLERANCE)[0]
            upper_side = np.nonzero(surv >= level + 0.05 - TOLERANCE)[0]
            u = float(times[upper_side[-1]]) if len(upper_side) else 0.0
            if len(lower_side) == 0:
                reason = f"the curve never falls to {level - 0.05:g}: the density f of the SPSS method is undefined"
            elif float(times[lower_side[0]]) <= u:
                reason = (f"the curve falls below {level - 0.05:g} at time {u:g} (events at time 0): "
                          "the density f of the SPSS method is undefined")
            elif not np.isfinite(se[reached[0]]):
                reason = "the Greenwood SE is undefined where the curve reaches 0"
        if reason is not None:
            out["lo"] = out["hi"] = reason
        return out
    if not np.isfinite(result.lo):
        out["lo"] = f"the lower pointwise band never falls to {level:g}"
    if not np.isfinite(result.hi):
        out["hi"] = f"the upper pointwise band never falls to {level:g} (not reached)"
    return out


def percentile_ci(km: KMResult, p: float = 0.5, method: str = "spss", alpha: float | None = None) -> PercentileCI:
    """The time by which a fraction ``p`` has had the event, with its CI by ``method``."""
    if method not in METHODS:
        raise ValueError(f"unknown median CI method {method!r}; expected one of {METHODS}")
    if not 0 < p < 1:
        raise ValueError("p must lie strictly between 0 and 1")
    alpha = km.alpha if alpha is None else float(alpha)
    nan = float("nan")
    if km.n == 0 or km.events == 0:
        return PercentileCI(nan, nan, nan)
    if method == "spss":
        return _spss(km, p, alpha)
    return _brookmeyer_crowley(km, p, alpha)


def median_ci(km: KMResult, method: str = "spss", alpha: float | None = None) -> PercentileCI:
    """Median survival time and its (1 - alpha) CI: ``median, lo, hi = median_ci(km, "spss")``.

    NaN means not estimable (median not reached -> "NR"). ``alpha`` defaults
    to the curve's own ``km.alpha``.
    """
    return percentile_ci(km, 0.5, method, alpha)


def as_json(result: PercentileCI) -> dict:
    """{estimate, ci: [lo, hi]} with NaN -> None, for the results file."""
    return {"estimate": _nan_to_none(result.estimate), "ci": [_nan_to_none(result.lo), _nan_to_none(result.hi)]}
