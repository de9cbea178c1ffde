"""The reproduction table: every published number next to the one computed from the data.

Rows come from ``published_results.yml`` (the only typed numbers) and the
results dict of ``analysis.results.compute_results``; nothing computed here is
typed. Columns: ``quantity``, ``published``, ``computed`` (the computed value
at the published precision), ``match``, plus ``id``, ``value`` (full
precision) and ``rule``.

Match rules:
* a number matches when the computed value, rounded half away from zero to
  the published number of decimals, equals the published value;
* a significant factor ("P < 0.01") matches when its P is below the
  threshold; every other plan factor matches when its P is >= the plan's
  alpha (not significant). Log-rank P for every factor in
  ``analysis_plan.yml`` logrank_factors; multivariable Cox factor P (Wald, or
  likelihood ratio for multi-level factors, as ``analysis.results`` reports)
  for the named factors; and the multivariable model's factor set (the
  univariable selection) must be exactly the named factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
from analysis.yaml_files import load_yaml

from analysis import paths

PUBLISHED_FILE = paths.PROJECT_ROOT / "published_results.yml"
ENDPOINT_LABEL = {"pfs": "PFS", "os": "OS"}


def load_published(path: str | Path | None = None) -> dict:
    with open(path or PUBLISHED_FILE, encoding="utf-8") as handle:
        return load_yaml(handle)


def round_half_up(value: float, decimals: int) -> Decimal:
    """Round as printed tables do (2.25 -> 2.3), on the shortest decimal text of the float."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _table1_row(results: dict, block: str, variable: str) -> dict:
    for row in results["table1"][block]:
        if row["variable"] == variable:
            return row
    raise KeyError(f"table1 {block} has no row {variable!r}")


def _level_count(row: dict, level: str) -> int:
    return next(item["count"] for item in row["levels"] if str(item["level"]) == level)


def _nonempty_levels(row: dict) -> list[float]:
    return [float(item["level"]) for item in row["levels"] if item["count"] > 0]


# id -> how to read the computed value from the results dict
EXTRACTORS = {
    "n_patients": lambda r: r["n_patients"],
    "n_lesions": lambda r: r["n_lesions"],
    "n_male": lambda r: _level_count(_table1_row(r, "patient", "sex"), "Male"),
    "n_female": lambda r: _level_count(_table1_row(r, "patient", "sex"), "Female"),
    "mean_age": lambda r: _table1_row(r, "patient", "age")["mean"],
    "pos_per_patient_min": lambda r: min(_nonempty_levels(_table1_row(r, "patient", "n_pos"))),
    "pos_per_patient_max": lambda r: max(_nonempty_levels(_table1_row(r, "patient", "n_pos"))),
    "mean_po_diameter": lambda r: _table1_row(r, "lesion", "diameter_cm")["mean"],
    "technical_success_pct": lambda r: 100 * r["technical_success"]["proportion"],
    "technical_efficacy_count": lambda r: r["technical_efficacy"]["count"],
    "technical_efficacy_pct": lambda r: 100 * r["technical_efficacy"]["proportion"],
    "major_complications_count": lambda r: r["major_complications"]["count"],
    "major_complications_pct": lambda r: 100 * r["major_complications"]["proportion"],
    "followup_median": lambda r: r["followup"]["median"],
    "followup_min": lambda r: r["followup"]["range"][0],
    "followup_max": lambda r: r["followup"]["range"][1],
    "pfs_median": lambda r: r["pfs"]["median"],
    "pfs_median_ci_lo": lambda r: r["pfs"]["median_ci"][0],
    "pfs_median_ci_hi": lambda r: r["pfs"]["median_ci"][1],
    "pfs_rate_12": lambda r: 100 * r["pfs"]["rates"]["12"]["estimate"],
    "pfs_rate_24": lambda r: 100 * r["pfs"]["rates"]["24"]["estimate"],
    "os_median": lambda r: r["os"]["median"],
    "os_median_ci_lo": lambda r: r["os"]["median_ci"][0],
    "os_median_ci_hi": lambda r: r["os"]["median_ci"][1],
    "os_rate_12": lambda r: 100 * r["os"]["rates"]["12"]["estimate"],
    "os_rate_24": lambda r: 100 * r["os"]["rates"]["24"]["estimate"],
    "os_rate_36": lambda r: 100 * r["os"]["rates"]["36"]["estimate"],
}


@dataclass(frozen=True)
class Row:
    id: str
    quantity: str
    published: str
    computed: str
    value: float | None
    match: bool
    rule: str


def _number_rows(results: dict, published: dict) -> list[Row]:
    rows = []
    for item in published["quantities"]:
        decimals = int(item["decimals"])
        target = Decimal(str(item["published"])).quantize(Decimal(1).scaleb(-decimals))
        try:
            value = EXTRACTORS[item["id"]](results)
        except (KeyError, TypeError, IndexError, StopIteration):
            value = None
        ok = value is not None and value == value  # not None, not NaN
        computed = round_half_up(value, decimals) if ok else None
        rows.append(Row(
            id=item["id"], quantity=item["label"], published=str(target),
            computed="NA" if computed is None else str(computed), value=float(value) if ok else None,
            match=computed is not None and computed == target, rule=f"rounds to {decimals} decimal(s)",
        ))
    return rows


def _p_text(p: float | None) -> str:
    if p is None or p != p:
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _significance_rows(results: dict, published: dict) -> list[Row]:
    alpha = float(results.get("plan", {}).get("alpha", 0.05))
    rows = []
    for endpoint, named in published["significance"].items():
        label = ENDPOINT_LABEL.get(endpoint, endpoint.upper())
        logrank = results["logrank"][endpoint]
        # plan order (as tables/reproduction.md), whatever the key order of the results dict
        # (a results file read back from JSON may have its keys sorted)
        plan_order = [f for f in results.get("plan", {}).get("logrank_factors", []) if f in logrank]
        for factor in plan_order + [f for f in logrank if f not in plan_order]:
            test = logrank[factor]
            p = test.get("p")
            if factor in named:
                below = float(named[factor]["below"])
                rows.append(Row(f"logrank_{endpoint}_{factor}", f"{label} log-rank: {test.get('label', factor)}",
                                f"P < {below:g}", _p_text(p), p, p is not None and p < below, f"P < {below:g}"))
            else:
                rows.append(Row(f"logrank_{endpoint}_{factor}", f"{label} log-rank: {test.get('label', factor)}",
                                "n.s.", _p_text(p), p, p is not None and p >= alpha, f"P >= {alpha:g}"))
        cox = results["cox"][endpoint]
        factor_p: dict[str, float] = {}
        for term in cox["multivariable"]:
            factor_p.setdefault(term["factor"], term.get("factor_p", term.get("p")))
        for factor, spec in named.items():
            below = float(spec["below"])
            p = factor_p.get(factor)
            name = logrank.get(factor, {}).get("label", factor)
            rows.append(Row(f"cox_{endpoint}_{factor}", f"{label} multivariable Cox: {name}",
                            f"P < {below:g}", _p_text(p), p, p is not None and p < below, f"P < {below:g}"))
        selected = sorted(cox.get("selected", []))

        def labels(names) -> str:  # publication labels, not the plan's code names
            return "; ".join(logrank.get(n, {}).get("label", n) for n in names)

        rows.append(Row(f"cox_{endpoint}_selected", f"{label} Cox: factors with univariable P < {alpha:g}",
                        labels(sorted(named)), labels(selected) or "none", None,
                        selected == sorted(named), "same set"))
    return rows


def reproduction_rows(results: dict, published: dict | None = None) -> list[Row]:
    """Every reproduction row for ``results`` (a ``compute_results`` dict)."""
    published = published or load_published()
    return _number_rows(results, published) + _significance_rows(results, published)


def reproduction_table(results: dict, published: dict | None = None) -> pd.DataFrame:
    """The reproduction table as a DataFrame: quantity, published, computed, match (+ id, value, rule)."""
    rows = reproduction_rows(results, published)
    frame = pd.DataFrame([row.__dict__ for row in rows])
    return frame[["quantity", "published", "computed", "match", "id", "value", "rule"]]


def all_match(results: dict, published: dict | None = None) -> bool:
    return all(row.match for row in reproduction_rows(results, published))
