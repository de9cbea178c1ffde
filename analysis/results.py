"""Every number the manuscript prints, computed from a Cohort into one dict / JSON file.

``compute_results(cohort) -> dict`` follows the results-file contract of
docs/ARCHITECTURE.md; ``write_results(results, path)`` writes it as valid,
deterministic JSON (sorted keys, NaN -> null, no timestamps);
``python -m analysis results [--data DIR] [--plan FILE] [--out FILE]`` does both
(default output ``_output/results.json``).

Methods and their references live in the estimator modules of
``analysis.stats``; docs/STATISTICS.md summarises them and lists the factor
and term names.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import numpy as np

from analysis import paths
from analysis.results_file import _finite, dumps, read_results, to_jsonable, write_results  # noqa: F401 (the API)
from analysis.results_schema import SCHEMA_VERSION, check

SOFTWARE = ("pandas", "numpy", "scipy", "lifelines", "statsmodels", "tableone", "matplotlib")
SIR_CLASSES = ["A", "B", "C", "D", "E", "F"]
OVERALL_LABEL = "All patients"  # the single group of an overall KM figure


# --------------------------------------------------------------------------- helpers


def _time_key(t: float) -> str:
    """12.0 -> "12", 1.5 -> "1.5": the results file's keys for times."""
    return f"{float(t):g}"


def warning(kind: str, subject: str, message: str, **values) -> dict:
    """A warning record (``results_schema.Warning_``): selected on ``kind``, printed as ``message``."""
    return {"kind": kind, "subject": subject, "values": values, "message": message}


def significant(p: float | None, alpha: float) -> bool:
    """The one significance rule of the project: a P that exists and is below the plan's alpha.

    It agrees with the P as printed: ``analysis.tables.theme.p_value`` gives as many digits as
    keep the printed value on the same side of alpha (0.0497 -> "0.0497"), and
    ``theme.significant`` (the same decision on the printed text) is tested against this one.
    """
    return p is not None and p < alpha


def _software_versions() -> dict:
    """Versions of the libraries behind the numbers (module ``__version__`` where already
    imported, package metadata otherwise, so that nothing heavy is imported just for this)."""
    from importlib.metadata import PackageNotFoundError

    out = {"python": ".".join(str(p) for p in sys.version_info[:3])}
    for name in SOFTWARE:
        module = sys.modules.get(name)
        found = getattr(module, "__version__", None) if module is not None else None
        if found is None:
            try:
                found = installed_version(name)
            except PackageNotFoundError:
                found = None
        out[name] = str(found) if found is not None else None
    return out


def installed_version(name: str) -> str | None:
    """``importlib.metadata.version(name)``, reading only the header block of the package's metadata.

    ``version()`` parses the whole METADATA file, long description included (email parser, in
    Python): for the four libraries a ``results`` run does not import, 0.7% of its instructions. The
    version is a header (core metadata: headers, a blank line, then the description), so the same
    parser given the headers alone reads the same value (tests/test_results.py compares them).
    """
    import email
    from importlib.metadata import distribution

    found = distribution(name)
    text = found.read_text("METADATA") or found.read_text("PKG-INFO") or ""
    return email.message_from_string(text.split("\n\n", 1)[0])["Version"]


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _display_path(path: Path) -> str:
    """Project-relative when inside the project (so results do not depend on the checkout location)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(paths.PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- sections


def flow(cohort) -> dict | None:
    """Patient flow for the STROBE diagram: {screened, excluded: {reason: n}, included, analysed}."""
    screening = cohort.screening
    if screening is None:
        return None
    included = screening["included"].astype(str).str.lower().eq("yes")
    reasons = screening.loc[~included, "exclusion_reason"].fillna("").astype(str).str.strip()
    reasons = reasons.replace("", "not stated")
    return {
        "screened": int(len(screening)),
        "excluded": {str(k): int(v) for k, v in sorted(reasons.value_counts().items())},
        "n_excluded": int((~included).sum()),
        "included": int(included.sum()),
        "analysed": int(len(cohort.patients)),
    }


def _curve_summary(km, plan, method: str) -> dict:
    from analysis.stats.km import at_risk, greenwood_se_at, survival_at
    from analysis.stats.median_ci import METHODS, median_ci, not_estimable_reason

    by_method = {m: median_ci(km, m) for m in METHODS}
    reasons = {m: not_estimable_reason(km, 0.5, m) for m in METHODS}
    chosen = by_method[method]
    rates = {}
    for landmark in plan.landmarks:
        estimate = survival_at(km, landmark)
        rates[_time_key(landmark)] = {
            "estimate": _finite(estimate.estimate),
            "ci": [_finite(estimate.lo), _finite(estimate.hi)],
            "se": _finite(greenwood_se_at(km, landmark)),
            # why the estimate is null: no patients, or the landmark lies past the longest follow-up
            "reason": None if _finite(estimate.estimate) is not None else (
                "no patients" if km.n == 0 else f"beyond the longest follow-up ({km.max_time:.4g})"),
        }
    return {
        "n": km.n,
        "events": km.events,
        "median": _finite(chosen.estimate),
        "median_ci": [_finite(chosen.lo), _finite(chosen.hi)],
        "median_ci_method": method,
        "median_by_method": {m: _finite(r.estimate) for m, r in by_method.items()},
        "median_ci_by_method": {m: [_finite(r.lo), _finite(r.hi)] for m, r in by_method.items()},
        # why a median or CI limit above is null (None where it is estimable)
        "median_not_estimable": {"estimate": reasons[method]["estimate"],
                                 "ci": [reasons[method]["lo"], reasons[method]["hi"]]},
        "rates": rates,
        "at_risk": {_time_key(t): at_risk(km, t) for t in plan.at_risk_times},
    }


def _curve(km) -> dict:
    return {**km.to_dict(), "n": int(km.n), "events": int(km.events)}


def time_ticks(max_time: float, plan_step: float = 6.0, max_ticks: int = 11) -> list[float]:
    """Ticks 0, step, 2*step... up to the first multiple past ``max_time`` (the plan's at-risk step, doubled
    until at most ``max_ticks`` ticks): the times at which a KM figure prints its numbers at risk."""
    step = plan_step
    if not math.isfinite(max_time) or max_time <= 0:
        return [0.0, float(step)]
    while math.ceil(max_time / step) + 1 > max_ticks:
        step *= 2
    last = max(step, math.ceil(max_time / step - 1e-9) * step)
    return [float(t) for t in np.arange(0.0, last + step / 2, step)]


def _tick_step(plan) -> float:
    steps = np.diff(sorted(plan.at_risk_times))
    return float(steps.min()) if len(steps) else 6.0


def km_figure_panel(plan, fits: dict, factor: str | None, missing: int) -> dict:
    """What a KM figure prints besides its curves: ticks and the number at risk n(t) = #{T_i >= t} at each."""
    from analysis.stats.km import at_risk

    if fits:
        max_time = max(fit.max_time for fit in fits.values() if fit.n) if any(f.n for f in fits.values()) else 0.0
    else:
        max_time = 0.0
    ticks = time_ticks(max_time, _tick_step(plan))
    return {
        "factor": factor,
        "factor_label": plan.factors[factor].label if factor else None,
        "ticks": ticks,
        "groups": [{"level": level, "n": int(fit.n), "at_risk": [int(at_risk(fit, t)) for t in ticks]}
                   for level, fit in fits.items()],
        "missing": int(missing),
    }


def _endpoint_data(cohort, endpoint: str) -> tuple[np.ndarray, np.ndarray]:
    time = cohort.patients[f"{endpoint}_months"].to_numpy(dtype=float)
    event = cohort.patients[f"{endpoint}_event"].to_numpy(dtype=int)
    return time, event


def group_curves(cohort, endpoint: str) -> dict:
    """{factor: {level: KMResult}} for every log-rank factor (levels with patients only)."""
    from analysis.stats.km import km_fit

    plan = cohort.plan
    time, event = _endpoint_data(cohort, endpoint)
    curves = {}
    for name in plan.logrank_factors:
        column = cohort.factors[name]
        curves[name] = {}
        for level in column.cat.categories:
            mask = (column == level).to_numpy()
            if mask.any():
                curves[name][str(level)] = km_fit(time[mask], event[mask], alpha=plan.alpha, transform=plan.ci_transform)
    return curves


def endpoint_results(cohort, endpoint: str, groups: dict) -> tuple[dict, dict]:
    """(summary for ``results[endpoint]``, curves for ``results["km"][endpoint]``)."""
    from analysis.stats.km import km_fit

    plan = cohort.plan
    time, event = _endpoint_data(cohort, endpoint)
    km = km_fit(time, event, alpha=plan.alpha, transform=plan.ci_transform)
    summary = _curve_summary(km, plan, plan.median_ci_method)
    figures = {"overall": km_figure_panel(plan, {OVERALL_LABEL: km}, None, 0)}
    for name, levels in groups.items():
        figures[name] = km_figure_panel(plan, levels, name, int(cohort.factors[name].isna().sum()))
    curves = {
        "overall": _curve(km),
        "factors": {name: {level: _curve(fit) for level, fit in levels.items()} for name, levels in groups.items()},
        "figures": figures,
    }
    return summary, curves


def logrank_results(cohort, endpoint: str, curves: dict) -> tuple[dict, list[dict]]:
    from analysis.stats.km import km_fit
    from analysis.stats.logrank import logrank_test

    plan = cohort.plan
    time, event = _endpoint_data(cohort, endpoint)
    out, notes = {}, []
    for name in plan.logrank_factors:
        factor = plan.factors[name]
        column = cohort.factors[name]
        levels = [str(level) for level in column.cat.categories]
        groups_raw = column.astype(object).where(column.notna(), None).to_numpy()
        test = logrank_test(time, event, groups_raw, levels=levels, trend=factor.ordered)
        groups = {}
        for level in levels:
            km = curves[name].get(level) or km_fit([], [], alpha=plan.alpha, transform=plan.ci_transform)
            summary = _curve_summary(km, plan, plan.median_ci_method)
            summary["expected"] = test["groups"][level]["expected"]
            groups[level] = summary
        n_missing = int(column.isna().sum())
        entry = {
            "label": factor.label,
            "chi2": test["chi2"],
            "df": test["df"],
            "p": test["p"],
            "applicable": test["applicable"],
            "note": test["note"],
            "trend": {k: test["trend"][k] for k in ("chi2", "df", "p", "z", "scores", "reason")}
            if test["trend"]
            else None,
            "groups": groups,
            "n_missing": n_missing,
        }
        if test["note"]:
            notes.append(warning("logrank", f"{endpoint}/logrank/{name}",
                                 f"log-rank {endpoint.upper()} {name}: {test['note']}",
                                 endpoint=endpoint, factor=name))
        out[name] = entry
    return out, notes


def cox_results(cohort, endpoint: str) -> dict:
    """Univariable models for every candidate, then the multivariable model by the plan's rule."""
    from analysis.stats.cox import TIES, fit_cox

    plan = cohort.plan
    alpha = plan.alpha
    spec = plan["cox"]
    threshold = float(spec["selection"]["threshold"])
    min_epv = float(spec.get("min_events_per_variable", 10))
    monotone = spec.get("monotone_likelihood", "not_estimable")
    time, event = _endpoint_data(cohort, endpoint)
    label = endpoint.upper()
    notes: list[dict] = []

    def ph_notes(model: dict, kind: str, factor: str | None = None) -> None:
        ph = model.get("ph_test")
        if not ph:
            return
        where = f"{kind} {factor}" if factor else kind
        subject = f"{endpoint}/{kind}" + (f"/{factor}" if factor else "")
        global_p = ph["global"]["p"]
        if significant(global_p, alpha):
            notes.append(warning("proportional_hazards", subject,
                                 f"{label} {where}: proportional-hazards test fails (global P = {global_p:.3g})",
                                 endpoint=endpoint, model=kind, term=None, p=global_p))
        for term, test in ph["terms"].items():
            if significant(test["p"], alpha) and len(ph["terms"]) > 1:
                notes.append(warning("proportional_hazards", f"{subject}/{term}",
                                     f"{label} {where}: proportional-hazards test fails for {term} "
                                     f"(P = {test['p']:.3g})",
                                     endpoint=endpoint, model=kind, term=term, p=test["p"]))

    univariable, models, selected = [], {}, []
    ph_panels: list[dict] = []  # the scaled-Schoenfeld figure: one panel per factor failing cox.zph
    for name in plan.cox_candidates:
        model = fit_cox(time, event, cohort.factors, [name], alpha=alpha, monotone=monotone)
        models[name] = {k: model[k] for k in ("n", "events", "references", "factor_p", "ph_test", "ph_test_note",
                                              "converged", "method", "lr_test", "warnings", "epv")}
        univariable.extend(model["terms"])
        ph_panels.extend({"model": "univariable", "factor": factor, **panel}
                         for factor, panel in model["ph_residuals"].items())
        notes.extend(warning("cox_fit", f"{endpoint}/univariable/{name}", f"{label} univariable: {w}",
                             endpoint=endpoint, model="univariable", factor=name) for w in model["warnings"])
        ph_notes(model, "univariable", name)
        factor_p = model["factor_p"].get(name, {}).get("p")
        unestimable = any(t["hr"] is None for t in model["terms"])
        if factor_p is not None and factor_p < threshold:
            if unestimable:
                notes.append(warning("not_entered", f"{endpoint}/multivariable/{name}",
                                     f"{label}: {name} not entered in the multivariable model "
                                     "(hazard ratio not estimable)", endpoint=endpoint, factor=name, p=factor_p))
            else:
                selected.append(name)

    result = {
        "univariable": univariable,
        "univariable_models": models,
        "selected": selected,
        "selection": {"rule": spec["selection"]["rule"], "threshold": threshold},
        "ties": TIES,
        "multivariable": [],
        "multivariable_model": None,
        "epv": None,
        "ph_test": None,
    }
    if selected:
        model = fit_cox(time, event, cohort.factors, selected, alpha=alpha, monotone=monotone)
        result["multivariable"] = model["terms"]
        result["multivariable_model"] = {
            k: model[k] for k in ("n", "events", "n_parameters", "references", "factor_p", "converged", "log_likelihood",
                                  "log_likelihood_null", "lr_test", "wald_test", "score_test", "iterations", "method",
                                  "ph_test_note", "warnings")
        }
        result["epv"] = model["epv"]
        result["ph_test"] = model["ph_test"]
        ph_panels.extend({"model": "multivariable", "factor": factor, **panel}
                         for factor, panel in model["ph_residuals"].items())
        notes.extend(warning("cox_fit", f"{endpoint}/multivariable", f"{label} multivariable: {w}",
                             endpoint=endpoint, model="multivariable") for w in model["warnings"])
        if model["epv"] is not None and model["epv"] < min_epv:
            notes.append(warning(
                "low_epv", f"{endpoint}/multivariable",
                f"{label} multivariable: {model['events']} events for {model['n_parameters']} "
                f"parameter{'' if model['n_parameters'] == 1 else 's'} "
                f"(EPV {model['epv']:.1f} < {min_epv:g}); estimates may be unstable",
                endpoint=endpoint, events=model["events"], n_parameters=model["n_parameters"],
                epv=model["epv"], min_epv=min_epv))
        ph_notes(model, "multivariable")
    else:
        notes.append(warning("no_multivariable", f"{endpoint}/multivariable",
                             f"{label}: no factor with univariable P < {threshold:g}; no multivariable model",
                             endpoint=endpoint, threshold=threshold))
    result["ph_residuals"] = ph_panels
    result["warnings"] = notes
    return result


def table1_results(cohort) -> dict:
    from analysis.stats.baseline import describe

    spec = cohort.plan["table1"]
    out = {
        "patient": describe(cohort.patients, spec["patient"]),
        "lesion": describe(cohort.lesions, spec["lesion"]),
        "n_patients": int(len(cohort.patients)),
        "n_lesions": int(len(cohort.lesions)),
    }
    # optional: the plan may name factors to stratify Table 1 by (``table1.stratify_by``)
    stratified = {}
    for name in spec.get("stratify_by", []) or []:
        column = cohort.factors[name]
        levels = [str(level) for level in column.cat.categories]
        stratified[name] = {
            "levels": levels,
            "n": {level: int((column == level).sum()) for level in levels},
            "rows": describe(cohort.patients, spec["patient"], groupby=column, group_levels=levels),
        }
    out["stratified"] = stratified
    return out


def _plan_section(plan) -> dict:
    spec = plan["cox"]
    return {
        "file": _display_path(plan.path),
        "sha256": _sha256(Path(plan.path)),
        "alpha": plan.alpha,
        "confidence_level": 1 - plan.alpha,
        "endpoints": list(plan.endpoints),
        "median_ci_method": plan.median_ci_method,
        "ci_transform": plan.ci_transform,
        "ties": plan["survival"].get("ties", "efron"),
        "landmarks": plan.landmarks,
        "at_risk_times": plan.at_risk_times,
        "time_unit": plan["time"]["unit"],
        "days_per_unit": plan.days_per_unit,
        "selection_rule": {"rule": spec["selection"]["rule"], "threshold": spec["selection"]["threshold"]},
        "min_events_per_variable": spec.get("min_events_per_variable"),
        "min_level_size": plan.min_level_size,
        "ph_test": spec.get("ph_test"),
        "monotone_likelihood": spec.get("monotone_likelihood", "not_estimable"),
        "major_classes": plan.major_classes,
        "minor_classes": list(plan["complications"]["minor_classes"]),
        "derived": plan["derived"],
        "factors": {
            name: {"label": f.label, "levels": list(f.levels), "reference": f.reference, "ordered": f.ordered}
            for name, f in plan.factors.items()
        },
        "logrank_factors": plan.logrank_factors,
        "cox_candidates": plan.cox_candidates,
    }


def check_plan(plan) -> None:
    """The plan settings the statistics read; a bad one is reported like bad data (exit status 2)."""
    from analysis.data.errors import DataError, Problem
    from analysis.stats.km import TRANSFORMS
    from analysis.stats.median_ci import METHODS

    name = Path(plan.path).name
    problems = []

    def bad(key: str, value, rule: str) -> None:
        problems.append(Problem(file=name, line=None, column=key, value=str(value), rule=rule))

    survival = plan.raw.get("survival", {})
    if survival.get("median_ci_method") not in METHODS:
        bad("survival.median_ci_method", survival.get("median_ci_method"), f"must be one of {', '.join(METHODS)}")
    if survival.get("ci_transform") not in TRANSFORMS:
        bad("survival.ci_transform", survival.get("ci_transform"), f"must be one of {', '.join(TRANSFORMS)}")
    alpha = survival.get("alpha")
    if not isinstance(alpha, (int, float)) or not 0 < float(alpha) < 1:
        bad("survival.alpha", alpha, "must be a number between 0 and 1")
    if survival.get("ties", "efron") != "efron":
        bad("survival.ties", survival.get("ties"), "only 'efron' is implemented (R coxph's default)")
    cox = plan.raw.get("cox", {})
    from analysis.stats.cox import MONOTONE_OPTIONS

    if cox.get("monotone_likelihood", "not_estimable") not in MONOTONE_OPTIONS:
        bad("cox.monotone_likelihood", cox.get("monotone_likelihood"), f"must be one of {', '.join(MONOTONE_OPTIONS)}")
    selection = cox.get("selection", {})
    if selection.get("rule") != "univariable_p_below":
        bad("cox.selection.rule", selection.get("rule"), "only 'univariable_p_below' is implemented")
    threshold = selection.get("threshold")
    if not isinstance(threshold, (int, float)) or not 0 < float(threshold) <= 1:
        bad("cox.selection.threshold", threshold, "must be a number in (0, 1]")
    for key, names in (("logrank_factors", plan.raw.get("logrank_factors", [])), ("cox.candidates", cox.get("candidates", []))):
        for factor in names:
            if factor not in plan.raw.get("factors", {}):
                bad(key, factor, "is not a factor defined under 'factors'")
    if problems:
        raise DataError(problems)


def compute_results(cohort) -> dict:
    """The results dict of docs/ARCHITECTURE.md for ``cohort`` (JSON-ready after ``to_jsonable``)."""
    check_plan(cohort.plan)
    from analysis.stats.followup import median_followup
    from analysis.stats.technical import complication_outcomes, technical_outcomes

    plan = cohort.plan
    patients = cohort.patients
    results: dict = {
        "schema_version": SCHEMA_VERSION,
        "synthetic": bool(cohort.is_synthetic),
        "data": {
            "directory": _display_path(cohort.data_dir),
            "files": dict(sorted(cohort.provenance.items())),
            "corrections": _corrections_for_results(cohort),
            "warnings": list(cohort.warnings),
        },
        "plan": _plan_section(plan),
        "software": _software_versions(),
        "n_patients": int(len(patients)),
        "n_lesions": int(len(cohort.lesions)),
        "n_sessions": int(len(cohort.sessions)),
        "flow": flow(cohort),
        # The treatment period the Methods state (first lung ablation dates).
        "enrolment": {
            "first_ablation": patients["first_ablation_date"].min().date().isoformat(),
            "last_ablation": patients["first_ablation_date"].max().date().isoformat(),
        },
    }
    warnings = [warning("data", "data", f"data: {w}") for w in cohort.warnings]

    results["km"] = {}
    results["logrank"] = {}
    results["cox"] = {}
    for endpoint in plan.endpoints:
        groups = group_curves(cohort, endpoint)
        summary, curves = endpoint_results(cohort, endpoint, groups)
        summary["label"] = plan.endpoints[endpoint].get("label", endpoint)
        results[endpoint] = summary
        results["km"][endpoint] = curves
        results["logrank"][endpoint], notes = logrank_results(cohort, endpoint, groups)
        warnings.extend(notes)
        results["cox"][endpoint] = cox_results(cohort, endpoint)
        warnings.extend(results["cox"][endpoint]["warnings"])

    results["followup"] = median_followup(
        patients["followup_months"].to_numpy(dtype=float),
        patients["os_event"].to_numpy(dtype=int),
        alpha=plan.alpha,
        transform=plan.ci_transform,
        median_ci_method=plan.median_ci_method,
    )

    technical = technical_outcomes(patients, cohort.lesions, alpha=plan.alpha)
    complications = complication_outcomes(
        patients, cohort.sessions, cohort.complications, SIR_CLASSES, plan.major_classes, alpha=plan.alpha
    )
    results["technical"] = technical
    results["complications"] = complications
    results["technical_success"] = technical["patient"]["success"]
    results["technical_efficacy"] = technical["patient"]["efficacy"]
    results["major_complications"] = complications["per_patient"]["major"]

    results["table1"] = table1_results(cohort)
    results["decisions"] = decisions(results)
    results["warnings"] = warnings
    results = to_jsonable(results)
    from analysis.reproduction import reproduction_rows

    results["reproduction"] = to_jsonable([row.__dict__ for row in reproduction_rows(results)])
    return check(results, "computed results")


# What the results file keeps of an applied correction of patient data: which variable of which
# file it changed. Record ids, old and new values and reasons are individual patient data: they go
# only to the internal audit report (analysis.publish), never into a file meant to be shared.
PATIENT_DATA_CORRECTION_FIELDS = ("correction_id", "file", "column")


def _corrections_for_results(cohort) -> list[dict]:
    """The applied ledger rows: in full for synthetic data, only the changed variables for patient data."""
    if cohort.corrections is None:
        return []
    rows = cohort.corrections.to_dict(orient="records")
    if cohort.is_synthetic:
        return rows
    return [{key: row.get(key) for key in PATIENT_DATA_CORRECTION_FIELDS} for row in rows]


def decisions(results: dict) -> dict:
    """The judgements the text prints, made once here: which factors are significant, their levels
    ranked (lowest observed/expected events first), and the factors significant for every endpoint."""
    plan = results["plan"]
    alpha = plan["alpha"]
    # A difference resting on a level with fewer patients than the plan's minimum is not claimed.
    min_size = int(plan.get("min_level_size") or 1)
    endpoints = {}
    for endpoint in plan["endpoints"]:
        found, small = [], []
        for name in plan["logrank_factors"]:
            test = results["logrank"][endpoint].get(name)
            if not test or not significant(test.get("p"), alpha):
                continue
            sizes = sorted((int(g["n"]), level) for level, g in test["groups"].items() if g.get("n"))
            if sizes and sizes[0][0] < min_size:
                small.append({"factor": name, "label": test.get("label", name), "p": test["p"],
                              "level": sizes[0][1], "n": sizes[0][0]})
                continue
            ratios = sorted((g["events"] / g["expected"] if g.get("expected") else float("inf"), level)
                            for level, g in test["groups"].items() if g.get("n", 1))
            found.append({"factor": name, "label": test.get("label", name), "p": test["p"],
                          "levels_best_first": [level for _, level in ratios]})
        endpoints[endpoint] = {"significant_factors": found, "small_level_factors": small}
    named = [[f["factor"] for f in endpoints[e]["significant_factors"]] for e in plan["endpoints"]]
    every = [name for name in (named[0] if named else []) if all(name in other for other in named[1:])]
    return {"alpha": alpha, "endpoints": endpoints, "factors_all_endpoints": every}


def default_output() -> Path:
    return paths.DEFAULT_OUTPUT / "results.json"


# The modules the load and the computation import on first use: ``run`` imports them before the data
# (paths.imports_uncollected). One missing here is only imported later, with the collector on.
STAGE_MODULES = ("analysis.plan", "analysis.plan_schema", "analysis.data.cohort", "analysis.data.load",
                 "analysis.data.derive", "analysis.stats.km", "analysis.stats.median_ci", "analysis.stats.logrank",
                 "analysis.stats.cox", "analysis.stats.efron", "analysis.stats.followup", "analysis.stats.technical",
                 "analysis.stats.baseline", "analysis.stats.distributions", "analysis.reproduction")


def run(args) -> int:
    """``python -m analysis results``: load, compute, write; prints where the file went."""
    from importlib import import_module

    with paths.imports_uncollected():
        for name in STAGE_MODULES:
            import_module(name)
    from analysis.data import load_cohort
    from analysis.plan import load_plan

    plan = load_plan(getattr(args, "plan", None))
    cohort = load_cohort(getattr(args, "data", None), plan=plan)
    results = compute_results(cohort)
    out = write_results(results, getattr(args, "out", None) or default_output())
    print(f"results: {len(results['warnings'])} warning(s); written to {out}")
    for record in results["warnings"]:
        print(f"  warning: {record['message']}", file=sys.stderr)
    return 0
