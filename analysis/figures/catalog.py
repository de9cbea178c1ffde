"""Every figure of the manuscript, written into one folder, named after the figure.

Names (each written as .pdf, .svg, .png and .tiff):

    km_pfs_overall, km_os_overall            Kaplan-Meier, all patients, with 95% CI band
    km_pfs_<factor>, km_os_<factor>          Kaplan-Meier by each plan factor in plan.logrank_factors
    forest_pfs, forest_os                    multivariable Cox hazard ratios
    flow                                     patient flow (STROBE)

The render command calls ``write_all_figures(cohort, results, <output>/figures)``.
"""

from __future__ import annotations

from pathlib import Path

from analysis.figures.flow import flow_figure
from analysis.figures.forest import forest_figure
from analysis.figures.km import km_figure
from analysis.figures.save import save_figure


def figure_names(cohort) -> list[str]:
    """The names of every figure ``write_all_figures`` writes, in order."""
    names = []
    for endpoint in cohort.plan.endpoints:
        names.append(f"km_{endpoint}_overall")
        names += [f"km_{endpoint}_{factor}" for factor in cohort.plan.logrank_factors]
    names += [f"forest_{endpoint}" for endpoint in cohort.plan.endpoints]
    names.append("flow")
    return names


def write_all_figures(cohort, results: dict, out_dir: str | Path) -> dict[str, list[Path]]:
    """Write every figure in every format into ``out_dir``; return {figure name: [paths]}.

    Each figure is closed (its references dropped) as soon as it is written, so
    memory stays flat however many factors the plan lists.
    """
    out = Path(out_dir)
    written: dict[str, list[Path]] = {}
    plan = cohort.plan
    for endpoint in plan.endpoints:
        written[f"km_{endpoint}_overall"] = save_figure(km_figure(cohort, results, endpoint), f"km_{endpoint}_overall", out)
        for factor in plan.logrank_factors:
            name = f"km_{endpoint}_{factor}"
            written[name] = save_figure(km_figure(cohort, results, endpoint, factor), name, out)
    for endpoint in plan.endpoints:
        name = f"forest_{endpoint}"
        written[name] = save_figure(forest_figure(results, endpoint, plan), name, out)
    written["flow"] = save_figure(flow_figure(results), "flow", out)
    return written
