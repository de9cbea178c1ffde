"""Cox proportional-hazards models on plan factors, fitted as R ``coxph`` does.

Model: h(t | x) = h0(t) exp(beta' x), fitted by maximum partial likelihood
with Efron's approximation for tied event times (R ``coxph``'s default; SPSS
uses Breslow, so SPSS hazard ratios differ slightly when times are tied), by
the project's own Newton-Raphson (``analysis.stats.efron``: R ``coxph.fit`` /
``coxfit6.c`` step for step, for every cohort size).

Coding: each factor (an ordered pandas Categorical) becomes one indicator
per non-reference level; the reference is the factor's first level. Term
names are ``<factor>[<level>]``; HR = exp(beta) is the hazard of that level
relative to the reference.

Reported per term: HR, Wald (1 - alpha) CI exp(beta +/- z SE), Wald P
(R ``summary(coxph)``). Per factor (``factor_p``): the Wald P for a two-level
factor; for a factor with more levels, or one whose coefficient is infinite
(the Wald test is invalid there), the likelihood-ratio P, 2 (l_full -
l_without_factor) on (levels - 1) df, both models fitted on the same patients
(R ``anova(coxph)``). Per model: the LR, Wald and score tests of R's summary.

Missing factor values: complete-case analysis per model (``n`` says how many
patients a model used).

Not estimable, with the true reason in ``reason`` (machine-readable code in
``reason_code``), never a number:

* ``no_events``: the model's patients had no events;
* ``no_events_in_level`` / ``no_events_in_reference`` / ``monotone_likelihood``:
  R's check "Loglik converged before variable k; coefficient may be
  infinite" (``coxph.fit``: |U' V|_k > eps and > toler.inf |beta_k|) fired for
  the term; the reason names the level whose events make the likelihood
  monotone. With the plan's ``cox.monotone_likelihood: firth`` such a model
  is refitted by Firth's penalised likelihood (Heinze & Schemper 2001) and
  its terms are reported with ``method: "firth"``;
* ``not_converged``: 20 iterations without convergence (R: "Ran out of iterations");
* ``redundant``: the column is a linear combination of the others (R: NA).

Proportional hazards: R's ``cox.zph(fit, transform = "km", terms = TRUE)``
(survival >= 3.0): per factor (all its indicators together) and global, the
score test for adding g(t) x terms, g = 1 - KM(t-) (``efron.zph_test``).
It depends on the event times only, not on the order of the rows.

Events per variable: EPV = events / number of estimated coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TIES = "efron"
PH_TIME_TRANSFORM = "km"  # cox.zph's default transform
# Residual points a panel stores at most: above it an evenly spaced sample in time order (the
# smooth, its band and the axis come from every event). 10^6 patients have ~10^6 events per panel:
# all of them made a 0.5 GB results file and more than 4 GiB of memory, for a figure that cannot
# show them apart.
PH_MAX_POINTS = 5000
MONOTONE_OPTIONS = ("not_estimable", "firth")  # plan: cox.monotone_likelihood


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


def _fit(frame: pd.DataFrame, columns: list[str], order=None, firth: bool = False):
    """``efron.efron_fit`` on ``columns`` of a design frame."""
    from analysis.stats.efron import efron_fit

    return efron_fit(frame["_duration"].to_numpy(), frame["_event"].to_numpy(), frame[columns].to_numpy(dtype=float),
                     columns, order=order, firth=firth)


def _null_log_likelihood(frame: pd.DataFrame) -> float:
    """Log partial likelihood at beta = 0 with Efron ties (the null model)."""
    from analysis.stats.efron import null_log_likelihood

    return null_log_likelihood(frame["_duration"].to_numpy(), frame["_event"].to_numpy())


def _z(alpha: float) -> float:
    from analysis.stats.distributions import two_sided_z

    return two_sided_z(alpha)


def _lr_p(ll_full: float, ll_reduced: float, df: int) -> tuple[float, float]:
    from analysis.stats.distributions import chi2_sf

    statistic = max(2.0 * (ll_full - ll_reduced), 0.0)
    return statistic, float(chi2_sf(statistic, df))


def _monotone_reason(term: dict, reference: dict, coef: float) -> tuple[str, str]:
    """(reason_code, reason) for a term whose coefficient may be infinite."""
    if term["events"] == 0:
        return "no_events_in_level", (f"no events in level {term['level']!r} of {term['factor']} "
                                      f"({term['n']} patients): HR tends to 0")
    if reference["events"] == 0:
        return "no_events_in_reference", (f"no events in the reference level {reference['level']!r} of "
                                          f"{term['factor']} ({reference['n']} patients): HR tends to infinity")
    direction = "infinity" if coef > 0 else "0"
    return "monotone_likelihood", (f"monotone likelihood for {term['term']} (the events separate the levels): "
                                   f"HR tends to {direction}")


def ph_test(time, event, x, coef, terms: dict[str, list[int]]) -> dict:
    """R ``cox.zph(fit)`` (transform "km", per term and global); see ``efron.zph_test``."""
    from analysis.stats.efron import zph_test

    result = zph_test(time, event, x, coef, terms, transform=PH_TIME_TRANSFORM)
    result["method"] = "R cox.zph (survival >= 3.0): score test of g(t) x terms, g = 1 - KM(t-)"
    return result


def _axis_ticks(x: np.ndarray, time: np.ndarray, count: int = 8) -> dict:
    """plot.cox.zph's x axis on the transformed scale: ``count`` equally spaced transformed values
    (17 cuts, every second), mapped to time, rounded to 2 significant digits, mapped back."""
    first = np.r_[True, x[1:] != x[:-1]]  # R: !duplicated(xx) (x is non-decreasing)
    xs, ts = x[first], time[first]
    if xs.size < 2:
        return {"at": [], "months": []}
    wanted = np.interp(np.linspace(xs.min(), xs.max(), 2 * count + 1)[1::2][:count], xs, ts)
    with np.errstate(divide="ignore"):
        digits = np.where(wanted > 0, 1 - np.floor(np.log10(np.abs(np.where(wanted > 0, wanted, 1.0)))), 0)
    rounded = np.array([round(float(v), int(d)) for v, d in zip(wanted, digits)])
    inside = (rounded >= ts.min()) & (rounded <= ts.max())  # R's approx gives NA outside
    return {"at": [float(v) for v in np.interp(rounded[inside], ts, xs)],
            "months": [float(v) for v in rounded[inside]]}


def ph_residual_panels(time, event, x, coef, terms: dict[str, list[int]], ph: dict, alpha: float) -> dict:
    """What the scaled-Schoenfeld figure draws, for every factor whose cox.zph P < ``alpha`` only.

    {factor: {p, line, time, x, residual, smooth: {x, fit, upper, lower, df}, axis: {at, months}}}:
    per event the event time (months) and transformed time 1 - KM(t-), the scaled residual
    (``cox.zph(fit)$y``; above ``PH_MAX_POINTS`` events an evenly spaced sample of them in time
    order), plot.cox.zph's natural-spline smooth (df 4) with its +-2 SE band (from every event), and
    ``line`` = the Cox coefficient (1 for a factor of several indicators: cox.zph collapses it to
    its linear predictor, whose coefficient is 1). Empty when no factor fails.
    """
    from analysis.stats.efron import zph_residuals, zph_smooth

    failing = [name for name, test in ph["terms"].items() if test.get("p") is not None and test["p"] < alpha]
    if not failing:
        return {}
    z = zph_residuals(time, event, x, coef, terms, transform=PH_TIME_TRANSFORM)
    n_events = len(z["time"])
    shown = (np.unique(np.linspace(0, n_events - 1, PH_MAX_POINTS).round().astype(int))
             if n_events > PH_MAX_POINTS else slice(None))   # first and last event always among them
    out = {}
    for name in failing:
        k = z["terms"].index(name)
        cols = [c for c in terms[name] if np.isfinite(coef[c])]
        smooth = zph_smooth(z["x"], z["y"][name], float(z["var"][k, k]))
        out[name] = {
            "p": ph["terms"][name]["p"],
            "line": float(coef[cols[0]]) if len(cols) == 1 else 1.0,
            "collapsed": len(cols) > 1,
            # tolist(): the same Python floats as float(v) per value, without a Python loop (10^6 events)
            "time": np.asarray(z["time"], dtype=float)[shown].tolist(),
            "x": np.asarray(z["x"], dtype=float)[shown].tolist(),
            "residual": np.asarray(z["y"][name], dtype=float)[shown].tolist(),
            "smooth": None if smooth is None else {
                "df": smooth["df"], **{key: np.asarray(smooth[key], dtype=float).tolist()
                                       for key in ("x", "fit", "upper", "lower")}},
            "axis": _axis_ticks(np.asarray(z["x"]), np.asarray(z["time"])),
        }
    return out


def _not_estimable(term: dict, code: str, reason: str) -> dict:
    return {**term, "hr": None, "ci": [None, None], "p": None, "wald_chi2": None, "coef": None, "se": None,
            "factor_p": None, "estimable": False, "reason_code": code, "reason": reason, "warning": reason,
            "method": None}


def fit_cox(time, event, factors: pd.DataFrame, names: list[str], alpha: float = 0.05, ph: bool = True,
            monotone: str = "not_estimable") -> dict:
    """One Cox model on the factors ``names``; the dict the results file stores.

    ``monotone``: what to do when a coefficient may be infinite ("not_estimable",
    or "firth": refit the model by Firth's penalised likelihood).

    Returns {terms: [{factor, level, term, hr, ci, p, coef, se, wald_chi2, factor_p, n, events,
    estimable, reason_code, reason, warning, method}], references: {factor: {level, n, events}},
    factor_p: {factor: {p, test, df, chi2}}, n, events, n_parameters, epv, log_likelihood,
    log_likelihood_null, lr_test, wald_test, score_test, iterations, converged, method, ties,
    ph_test, warnings}.
    """
    if monotone not in MONOTONE_OPTIONS:
        raise ValueError(f"unknown monotone-likelihood option {monotone!r}; expected one of {MONOTONE_OPTIONS}")
    design = build_design(time, event, factors, names)
    frame = design.frame
    n, n_events = int(len(frame)), int(frame["_event"].sum())
    notes = list(design.warnings)
    columns = design.columns
    label = ", ".join(names)
    result = {
        "factors": list(names),
        "n": n,
        "events": n_events,
        "n_parameters": len(columns),
        "epv": (n_events / len(columns)) if columns else None,
        "ties": TIES,
        "method": "partial_likelihood",
        "terms": [],
        "references": design.references,
        "factor_p": {},
        "log_likelihood": None,
        "log_likelihood_null": None,
        "lr_test": None,
        "wald_test": None,
        "score_test": None,
        "iterations": None,
        "converged": None,
        "ph_test": None,
        "ph_test_note": None,
        "ph_residuals": {},  # factor -> scaled Schoenfeld residuals, only for factors failing cox.zph
        "warnings": notes,
    }
    if not columns:
        notes.append(f"{label}: no estimable term")
        return result
    if n_events == 0:
        reason = f"no events among the {n} patients of the model"
        notes.append(f"{label}: {reason}; hazard ratios not estimable")
        result["terms"] = [_not_estimable(term, "no_events", reason) for term in design.terms]
        for name in names:
            if design.columns_of(name):
                result["factor_p"][name] = {"test": None, "df": len(design.columns_of(name)), "chi2": None,
                                            "p": None, "estimable": False, "reason": reason}
        result["ph_test_note"] = reason
        return result

    from analysis.stats.efron import _time_order

    # shared by every fit below (and remembered: the other models of the endpoint sort the same times)
    order = _time_order(frame["_duration"].to_numpy(dtype=float))
    fit = _fit(frame, columns, order)
    infinite = dict(zip(columns, fit.infinite))
    use_firth = monotone == "firth" and fit.converged and bool(fit.infinite.any())
    if use_firth:
        notes.append(f"{label}: {'; '.join(fit.messages)} (R coxph); refitted by Firth's penalised likelihood")
        fit = _fit(frame, columns, order, firth=True)
        result["method"] = "firth"
    result["converged"] = fit.converged
    result["iterations"] = fit.iterations
    result["log_likelihood"] = fit.loglik
    result["log_likelihood_null"] = fit.loglik_init
    if not fit.converged:
        notes.append(f"{label}: Newton-Raphson did not converge in {fit.iterations} iterations (R: "
                     f"\"Ran out of iterations and did not converge\"); hazard ratios not estimable")

    from analysis.stats.distributions import chi2_sf, normal_sf

    z = _z(alpha)
    coefs, ses = fit.coef, fit.se
    for index, term in enumerate(design.terms):
        name = term["term"]
        coef, se = float(coefs[index]), float(ses[index])
        reference = design.references[term["factor"]]
        if not fit.converged:
            reason = f"no convergence in {fit.iterations} iterations (R: \"Ran out of iterations\")"
            direction = monotone_direction(frame["_duration"], frame["_event"], frame[name], order=order)
            if direction:
                reason = f"{_monotone_reason(term, reference, float(direction))[1]}; {reason}"
            row = _not_estimable(term, "not_converged", reason)
        elif not np.isfinite(coef):
            row = _not_estimable(term, "redundant", f"{name} is a linear combination of the other terms (R: NA)")
        elif infinite[name] and not use_firth:
            code, reason = _monotone_reason(term, reference, coef)
            row = _not_estimable(term, code, reason)
        else:
            with np.errstate(over="ignore"):
                hr, lo, hi = np.exp([coef, coef - z * se, coef + z * se])
            row = {
                **term,
                "coef": coef,
                "se": se,
                "hr": float(hr),
                "ci": [float(lo), float(hi)],
                "p": float(2 * normal_sf(abs(coef / se))),
                "wald_chi2": float((coef / se) ** 2),
                "estimable": True,
                "reason_code": None,
                "reason": None,
                "warning": None,
                "method": "firth" if use_firth else "partial_likelihood",
            }
            if use_firth and infinite[name]:
                row["reason_code"] = "firth"
                code, reason = _monotone_reason(term, reference, coef)
                row["reason"] = f"{reason} by maximum likelihood; Firth's penalised estimate"
        if row["warning"]:
            notes.append(f"{name}: {row['warning']}; HR not estimable")
        result["terms"].append(row)

    kept = np.isfinite(coefs)
    if fit.converged:
        lr = max(2.0 * (fit.loglik - fit.loglik_init), 0.0)
        df = int(kept.sum())
        result["lr_test"] = {"chi2": lr, "df": df, "p": float(chi2_sf(lr, df)) if df else None}
        result["score_test"] = {"chi2": fit.score_test, "df": len(columns),
                                "p": float(chi2_sf(fit.score_test, len(columns)))}
        if kept.any() and not fit.infinite.any():
            b = coefs[kept]
            v = fit.variance[np.ix_(kept, kept)]
            wald = float(b @ np.linalg.solve(v, b))
            result["wald_test"] = {"chi2": wald, "df": int(kept.sum()), "p": float(chi2_sf(wald, int(kept.sum())))}

    # per-factor P: Wald for one indicator, likelihood ratio for several (or when the Wald test is invalid)
    for name in names:
        own = design.columns_of(name)
        if not own:
            continue
        rows = [r for r in result["terms"] if r["factor"] == name]
        if not fit.converged:
            entry = {"test": None, "df": len(own), "chi2": None, "p": None, "estimable": False,
                     "reason": rows[0]["reason"]}
        elif len(own) == 1 and rows[0]["estimable"] and not infinite[own[0]]:
            entry = {"test": "wald", "df": 1, "p": rows[0]["p"], "chi2": rows[0]["wald_chi2"], "estimable": True,
                     "reason": None}
        else:
            others = [c for c in columns if c not in own]
            if others:
                reduced = _fit(frame, others, order, firth=use_firth)
                ll_reduced = reduced.loglik if reduced.converged else float("nan")
            elif use_firth:
                ll_reduced = _null_log_likelihood(frame)  # no coefficient: no penalty
            else:
                ll_reduced = fit.loglik_init
            df = int(sum(1 for c in own if np.isfinite(coefs[columns.index(c)])))
            if np.isfinite(ll_reduced) and df:
                statistic, p = _lr_p(fit.loglik, ll_reduced, df)
                entry = {"test": "likelihood_ratio", "df": df, "chi2": statistic, "p": p, "estimable": True,
                         "reason": None}
            else:
                entry = {"test": "likelihood_ratio", "df": df, "chi2": None, "p": None, "estimable": False,
                         "reason": "the model without this factor did not converge" if df else
                         "every indicator is redundant"}
        result["factor_p"][name] = entry
        for row in rows:
            row["factor_p"] = entry["p"]

    if not ph:
        return result
    if not fit.converged:
        result["ph_test_note"] = "model did not converge"
    elif use_firth:
        result["ph_test_note"] = "not defined for the penalised (Firth) model"
    elif fit.infinite.any():
        result["ph_test_note"] = "a coefficient may be infinite (monotone likelihood)"
    else:
        term_columns = {f: [columns.index(c) for c in design.columns_of(f)] for f in names if design.columns_of(f)}
        ph_args = (frame["_duration"].to_numpy(), frame["_event"].to_numpy(), frame[columns].to_numpy(dtype=float),
                   coefs, term_columns)
        result["ph_test"] = ph_test(*ph_args)
        result["ph_residuals"] = ph_residual_panels(*ph_args, result["ph_test"], alpha)
    if result["ph_test_note"]:
        notes.append(f"{label}: PH test not computed ({result['ph_test_note']})")
    return result
