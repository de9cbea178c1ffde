"""The one list of figures: name, drawing function, caption, what it reads, document variant, formats.

Every figure of the project is an instance of one entry of ``FIGURES``; the
pre-render (``catalog.write_all_figures``), the figure caches (``cache.figure_key``)
and the documents (``report.ReportContext.figure``) all read this list, so adding a
figure is one entry here plus its drawing function. Light module: no matplotlib;
the drawing function is named as ``"module:function"`` and checked at import (the
module must exist, else ``RegistryError`` names the entry), and resolved when a
figure is drawn.

An entry's ``instances(results)`` gives ``{figure name: keyword arguments}`` (e.g.
one Kaplan-Meier figure per endpoint and plan factor); ``reads(results, **kwargs)``
returns exactly the parts of the results the figure draws (its cache key);
``document_width_mm`` is the width the documents show it at (None: the journal
file's image, drawn once by the pre-render).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

from analysis.figures.files import FORMATS
from analysis.tables import theme  # light: formatting only (what a figure prints, for the diff)


class RegistryError(LookupError):
    pass


@dataclass(frozen=True)
class FigureEntry:
    kind: str
    draw: str  # "module:function"; called as function(results, **kwargs, width_mm=...)
    caption: str  # what the figure shows (the documents' fig-cap says it in full)
    instances: Callable[[dict], dict[str, dict]]
    reads: Callable[..., object]
    document_width_mm: float | None = None  # None: documents show the journal file's image
    formats: tuple[str, ...] = field(default=FORMATS)
    # {label: text} of the numbers the figure prints (for ``python -m analysis diff``); None: the
    # diff reports the figure as changed or not, from what it reads
    prints: Callable[..., dict[str, str]] | None = None

    def function(self) -> Callable:
        module, _, name = self.draw.partition(":")
        return getattr(importlib.import_module(module), name)


def _endpoints(results: dict) -> list[str]:
    return list(results["plan"]["endpoints"])


def _km_instances(results: dict) -> dict[str, dict]:
    out = {}
    for endpoint in _endpoints(results):
        out[f"km_{endpoint}_overall"] = {"endpoint": endpoint}
        for factor in results["plan"]["logrank_factors"]:
            out[f"km_{endpoint}_{factor}"] = {"endpoint": endpoint, "factor": factor}
    return out


def _km_reads(results: dict, endpoint: str, factor: str | None = None):
    km = results["km"][endpoint]
    curves = km["overall"] if factor is None else km["factors"][factor]
    logrank = None if factor is None else results["logrank"][endpoint][factor]
    return [curves, km["figures"][factor or "overall"], logrank, results[endpoint]["label"]]


def _km_prints(results: dict, endpoint: str, factor: str | None = None) -> dict[str, str]:
    panel = results["km"][endpoint]["figures"][factor or "overall"]
    out = {}
    for group in panel["groups"]:
        out[f"{group['level']}: n"] = str(group["n"])
        for t, n in zip(panel["ticks"], group["at_risk"]):
            out[f"{group['level']}: at risk at {t:g}"] = str(n)
    if panel["missing"]:
        out["not shown (missing value)"] = str(panel["missing"])
    if factor is not None:
        test = results["logrank"][endpoint][factor]
        if test.get("p") is not None:
            out["log-rank P"] = theme.p_text(test["p"])
        if test.get("trend") and test["trend"].get("p") is not None:
            out["trend P"] = theme.p_text(test["trend"]["p"])
    return out


def _forest_prints(results: dict, endpoint: str) -> dict[str, str]:
    rows = results["cox"][endpoint]["multivariable"]
    out = {"model": f"{len(rows)} term(s)" if rows else "no multivariable model"}
    for row in rows:
        out[f"{row['term']}: HR (CI)"] = theme.hr_ci(row.get("hr"), *(row.get("ci") or [None, None]))
        out[f"{row['term']}: P"] = theme.p_value(row.get("p"))
    return out


def _flow_prints(results: dict) -> dict[str, str]:
    flow = results["flow"]
    if flow is None:
        return {"included": str(results["n_patients"]), "analysed": str(results["n_patients"])}
    out = {key: str(flow[key]) for key in ("screened", "n_excluded", "included", "analysed")}
    out.update({f"excluded: {reason}": str(n) for reason, n in flow["excluded"].items()})
    return out


def _ph_residual_reads(results: dict):
    return [[results["cox"][e].get("ph_residuals") for e in _endpoints(results)],
            {e: results[e]["label"] for e in _endpoints(results)}, results["plan"]["factors"],
            results["plan"]["alpha"]]


def _ph_residual_prints(results: dict) -> dict[str, str]:
    out = {}
    for endpoint in _endpoints(results):
        for panel in results["cox"][endpoint].get("ph_residuals") or []:
            out[f"{endpoint} {panel['model']} {panel['factor']}: cox.zph P"] = theme.p_text(panel["p"])
    return out or {"panels": "no term failed the proportional-hazards test"}


# The documents' text width (A4 with 2.5 cm margins: 160 mm, minus a margin for the caption
# layout); the forest plots are drawn this wide for the documents, 170 mm for the journal.
DOCUMENT_WIDTH_MM = 150.0

FIGURES: tuple[FigureEntry, ...] = (
    FigureEntry(
        kind="km",
        draw="analysis.figures.km:km_figure",
        caption="Kaplan-Meier estimate, overall with its confidence band or by a plan factor with the log-rank P",
        instances=_km_instances,
        reads=_km_reads,
        prints=_km_prints,
    ),
    FigureEntry(
        kind="forest",
        draw="analysis.figures.forest:forest_figure",
        caption="Hazard ratios of the multivariable Cox model",
        instances=lambda r: {f"forest_{e}": {"endpoint": e} for e in _endpoints(r)},
        reads=lambda r, endpoint: r["cox"][endpoint],
        document_width_mm=DOCUMENT_WIDTH_MM,
        prints=_forest_prints,
    ),
    FigureEntry(
        kind="ph_residuals",
        draw="analysis.figures.schoenfeld:schoenfeld_figure",
        caption="Scaled Schoenfeld residuals of every Cox-model term failing the proportional-hazards test",
        # one figure for all endpoints and models (a panel per failing term); when no term fails it says so
        instances=lambda r: {"ph_residuals": {}},
        reads=_ph_residual_reads,
        prints=_ph_residual_prints,
    ),
    FigureEntry(
        kind="flow",
        draw="analysis.figures.flow:flow_figure",
        caption="Patient flow (STROBE)",
        instances=lambda r: {"flow": {}},
        reads=lambda r: [r["flow"], r["n_patients"]],
        prints=_flow_prints,
    ),
)


def _check(entries: tuple[FigureEntry, ...]) -> None:
    """At import: every drawing module exists and every kind is named once."""
    kinds = [e.kind for e in entries]
    for entry in entries:
        module, _, function = entry.draw.partition(":")
        if not function or importlib.util.find_spec(module) is None:
            raise RegistryError(f"figure registry entry {entry.kind!r}: no drawing function {entry.draw!r}")
        if kinds.count(entry.kind) > 1:
            raise RegistryError(f"figure registry: kind {entry.kind!r} listed twice")
        unknown = set(entry.formats) - set(FORMATS)
        if unknown:
            raise RegistryError(f"figure registry entry {entry.kind!r}: unknown format(s) {sorted(unknown)}")


_check(FIGURES)


@dataclass(frozen=True)
class Figure:
    """One figure: its name, registry entry and the keyword arguments of its drawing function."""

    name: str
    entry: FigureEntry
    kwargs: dict


def figures(results: dict) -> dict[str, Figure]:
    """Every figure the results call for, by name, in registry order."""
    out: dict[str, Figure] = {}
    for entry in FIGURES:
        for name, kwargs in entry.instances(results).items():
            if name in out:
                raise RegistryError(f"figure name {name!r} made by two registry entries")
            out[name] = Figure(name, entry, kwargs)
    return out


def figure(name: str, results: dict) -> Figure:
    """The figure called ``name`` (``km_pfs`` = ``km_pfs_overall``); ``KeyError`` naming the known ones."""
    known = figures(results)
    if name in known:
        return known[name]
    if f"{name}_overall" in known:
        return known[f"{name}_overall"]
    raise KeyError(f"no figure called {name!r}; known: {', '.join(known)}")


def draw(name: str, results: dict, document: bool = False):
    """The matplotlib Figure ``name`` drawn from ``results`` (document width if ``document``)."""
    spec = figure(name, results)
    kwargs = dict(spec.kwargs)
    if document and spec.entry.document_width_mm is not None:
        kwargs["width_mm"] = spec.entry.document_width_mm
    return spec.entry.function()(results, **kwargs)


def reads(name: str, results: dict):
    """Exactly the parts of ``results`` figure ``name`` draws (for its cache key)."""
    spec = figure(name, results)
    return spec.entry.reads(results, **spec.kwargs)
