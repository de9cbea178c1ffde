"""Median follow-up: reverse Kaplan-Meier, and the plain median of the survivors.

Reverse Kaplan-Meier (Schemper & Smith, Control Clin Trials 1996): the
Kaplan-Meier estimator with the event indicator reversed, so that being alive
at last contact is the "event" and death censors the follow-up time. Its
median is the median potential follow-up, unaffected by early deaths. The
median and its CI follow ``analysis.stats.median_ci`` (same method as the
survival medians).

Follow-up time: from time zero to death for the patients who died, else to
the last contact (``followup_months`` of ``analysis.data.derive``: the
contract allows last_followup_date after death_date, which must not lengthen
anyone's follow-up).

Alongside: the plain median and range of the follow-up times of the patients
alive at last contact (the numbers papers usually print as "median follow-up
30 months (range 16-50)"), and the plain median of all patients.
"""

from __future__ import annotations

import numpy as np

from analysis.stats.km import km_fit
from analysis.stats.median_ci import median_ci


def _none(value) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def median_followup(time, died, alpha: float = 0.05, transform: str = "log-log", median_ci_method: str = "spss") -> dict:
    """{median, ci, range, method, plain_median, plain_median_all, n_alive, median_ci_method}.

    ``time``: follow-up from time zero to death or last contact; ``died``: 1 if
    the patient died (then the follow-up time is censored in the reverse KM).
    ``range`` is [min, max] of the survivors' follow-up (None if nobody is alive).
    """
    time = np.asarray(time, dtype=float)
    died = np.asarray(died, dtype=int)
    alive = died == 0
    reverse = km_fit(time, 1 - died, alpha=alpha, transform=transform)
    median, lo, hi = median_ci(reverse, median_ci_method, alpha)
    survivors = time[alive]
    reason = None
    if not np.isfinite(median):
        reason = ("no patient was alive at last contact: the reverse Kaplan-Meier curve has no events"
                  if not alive.any() else "the reverse Kaplan-Meier curve stays above 0.5 (median not reached)")
    return {
        "median_not_estimable": reason,
        "method": "reverse_km",
        "median": _none(median),
        "ci": [_none(lo), _none(hi)],
        "median_ci_method": median_ci_method,
        "range": [float(survivors.min()), float(survivors.max())] if survivors.size else [None, None],
        "plain_median": float(np.median(survivors)) if survivors.size else None,
        "plain_median_all": float(np.median(time)) if time.size else None,
        "n_alive": int(alive.sum()),
        "n": int(time.size),
    }
