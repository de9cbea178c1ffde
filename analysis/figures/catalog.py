"""Every figure of the manuscript, written into one folder, named after the figure.

Names (each written as .pdf, .svg, .png and .tiff):

    km_pfs_overall, km_os_overall            Kaplan-Meier, all patients, with 95% CI band
    km_pfs_<factor>, km_os_<factor>          Kaplan-Meier by each plan factor in plan.logrank_factors
    forest_pfs, forest_os                    multivariable Cox hazard ratios
    flow                                     patient flow (STROBE)

The render command calls ``write_all_figures(cohort, results, <output>/figures)``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.figures.cache import FigureCache, document_png_key, figure_key
from analysis.figures.files import DOCUMENT_DPI, FORMATS

# The drawing modules (matplotlib) are imported only when a figure must be drawn.


def figure_names(cohort) -> list[str]:
    """The names of every figure ``write_all_figures`` writes, in order."""
    names = []
    for endpoint in cohort.plan.endpoints:
        names.append(f"km_{endpoint}_overall")
        names += [f"km_{endpoint}_{factor}" for factor in cohort.plan.logrank_factors]
    names += [f"forest_{endpoint}" for endpoint in cohort.plan.endpoints]
    names.append("flow")
    return names


def write_all_figures(cohort, results: dict, out_dir: str | Path,
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
    names = figure_names(cohort)
    written: dict[str, list[Path]] = {}
    to_draw = []
    for name in names:
        files = [f"{name}.{fmt}" for fmt in FORMATS]
        key = figure_key(name, cohort, results, variant="files-" + ",".join(FORMATS)) if cache is not None else None
        entry = cache.get(key, files) if key else None
        if entry is not None:
            for file_name in files:
                shutil.copyfile(entry / file_name, out / file_name)
            written[name] = [out / f for f in files]
            cache.hits.append(name)
        else:
            to_draw.append((name, key))
    drawn = _draw(cohort, results, [n for n, _ in to_draw], out, workers, document_png=cache is not None)
    for (name, key), (paths, document_png) in zip(to_draw, drawn):
        written[name] = paths
        if key:
            cache.put(key, paths)
            if name.startswith(SAME_IN_DOCUMENTS):
                cache.put_bytes(document_png_key(name, cohort, results), *document_png)
            cache.misses.append(name)
    return {name: written[name] for name in names}


MAX_WORKERS = 4
SAME_IN_DOCUMENTS = ("km_", "flow")  # figures the documents show exactly as the journal files hold them
_FORK_STATE: dict = {}


def _makers(cohort, results: dict) -> dict:
    """{figure name: function drawing it}, in catalogue order."""
    from analysis.figures.flow import flow_figure
    from analysis.figures.forest import forest_figure
    from analysis.figures.km import km_figure

    plan = cohort.plan
    makers = {}
    for endpoint in plan.endpoints:
        makers[f"km_{endpoint}_overall"] = lambda e=endpoint: km_figure(cohort, results, e)
        for factor in plan.logrank_factors:
            makers[f"km_{endpoint}_{factor}"] = lambda e=endpoint, f=factor: km_figure(cohort, results, e, f)
    for endpoint in plan.endpoints:
        makers[f"forest_{endpoint}"] = lambda e=endpoint: forest_figure(results, e, plan)
    makers["flow"] = lambda: flow_figure(results)
    return makers


def _draw_one(maker, name: str, out: Path, document_png: bool) -> tuple[list[Path], tuple[str, bytes] | None]:
    """Write one figure's files; with ``document_png``, also (cache file name, bytes) of its document image."""
    from analysis.figures.save import document_png_bytes, save_figure_and_raster

    paths, raster = save_figure_and_raster(maker(), name, out)
    if not document_png:
        return paths, None
    return paths, (f"document-{DOCUMENT_DPI}.png", document_png_bytes(raster, DOCUMENT_DPI))


def _draw_in_child(name: str):
    cohort, results, out, document_png = _FORK_STATE["args"]
    return _draw_one(_makers(cohort, results)[name], name, out, document_png)


def _draw(cohort, results: dict, names: list[str], out: Path, workers: int | None,
          document_png: bool = False) -> list[tuple[list[Path], tuple[str, bytes] | None]]:
    import multiprocessing
    import os

    if not names:
        return []
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    workers = min(workers, len(names))
    # The drawing modules and file writers are imported here, once, before any fork.
    makers = _makers(cohort, results)
    import analysis.figures.save  # noqa: F401
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [_draw_one(makers[name], name, out, document_png) for name in names]
    from concurrent.futures import ProcessPoolExecutor

    _FORK_STATE["args"] = (cohort, results, out, document_png)  # inherited by the forked workers, never pickled
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_draw_in_child, names))
    finally:
        _FORK_STATE.clear()
