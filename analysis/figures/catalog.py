"""Every figure of the manuscript, written into one folder, named after the figure.

The figures are those of ``analysis.figures.registry`` for the results (each written
in its entry's formats: .pdf, .svg, .png and .tiff):

    km_<endpoint>_overall, km_<endpoint>_<factor>   Kaplan-Meier (plan endpoints x logrank_factors)
    forest_<endpoint>                                multivariable Cox hazard ratios
    ph_residuals                                     scaled Schoenfeld residuals of every term failing cox.zph
    flow                                             patient flow (STROBE)

The pre-render calls ``write_all_figures(results, <output>/figures)``; the
results are all a figure is drawn from.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.figures import registry
from analysis.figures.cache import FigureCache, document_png_key, figure_key
from analysis.figures.files import DOCUMENT_DPI

# The drawing modules (matplotlib) are imported only when a figure must be drawn.


def figure_names(results: dict) -> list[str]:
    """The names of every figure ``write_all_figures`` writes, in order."""
    return list(registry.figures(results))


def write_all_figures(results: dict, out_dir: str | Path,
                      cache: FigureCache | None = None, workers: int | None = None) -> dict[str, list[Path]]:
    """Write every figure in every format into ``out_dir``; return {figure name: [paths]}.

    Each figure is closed (its references dropped) as soon as it is written, so
    memory stays flat however many factors the plan lists. With a ``cache``, a
    figure whose key (``analysis.figures.cache.figure_key``: exactly what it is
    drawn from) is in the cache is copied from there instead of drawn;
    ``cache.hits`` / ``cache.misses`` list the names.

    Each Kaplan-Meier and flow figure drawn here also leaves its document image
    (``files.DOCUMENT_DPI``, made from the journal raster) in the cache, where the
    documents' kernels find it. (The documents draw the forest plots narrower than
    the journal's two columns: ``analysis.report.DOCUMENT_WIDTH_MM``.)

    Figures to draw are shared among ``workers`` forked processes (default: one
    per CPU, at most ``MAX_WORKERS``; 1 = in this process). Every figure is drawn
    the same way in any process, so the files are identical.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = registry.figures(results)
    names = list(specs)
    written: dict[str, list[Path]] = {}
    to_draw = []
    for name in names:
        formats = specs[name].entry.formats
        files = [f"{name}.{fmt}" for fmt in formats]
        key = figure_key(name, results, variant="files-" + ",".join(formats)) if cache is not None else None
        entry = cache.get(key, files) if key else None
        if entry is not None:
            for file_name in files:
                shutil.copyfile(entry / file_name, out / file_name)
            written[name] = [out / f for f in files]
            cache.hits.append(name)
        else:
            to_draw.append((name, key))
    drawn = _draw(results, [n for n, _ in to_draw], out, workers, document_png=cache is not None)
    for (name, key), (paths, document_png) in zip(to_draw, drawn):
        written[name] = paths
        if key:
            cache.put(key, paths)
            if document_png is not None:
                cache.put_bytes(document_png_key(name, results), *document_png)
            cache.misses.append(name)
    return {name: written[name] for name in names}


MAX_WORKERS = 4
_FORK_STATE: dict = {}


def _draw_one(name: str, results: dict, out: Path, document_png: bool) -> tuple[list[Path], tuple[str, bytes] | None]:
    """Write one figure's files; with ``document_png``, also (cache file name, bytes) of its document image
    when the documents show the journal file's image (registry entry without a document width)."""
    from analysis.figures.save import document_png_bytes, save_figure_and_raster
    from analysis.figures.style import rendered_in_style

    spec = registry.figure(name, results)
    with rendered_in_style():   # saved in the style at once: no separate layout pass
        paths, raster = save_figure_and_raster(registry.draw(name, results), name, out, formats=spec.entry.formats)
    if not document_png or spec.entry.document_width_mm is not None or raster is None:
        return paths, None
    return paths, (f"document-{DOCUMENT_DPI}.png", document_png_bytes(raster, DOCUMENT_DPI))


def _draw_in_child(name: str):
    results, out, document_png = _FORK_STATE["args"]
    return _draw_one(name, results, out, document_png)


def _draw(results: dict, names: list[str], out: Path, workers: int | None,
          document_png: bool = False) -> list[tuple[list[Path], tuple[str, bytes] | None]]:
    import multiprocessing
    import os

    if not names:
        return []
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    workers = min(workers, len(names))
    # The drawing modules and file writers are imported here, once, before any fork.
    for entry in {registry.figure(name, results).entry.kind: registry.figure(name, results).entry
                  for name in names}.values():
        entry.function()
    import analysis.figures.save  # noqa: F401
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_draw_one(name, results, out, document_png) for name in names]
    from concurrent.futures import ProcessPoolExecutor

    _FORK_STATE["args"] = (results, out, document_png)  # inherited by the forked workers, never pickled
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_draw_in_child, names))
    finally:
        _FORK_STATE.clear()
