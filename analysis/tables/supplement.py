"""Supplement tables: provenance, corrections, reproduction, median CIs, PH checks, software.

Like ``analysis.tables.builders`` they read the results dict only and format
every number through ``analysis.tables.theme``.
"""

from __future__ import annotations

from analysis.safe_text import Inert
from analysis.tables import theme
from analysis.tables.builders import MEDIAN_CI_NAMES, _endpoint_label, _factor_label, term_label
from analysis.tables.model import Table


def tbl_provenance(results: dict) -> Table:
    table = Table(title="Input files", header=["File", "SHA-256"], name="provenance", align=["l", "l"])
    for name, digest in sorted(results["data"]["files"].items()):
        table.add(name, digest).styles[1] = "code"
    return table


CORRECTION_FIELDS = ("correction_id", "file", "record_id", "column", "old_value", "new_value", "reason",
                     "corrected_on", "corrected_by")


def tbl_corrections(results: dict) -> Table:
    """The corrections applied. Every cell is ledger text, written inert (``safe_text.Inert``).

    Synthetic data: every correction, row by row. Patient data: only how many corrections
    changed which variable; the rows (patient ids, old and new values) are individual patient
    data and go to the internal audit report (``tbl_corrections_audit``), never to a document.
    """
    corrections = results["data"].get("corrections") or []
    if not results.get("synthetic") and corrections:
        table = Table(title="Corrections applied", header=["File", "Variable", "Corrections"],
                      name="corrections", align=["l", "l", "r"])
        counts: dict[tuple[str, str], int] = {}
        for row in corrections:
            key = (str(row.get("file") or ""), str(row.get("column") or ""))
            counts[key] = counts.get(key, 0) + 1
        for (file, column), count in sorted(counts.items()):
            table.add(Inert(file), Inert(column), str(count))
        table.note("Individual corrections (record, old and new value, reason) are listed in the internal "
                   "audit report written beside the outputs, not in this document.")
        return table
    table = Table(title="Corrections applied",
                  header=["Id", "File", "Record", "Column", "Old value", "New value", "Reason", "Corrected on", "By"],
                  name="corrections", align=["l"] * 9)
    for row in corrections:
        table.add(*(Inert(row.get(key, "") or "") for key in CORRECTION_FIELDS))
    if not corrections:
        table.add("None", *[""] * 8)
        table.note("The data directory holds no corrections file, or it lists no correction.")
    return table


def tbl_corrections_audit(rows: list[dict]) -> Table:
    """Every applied correction in full (the cohort's ledger rows): the internal audit report (not for
    publication; the results file of patient data keeps only which variables were corrected)."""
    table = Table(title="Corrections applied (internal audit report: individual patient data, not for publication)",
                  header=list(CORRECTION_FIELDS), name="corrections-audit", align=["l"] * 9)
    for row in rows:
        table.add(*(Inert(row.get(key, "") or "") for key in CORRECTION_FIELDS))
    return table


def tbl_reproduction(rows: list) -> Table:
    """``rows``: ``analysis.reproduction.reproduction_rows(results)``."""
    table = Table(title="Published versus computed results",
                  header=["Quantity", "Published", "Computed", "Match"], name="reproduction",
                  align=["l", "r", "r", "c"])
    for row in rows:
        added = table.add(row.quantity, row.published, row.computed, "yes" if row.match else "no")
        if not row.match:
            added.styles[3] = "strong"
    matched = sum(row.match for row in rows)
    table.note(f"{matched} of {len(rows)} published quantities reproduced. Numbers are compared at the "
               "precision printed in the publication; n.s., not significant (P at or above the plan's alpha).")
    return table


MEDIAN_CI_SHORT = {"spss": "symmetric (SPSS)", "brookmeyer_crowley": "Brookmeyer-Crowley (R survfit)"}


def tbl_median_ci(results: dict) -> Table:
    table = Table(title="Median survival by two confidence-interval methods",
                  header=["Endpoint", "Median, months", *[f"{theme.confidence_label(results['plan']['alpha'])}, {MEDIAN_CI_SHORT.get(m, m)}"
                                                     for m in MEDIAN_CI_NAMES]],
                  name="median_ci")
    for endpoint in results["plan"]["endpoints"]:
        item = results[endpoint]
        cis = [item["median_ci_by_method"].get(method) or [None, None] for method in MEDIAN_CI_NAMES]
        table.add(_endpoint_label(results, endpoint), theme.months(item["median"]),
                  *[theme.ci(lo, hi, theme.DECIMALS["months"]) if (lo, hi) != (None, None)
                    else ("not estimable" if item["median"] is not None else "–") for lo, hi in cis])
    for method, text in MEDIAN_CI_NAMES.items():
        table.note(f"{MEDIAN_CI_SHORT.get(method, method)}: {text}.")
    table.note("NR, not reached; not estimable: the method gives no interval for this median with these data "
               "(the curve or its confidence band does not reach the levels the interval needs); –: no median.")
    chosen = results["plan"]["median_ci_method"]
    table.note(f"The manuscript reports the {MEDIAN_CI_SHORT.get(chosen, chosen)} interval (analysis plan).")
    return table


def tbl_ph(results: dict) -> Table:
    """PH tests of the multivariable models, and every univariable term that fails the test."""
    alpha = results["plan"].get("alpha", 0.05)
    table = Table(title="Proportional-hazards tests", header=["Model and term", "Chi-square", "P"], name="ph")

    def ph_label(key: str) -> str:  # cox.zph reports per factor ('bclc_group'); a term key has a level
        return term_label(results, key) if "[" in key else _factor_label(results, key)

    for endpoint in results["plan"]["endpoints"]:
        cox = results["cox"][endpoint]
        label = _endpoint_label(results, endpoint)
        ph = cox.get("ph_test")
        selected = ", ".join(_factor_label(results, f) for f in cox.get("selected", []))
        table.add(f"{label}, multivariable model ({selected or 'no factor selected'})", heading=True)
        if not ph:
            note = (cox.get("multivariable_model") or {}).get("ph_test_note")
            table.add(f"Not computed: {note}" if note else "No multivariable model", indent=1)
        else:
            for key, test in sorted(ph.get("terms", {}).items()):
                table.add(ph_label(key), theme.chi2(test.get("chi2")), theme.p_value(test.get("p")), indent=1)
            glob = ph.get("global") or {}
            table.add("Global test", theme.chi2(glob.get("chi2")), theme.p_value(glob.get("p")), indent=1)
            table.add("Events per variable", theme.number(cox.get("epv"), 1), "", indent=1)
        models = cox.get("univariable_models") or {}
        # plan order (a results file read back has its keys sorted)
        order = [n for n in results["plan"].get("cox_candidates", []) if n in models]
        order += sorted(n for n in models if n not in order)
        failing = [(key, test) for name in order
                   for key, test in sorted(((models[name].get("ph_test") or {}).get("terms") or {}).items())
                   if test.get("p") is not None and test["p"] < alpha]
        if failing:
            table.add(f"{label}, univariable models: factors with P < {alpha:g}", heading=True)
            for key, test in failing:
                table.add(ph_label(key), theme.chi2(test.get("chi2")), theme.p_value(test.get("p")), indent=1)
    table.note("Score tests on scaled Schoenfeld residuals (Grambsch and Therneau) against the Kaplan-Meier "
               "transform of time, per factor and global, as R's cox.zph (survival >= 3.0). Events per variable below "
               f"{results['plan'].get('min_events_per_variable', 10)} flag a model at risk of overfitting. "
               f"Univariable models are listed only for factors with P < {alpha:g}; the hazard ratio of such a "
               "factor is an average over follow-up.")
    return table


def tbl_software(results: dict) -> Table:
    table = Table(title="Software", header=["Package", "Version"], name="software", align=["l", "l"])
    for name, version in sorted(results["software"].items()):
        table.add(name, str(version))
    return table


def tbl_strobe(rows: list[dict]) -> Table:
    """``rows``: ``analysis.strobe.checklist_rows(...)``: item, topic, the manuscript section reporting it."""
    table = Table(title="STROBE checklist for cohort studies", header=["Item", "Recommendation", "Reported in"],
                  name="strobe", align=["l", "l", "l"])
    for row in rows:
        where = row["where"]
        table.add(row["item"], row["topic"], f"**{where}**" if where == "not found" else where)
    missing = sum(row["where"] == "not found" for row in rows)
    table.note(f"Built from the manuscript's own text by the rules of journals/strobe-cohort.yml; {missing} of "
               f"{len(rows)} items not found (reported nowhere the checklist expects them). Items paraphrased from "
               "the STROBE statement (von Elm et al., 2007).")
    return table
