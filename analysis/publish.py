"""Everything a render leaves beside the documents: results file, tables, figures.

``publish_results(out_dir)`` loads the cohort (``$ABLATION_DATA_DIR``, default the
shipped data), computes the results and writes into ``out_dir``:

    results.json              the machine-readable results (STUDY.md contract)
    tables/<name>.{md,csv}    every table, as pandoc Markdown and CSV
    figures/<name>.{pdf,svg,png,tiff}   every figure, ready for a journal upload (only by a render
                                        of every format: ``$ABLATION_RENDER_FORMATS``)

It runs as Quarto's pre-render step (``analysis/prerender.py``), so both engines
leave the same files behind.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from analysis import paths

TABLE_NAMES = ("baseline", "lesions", "technical", "cox_pfs", "cox_os", "logrank_pfs", "logrank_os",
               "provenance", "corrections", "reproduction", "median_ci", "ph", "software")


def publish_results(out_dir: str | os.PathLike) -> int:
    """Write results, tables and figures into ``out_dir``; 0 on success, 2 on bad data."""
    from analysis.data import load_cohort
    from analysis.data.errors import DataError
    from analysis.figures.cache import FigureCache
    from analysis.figures.catalog import write_all_figures
    from analysis.plan import load_plan

    from analysis.report import hand_over_cohort, input_fingerprint

    out = Path(out_dir)
    handover = os.environ.get(paths.COHORT_HANDOVER_ENV_VAR)
    made_from = input_fingerprint(paths.data_dir(), paths.plan_file()) if handover else None
    try:
        cohort = load_cohort(paths.data_dir(), load_plan())
    except DataError as error:
        print(error.report(), file=sys.stderr)
        return 2
    if handover:  # the documents' kernels take this cohort instead of validating the data again
        hand_over_cohort(cohort, made_from, handover)
    results_path = Path(os.environ.get("ABLATION_RESULTS") or out / "results.json")
    context = _write_results(cohort, results_path)
    print(f"  results: {results_path}")
    for name in TABLE_NAMES:
        context.table(name).write(out / "tables")
    print(f"  tables:  {out / 'tables'} ({len(TABLE_NAMES)} tables, .md and .csv)")
    if not paths.journal_figures_wanted():
        # One format asked for is one format's work: the documents draw (or take from the
        # figure cache) only the images they show; the upload files wait for a full render.
        print(f"  figures: not written (formats asked for: {os.environ.get(paths.RENDER_FORMATS_ENV_VAR)}; "
              "a render of every format writes the journal figure files)")
        return 0
    # Figures are drawn from the results as the file holds them, like the documents
    # draw theirs, so a figure's cache key is the same here and in the documents.
    published = json.loads(results_path.read_text(encoding="utf-8"))
    figure_cache = FigureCache.from_env()  # set by the render command; None: draw every figure
    written = write_all_figures(cohort, published, out / "figures", cache=figure_cache)
    print(f"  figures: {out / 'figures'} ({len(written)} figures, .pdf .svg .png .tiff)")
    if figure_cache is not None:
        print(f"  figure cache: {len(figure_cache.hits)} reused, {len(figure_cache.misses)} drawn")
        figure_cache.prune()
    return 0


def write_results_file(results_path: str | os.PathLike, data_dir: str | os.PathLike | None = None,
                       plan_file: str | os.PathLike | None = None):
    """The results file alone (no tables, no figures): what ``preview`` recomputes after a data change.

    Returns the cohort; raises ``DataError`` for bad data.
    """
    from analysis.data import load_cohort
    from analysis.plan import load_plan

    cohort = load_cohort(paths.data_dir(data_dir), load_plan(plan_file))
    _write_results(cohort, Path(results_path))
    return cohort


def _write_results(cohort, results_path: Path):
    """Compute the results of ``cohort``, the reproduction check included, and write them; the report context."""
    from analysis.report import ReportContext
    from analysis.results import compute_results, write_results

    results = compute_results(cohort)
    context = ReportContext(cohort=cohort, results=results)
    results["reproduction"] = [row.__dict__ for row in context.reproduction_rows]
    write_results(results, results_path)
    return context
