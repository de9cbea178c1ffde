"""Everything a render leaves beside the documents: results file, tables, figures.

``publish_results(out_dir)`` loads the cohort (``$ABLATION_DATA_DIR``, default the
shipped data), computes the results and writes into ``out_dir``:

    results.json              the machine-readable results (STUDY.md contract)
    tables/<name>.{md,csv}    every table of ``analysis.tables.registry``: Markdown and CSV
    figures/<name>.{pdf,svg,png,tiff}   every figure of ``analysis.figures.registry``, ready for a
                                        journal upload (only by a render of every format:
                                        ``$ABLATION_RENDER_FORMATS``)

When ``$ABLATION_RESULTS`` names an existing results file, that file is used as it
is (checked against the schema) and no data directory is read: tables and figures
are made from the results alone.

It runs as Quarto's pre-render step (``analysis/prerender.py``), so both engines
leave the same files behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from analysis import paths

TABLE_NOTICE = "SYNTHETIC DATA - NOT PATIENT RESULTS (computed from a generated cohort)"
AUDIT_NOTICE = "INTERNAL AUDIT REPORT - individual patient data - not for publication"
AUDIT_DIR = "internal"  # beside the publishable outputs: the corrections audit report of patient data


def publish_results(out_dir: str | os.PathLike) -> int:
    """Write results, tables and figures into ``out_dir``; 0 on success, 2 on bad data."""
    from analysis.data.errors import DataError
    from analysis.figures.cache import FigureCache
    from analysis.figures.catalog import write_all_figures
    from analysis.results import read_results, write_results
    from analysis.results_schema import ResultsShapeError
    from analysis.tables import registry

    out = Path(out_dir)
    audit_rows: list[dict] = []  # the full ledger rows of patient data, for the internal audit report only
    given = os.environ.get(paths.RESULTS_ENV_VAR)
    if given and Path(given).is_file():
        results_path = Path(given)
        print(f"  results: {results_path} (given; no data directory read)")
    else:
        from analysis.data import load_cohort
        from analysis.plan import load_plan
        from analysis.results import compute_results

        try:
            cohort = load_cohort(paths.data_dir(), load_plan())
        except DataError as error:
            print(error.report(), file=sys.stderr)
            return 2
        results_path = Path(given or out / "results.json")
        write_results(compute_results(cohort), results_path)
        if not cohort.is_synthetic and cohort.corrections is not None:
            audit_rows = cohort.corrections.to_dict(orient="records")
        print(f"  results: {results_path}")
    # Tables and figures are made from the results as the file holds them, like the
    # documents make theirs, so a figure's cache key is the same here and in the documents.
    try:
        results = read_results(results_path)
    except ResultsShapeError as error:
        print(str(error), file=sys.stderr)
        return 2
    # Every file made from synthetic data says so, the table files included.
    notice = TABLE_NOTICE if results.get("synthetic") else None
    specs = registry.tables(results)
    for spec in specs.values():
        spec.build(results).write(out / "tables", notice=notice)
    # the STROBE checklist is found in the documents' own text (analysis.report builds it)
    from analysis.report import ReportContext

    ReportContext(results=results).table("strobe").write(out / "tables", notice=notice)
    print(f"  tables:  {out / 'tables'} ({len(specs) + 1} tables, .md and .csv)")
    if audit_rows:
        # Patient data: the corrections row by row (ids, old and new values) are individual patient
        # data; the documents and results.json give only the corrected variables, the audit report the rows.
        from analysis.tables.supplement import tbl_corrections_audit

        audit = tbl_corrections_audit(audit_rows).write(out / AUDIT_DIR, notice=AUDIT_NOTICE)
        print(f"  audit:   {audit['csv']} (internal: individual patient data, not for publication)")
    if not paths.journal_figures_wanted():
        # One format asked for is one format's work: the documents draw (or take from the
        # figure cache) only the images they show; the upload files wait for a full render.
        print(f"  figures: not written (formats asked for: {os.environ.get(paths.RENDER_FORMATS_ENV_VAR)}; "
              "a render of every format writes the journal figure files)")
        return 0
    figure_cache = FigureCache.from_env()  # set by the render command; None: draw every figure
    written = write_all_figures(results, out / "figures", cache=figure_cache)
    print(f"  figures: {out / 'figures'} ({len(written)} figures, .pdf .svg .png .tiff)")
    if figure_cache is not None:
        print(f"  figure cache: {len(figure_cache.hits)} reused, {len(figure_cache.misses)} drawn")
        figure_cache.prune()
    return 0


def write_results_file(results_path: str | os.PathLike, data_dir: str | os.PathLike | None = None,
                       plan_file: str | os.PathLike | None = None) -> Path:
    """The results file alone (no tables, no figures): what ``preview`` recomputes after a data change.

    Raises ``DataError`` for bad data.
    """
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import compute_results, write_results

    cohort = load_cohort(paths.data_dir(data_dir), load_plan(plan_file))
    return write_results(compute_results(cohort), Path(results_path))
