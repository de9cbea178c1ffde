"""What the .qmd documents import: results, tables, figures and inline text.

A document does ``from analysis import report; R = report.load()`` and then only
reads: ``R.t.<name>`` for inline text, ``R.table_markdown(name)`` for tables and
``R.figure(name)`` for figures. Everything comes from the results dict (the
"analysis results data"); the cohort is used only to draw survival curves.

The results come from ``$ABLATION_RESULTS`` when the render command has written
them (so the documents print exactly what the results file holds), otherwise
they are computed here from ``$ABLATION_DATA_DIR`` (e.g. under a plain
``quarto render``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from analysis import paths
from analysis.data import load_cohort

if not os.environ.get(paths.COHORT_HANDOVER_ENV_VAR):
    # Imported with this module, so that a document's kernel loads them while the render's
    # pre-render step runs (the engine pre-imports what the cells import), not after it.
    # A kernel that is handed the validated cohort (embedded engine, preview) never needs them.
    import analysis.data.derive  # noqa: F401  (load_cohort imports these two when first called)
    import analysis.data.load  # noqa: F401
from analysis.figures.cache import document_png
from analysis.figures.files import DOCUMENT_DPI
from analysis.plan import load_plan
from analysis.report_text import InlineText
from analysis.tables import builders, supplement

RESULTS_ENV_VAR = "ABLATION_RESULTS"
DOCUMENT_WIDTH_MM = 150  # A4 with 2.5 cm margins leaves 160 mm of text width

SYNTHETIC_NOTICE = (
    "**SYNTHETIC DATA — NOT PATIENT RESULTS.** Every number, table and figure in this document "
    "was computed from a synthetic cohort generated to reproduce the published summary results of "
    "the original study. No patient data were used; nothing here is a clinical finding."
)


def _load_results(cohort) -> dict:
    path = os.environ.get(RESULTS_ENV_VAR)
    if path and Path(path).is_file():
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    from analysis.results import compute_results, to_jsonable

    # The same JSON form the results file holds (NaN -> None, tuples -> lists).
    return json.loads(json.dumps(to_jsonable(compute_results(cohort))))


def load(data_dir: str | os.PathLike | None = None) -> "ReportContext":
    """Load the cohort of ``data_dir`` (default: $ABLATION_DATA_DIR, else the shipped data) and its results."""
    directory = paths.data_dir(data_dir)
    cohort = _handed_over_cohort(directory) or load_cohort(directory, load_plan())
    return ReportContext(cohort=cohort, results=_load_results(cohort))


# The pre-render step (or ``preview``) validates the cohort once and hands it to the documents'
# kernels through this file (a pickle it wrote), so the data are not loaded and validated once
# per document. Used only while the data files and the plan are exactly as they were then.
COHORT_ENV_VAR = paths.COHORT_HANDOVER_ENV_VAR


def input_fingerprint(data_dir: Path, plan_file: Path) -> list:
    """(name, size, mtime) of every data file and of the plan: what a handed-over cohort was made from."""
    entries = []
    for path in sorted(Path(data_dir).rglob("*")) + [Path(plan_file)]:
        if path.is_file():
            st = path.stat()
            entries.append((str(path), st.st_size, st.st_mtime_ns))
    return entries


def hand_over_cohort(cohort, made_from: list, path: str | os.PathLike) -> None:
    """Write ``cohort`` (and the ``input_fingerprint`` taken before it was loaded) for the kernels."""
    import pickle

    target = Path(path)
    staged = target.with_name(target.name + ".tmp")
    with open(staged, "wb") as handle:
        pickle.dump((made_from, cohort), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(staged, target)


def _handed_over_cohort(data_dir: Path):
    import pickle

    path = os.environ.get(COHORT_ENV_VAR)
    if not path or not Path(path).is_file():
        return None
    try:
        with open(path, "rb") as handle:
            made_from, cohort = pickle.load(handle)
    except Exception:  # unreadable or from other code: load the data instead
        return None
    return cohort if made_from == input_fingerprint(data_dir, paths.plan_file()) else None


@dataclass
class ReportContext:
    cohort: object
    results: dict

    @cached_property
    def t(self) -> "InlineText":
        return InlineText(self.results)

    def notice(self) -> str:
        """The synthetic-data notice (Markdown), or an empty string for real data."""
        return SYNTHETIC_NOTICE + "\n" if self.results.get("synthetic") else ""

    # ------------------------------------------------------------------ tables

    def table(self, name: str):
        """The ``Table`` called ``name`` (see ``TABLES``)."""
        r = self.results
        makers = {
            "baseline": lambda: builders.tbl_baseline(r),
            "lesions": lambda: builders.tbl_lesions(r),
            "technical": lambda: builders.tbl_technical_outcomes(r),
            "cox_pfs": lambda: builders.tbl_cox(r, "pfs"),
            "cox_os": lambda: builders.tbl_cox(r, "os"),
            "logrank_pfs": lambda: builders.tbl_logrank(r, "pfs"),
            "logrank_os": lambda: builders.tbl_logrank(r, "os"),
            "provenance": lambda: supplement.tbl_provenance(r),
            "corrections": lambda: supplement.tbl_corrections(r),
            "reproduction": lambda: supplement.tbl_reproduction(self.reproduction_rows),
            "median_ci": lambda: supplement.tbl_median_ci(r),
            "ph": lambda: supplement.tbl_ph(r),
            "software": lambda: supplement.tbl_software(r),
        }
        if name not in makers:
            raise KeyError(f"no table called {name!r}; known: {', '.join(makers)}")
        return makers[name]()

    def table_markdown(self, name: str) -> str:
        """The table as pandoc Markdown without its own caption (the cell's ``tbl-cap`` gives it)."""
        return self.table(name).to_markdown(caption=False)

    @cached_property
    def reproduction_rows(self) -> list:
        from analysis.reproduction import reproduction_rows

        return reproduction_rows(self.results)

    # ------------------------------------------------------------------ figures

    def figure_object(self, name: str):
        """The matplotlib Figure called ``name``: km_<endpoint>[_<factor>], forest_<endpoint>, flow."""
        from analysis.figures.flow import flow_figure
        from analysis.figures.forest import forest_figure
        from analysis.figures.km import km_figure

        plan = self.cohort.plan
        if name == "flow":
            return flow_figure(self.results)
        kind, _, rest = name.partition("_")
        endpoint, _, factor = rest.partition("_")
        if endpoint not in plan.endpoints:
            raise KeyError(f"no figure called {name!r}")
        if kind == "forest" and not factor:
            # Narrower than the journal's two-column 170 mm so it fits the document's text width.
            return forest_figure(self.results, endpoint, plan, width_mm=DOCUMENT_WIDTH_MM)
        if kind == "km" and (not factor or factor == "overall"):
            return km_figure(self.cohort, self.results, endpoint)
        if kind == "km" and factor in plan.factors:
            return km_figure(self.cohort, self.results, endpoint, factor)
        raise KeyError(f"no figure called {name!r}")

    def figure(self, name: str, dpi: int | None = None):
        """The figure as a PNG image for the document (figure style, identical bytes every run)."""
        from IPython.display import Image


        dpi = dpi or DOCUMENT_DPI
        # Drawn again only when what the figure is drawn from changed (render cache, if any).
        data = document_png(name, self.cohort, self.results, dpi, lambda: _png_bytes(self.figure_object(name), dpi))
        return Image(data=data, format="png")


def _png_bytes(figure, dpi: int) -> bytes:
    from analysis.figures.save import png_bytes  # the drawing code, only when a figure is drawn

    return png_bytes(figure, dpi=dpi)
