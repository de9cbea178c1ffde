"""Log-rank test across the levels of a factor, and the log-rank test for trend.

At each distinct event time t_j, with n_j at risk and d_j events in all, and
n_kj at risk / d_kj events in group k (Collett, Modelling Survival Data in
Medical Research, 3rd ed. 2015, chapter 2; Klein & Moeschberger 2003,
sections 7.3-7.4; R ``survdiff``)::

    O_k = sum_j d_kj          E_k = sum_j d_j n_kj / n_j
    V_kl = sum_j d_j (n_j - d_j) / (n_j - 1) * (n_kj / n_j) (delta_kl - n_lj / n_j)

Log-rank statistic over K groups: (O - E)' V^- (O - E) on K - 1 df, using
any K - 1 of the groups (V restricted to them is invertible). This is the
statistic of lifelines' ``multivariate_logrank_test`` and R's ``survdiff``;
it is computed here from the same O, E, V that the trend test needs, because
lifelines' function spends ~5 ms per call in pandas and the results file runs
26 tests within a 2-second budget. The tests check the two agree to 1e-12
(and both against R's and Kleinbaum & Klein's printed values).

Trend test for an ordered factor with scores w_k (1, 2, ..., K in level
order of the plan; an empty level keeps its place, so the scores
of the others do not shift)::

    U = sum_k w_k (O_k - E_k),   V_U = w' V w,   chi2_trend = U^2 / V_U on 1 df.

Groups without patients are left out. With fewer than two non-empty groups
the test is not applicable: the result says so (``applicable: False``,
statistics None).
"""

from __future__ import annotations

import numpy as np


def observed_expected(time, event, group, levels, codes=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(O, E, V) per the module docstring; ``levels`` fixes the order of the groups.

    Vectorised over the distinct times: counts per (time, group) by ``bincount``,
    numbers at risk by reverse cumulative sums (n_j counts every subject, as
    ``time >= t`` does; n_kj those of group k).
    """
    import pandas as pd

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    k = len(levels)
    if codes is None:   # each subject's position in ``levels`` (-1: another value or missing)
        codes = np.asarray(pd.Categorical(np.asarray(group, dtype=object), categories=list(levels)).codes)
    if not event.any():
        return np.zeros(k), np.zeros(k), np.zeros((k, k))
    distinct, where = np.unique(time, return_inverse=True)
    n_times = distinct.size
    member = codes >= 0
    flat = where[member] * k + codes[member]
    at_time = np.bincount(flat, minlength=n_times * k).reshape(n_times, k).astype(float)
    deaths_at_time = np.bincount(flat, weights=event[member], minlength=n_times * k).reshape(n_times, k)
    n_kj = np.cumsum(at_time[::-1], axis=0)[::-1]
    n_all = np.cumsum(np.bincount(where, minlength=n_times)[::-1])[::-1].astype(float)
    d_all = np.bincount(where, weights=event, minlength=n_times)
    has_death = d_all > 0
    n_kj, d_kj, n_j, d_j = n_kj[has_death], deaths_at_time[has_death], n_all[has_death], d_all[has_death]
    observed = d_kj.sum(axis=0)
    share = n_kj / n_j[:, None]
    expected = (d_j[:, None] * share).sum(axis=0)
    several = n_j > 1
    weight = np.zeros_like(n_j)
    weight[several] = d_j[several] * (n_j[several] - d_j[several]) / (n_j[several] - 1)
    variance = np.diag((weight[:, None] * share).sum(axis=0)) - share.T @ (weight[:, None] * share)
    return observed, expected, variance


def trend_statistic(observed, expected, variance, scores) -> dict:
    """U^2 / (w' V w) on 1 df from O, E, V (as R ``survdiff`` stores them) and scores w."""
    from analysis.stats.distributions import chi2_sf

    scores = np.asarray(scores, dtype=float)
    u = float(scores @ (np.asarray(observed, dtype=float) - np.asarray(expected, dtype=float)))
    v = float(scores @ np.asarray(variance, dtype=float) @ scores)
    if v <= 0:
        return {"chi2": None, "df": 1, "p": None, "z": None, "scores": scores.tolist(),
                "reason": "no variance of the scored O - E (no events, or all events in one group at each time)"}
    statistic = u * u / v
    return {"chi2": statistic, "df": 1, "p": float(chi2_sf(statistic, 1)), "z": u / np.sqrt(v), "scores": scores.tolist(),
            "reason": None}


def trend_test(time, event, group, levels, scores=None) -> dict:
    """Log-rank test for trend over ordered ``levels`` (scores default 1..K); ``z`` > 0 when
    higher-scored groups have more events than expected."""
    scores = np.arange(1, len(levels) + 1, dtype=float) if scores is None else np.asarray(scores, dtype=float)
    observed, expected, variance = observed_expected(time, event, group, levels)
    return trend_statistic(observed, expected, variance, scores)


def logrank_test(time, event, group, levels=None, trend: bool = False) -> dict:
    """Log-rank test of equal survival across the groups in ``group``.

    Returns {applicable, note, chi2, df, p, trend, groups: {level: {n, events, expected}}};
    ``trend`` holds the trend test when asked and more than two groups exist
    (with two groups it equals the log-rank test itself, and is reported too).
    """
    from analysis.stats.distributions import chi2_sf

    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    group = np.asarray(group, dtype=object)
    import pandas as pd

    # the groups hashed once (10^6 subjects): which of the few distinct values each subject holds;
    # missing (None / NaN) is -1 and dropped, and a level's members are those holding a value equal to it
    value_of, distinct = pd.factorize(group)
    keep = value_of >= 0
    time, event, group, value_of = time[keep], event[keep], group[keep], value_of[keep]
    if levels is None:
        levels = sorted(set(distinct.tolist()))

    def positions(wanted: list) -> np.ndarray:
        """Each subject's position in ``wanted`` (-1: none), through its distinct value."""
        of_distinct = np.asarray(pd.Categorical(np.asarray(distinct, dtype=object), categories=list(wanted)).codes)
        return of_distinct.take(value_of) if len(value_of) else np.zeros(0, dtype=of_distinct.dtype)

    level_of = positions(levels)
    counts = np.bincount(level_of + 1, minlength=len(levels) + 1)[1:]
    present = [level for level, count in zip(levels, counts) if count > 0]
    observed, expected, variance = (observed_expected(time, event, group, present, positions(present))
                                    if present else ([], [], None))
    members = {level: level_of == i for i, level in enumerate(levels)}
    groups = {
        str(level): {
            "n": int(np.sum(members[level])),
            "events": int(event[members[level]].sum()),
            "expected": float(expected[present.index(level)]) if level in present else 0.0,
        }
        for level in levels
    }
    result = {"applicable": True, "note": None, "chi2": None, "df": None, "p": None, "trend": None, "groups": groups}
    empty = [str(level) for level in levels if level not in present]
    if len(present) < 2:
        result["applicable"] = False
        result["note"] = "single group: log-rank test not applicable"
        return result
    if event.sum() == 0:
        result["applicable"] = False
        result["note"] = "no events: log-rank test not applicable"
        return result
    difference = (observed - expected)[:-1]
    statistic = float(difference @ np.linalg.pinv(variance[:-1, :-1]) @ difference)
    result["chi2"] = statistic
    result["df"] = len(present) - 1
    result["p"] = float(chi2_sf(statistic, len(present) - 1))
    if empty:
        result["note"] = f"no patients in {', '.join(empty)}; compared {len(present)} groups"
    if trend:
        scores = [levels.index(level) + 1 for level in present]
        result["trend"] = trend_test(time, event, group, present, scores)
    return result
