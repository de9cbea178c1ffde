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

from analysis.figures.cache import FigureCache, figure_key
from analysis.figures.flow import flow_figure
from analysis.figures.forest import forest_figure
from analysis.figures.km import km_figure
from analysis.figures.save import FORMATS, save_figure


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
                      cache: FigureCache | None = None) -> dict[str, list[Path]]:
    """Write every figure in every format into ``out_dir``; return {figure name: [paths]}.

    Each figure is closed (its references dropped) as soon as it is written, so
    memory stays flat however many factors the plan lists. With a ``cache``, a
    figure whose key (``analysis.figures.cache.figure_key``: exactly what it is
    drawn from) is in the cache is copied from there instead of drawn;
    ``cache.hits`` / ``cache.misses`` list the names.
    """
    out = Path(out_dir)
    written: dict[str, list[Path]] = {}
    plan = cohort.plan
    makers = []
    for endpoint in plan.endpoints:
        makers.append((f"km_{endpoint}_overall", lambda e=endpoint: km_figure(cohort, results, e)))
        for factor in plan.logrank_factors:
            makers.append((f"km_{endpoint}_{factor}", lambda e=endpoint, f=factor: km_figure(cohort, results, e, f)))
    for endpoint in plan.endpoints:
        makers.append((f"forest_{endpoint}", lambda e=endpoint: forest_figure(results, e, plan)))
    makers.append(("flow", lambda: flow_figure(results)))
    for name, make in makers:
        written[name] = _write_one(name, make, cohort, results, out, cache)
    return written


def _write_one(name, make, cohort, results, out: Path, cache: FigureCache | None) -> list[Path]:
    files = [f"{name}.{fmt}" for fmt in FORMATS]
    key = figure_key(name, cohort, results, variant="files-" + ",".join(FORMATS)) if cache is not None else None
    entry = cache.get(key, files) if key else None
    if entry is not None:
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for file_name in files:
            shutil.copyfile(entry / file_name, out / file_name)
            paths.append(out / file_name)
        cache.hits.append(name)
        return paths
    paths = save_figure(make(), name, out)
    if key:
        cache.put(key, paths)
        cache.misses.append(name)
    return paths
