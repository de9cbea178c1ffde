"""What the .qmd documents import: results, tables, figures and inline text.

A document does ``from analysis import report; R = report.load()`` and then only
reads: ``R.t.<name>`` for inline text, ``R.table_markdown(name)`` for tables and
``R.figure(name)`` for figures. Everything comes from the results dict (the
"analysis results data"): tables from ``analysis.tables.registry``, figures from
``analysis.figures.registry``, both drawn from the results alone.

The results come from ``$ABLATION_RESULTS`` when that file exists (the render
command writes it first; then no data directory is read at all), otherwise they
are computed here from ``$ABLATION_DATA_DIR`` (e.g. under a plain ``quarto render``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from analysis import paths
# Imported with this module, so that a document's kernel loads them while the render's
# pre-render step runs (the engine pre-imports what the cells import), not after it.
import analysis.data.derive  # noqa: F401  (load_cohort imports these two when first called)
import analysis.data.load  # noqa: F401
from analysis.data import load_cohort
from analysis.figures import registry as figure_registry
from analysis.figures.cache import document_png
from analysis.figures.files import DOCUMENT_DPI
from analysis.plan import load_plan
from analysis.report_text import InlineText
from analysis.results import read_results
from analysis.tables import registry as table_registry

RESULTS_ENV_VAR = paths.RESULTS_ENV_VAR
DOCUMENT_WIDTH_MM = figure_registry.DOCUMENT_WIDTH_MM

SYNTHETIC_NOTICE = (
    "**SYNTHETIC DATA — NOT PATIENT RESULTS.** Every number, table and figure in this document "
    "was computed from a synthetic cohort generated to reproduce the published summary results of "
    "the original study. No patient data were used; nothing here is a clinical finding."
)


def results_file() -> Path | None:
    """The results file named by ``$ABLATION_RESULTS``, when it exists."""
    path = os.environ.get(RESULTS_ENV_VAR)
    return Path(path) if path and Path(path).is_file() else None


def load(data_dir: str | os.PathLike | None = None) -> "ReportContext":
    """The results of ``$ABLATION_RESULTS`` (checked), else those computed from ``data_dir``
    (default: $ABLATION_DATA_DIR, else the shipped data)."""
    path = results_file() if data_dir is None else None
    if path is not None:
        return ReportContext(results=read_results(path))
    from analysis.results import compute_results

    return ReportContext(results=compute_results(load_cohort(paths.data_dir(data_dir), load_plan())))


@dataclass
class ReportContext:
    results: dict

    @cached_property
    def t(self) -> "InlineText":
        return InlineText(self.results)

    def notice(self) -> str:
        """The synthetic-data notice (Markdown), or an empty string for real data."""
        return SYNTHETIC_NOTICE + "\n" if self.results.get("synthetic") else ""

    # ------------------------------------------------------------------ tables

    def table(self, name: str):
        """The ``Table`` called ``name`` (``analysis.tables.registry``)."""
        return table_registry.table(name, self.results)

    def table_markdown(self, name: str) -> str:
        """The table as pandoc Markdown without its own caption (the cell's ``tbl-cap`` gives it)."""
        return self.table(name).to_markdown(caption=False)

    # ------------------------------------------------------------------ figures

    def figure_object(self, name: str):
        """The matplotlib Figure called ``name`` as the documents show it (``analysis.figures.registry``)."""
        return figure_registry.draw(name, self.results, document=True)

    def figure(self, name: str, dpi: int | None = None):
        """The figure as a PNG image for the document (figure style, identical bytes every run)."""
        from IPython.display import Image

        dpi = dpi or DOCUMENT_DPI
        name = figure_registry.figure(name, self.results).name
        # Drawn again only when what the figure is drawn from changed (render cache, if any).
        data = document_png(name, self.results, dpi, lambda: _png_bytes(self.figure_object(name), dpi))
        return Image(data=data, format="png")


def _png_bytes(figure, dpi: int) -> bytes:
    from analysis.figures.save import png_bytes  # the drawing code, only when a figure is drawn

    return png_bytes(figure, dpi=dpi)
