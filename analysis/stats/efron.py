"""Cox partial likelihood with Efron's ties, maximised as R's ``coxph`` does (survival 3.5-3).

This is the project's only Cox fitter (every cohort size). The algorithm follows
R ``coxph.fit`` and its C routine ``coxfit6.c`` step for step, so that the
estimates, their variance and the warnings are R's:

* start at beta = 0 (``init``); Newton-Raphson step I^-1 U with R's generalised
  Cholesky (``cholesky2``: a pivot below ``toler.chol`` times the largest
  diagonal marks the column redundant, its coefficient NA);
* step "halving" when the log-likelihood falls or is not finite: the new
  point is (new + h * old) / (h + 1) with h = 1, 2, ... successive failures;
* convergence when |1 - loglik_old / loglik_new| <= eps (1e-9) and the values
  are finite; at most ``iter.max`` = 20 iterations (flag 1000 otherwise);
* after convergence the infinite-coefficient check of ``coxph.fit``: with
  the final score U and variance V, a coefficient is flagged "may be
  infinite" when |U' V|_k > eps and > toler.inf * |beta_k| (toler.inf =
  sqrt(eps)): the log-likelihood converged while beta was still moving,
  i.e. the partial likelihood is monotone in that direction.

Every quantity is a sum over the distinct event times t_j, computed once per
Newton step from cumulative sums over the subjects sorted by time. With
r_i = exp(x_i' beta), the risk set R_j = {i: t_i >= t_j}, the d_j subjects
D_j failing at t_j, S_k = sum_{R_j} r_i x_i^(k) and E_k = sum_{D_j} r_i x_i^(k)
(k = 0, 1, 2: scalar, vector, outer product), and for l = 0 .. d_j - 1 the
Efron weights c_l = l / d_j and phi_l = S_0 - c_l E_0 (Efron 1977; Therneau &
Grambsch 2000, sec. 3.3)::

    log L(beta) = sum_j [ sum_{D_j} x_i' beta - sum_l log phi_l ]
    U(beta)     = sum_j [ sum_{D_j} x_i - sum_l m_l ],  m_l = (S_1 - c_l E_1) / phi_l
    I(beta)     = sum_j sum_l [ (S_2 - c_l E_2) / phi_l - m_l m_l' ]

Firth's penalised likelihood (Heinze & Schemper, Biometrics 2001;
``firth=True``) maximises log L*(beta) = log L(beta) + 1/2 log det I(beta),
whose score is U*_r = U_r + 1/2 tr(I^-1 dI/dbeta_r); dI/dbeta_r is the sum over
(j, l) of the third central moments of x under the weights r_i / phi_l (the
derivative of a weighted covariance). Steps are I^-1 U*, halved as above; the
variance reported is I(beta*)^-1 and the CI is the Wald interval on it.

The proportional-hazards test is R's ``cox.zph`` (survival >= 3.0,
``zph1.c``): the score test, at gamma = 0 with beta fixed at its estimate, for
adding the terms g(t) x to the model, where g is the transformed time
(``"km"``: 1 - S(t-) of the overall Kaplan-Meier curve, centred on the mean
over the events). Everything depends on the times only, so neither the test
nor the fit depends on the order of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_ITERATIONS = 20  # coxph.control(iter.max = 20)
EPS = 1e-9  # coxph.control(eps = 1e-9)
TOLER_CHOL = float(np.finfo(float).eps) ** 0.75  # coxph.control(toler.chol)
TOLER_INF = float(np.sqrt(EPS))  # coxph.control(toler.inf = sqrt(eps))
NOT_CONVERGED = 1000  # coxfit6's flag when iter.max was reached


# --------------------------------------------------------------------------- R's cholesky2 / chsolve2 / chinv2


def cholesky2(matrix: np.ndarray, toler: float = TOLER_CHOL) -> tuple[np.ndarray, int]:
    """LDL' factor of a symmetric matrix as R's ``cholesky2``: (factor, rank or -rank).

    The factor holds D on the diagonal and L below it; a pivot that is not
    finite or below ``toler`` times the largest diagonal is set to 0 (the
    column is redundant).
    """
    m = np.array(matrix, dtype=float)
    n = m.shape[0]
    m = np.triu(m) + np.triu(m, 1).T  # the lower triangle from the upper one, as cholesky2 does
    diagonal = np.diag(m)
    largest = np.max(diagonal[diagonal > 0]) if np.any(diagonal > 0) else 0.0
    eps = toler if largest == 0 else largest * toler
    rank, nonneg = 0, 1
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            m[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
            continue
        rank += 1
        for j in range(i + 1, n):
            temp = m[j, i] / pivot
            m[j, i] = temp
            m[j, j] -= temp * temp * pivot
            m[j + 1:, j] -= temp * m[j + 1:, i]
    return m, rank * nonneg


def chsolve2(factor: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve with the ``cholesky2`` factor (redundant columns get 0), as R's ``chsolve2``."""
    n = factor.shape[0]
    y = np.array(b, dtype=float)
    for i in range(n):
        y[i] -= factor[i, :i] @ y[:i]
    for i in range(n - 1, -1, -1):
        if factor[i, i] == 0:
            y[i] = 0.0
        else:
            y[i] = y[i] / factor[i, i] - factor[i + 1:, i] @ y[i + 1:]
    return y


def chinv2(factor: np.ndarray) -> np.ndarray:
    """The inverse from the ``cholesky2`` factor; rows/columns of redundant columns are 0 (R's ``chinv2``)."""
    n = factor.shape[0]
    inverse = np.zeros((n, n))
    keep = np.flatnonzero(np.diag(factor) != 0)
    if keep.size == 0:
        return inverse
    # restricted to the kept columns the factor is the LDL' of their submatrix (cholesky2 never
    # pivots on a redundant column), so R's result is that submatrix's inverse
    sub = factor[np.ix_(keep, keep)]
    l_inv = np.linalg.inv(np.tril(sub, -1) + np.eye(keep.size))
    inverse[np.ix_(keep, keep)] = l_inv.T @ np.diag(1.0 / np.diag(sub)) @ l_inv
    return inverse


# --------------------------------------------------------------------------- the sums over risk sets


_ORDERS: list[tuple[np.ndarray, np.ndarray]] = []   # (time vector, its stable argsort), the last few
_ORDERS_KEPT, _ORDERS_FROM = 4, 10_000


def _time_order(time: np.ndarray) -> np.ndarray:
    """``np.argsort(time, kind="stable")``, remembered for the last few time vectors of 10,000 or more.

    The fits of one endpoint (the models, cox.zph's test and its residuals) sort the same times
    again; at 10^6 subjects a sort costs a tenth of a second and there are dozens. A stable sort of
    equal input is the same permutation, so a remembered one changes nothing. Callers only read it.
    """
    for known, order in _ORDERS:
        if known.shape == time.shape and np.array_equal(known, time):
            return order
    order = np.argsort(time, kind="stable")
    if time.size >= _ORDERS_FROM:
        _ORDERS.append((time.copy(), order))
        del _ORDERS[:-_ORDERS_KEPT]
    return order


_COLLAPSE_FROM = 10_000   # subjects; below this a collapse costs about what it saves
_COLLAPSE_AT_MOST = 0.5   # collapse only when the distinct rows are at most this share of the subjects
_PACKED_CODES = 2 ** 40   # combined column codes are made dense again above this (no int64 overflow)


def _distinct_rows(time: np.ndarray, event: np.ndarray, x: np.ndarray, order: np.ndarray):
    """The subjects' distinct (time, event, x) rows, in time order: (first, inverse, counts), or None.

    ``time``/``event`` sorted by ``order``, ``x`` not. ``first``: the sorted position of one subject per
    distinct row; ``inverse``: each sorted subject's distinct row; ``counts``: subjects per row. None when
    the rows are too varied to be worth it (more than ``_COLLAPSE_AT_MOST`` of the subjects).
    Indicator columns (0/1, every Cox design of this project) are packed as bits; other columns by
    their distinct values.
    """
    n, p = x.shape
    limit = int(n * _COLLAPSE_AT_MOST)
    pattern = np.zeros(n, dtype=np.int64)
    size = 1
    for k in range(p):
        column = x[:, k]
        if np.all((column == 0.0) | (column == 1.0)):
            code, levels = column.astype(np.int64), 2
        else:
            values, code = np.unique(column, return_inverse=True)
            levels = values.size
            if levels > limit:
                return None
        if size * levels > _PACKED_CODES:
            _, pattern = np.unique(pattern, return_inverse=True)
            size = int(pattern.max()) + 1
            if size > limit:
                return None
        pattern = pattern * levels + code
        size *= levels
    if size > n:   # the patterns present, numbered densely in the same order
        _, pattern = np.unique(pattern, return_inverse=True)
        size = int(pattern.max()) + 1
    elif size > 1:
        present = np.bincount(pattern, minlength=size) > 0
        pattern = (np.cumsum(present) - 1)[pattern]
        size = int(present.sum())
    group = np.cumsum(np.r_[False, time[1:] != time[:-1]])   # distinct time, non-decreasing
    key = (group * 2 + event) * size + pattern[order]          # time first: the distinct rows stay in time order
    if int(key[-1]) // size * size + size <= 8 * n:   # keys in a small range: counted, not sorted
        counts = np.bincount(key, minlength=int(key.max()) + 1)
        present = counts > 0
        inverse = (np.cumsum(present) - 1)[key]
        counts = counts[present]
        first = np.empty(counts.size, dtype=np.intp)
        first[inverse] = np.arange(n)   # any subject of a row stands for it: its rows are equal
    else:
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    if first.size > limit:
        return None
    return first, inverse, counts


class _Sorted:
    """Subjects sorted by time, grouped by distinct time; the per-time sums the likelihood needs.

    With ``collapse`` (10,000 subjects or more), subjects with the same time, event and x are one row
    weighted by their count: every sum below is a sum over subjects, so the weighted rows give the
    same sums (to rounding) in a fraction of the time. A Cox design of indicators at 10^6 subjects has
    a few thousand distinct times and a few dozen covariate patterns: 10^4-10^5 rows, not 10^6.
    Efron's steps l = 0 .. d_j - 1 still count the deaths d_j, not the rows (Therneau & Grambsch
    2000, sec. 3.3: the approximation is defined on the tied subjects).
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, x: np.ndarray, order: np.ndarray | None = None,
                 collapse: bool = False, center: bool = False):
        self.order = _time_order(time) if order is None else np.asarray(order)
        sorted_time = time[self.order]
        sorted_event = event[self.order]
        self.p = x.shape[1]
        # distinct times: the first sorted subject of each, and which ones have a death
        self.subject_starts = np.flatnonzero(np.r_[True, sorted_time[1:] != sorted_time[:-1]])
        self.event_subjects = np.flatnonzero(sorted_event)   # sorted positions of the events, in time order
        self.row_of = None   # sorted subject -> its row (None: one row a subject)
        self.weight = None
        distinct = _distinct_rows(sorted_time, sorted_event, x, self.order) \
            if collapse and time.size >= _COLLAPSE_FROM else None
        if distinct is None:
            self.time, self.event, self.x = sorted_time, sorted_event, x[self.order]
        else:
            first, self.row_of, counts = distinct
            self.time, self.event, self.x = sorted_time[first], sorted_event[first], x[self.order[first]]
            self.weight = counts.astype(float)
        if center:   # zph1.c re-centres X (less round-off); the subjects' mean either way
            self.x = self.x - (x.mean(axis=0) if self.weight is None else (self.weight @ self.x) / self.order.size)
        self.starts = np.flatnonzero(np.r_[True, self.time[1:] != self.time[:-1]])  # first row of each distinct time
        weighted_event = self.event.astype(float) if self.weight is None else np.where(self.event, self.weight, 0.0)
        self.deaths = np.add.reduceat(weighted_event, self.starts) if self.time.size else np.zeros(0)
        self.has_death = self.deaths > 0
        # l = 0..d_j-1 for every death time j, flattened
        d = np.rint(self.deaths[self.has_death]).astype(int)
        self.l_group = np.repeat(np.arange(d.size), d)
        self.l_weight = (np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d)) / np.repeat(d, d)
        self.l_starts = np.cumsum(d) - d   # first step of each death time
        self.death_times = self.time[self.starts][self.has_death]
        # per death time: sum of x over its deaths
        self.event_x_by_time = self._group_sums(weighted_event[:, None] * self.x)[self.has_death]

    def _step_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (one per Efron step l, grouped by death time) per death time."""
        if not self.l_starts.size:
            return np.zeros(0)
        return np.add.reduceat(values, self.l_starts)   # steps are in death-time order: no bincount needed

    def _weighted(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per row) times the rows' subject counts."""
        return values if self.weight is None else values * self.weight

    def _group_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums of ``values`` (rows sorted) per distinct time."""
        return np.add.reduceat(values, self.starts, axis=0)

    def _risk_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums over the risk set of each distinct time (reverse cumulative sums of the group sums)."""
        grouped = self._group_sums(values)
        return np.cumsum(grouped[::-1], axis=0)[::-1]

    def km_before(self) -> np.ndarray:
        """1 - S(t-) of the overall Kaplan-Meier curve at each distinct time (R ``cox.zph``'s "km")."""
        subjects = np.diff(np.r_[self.subject_starts, self.order.size]).astype(float)
        at_risk = self.order.size - np.concatenate(([0.0], np.cumsum(subjects)[:-1]))
        survival = np.cumprod(1.0 - self.deaths / at_risk)
        return 1.0 - np.concatenate(([1.0], survival[:-1]))

    def moments(self, beta: np.ndarray, order: int):
        """Per (death time j, Efron step l): phi, first, second (and third) weighted sums minus c_l times the deaths'."""
        eta = self.x @ beta
        shift = eta.max()  # exp(eta - shift): the same ratios, no overflow
        r = self._weighted(np.exp(eta - shift))
        er = np.where(self.event, r, 0.0)
        keep = self.has_death
        g, c = self.l_group, self.l_weight
        out = {"eta": eta, "shift": shift}
        s0, e0 = self._risk_sums(r)[keep], self._group_sums(er)[keep]
        out["phi"] = s0[g] - c * e0[g]
        rx, erx = r[:, None] * self.x, er[:, None] * self.x
        s1, e1 = self._risk_sums(rx)[keep], self._group_sums(erx)[keep]
        out["s1"], out["e1"] = s1, e1
        if order >= 2:
            p = self.p
            s2 = np.empty((s0.size, p, p))
            e2 = np.empty((s0.size, p, p))
            for a in range(p):  # column by column: memory stays n x p
                s2[:, a, :] = self._risk_sums(rx * self.x[:, a:a + 1])[keep]
                e2[:, a, :] = self._group_sums(erx * self.x[:, a:a + 1])[keep]
            out["s2"], out["e2"] = s2, e2
        if order >= 3:
            p = self.p
            s3 = np.empty((s0.size, p, p, p))
            e3 = np.empty((s0.size, p, p, p))
            for a in range(p):
                for b in range(p):
                    w = self.x[:, a:a + 1] * self.x[:, b:b + 1]
                    s3[:, a, b, :] = self._risk_sums(rx * w)[keep]
                    e3[:, a, b, :] = self._group_sums(erx * w)[keep]
            out["s3"], out["e3"] = s3, e3
        return out

    def loglik_score_info(self, beta: np.ndarray, second: bool = True, per_time: bool = False):
        """(log L, U, I) at ``beta``; with ``per_time`` also U's and I's contributions per death time."""
        mom = self.moments(beta, 2 if second else 1)
        c = self.l_weight
        phi = mom["phi"]
        eta, shift = mom["eta"], mom["shift"]
        loglik = float(self._weighted(eta)[self.event].sum() - np.log(phi).sum() - shift * c.size)
        s1, e1 = mom["s1"], mom["e1"]
        inverse = 1.0 / phi   # one division per Efron step; the sums below multiply
        c_inverse = c * inverse
        a = self._step_sums(inverse)
        b = self._step_sums(c_inverse)
        score_j = self.event_x_by_time - (s1 * a[:, None] - e1 * b[:, None])
        score = score_j.sum(axis=0)
        if not second:
            return loglik, score, None
        s2, e2 = mom["s2"], mom["e2"]
        c0 = self._step_sums(inverse * inverse)
        c1 = self._step_sums(c_inverse * inverse)
        c2 = self._step_sums(c_inverse * c_inverse)
        info_j = a[:, None, None] * s2 - b[:, None, None] * e2
        info_j -= c0[:, None, None] * np.einsum("ja,jb->jab", s1, s1)
        cross = c1[:, None, None] * np.einsum("ja,jb->jab", s1, e1)
        info_j += cross + np.swapaxes(cross, 1, 2)
        info_j -= c2[:, None, None] * np.einsum("ja,jb->jab", e1, e1)
        info = info_j.sum(axis=0)
        if per_time:
            return loglik, score, info, score_j, info_j
        return loglik, score, info

    def info_derivative(self, beta: np.ndarray) -> np.ndarray:
        """dI/dbeta_r (p x p x p, last index r): the sum over (j, l) of the third central moments of x."""
        mom = self.moments(beta, 3)
        g, c = self.l_group, self.l_weight
        phi = mom["phi"]
        m1 = (mom["s1"][g] - c[:, None] * mom["e1"][g]) / phi[:, None]
        m2 = (mom["s2"][g] - c[:, None, None] * mom["e2"][g]) / phi[:, None, None]
        m3 = (mom["s3"][g] - c[:, None, None, None] * mom["e3"][g]) / phi[:, None, None, None]
        # kappa3_abc = E[x_a x_b x_c] - E[x_a x_b] m_c - E[x_a x_c] m_b - E[x_b x_c] m_a + 2 m_a m_b m_c
        third = m3.sum(axis=0)
        third -= np.einsum("lab,lc->abc", m2, m1)
        third -= np.einsum("lac,lb->abc", m2, m1)
        third -= np.einsum("lbc,la->abc", m2, m1)
        third += 2 * np.einsum("la,lb,lc->abc", m1, m1, m1)
        return third

    def schoenfeld(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(residuals x_i - xbar_j, the event's time), one per event subject in time order (R's
        ``residuals(fit, "schoenfeld")``; ties in the subjects' order).

        xbar_j = (1/d_j) sum_l m_l, the Efron mean at t_j (R ``zph1.c``).
        """
        mom = self.moments(beta, 1)
        c = self.l_weight
        phi = mom["phi"]
        a = self._step_sums(1.0 / phi)
        b = self._step_sums(c / phi)
        d = self.deaths[self.has_death]
        xbar = (mom["s1"] * a[:, None] - mom["e1"] * b[:, None]) / d[:, None]
        group_of_row = np.cumsum(np.r_[False, self.time[1:] != self.time[:-1]])
        death_index = np.cumsum(self.has_death) - 1
        rows = self.event_subjects if self.row_of is None else self.row_of[self.event_subjects]
        return self.x[rows] - xbar[death_index[group_of_row[rows]]], self.time[rows]


# --------------------------------------------------------------------------- the fit


@dataclass
class CoxFit:
    """A fitted Cox model (R ``coxph`` components in comments)."""

    names: list[str]
    coef: np.ndarray  # coefficients; NaN where redundant (R: NA)
    variance: np.ndarray  # var: I^-1, zero rows/columns for redundant columns
    loglik_init: float  # loglik[1]: at beta = 0
    loglik: float  # loglik[2]: at the estimate (penalised when firth)
    score_test: float  # score: U(0)' I(0)^-1 U(0)
    iterations: int  # iter
    flag: int  # coxfit6's flag: rank, -2 (ended halving), 1000 (not converged)
    score: np.ndarray  # U at the estimate
    infinite: np.ndarray  # bool per coefficient: coxph.fit's "coefficient may be infinite"
    firth: bool = False
    loglik_unpenalised: float | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return self.flag != NOT_CONVERGED

    @property
    def redundant(self) -> np.ndarray:
        return ~np.isfinite(self.coef)

    @property
    def se(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.diag(self.variance))
        return np.where(self.redundant, np.nan, se)


def _penalised(data: _Sorted, beta: np.ndarray):
    """Firth: (log L*, U*, I) at ``beta``."""
    loglik, score, info = data.loglik_score_info(beta)
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0:
        return float("-inf"), score, info
    derivative = data.info_derivative(beta)
    inverse = np.linalg.inv(info)
    modified = score + 0.5 * np.einsum("ab,bar->r", inverse, derivative)
    return loglik + 0.5 * logdet, modified, info


def efron_fit(time, event, x, names: list[str], order=None, firth: bool = False,
              max_iterations: int = MAX_ITERATIONS, eps: float = EPS) -> CoxFit:
    """Fit the Cox model of ``event``/``time`` on the columns ``x`` (n x p) named ``names``, as R ``coxph``.

    ``order``: a stable argsort of ``time``, if the caller already has one.
    ``firth``: maximise Firth's penalised partial likelihood instead (Heinze & Schemper 2001).
    Never raises on valid input: a singular information matrix marks columns redundant.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    data = _Sorted(time, event, x, order, collapse=True)
    p = x.shape[1]

    def evaluate(beta):
        with np.errstate(all="ignore"):
            if firth:
                return _penalised(data, beta)
            return data.loglik_score_info(beta)

    beta = np.zeros(p)
    loglik0, score, info = evaluate(beta)
    factor, flag = cholesky2(info)
    step = chsolve2(factor, score)
    score_test = float(score @ step)
    iterations = 0
    loglik = loglik0
    if max_iterations == 0 or not np.isfinite(loglik0):
        variance = chinv2(factor)
    else:
        best = loglik0
        new_beta = beta + step
        halving = 0
        done = False
        for iterations in range(1, max_iterations + 1):
            new_loglik, score, info = evaluate(new_beta)
            factor, flag = cholesky2(info)
            finite = bool(np.all(np.isfinite(score)) and np.all(np.isfinite(info)) and np.isfinite(new_loglik))
            with np.errstate(all="ignore"):
                change = abs(1 - np.float64(best) / new_loglik)   # C doubles, as coxfit6: 0/0 is NaN, not an error   # C doubles, as coxfit6: 0/0 is NaN, not an error
            if finite and change <= eps:
                loglik = new_loglik
                variance = chinv2(factor)
                beta = new_beta
                if halving:
                    flag = -2
                done = True
                break
            if not finite or new_loglik < best:
                halving += 1  # "get more aggressive when it doesn't work"
                new_beta = (new_beta + halving * beta) / (halving + 1.0)
            else:
                halving = 0
                best = new_loglik
                step = chsolve2(factor, score)
                beta = new_beta
                new_beta = new_beta + step
        if not done:
            # ran out of iterations: the last accepted beta
            loglik, score, info = evaluate(beta)
            factor, _ = cholesky2(info)
            variance = chinv2(factor)
            flag = NOT_CONVERGED
    coef = beta.astype(float).copy()
    infinite = np.zeros(p, dtype=bool)
    if max_iterations > 0 and flag != NOT_CONVERGED and p:
        # coxph.fit: which.sing when the rank is short; then the infinite-coefficient check
        if flag < p:
            coef[np.diag(variance) == 0] = np.nan
        with np.errstate(all="ignore"):
            infs = np.abs(score @ variance)
            infinite = ~np.isfinite(score) | ((infs > eps) & (infs > TOLER_INF * np.abs(beta)))
        infinite &= np.isfinite(coef)
    messages = []
    if flag == NOT_CONVERGED and max_iterations > 1:
        messages.append("Ran out of iterations and did not converge")
    if infinite.any():
        messages.append("Loglik converged before variable " + ",".join(str(i + 1) for i in np.flatnonzero(infinite))
                        + "; coefficient may be infinite.")
    unpenalised = None
    if firth:
        with np.errstate(all="ignore"):
            unpenalised = data.loglik_score_info(beta, second=False)[0]
    return CoxFit(names=list(names), coef=coef, variance=variance, loglik_init=float(loglik0), loglik=float(loglik),
                  score_test=score_test, iterations=iterations, flag=int(flag), score=np.asarray(score, dtype=float),
                  infinite=infinite, firth=firth, loglik_unpenalised=unpenalised, messages=messages)


def null_log_likelihood(time, event) -> float:
    """Efron log partial likelihood at beta = 0: - sum_j sum_{l<d_j} log(n_j - l) = - sum_j log(n_j! / (n_j - d_j)!)."""
    from analysis.stats.distributions import log_gamma

    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    event_times, deaths = np.unique(time[event], return_counts=True)
    at_risk = len(time) - np.searchsorted(np.sort(time), event_times, side="left")
    return float(-np.sum(log_gamma(at_risk + 1.0) - log_gamma(at_risk - deaths + 1.0)))


# --------------------------------------------------------------------------- cox.zph


@dataclass
class _ZphSetup:
    """What cox.zph's test and its residuals both start from, for one fit (``_zph_setup``)."""

    coef: np.ndarray       # the estimated coefficients
    km_events: np.ndarray  # 1 - KM(t-) at each event subject, in time order (cox.zph's "km" transform)
    data: "_Sorted"
    score_j: np.ndarray
    info_j: np.ndarray
    info: np.ndarray


_ZPH_LAST: list[tuple[tuple[np.ndarray, ...], _ZphSetup]] = []   # the last setup and the inputs it is of


def _zph_setup(time: np.ndarray, event: np.ndarray, x: np.ndarray, coef: np.ndarray) -> _ZphSetup:
    """The sorted, centred design and the per-time score and information at ``coef``.

    The results test each fit (``zph_test``) and then draw its residuals (``zph_residuals``) from the
    same fit: at 10^6 subjects the sort and the sums over the risk sets cost a third of a second a fit.
    The last setup is reused when the inputs are equal (compared in full), so nothing changes.
    """
    inputs = (time, event, x, coef)
    for known, setup in _ZPH_LAST:
        if all(a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
               for a, b in zip(known, inputs)):
            return setup
    keep = np.isfinite(coef)
    kept_x, kept_coef = x[:, keep], coef[keep]
    data = _Sorted(time, event, kept_x, collapse=True, center=True)
    _, _, info, score_j, info_j = data.loglik_score_info(kept_coef, per_time=True)
    time_of_event = np.searchsorted(data.subject_starts, data.event_subjects, side="right") - 1
    setup = _ZphSetup(coef=kept_coef, km_events=data.km_before()[time_of_event], data=data,
                      score_j=score_j, info_j=info_j, info=info)
    _ZPH_LAST[:] = [(tuple(a.copy() for a in inputs), setup)]
    return setup


def _g_per_death_time(data: "_Sorted", time: np.ndarray, event: np.ndarray, transform: str) -> np.ndarray:
    """cox.zph's centred transformed time g(t) at each death time, for the transforms other than "km"."""
    if transform == "rank":
        from scipy.stats import rankdata

        ttimes = rankdata(time)
    elif transform == "identity":
        ttimes = time.copy()
    elif transform == "log":
        ttimes = np.log(time)
    else:
        raise ValueError(f"unknown cox.zph transform {transform!r}")
    gtime = ttimes - ttimes[event].mean()
    return gtime[data.order][data.subject_starts][data.has_death]   # a function of time: one value a time


def zph_test(time, event, x, coef, terms: dict[str, list[int]], transform: str = "km") -> dict:
    """R ``cox.zph(fit, transform, terms = TRUE, global = TRUE)`` for a fit with coefficients ``coef``.

    ``terms``: term name -> column indices of ``x`` (a factor's indicators form one term).
    Returns {terms: {name: {chi2, df, p}}, global: {chi2, df, p}, transform}.
    """
    from analysis.stats.distributions import chi2_sf

    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    coef = np.asarray(coef, dtype=float)
    keep = np.isfinite(coef)
    index = np.cumsum(keep) - 1  # new column index of every kept column
    terms = {name: [int(index[c]) for c in cols if keep[c]] for name, cols in terms.items()}
    terms = {name: cols for name, cols in terms.items() if cols}
    p = int(keep.sum())
    if p == 0:
        return {"transform": transform, "terms": {},
                "global": {"chi2": None, "df": 0, "p": None, "reason": "no estimated coefficient"}}
    setup = _zph_setup(time, event, x, coef)
    data, score_j, info_j = setup.data, setup.score_j, setup.info_j
    if transform == "km":   # a function of time, known per distinct time: centred on its mean over the events
        km = data.km_before()
        g = (km - setup.km_events.mean())[data.has_death]
    else:
        g = _g_per_death_time(data, time, event, transform)
    u = np.concatenate((score_j.sum(axis=0), g @ score_j))
    imat = np.zeros((2 * p, 2 * p))
    imat[:p, :p] = info_j.sum(axis=0)
    imat[:p, p:] = np.einsum("j,jab->ab", g, info_j)
    imat[p:, :p] = imat[:p, p:].T
    imat[p:, p:] = np.einsum("j,jab->ab", g**2, info_j)
    u[:p] = 0.0  # R: u0 = 0 (the score at the estimate)

    def score_test(index: list[int], df: int) -> dict:
        matrix, sub = imat[np.ix_(index, index)], u[index]
        # R's solve() refuses a matrix whose reciprocal condition number is below machine epsilon
        with np.errstate(all="ignore"):
            rcond = 1.0 / np.linalg.cond(matrix, 1) if np.all(np.isfinite(matrix)) else 0.0
        if not rcond >= np.finfo(float).eps:
            return {"chi2": None, "df": df, "p": None,
                    "reason": "information matrix of the time-varying terms is singular"}
        statistic = float(np.linalg.solve(matrix, sub) @ sub)
        return {"chi2": statistic, "df": df, "p": float(chi2_sf(statistic, df)), "reason": None}

    out = {name: score_test(list(range(p)) + [p + c for c in cols], len(cols)) for name, cols in terms.items()}
    return {"transform": transform, "terms": out, "global": score_test(list(range(2 * p)), p)}


def zph_residuals(time, event, x, coef, terms: dict[str, list[int]], transform: str = "km") -> dict:
    """R ``cox.zph(fit)$x``, ``$time``, ``$y`` and ``$var`` (survival >= 3.0, no strata, Efron ties).

    One row per event, in time order: ``x`` the transformed time (transform "km": 1 - KM(t-)),
    ``time`` the event time, and per term the scaled Schoenfeld residual
    y = r %*% solve(V) + beta, V = I / d (I the information at ``coef``, d the number of events).
    A factor with several indicators is collapsed as cox.zph does (``terms = TRUE``): its residual is
    that of the linear predictor x'beta of the factor, centred on 1, not on a coefficient.
    ``var`` = solve(V) over the terms, which plot.cox.zph uses for the band of its smooth.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    x = np.asarray(x, dtype=float).reshape(len(time), -1)
    coef = np.asarray(coef, dtype=float)
    keep = np.isfinite(coef)
    index = np.cumsum(keep) - 1
    terms = {name: [int(index[c]) for c in cols if keep[c]] for name, cols in terms.items()}
    terms = {name: cols for name, cols in terms.items() if cols}
    if transform != "km":
        raise ValueError("zph_residuals: only the 'km' transform is implemented")
    setup = _zph_setup(time, event, x, coef)
    coef, data, info = setup.coef, setup.data, setup.info
    resid, event_time = data.schoenfeld(coef)   # the events in time order (R: indx)
    n_events = resid.shape[0]
    names = list(terms)
    collapse = np.zeros((coef.size, len(names)))  # R's ``temp``
    for k, name in enumerate(names):
        cols = terms[name]
        collapse[cols, k] = 1.0 if len(cols) == 1 else coef[cols]
    vmean = collapse.T @ (info / n_events) @ collapse
    scaled = np.linalg.solve(vmean, (resid @ collapse).T).T
    for k, name in enumerate(names):
        cols = terms[name]
        scaled[:, k] += coef[cols[0]] if len(cols) == 1 else 1.0
    return {"transform": transform, "x": setup.km_events, "time": event_time,
            "y": {name: scaled[:, k] for k, name in enumerate(names)},
            "var": np.linalg.inv(vmean), "terms": names}


def natural_spline_basis(values: np.ndarray, df: int = 4) -> np.ndarray | None:
    """A basis of R's ``ns(values, df, intercept = TRUE)`` space.

    Natural cubic splines with boundary knots at the range and df - 2 interior knots at the
    quantiles (R's default type 7, numpy's linear). Not R's own basis, but the same space:
    least-squares fits and their pointwise SEs do not depend on the basis.

    With distinct knots xi_1 < ... < xi_K (K = df), the truncated-power basis of Hastie,
    Tibshirani & Friedman, *The Elements of Statistical Learning* (2009), eq. 5.4-5.5:
    N_1 = 1, N_2 = x, N_{k+2} = d_k - d_{K-1} with d_k = ((x - xi_k)^3_+ - (x - xi_K)^3_+) / (xi_K - xi_k),
    on x scaled to [0, 1] (numpy only: scipy's B-splines cost 0.27 s of imports per results run).
    A repeated knot (heavily tied times) changes the space (R's splineDesign lowers the continuity
    there): that case takes B-splines with the repeated knot and the natural boundary constraints.
    None when an interior knot falls on a boundary (over a third of the values tied at an end).
    """
    values = np.asarray(values, dtype=float)
    lo, hi = float(values.min()), float(values.max())
    interior = np.quantile(values, np.linspace(0, 1, df)[1:-1])
    knots = np.r_[lo, interior, hi]
    if interior[0] <= lo or interior[-1] >= hi:
        return None   # an interior knot on a boundary: no cubic spline space of this dimension
    if np.any(np.diff(knots) <= 0):
        return _natural_bspline_basis(values, lo, hi, interior)
    u = (values - lo) / (hi - lo)
    xi = (knots - lo) / (hi - lo)
    last = np.clip(u - xi[-1], 0.0, None) ** 3

    def d(k: int) -> np.ndarray:
        return (np.clip(u - xi[k], 0.0, None) ** 3 - last) / (xi[-1] - xi[k])

    return np.column_stack([np.ones_like(u), u] + [d(k) - d(df - 2) for k in range(df - 2)])


def _natural_bspline_basis(values: np.ndarray, lo: float, hi: float, interior: np.ndarray) -> np.ndarray:
    """Cubic B-splines on the knots (boundary knots 4 times), constrained to a zero second
    derivative at both boundaries (the natural spline conditions)."""
    from scipy.interpolate import BSpline
    from scipy.linalg import null_space

    knots = np.r_[[lo] * 4, interior, [hi] * 4]
    n_basis = len(knots) - 4
    design = BSpline.design_matrix(np.clip(values, lo, hi), knots, 3).toarray()
    constraint = np.empty((2, n_basis))
    for j in range(n_basis):
        coefs = np.zeros(n_basis)
        coefs[j] = 1.0
        second = BSpline(knots, coefs, 3).derivative(2)
        constraint[:, j] = [second(lo), second(hi)]
    return design @ null_space(constraint)


def zph_smooth(x, y, var: float, df: int = 4, nsmo: int = 40) -> dict | None:
    """plot.cox.zph's smooth of the scaled residuals ``y`` against ``x``: a natural spline with ``df``
    degrees of freedom at ``nsmo`` points of the x range, and its band yhat +- 2 sqrt(var * seval).

    None (with R: "spline fit is singular") when the spline cannot be fitted (too few distinct x).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size == 0 or x.min() == x.max():
        return None
    grid = np.linspace(x.min(), x.max(), nsmo)
    basis = natural_spline_basis(np.r_[grid, x], df)
    if basis is None:
        return None
    pmat, xmat = basis[:nsmo], basis[nsmo:]
    q, r = np.linalg.qr(xmat)
    if np.linalg.matrix_rank(xmat) < df:
        return None
    yhat = pmat @ np.linalg.solve(r, q.T @ y)
    bk = np.linalg.solve(r, np.eye(df))  # R: backsolve(qr, I)
    seval = np.einsum("ij,jk,ik->i", pmat, bk @ bk.T, pmat)
    band = 2.0 * np.sqrt(var * seval)
    return {"x": grid, "fit": yhat, "upper": yhat + band, "lower": yhat - band, "df": df}
