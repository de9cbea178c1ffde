"""Cox proportional-hazards models on plan factors (lifelines ``CoxPHFitter``).

Model: h(t | x) = h0(t) exp(beta' x), fitted by maximum partial likelihood
with Efron's approximation for tied event times (Efron 1977; lifelines'
``CoxPHFitter`` uses Efron ties, as R ``coxph`` does by default; SPSS uses
Breslow, so SPSS hazard ratios differ slightly when times are tied).

Coding: each factor (an ordered pandas Categorical) becomes one indicator
per non-reference level; the reference is the factor's first level. Term
names are ``<factor>[<level>]``; HR = exp(beta) is the hazard of that level
relative to the reference.

Reported per term: HR, Wald (1 - alpha) CI exp(beta +/- z SE), Wald P.
Per factor (``factor_p``): the Wald P for a two-level factor; for a factor
with more levels the likelihood-ratio P, 2 (l_full - l_without_factor) on
(levels - 1) df, both models fitted on the same patients.

Missing factor values: complete-case analysis per model (``n`` says how many
patients a model used).

Monotone likelihood ("perfect separation", e.g. a level with no events):
the partial likelihood has no finite maximum and the fitted HR is an
artefact of where the optimiser stopped. Detected (a) before fitting, per
indicator: every event subject has the largest (or every one the smallest)
indicator value in its risk set; (b) after fitting: non-convergence, or
|log HR| > 10 or SE(log HR) > 10. Such terms are reported with
``hr = ci = p = None`` and a ``warning``; they never print as valid HRs.

Proportional hazards: Grambsch & Therneau (1994) test on scaled Schoenfeld
residuals against rank-transformed time, per term from lifelines'
``proportional_hazard_test(time_transform="rank")`` and globally by the same
approximation (R survival < 3.0 ``cox.zph``)::

    T_global = (g' R) V (R' g) * d / sum(g^2)      on p df

where R holds the unscaled Schoenfeld residuals (one row per event), g the
centred transformed event times, V the model's covariance matrix and d the
number of events. (R >= 3.0 uses an exact score test, so R's numbers differ a
little; lifelines' docstring says the same.)

Events per variable: EPV = events / number of estimated coefficients.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Above this many complete cases the models are fitted by ``analysis.stats.efron``
# (Newton-Raphson in numpy, the same Efron likelihood; equal to lifelines to
# ~1e-9 in the tests), because lifelines' fitter and residuals loop over
# subjects in Python (minutes per model at 10^6 patients).
LARGE_N = 5000
MAX_ABS_LOG_HR = 10.0
MAX_SE_LOG_HR = 10.0
TIES = "efron"
PH_TIME_TRANSFORM = "rank"


def term_name(factor: str, level: str) -> str:
    """The results-file name of the indicator for ``level`` of ``factor``."""
    return f"{factor}[{level}]"


@dataclass
class Design:
    """Complete-case design matrix for a set of factors."""

    frame: pd.DataFrame  # duration, event, then one 0/1 column per term
    terms: list[dict]  # {factor, level, term, n, events}
    references: dict[str, dict]  # factor -> {level, n, events}
    warnings: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [t["term"] for t in self.terms]

    def columns_of(self, factor: str) -> list[str]:
        return [t["term"] for t in self.terms if t["factor"] == factor]


def build_design(time, event, factors: pd.DataFrame, names: list[str]) -> Design:
    """Indicators for ``names`` (columns of ``factors``, ordered Categoricals); drops incomplete rows."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=int)
    codes = {name: np.asarray(factors[name].cat.codes) for name in names}  # -1 = missing
    complete = np.ones(len(time), dtype=bool)
    for code in codes.values():
        complete &= code >= 0
    complete &= ~np.isnan(time)
    event_kept = event[complete]
    columns = {"_duration": time[complete], "_event": event_kept}
    terms, references, notes = [], {}, []
    for name in names:
        levels = [str(level) for level in factors[name].cat.categories]
        code = codes[name][complete]
        is_ref = code == 0
        references[name] = {"level": levels[0], "n": int(is_ref.sum()), "events": int(event_kept[is_ref].sum())}
        if not is_ref.any():
            notes.append(f"{name}: no patient in the reference level {levels[0]!r}")
        for index, level in enumerate(levels[1:], start=1):
            indicator = (code == index).astype(float)
            if not indicator.any():
                notes.append(f"{name}: no patient in level {level!r}; term {term_name(name, level)} omitted")
                continue
            term = term_name(name, level)
            columns[term] = indicator
            terms.append(
                {
                    "factor": name,
                    "level": level,
                    "term": term,
                    "n": int(indicator.sum()),
                    "events": int(event_kept[indicator == 1].sum()),
                }
            )
    return Design(frame=pd.DataFrame(columns), terms=terms, references=references, warnings=notes)


def monotone_direction(time, event, x, order=None) -> int:
    """+1 / -1 if the partial likelihood in the coefficient of ``x`` alone increases
    (decreases) without bound, else 0.

    Monotone in +beta iff at every event the event subject has the largest x
    of its risk set (Bryson & Johnson 1981); symmetric for -beta. ``order``: a
    stable argsort of ``time`` if the caller has one (one sort for every term).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    x = np.asarray(x, dtype=float)
    if not event.any() or np.ptp(x) == 0:
        return 0
    # Per distinct event time: extremes of x over the risk set (suffix max/min over
    # the subjects sorted by time) against the extremes of x among its events.
    order = np.argsort(time, kind="stable") if order is None else order
    t_sorted, x_sorted, e_sorted = time[order], x[order], event[order]
    risk_max = np.maximum.accumulate(x_sorted[::-1])[::-1]
    risk_min = np.minimum.accumulate(x_sorted[::-1])[::-1]
    event_times = t_sorted[e_sorted]
    x_events = x_sorted[e_sorted]
    starts = np.flatnonzero(np.r_[True, event_times[1:] != event_times[:-1]])
    first_at_risk = np.searchsorted(t_sorted, event_times[starts], side="left")
    up = bool(np.all(np.minimum.reduceat(x_events, starts) >= risk_max[first_at_risk]))
    down = bool(np.all(np.maximum.reduceat(x_events, starts) <= risk_min[first_at_risk]))
    if up:
        return 1
    return -1 if down else 0


def _fit(frame: pd.DataFrame, columns: list[str], alpha: float, order=None):
    """Fit lifelines' CoxPHFitter on ``columns``; returns (fitter, converged, messages)."""
    if len(frame) > LARGE_N:
        return _fit_numpy(frame, columns, order)
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    fitter = CoxPHFitter(alpha=alpha)
    messages = []
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        try:
            fitter.fit(frame[["_duration", "_event", *columns]], duration_col="_duration", event_col="_event")
        except (ConvergenceError, np.linalg.LinAlgError) as error:
            return None, False, [f"model did not converge ({str(error).splitlines()[0]})"]
    # lifelines also warns on pre-fit heuristics (low variance, correlation with
    # duration); only a Newton-Raphson step that did not settle means non-convergence.
    converged = True
    for item in caught:
        text = str(item.message)
        if issubclass(item.category, ConvergenceWarning) and ("norm(delta)" in text or "failed to converge" in text):
            converged = False
            messages.append(text.splitlines()[0])
    return fitter, converged, messages


def _fit_numpy(frame: pd.DataFrame, columns: list[str], order=None):
    """``_fit`` by ``analysis.stats.efron`` (large cohorts)."""
    from analysis.stats.efron import efron_fit

    try:
        fitter = efron_fit(frame["_duration"].to_numpy(), frame["_event"].to_numpy(), frame[columns].to_numpy(), columns,
                           order=order)
    except np.linalg.LinAlgError as error:
        return None, False, [f"model did not converge ({str(error).splitlines()[0]})"]
    if not fitter.converged:
        return fitter, False, [f"Newton-Raphson failed to converge in {fitter.iterations} iterations"]
    return fitter, True, []


def _null_log_likelihood(frame: pd.DataFrame) -> float:
    """Log partial likelihood at beta = 0 with Efron ties (the null model)."""
    from analysis.stats.efron import null_log_likelihood

    # Efron at beta = 0 (every risk score 1): - sum_j sum_{k=0}^{d_j-1} log(n_j - k)
    return null_log_likelihood(frame["_duration"].to_numpy(), frame["_event"].to_numpy())


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def _lr_p(ll_full: float, ll_reduced: float, df: int) -> tuple[float, float]:
    from scipy.stats import chi2

    statistic = max(2.0 * (ll_full - ll_reduced), 0.0)
    return statistic, float(chi2.sf(statistic, df))


def ph_test(fitter, frame: pd.DataFrame, columns: list[str]) -> dict:
    """Grambsch-Therneau PH test per term and global (see the module docstring).

    Per term this is lifelines' ``proportional_hazard_test`` statistic
    (T_k = (g' r*_k)^2 / (d V_kk sum g^2), r* = d R V the scaled Schoenfeld
    residuals), computed here from one residual matrix so that the global test
    shares it; the tests check both against lifelines.
    """
    from scipy.stats import chi2

    from analysis.stats.efron import EfronFit

    if isinstance(fitter, EfronFit) and PH_TIME_TRANSFORM == "rank":
        # lifelines' "rank" transform: the running count of events in time order
        residuals = fitter.schoenfeld[:, [list(fitter.params_.index).index(c) for c in columns]]
        times = fitter.event_rank
    else:
        from lifelines.statistics import TimeTransformers

        data = frame[["_duration", "_event", *columns]]
        residuals = fitter.compute_residuals(data, kind="schoenfeld")[columns].to_numpy()
        transform = TimeTransformers().get(PH_TIME_TRANSFORM)
        events = fitter.event_observed
        times = np.asarray(transform(fitter.durations, events, fitter.weights)[events.values], dtype=float)
    g = times - times.mean()
    variance = fitter.variance_matrix_.loc[columns, columns].to_numpy()
    n_events = float(len(times))
    score = g @ residuals  # (g' R)
    scaled_score = n_events * score @ variance  # g' R*, R* = d R V
    per_term = scaled_score**2 / (n_events * np.diag(variance) * np.sum(g**2))
    terms = {
        name: {"chi2": float(stat), "df": 1, "p": float(chi2.sf(stat, 1))} for name, stat in zip(columns, per_term)
    }
    statistic = float(score @ variance @ score * n_events / np.sum(g**2))
    df = len(columns)
    return {
        "method": f"scaled Schoenfeld residuals vs {PH_TIME_TRANSFORM}-transformed time (Grambsch-Therneau)",
        "global": {"chi2": statistic, "df": df, "p": float(chi2.sf(statistic, df))},
        "terms": terms,
    }


def fit_cox(time, event, factors: pd.DataFrame, names: list[str], alpha: float = 0.05, ph: bool = True) -> dict:
    """One Cox model on the factors ``names``; the dict the results file stores.

    Returns {terms: [{factor, level, term, hr, ci, p, factor_p, n, events, warning}],
    references: {factor: {level, n, events}}, factor_p: {factor: {p, test, df, chi2}},
    n, events, n_parameters, epv, log_likelihood, converged, ties, ph_test, warnings}.
    """
    design = build_design(time, event, factors, names)
    frame = design.frame
    n, n_events = int(len(frame)), int(frame["_event"].sum())
    notes = list(design.warnings)
    columns = design.columns
    result = {
        "factors": list(names),
        "n": n,
        "events": n_events,
        "n_parameters": len(columns),
        "epv": (n_events / len(columns)) if columns else None,
        "ties": TIES,
        "terms": [],
        "references": design.references,
        "factor_p": {},
        "log_likelihood": None,
        "converged": None,
        "ph_test": None,
        "warnings": notes,
    }
    if not columns:
        notes.append(f"{', '.join(names)}: no estimable term")
        return result
    if n_events == 0:
        notes.append(f"{', '.join(names)}: no events; hazard ratios not estimable")
        for term in design.terms:
            result["terms"].append({**term, "hr": None, "ci": [None, None], "p": None, "wald_chi2": None,
                                    "factor_p": None, "warning": "no events"})
        return result

    separated = {}
    order = np.argsort(frame["_duration"].to_numpy(), kind="stable")  # shared by every term and fit below
    for term in design.terms:
        direction = monotone_direction(frame["_duration"], frame["_event"], frame[term["term"]], order=order)
        if direction:
            where = "no events in this level" if term["events"] == 0 else (
                "no events in the reference level" if design.references[term["factor"]]["events"] == 0
                else "monotone likelihood")
            separated[term["term"]] = f"perfect separation ({where}); HR not estimable"

    fitter, converged, messages = _fit(frame, columns, alpha, order)
    result["converged"] = converged
    if not separated:  # with separation the term warnings below say it more plainly
        notes.extend(f"{', '.join(names)}: {m}" for m in messages)
    if fitter is None:
        for term in design.terms:
            result["terms"].append({**term, "hr": None, "ci": [None, None], "p": None, "wald_chi2": None,
                                    "factor_p": None,
                                    "warning": separated.get(term["term"], "model did not converge")})
        return result

    from scipy.stats import norm

    # params_/standard_errors_ rather than .summary (which costs ~6 ms a model)
    coefs, ses = fitter.params_, fitter.standard_errors_
    result["log_likelihood"] = float(fitter.log_likelihood_)
    z = _z(alpha)
    for term in design.terms:
        name = term["term"]
        coef, se = float(coefs[name]), float(ses[name])
        warning = separated.get(name)
        if warning is None and (not converged or abs(coef) > MAX_ABS_LOG_HR or not np.isfinite(se) or se > MAX_SE_LOG_HR):
            warning = f"estimate unstable (log HR {coef:.1f}, SE {se:.1f}; possible separation); HR not estimable"
        if warning:
            notes.append(f"{name}: {warning}")
            row = {**term, "hr": None, "ci": [None, None], "p": None, "wald_chi2": None}
        else:
            row = {
                **term,
                "hr": float(np.exp(coef)),
                "ci": [float(np.exp(coef - z * se)), float(np.exp(coef + z * se))],
                "p": float(2 * norm.sf(abs(coef / se))),
                "wald_chi2": float((coef / se) ** 2),
            }
        row["warning"] = warning
        result["terms"].append(row)

    # per-factor P: Wald for one indicator, likelihood ratio for several
    for name in names:
        own = design.columns_of(name)
        if not own:
            continue
        if len(own) == 1:
            row = next(r for r in result["terms"] if r["term"] == own[0])
            result["factor_p"][name] = {"test": "wald", "df": 1, "p": row["p"], "chi2": row["wald_chi2"]}
        else:
            others = [c for c in columns if c not in own]
            if others:
                reduced, _, _ = _fit(frame, others, alpha, order)
                ll_reduced = float(reduced.log_likelihood_) if reduced is not None else float("nan")
            else:
                ll_reduced = _null_log_likelihood(frame)
            statistic, p = _lr_p(fitter.log_likelihood_, ll_reduced, len(own))
            result["factor_p"][name] = {"test": "likelihood_ratio", "df": len(own), "chi2": statistic, "p": p}
        for row in result["terms"]:
            if row["factor"] == name:
                row["factor_p"] = result["factor_p"][name]["p"]

    if ph and not separated and converged:
        try:
            result["ph_test"] = ph_test(fitter, frame, columns)
        except Exception as error:  # the PH test is a diagnostic: never let it stop the analysis
            notes.append(f"{', '.join(names)}: PH test not computed ({type(error).__name__}: {error})")
    return result
