"""Table builders: results dict -> ``Table``. They read the results dict only.

Every number is formatted by ``analysis.tables.theme``; every label comes
from the results (which carry the plan's labels), so the builders know no
study facts.
"""

from __future__ import annotations

from analysis.tables import theme
from analysis.tables.model import Table

MEDIAN_CI_NAMES = {
    "spss": "symmetric CI, SE from Greenwood's formula and a density estimate (Klein & Moeschberger; as SPSS)",
    "brookmeyer_crowley": "Brookmeyer-Crowley CI from the log-log pointwise band (as R survfit)",
}


def _factor_label(results: dict, name: str) -> str:
    return results.get("plan", {}).get("factors", {}).get(name, {}).get("label", name)


def term_label(results: dict, term: str) -> str:
    """A Cox term as a publication label: 'bclc_group[C-D]' -> 'Initial BCLC stage: C-D vs 0-B'."""
    name, bracket, level = term.partition("[")
    factor = results.get("plan", {}).get("factors", {}).get(name)
    if not bracket or not factor:
        return term
    level = level.removesuffix("]")
    reference = factor.get("reference") or (factor.get("levels") or [""])[0]
    return f"{factor.get('label', name)}: {level} vs {reference}"


def _ci(results: dict) -> str:
    """'95% CI' at the plan's confidence level (1 - alpha)."""
    return theme.confidence_label(results["plan"]["alpha"])


def _endpoint_label(results: dict, endpoint: str) -> str:
    return results.get(endpoint, {}).get("label") or endpoint.upper()


# --------------------------------------------------------------------------- Table 1


def _describe_cells(row: dict) -> tuple[str, list[tuple[str, str]]]:
    """(value for the variable's own line, [(level label, value)] for its level lines)."""
    if row["type"] == "continuous":
        if row.get("summary") == "median_iqr":
            return theme.median_iqr(row.get("median"), row.get("q1"), row.get("q3")), []
        return theme.mean_sd(row.get("mean"), row.get("sd")), []
    return "", [(lvl["level"], theme.n_percent(lvl["count"], lvl["proportion"])) for lvl in row["levels"]]


def _label_with_summary(row: dict) -> str:
    if row["type"] == "continuous":
        suffix = "median (IQR)" if row.get("summary") == "median_iqr" else f"mean {theme.PLUS_MINUS} SD"
        return f"{row['label']}, {suffix}"
    return f"{row['label']}, n (%)"


def _describe_table(rows: list[dict], title: str, first_header: str, n: int, name: str, unit: str) -> Table:
    table = Table(title=title, header=["Characteristic", f"{first_header} (n = {n})"], name=name)
    any_missing = False
    for row in rows:
        value, levels = _describe_cells(row)
        table.add(_label_with_summary(row), value)
        for level, text in levels:
            table.add(level, text, indent=1)
        if row.get("missing"):
            any_missing = True
            table.add("Missing", str(row["missing"]), indent=1)
    table.note(f"Percentages are of the {unit} with a known value.")
    if any_missing:
        table.note("Missing: number of " + unit + " without a recorded value.")
    table.note("IQR, interquartile range; SD, standard deviation.")
    return table


def tbl_baseline(results: dict, stratified_by: str | None = None) -> Table:
    """Baseline characteristics of the patients (Table 1); optionally stratified with P and SMD."""
    t1 = results["table1"]
    if stratified_by is None:
        table = _describe_table(t1["patient"], "Baseline characteristics of the patients", "All patients",
                                t1["n_patients"], "baseline", "patients")
        table.note("AFP, alpha-fetoprotein; BCLC, Barcelona Clinic Liver Cancer; ECOG, Eastern Cooperative "
                   "Oncology Group; HCC, hepatocellular carcinoma; PO, pulmonary oligometastasis.")
        return table
    strat = t1["stratified"][stratified_by]
    levels = strat["levels"]
    header = ["Characteristic", f"All patients (n = {t1['n_patients']})"]
    header += [f"{level} (n = {strat['n'][level]})" for level in levels] + ["P", "SMD"]
    table = Table(
        title=f"Baseline characteristics of the patients by {_factor_label(results, stratified_by).lower()}",
        header=header,
        name=f"baseline_by_{stratified_by}",
    )
    for row in strat["rows"]:
        smd_values = [abs(v) for v in (row.get("smd") or {}).values() if v is not None]
        smd_text = theme.smd(max(smd_values)) if smd_values else theme.MISSING
        p_text = theme.p_value(row.get("p"))
        if row["type"] == "continuous":
            groups = [_describe_cells({**row["groups"][g], "type": "continuous", "summary": row.get("summary")})[0]
                      for g in levels]
            table.add(_label_with_summary(row), _describe_cells(row)[0], *groups, p_text, smd_text)
            continue
        table.add(_label_with_summary(row), "", *[""] * len(levels), p_text, smd_text)
        for i, level in enumerate(row["levels"]):
            groups = [theme.n_percent(row["groups"][g]["levels"][i]["count"], row["groups"][g]["levels"][i]["proportion"])
                      for g in levels]
            table.add(level["level"], theme.n_percent(level["count"], level["proportion"]), *groups, "", "", indent=1)
    table.note("P: chi-squared or Fisher's exact test (categorical), Welch's t-test (mean ± SD) or "
               "Kruskal-Wallis test (median, IQR), as computed by tableone. SMD, standardised mean difference "
               "(largest absolute pairwise value).")
    return table


def tbl_lesions(results: dict) -> Table:
    """Characteristics of the treated POs (lesion level)."""
    t1 = results["table1"]
    table = _describe_table(t1["lesion"], "Characteristics of the treated pulmonary oligometastases", "All POs",
                            t1["n_lesions"], "lesions", "POs")
    table.note("LLL, left lower lobe; LUL, left upper lobe; MWA, microwave ablation; PO, pulmonary "
               "oligometastasis; RFA, radiofrequency ablation; RLL, right lower lobe; RML, right middle lobe; "
               "RUL, right upper lobe.")
    return table


# --------------------------------------------------------------------------- technical outcomes


# Complication codes of the data contract as en-GB words (the codes keep the contract's spelling).
COMPLICATION_LABELS = {"pneumothorax": "pneumothorax", "pleural_effusion": "pleural effusion",
                       "hemorrhage": "haemorrhage", "hemoptysis": "haemoptysis", "infection": "infection",
                       "pain": "pain", "fever": "fever", "other": "other"}


def complication_label(code: str) -> str:
    return COMPLICATION_LABELS.get(code, code.replace("_", " "))


def _proportion_row(table: Table, label: str, item: dict | None, indent: int = 1) -> None:
    if not item:
        table.add(label, theme.MISSING, theme.MISSING, indent=indent)
        return
    lo, hi = item["ci"]
    table.add(label, theme.n_of_n(item["count"], item["denominator"]),
              theme.percent_ci(item["proportion"], lo, hi), indent=indent)


def tbl_technical_outcomes(results: dict) -> Table:
    """Technical success and efficacy (per PO and per patient) and complications."""
    table = Table(
        title="Technical outcomes and complications",
        header=["Outcome", "n/N", f"% ({_ci(results)})"],
        name="technical",
    )
    technical = results["technical"]
    table.add("Technical success", heading=True)
    _proportion_row(table, "Per PO", technical["lesion"]["success"])
    _proportion_row(table, "Per patient", technical["patient"]["success"])
    table.add("Technical efficacy", heading=True)
    _proportion_row(table, "Per PO", technical["lesion"]["efficacy"])
    _proportion_row(table, "Per patient", technical["patient"]["efficacy"])

    comp = results["complications"]
    major = ", ".join(comp.get("major_classes", []))
    table.add("Complications, per patient", heading=True)
    _proportion_row(table, "Any", comp["per_patient"]["any"])
    _proportion_row(table, f"Major (SIR class {major})" if major else "Major", comp["per_patient"]["major"])
    _proportion_row(table, "Minor", comp["per_patient"]["minor"])
    table.add("Complications, per session", heading=True)
    _proportion_row(table, "Any", comp["per_session"]["any"])
    _proportion_row(table, "Major", comp["per_session"]["major"])
    _proportion_row(table, "Minor", comp["per_session"]["minor"])
    table.add("Patients by complication type", heading=True)
    for kind, item in comp["by_type"].items():
        _proportion_row(table, complication_label(kind).capitalize(), item["patients"])
    table.add("Patients by SIR class", heading=True)
    for cls, item in comp["by_sir_class"].items():
        if item["events"]:
            _proportion_row(table, f"Class {cls}", item["patients"])
    table.note(f"{_ci(results)}: exact (Clopper-Pearson) confidence interval. Technical success: PO ablated as planned; "
               "technical efficacy: complete ablation at the first follow-up CT; per patient, all of the patient's POs.")
    table.note(f"Complications graded by the Society of Interventional Radiology (SIR) classification; "
               f"major = class {major or 'C-F'}. A patient or session is counted once per row.")
    table.note("PO, pulmonary oligometastasis.")
    return table


# --------------------------------------------------------------------------- survival


def tbl_logrank(results: dict, endpoint: str) -> Table:
    """Median survival by factor level with the log-rank test (and test for trend)."""
    label = _endpoint_label(results, endpoint)
    method = results.get(endpoint, {}).get("median_ci_method") or results.get("plan", {}).get("median_ci_method")
    table = Table(
        title=f"{label} by factor: Kaplan-Meier medians and log-rank tests",
        header=["Factor", "n", "Events", f"Median, months ({_ci(results)})", "P"],
        name=f"logrank_{endpoint}",
    )
    tests = results["logrank"][endpoint]
    order = [n for n in results.get("plan", {}).get("logrank_factors", []) if n in tests]
    bare_median = False
    for name in order + sorted(n for n in tests if n not in order):
        test = tests[name]
        p_text = theme.p_value(test["p"]) if test.get("applicable", True) else "n/a"
        table.add(test.get("label") or _factor_label(results, name), "", "", "", p_text, heading=True)
        # level order from the plan (the JSON file sorts dict keys alphabetically)
        plan_levels = results.get("plan", {}).get("factors", {}).get(name, {}).get("levels", [])
        levels = [lvl for lvl in plan_levels if lvl in test["groups"]]
        levels += [lvl for lvl in test["groups"] if lvl not in levels]
        for level in levels:
            group = test["groups"][level]
            lo, hi = group["median_ci"]
            median = theme.median_ci(group["median"], lo, hi)
            if group["median"] is not None and lo is None and hi is None:
                median += "\u1d47"  # a bare median: the note says why it has no CI
                bare_median = True
            table.add(level, str(group["n"]), str(group["events"]), median, "", indent=1)
        if test.get("trend"):
            table.add("Test for trend", "", "", "", theme.p_value(test["trend"]["p"]), indent=1)
        if test.get("note"):
            table.note(f"{test.get('label') or name}: {test['note']}.")
    table.note(f"Median: Kaplan-Meier estimate; {_ci(results)}: {MEDIAN_CI_NAMES.get(method, method)}. "
               f"NR, not reached (fewer than half of the group had the event, or the upper confidence limit was "
               f"not reached). P: log-rank test; test for trend: log-rank test for trend over ordered levels; "
               f"n/a, no test possible (one group, or no events).")
    if bare_median:
        table.note("\u1d47 Median without CI: with these data the chosen method gives no confidence interval for it "
                   "(the curve or its confidence band does not reach the levels the interval needs).")
    return table


def tbl_cox(results: dict, endpoint: str) -> Table:
    """Univariable and multivariable Cox models side by side."""
    cox = results["cox"][endpoint]
    label = _endpoint_label(results, endpoint)
    table = Table(
        title=f"Univariable and multivariable Cox regression for {label.lower()}",
        header=["Factor", f"Univariable HR ({_ci(results)})", "P", f"Multivariable HR ({_ci(results)})", "P"],
        name=f"cox_{endpoint}",
    )
    multi = {row["term"]: row for row in cox["multivariable"]}
    models = cox.get("univariable_models", {})
    multi_model = cox.get("multivariable_model") or {}
    selected = set(cox.get("selected", []))
    present = list(models) or list(dict.fromkeys(row["factor"] for row in cox["univariable"]))
    order = [n for n in results.get("plan", {}).get("cox_candidates", []) if n in present]
    factors = order + sorted(n for n in present if n not in order)
    marks_used = set()
    ne_reasons: list[str] = []  # the true reasons, as the statistics give them

    def estimate(row: dict | None) -> str:
        if row is None:
            return theme.MISSING
        if row.get("hr") is None:
            marks_used.add("ne")
            reason = row.get("reason") or row.get("warning")
            if reason and reason not in ne_reasons:
                ne_reasons.append(reason)
            return "NE\u1d43"
        lo, hi = row["ci"]
        return theme.hr_ci(row["hr"], lo, hi)

    for name in factors:
        model = models.get(name, {})
        reference = (model.get("references") or {}).get(name, {})
        levels_rows = [row for row in cox["univariable"] if row["factor"] == name]
        multilevel = len(levels_rows) > 1
        uni_factor_p = (model.get("factor_p") or {}).get(name, {}).get("p")
        multi_factor_p = (multi_model.get("factor_p") or {}).get(name, {}).get("p") if name in selected else None
        if multilevel:
            marks_used.add("lr")
            table.add(
                _factor_label(results, name),
                "",
                theme.p_value(uni_factor_p),
                "",
                theme.p_value(multi_factor_p) if name in selected else "",
                heading=True,
            )
        else:
            table.add(_factor_label(results, name), heading=True)
        table.add(reference.get("level", "Reference"), theme.REFERENCE, "",
                  theme.REFERENCE if name in selected else "", "", indent=1)
        for row in levels_rows:
            m_row = multi.get(row["term"])
            table.add(
                row["level"],
                estimate(row),
                "" if multilevel else theme.p_value(row.get("p")),
                estimate(m_row) if name in selected else "",
                "" if multilevel or name not in selected else theme.p_value(m_row.get("p") if m_row else None),
                indent=1,
            )
    threshold = cox.get("selection", {}).get("threshold")
    events = results.get(endpoint, {}).get("events")
    # Factors that met the selection rule but were left out (a hazard ratio not estimable).
    left_out = [name for name in factors if name not in selected and threshold is not None
                and ((models.get(name, {}).get("factor_p") or {}).get(name, {}).get("p") or 1) < threshold]
    if events == 0:
        no_model = "; no event occurred, so no model could be fitted."
    elif left_out:
        no_model = ("; no factor entered it: " + ", ".join(_factor_label(results, n) for n in left_out)
                    + " met the criterion, but a hazard ratio could not be estimated.")
    else:
        no_model = "; no factor met the criterion."
    table.note(
        "HR, hazard ratio; CI, confidence interval. Cox proportional-hazards models with Efron's method for tied "
        "event times; P: Wald test."
    )
    if "lr" in marks_used:
        table.note("For factors with more than two levels the P on the factor's line is a likelihood-ratio test.")
    if threshold is not None:
        table.note(
            f"Multivariable model: factors with univariable P < {threshold:g}"
            + (
                f"; {multi_model.get('n')} patients, {multi_model.get('events')} events, "
                f"{multi_model.get('n_parameters')} parameter{'' if multi_model.get('n_parameters') == 1 else 's'} "
                f"(events per variable {cox['epv']:.1f})."
                if cox.get("multivariable") and cox.get("epv") is not None
                else no_model
            )
        )
    if cox.get("ph_test"):
        glob = cox["ph_test"]["global"]
        table.note(
            "Proportional-hazards assumption (scaled Schoenfeld residuals), multivariable model: global "
            f"{theme.p_text(glob['p'])}."
        )
    if "ne" in marks_used:
        if events == 0:
            table.note("\u1d43 NE, not estimable: no event occurred, so no hazard ratio can be estimated.")
        else:
            why = "; ".join(ne_reasons) if ne_reasons else "no hazard ratio could be estimated"
            table.note(f"\u1d43 NE, not estimable ({why}); no hazard ratio is given.")
    for warning in cox.get("warnings", []):
        if warning["kind"] == "low_epv":
            v = warning["values"]
            table.note(f"Caution: {v['events']} events for {v['n_parameters']} parameters (events per variable "
                       f"{theme.number(v['epv'], 1)} < {v['min_epv']:g}); estimates may be unstable.")
    return table
