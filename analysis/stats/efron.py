"""Cox partial likelihood with Efron's ties, maximised by Newton-Raphson in numpy.

For large cohorts (``analysis.stats.cox`` uses it above ``cox.LARGE_N``
patients), where lifelines' ``CoxPHFitter`` loops over subjects in Python.
Every quantity is a sum over the distinct event times t_j, computed once per
Newton step from cumulative sums over the subjects sorted by time.

With r_i = exp(x_i' beta), the risk set R_j = {i: t_i >= t_j}, the d_j
subjects D_j failing at t_j, S_k = sum_{R_j} r_i x_i^(k) and E_k = sum_{D_j}
r_i x_i^(k) (k = 0, 1, 2: scalar, vector, outer product), and for
l = 0 .. d_j - 1 the Efron weights c_l = l / d_j and
phi_l = S_0 - c_l E_0 (Efron 1977; Therneau & Grambsch 2000, sec. 3.3):

    log L(beta) = sum_j [ sum_{D_j} x_i' beta - sum_l log phi_l ]
    U(beta)     = sum_j [ sum_{D_j} x_i - sum_l (S_1 - c_l E_1) / phi_l ]
    I(beta)     = sum_j sum_l [ (S_2 - c_l E_2) / phi_l - m_l m_l' ],  m_l = (S_1 - c_l E_1) / phi_l

The sums over l are taken in closed form with A = sum 1/phi_l, B = sum c_l/phi_l,
C_k = sum c_l^k / phi_l^2. Newton steps beta <- beta + I^-1 U from beta = 0,
halved while the log-likelihood falls, until the largest step is below 1e-9
(R ``coxph``: relative change in log L below 1e-9). Var(beta) = I(beta)^-1.

Schoenfeld residuals (for the PH test) use the Efron mean at t_j,
xbar_j = (1/d_j) sum_l m_l, as lifelines and R's ``cox.zph`` do: r_i = x_i - xbar_j.

Checked in tests against lifelines' ``CoxPHFitter`` and R's ``coxph`` (ties = "efron").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_ITERATIONS = 50
STEP_TOLERANCE = 1e-9


@dataclass
class EfronFit:
    """The fitted model, with the attribute names of lifelines' ``CoxPHFitter`` that ``cox.py`` reads."""

    params_: pd.Series
    standard_errors_: pd.Series
    variance_matrix_: pd.DataFrame
    log_likelihood_: float
    converged: bool
    iterations: int
    durations: np.ndarray            # as given (complete cases)
    event_observed: np.ndarray       # bool, as given
    schoenfeld: np.ndarray           # one row per event, in the order of the events in ``durations``
    event_rank: np.ndarray           # 1..d: each event's place in time order (ties in data order)


class _Sorted:
    """Subjects sorted by time, grouped by distinct time; the per-time sums the likelihood needs."""

    def __init__(self, time: np.ndarray, event: np.ndarray, x: np.ndarray, order: np.ndarray | None = None):
        self.order = np.argsort(time, kind="stable") if order is None else np.asarray(order)
        self.time = time[self.order]
        self.event = event[self.order]
        self.x = x[self.order]
        self.starts = np.flatnonzero(np.r_[True, self.time[1:] != self.time[:-1]])  # first row of each distinct time
        self.deaths = np.add.reduceat(self.event.astype(float), self.starts)
        self.has_death = self.deaths > 0
        self.p = x.shape[1]
        self.event_x_sum = self.x[self.event].sum(axis=0)
        # l = 0..d_j-1 for every death time j, flattened
        d = self.deaths[self.has_death].astype(int)
        self.l_group = np.repeat(np.arange(d.size), d)
        self.l_weight = (np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d)) / np.repeat(d, d)

    def _group_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (rows sorted) per distinct time."""
        return np.add.reduceat(values, self.starts, axis=0)

    def _risk_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums over the risk set of each distinct time (reverse cumulative sums of the group sums)."""
        grouped = self._group_sums(values)
        return np.cumsum(grouped[::-1], axis=0)[::-1]

    def sums(self, beta: np.ndarray, second: bool):
        eta = self.x @ beta
        shift = eta.max()
        r = np.exp(eta - shift)
        er = np.where(self.event, r, 0.0)
        keep = self.has_death
        s0 = self._risk_sums(r)[keep]
        e0 = self._group_sums(er)[keep]
        rx, erx = r[:, None] * self.x, er[:, None] * self.x
        s1 = self._risk_sums(rx)[keep]
        e1 = self._group_sums(erx)[keep]
        s2 = e2 = None
        if second:
            p = self.p
            s2 = np.empty((s0.size, p, p))
            e2 = np.empty((s0.size, p, p))
            for a in range(p):  # column by column: memory stays n x p
                s2[:, a, :] = self._risk_sums(rx * self.x[:, a:a + 1])[keep]
                e2[:, a, :] = self._group_sums(erx * self.x[:, a:a + 1])[keep]
        return eta, shift, s0, e0, s1, e1, s2, e2

    def loglik_score_info(self, beta: np.ndarray, second: bool = True):
        eta, shift, s0, e0, s1, e1, s2, e2 = self.sums(beta, second)
        g, c = self.l_group, self.l_weight
        phi = s0[g] - c * e0[g]
        loglik = float(eta[self.event].sum() - np.log(phi).sum() - shift * c.size)
        n_groups = s0.size
        a = np.bincount(g, 1.0 / phi, n_groups)
        b = np.bincount(g, c / phi, n_groups)
        score = self.event_x_sum - (s1 * a[:, None] - e1 * b[:, None]).sum(axis=0)
        if not second:
            return loglik, score, None
        c0 = np.bincount(g, 1.0 / phi**2, n_groups)
        c1 = np.bincount(g, c / phi**2, n_groups)
        c2 = np.bincount(g, c**2 / phi**2, n_groups)
        info = np.einsum("j,jab->ab", a, s2) - np.einsum("j,jab->ab", b, e2)
        info -= np.einsum("j,ja,jb->ab", c0, s1, s1)
        cross = np.einsum("j,ja,jb->ab", c1, s1, e1)
        info += cross + cross.T
        info -= np.einsum("j,ja,jb->ab", c2, e1, e1)
        return loglik, score, info

    def schoenfeld(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(residuals x_i - xbar_j, rank of the event in time order: 1, 2, ...), events in their original order."""
        _, _, s0, e0, s1, e1, _, _ = self.sums(beta, second=False)
        g, c = self.l_group, self.l_weight
        phi = s0[g] - c * e0[g]
        n_groups = s0.size
        a = np.bincount(g, 1.0 / phi, n_groups)
        b = np.bincount(g, c / phi, n_groups)
        d = self.deaths[self.has_death]
        xbar = (s1 * a[:, None] - e1 * b[:, None]) / d[:, None]
        # death-time index of every sorted subject
        group_of_row = np.cumsum(np.r_[False, self.time[1:] != self.time[:-1]])
        death_index = np.cumsum(self.has_death) - 1
        rows = np.flatnonzero(self.event)
        residual_sorted = self.x[rows] - xbar[death_index[group_of_row[rows]]]
        # back to the original order of the events (scatter by subject, then keep the events)
        original_rows = self.order[rows]
        n = self.order.size
        residuals = np.empty((n, self.p))
        residuals[original_rows] = residual_sorted
        rank = np.zeros(n)
        rank[original_rows] = np.arange(1, rows.size + 1)
        is_event = np.zeros(n, dtype=bool)
        is_event[original_rows] = True
        return residuals[is_event], rank[is_event]


def efron_fit(time, event, x, names: list[str], order=None) -> EfronFit:
    """Fit the Cox model of ``event``/``time`` on the columns ``x`` (n x p) named ``names``.

    ``order``: a stable argsort of ``time``, if the caller already has one.

    Raises ``numpy.linalg.LinAlgError`` when the information matrix is singular.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    data = _Sorted(time, event, x, order)
    beta = np.zeros(x.shape[1])
    loglik, score, info = data.loglik_score_info(beta)
    converged, iterations = False, 0
    for iterations in range(1, MAX_ITERATIONS + 1):
        step = np.linalg.solve(info, score)
        candidate = beta + step
        new_loglik, new_score, new_info = data.loglik_score_info(candidate)
        halvings = 0
        while not (np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12 * abs(loglik)) and halvings < 30:
            step /= 2
            candidate = beta + step
            new_loglik, new_score, new_info = data.loglik_score_info(candidate)
            halvings += 1
        beta, loglik, score, info = candidate, new_loglik, new_score, new_info
        if np.max(np.abs(step)) < STEP_TOLERANCE:
            converged = True
            break
    variance = np.linalg.inv(info)
    se = np.sqrt(np.diag(variance))
    residuals, rank = data.schoenfeld(beta)
    converged = converged and bool(np.all(np.isfinite(beta)) and np.all(np.isfinite(se)))
    return EfronFit(
        params_=pd.Series(beta, index=names),
        standard_errors_=pd.Series(se, index=names),
        variance_matrix_=pd.DataFrame(variance, index=names, columns=names),
        log_likelihood_=loglik,
        converged=converged,
        iterations=iterations,
        durations=time,
        event_observed=event,
        schoenfeld=residuals,
        event_rank=rank,
    )


def null_log_likelihood(time, event) -> float:
    """Efron log partial likelihood at beta = 0: - sum_j sum_{l<d_j} log(n_j - l) = - sum_j log(n_j! / (n_j - d_j)!)."""
    from scipy.special import gammaln

    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    event_times, deaths = np.unique(time[event], return_counts=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), event_times, side="left")
    return float(-np.sum(gammaln(at_risk + 1.0) - gammaln(at_risk - deaths + 1.0)))
