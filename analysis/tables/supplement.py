"""Supplement tables: provenance, corrections, reproduction, median CIs, PH checks, software.

Like ``analysis.tables.builders`` they read the results dict only and format
every number through ``analysis.tables.theme``.
"""

from __future__ import annotations

from analysis.tables import theme
from analysis.tables.builders import MEDIAN_CI_NAMES, _endpoint_label, _factor_label
from analysis.tables.model import Table


def tbl_provenance(results: dict) -> Table:
    table = Table(title="Input files", header=["File", "SHA-256"], name="provenance", align=["l", "l"])
    for name, digest in sorted(results["data"]["files"].items()):
        table.add(name, digest).styles[1] = "code"
    return table


def tbl_corrections(results: dict) -> Table:
    table = Table(title="Corrections applied",
                  header=["Id", "File", "Record", "Column", "Old value", "New value", "Reason", "Corrected on", "By"],
                  name="corrections", align=["l"] * 9)
    corrections = results["data"].get("corrections") or []
    for row in corrections:
        table.add(*(str(row.get(key, "") or "") for key in (
            "correction_id", "file", "record_id", "column", "old_value", "new_value", "reason",
            "corrected_on", "corrected_by")))
    if not corrections:
        table.add("None", *[""] * 8)
        table.note("The data directory holds no corrections file, or it lists no correction.")
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
                  *[theme.ci(lo, hi, theme.DECIMALS["months"]) for lo, hi in cis])
    for method, text in MEDIAN_CI_NAMES.items():
        table.note(f"{MEDIAN_CI_SHORT.get(method, method)}: {text}.")
    chosen = results["plan"]["median_ci_method"]
    table.note(f"The manuscript reports the {MEDIAN_CI_SHORT.get(chosen, chosen)} interval (analysis plan).")
    return table


def tbl_ph(results: dict) -> Table:
    table = Table(title="Proportional-hazards tests", header=["Model and term", "Chi-square", "P"], name="ph")
    for endpoint in ("pfs", "os"):
        cox = results["cox"][endpoint]
        label = _endpoint_label(results, endpoint)
        ph = cox.get("ph_test")
        selected = ", ".join(_factor_label(results, f) for f in cox.get("selected", []))
        table.add(f"{label}, multivariable model ({selected or 'no factor selected'})", heading=True)
        if not ph:
            table.add("No multivariable model", indent=1)
            continue
        for term, test in sorted(ph.get("terms", {}).items()):
            table.add(term, theme.chi2(test.get("chi2")), theme.p_value(test.get("p")), indent=1)
        glob = ph.get("global") or {}
        table.add("Global test", theme.chi2(glob.get("chi2")), theme.p_value(glob.get("p")), indent=1)
        table.add("Events per variable", theme.number(cox.get("epv"), 1), "", indent=1)
    table.note("Tests on scaled Schoenfeld residuals (Grambsch and Therneau). Events per variable below "
               f"{results['plan'].get('min_events_per_variable', 10)} flag a model at risk of overfitting.")
    return table


def tbl_software(results: dict) -> Table:
    table = Table(title="Software", header=["Package", "Version"], name="software", align=["l", "l"])
    for name, version in sorted(results["software"].items()):
        table.add(name, str(version))
    return table
