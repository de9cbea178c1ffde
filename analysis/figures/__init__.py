"""Publication figures made from the cohort and the results dict.

km_figure(cohort, results, endpoint, factor=None)   Kaplan-Meier with number-at-risk table
forest_figure(results, endpoint)                   multivariable Cox hazard ratios
flow_figure(results)                               STROBE patient flow
save_figure(fig, name, out_dir) -> [paths]         PDF, SVG, PNG (600 dpi), TIFF (LZW), reproducible bytes
write_all_figures(cohort, results, out_dir)        every figure, every format
png_bytes(fig, dpi=300)                            PNG bytes for embedding in a document
"""

from analysis.figures.catalog import figure_names, write_all_figures
from analysis.figures.flow import flow_figure
from analysis.figures.forest import forest_figure
from analysis.figures.km import km_at_risk_table, km_figure
from analysis.figures.save import png_bytes, save_figure

__all__ = ["figure_names", "flow_figure", "forest_figure", "km_at_risk_table", "km_figure", "png_bytes", "save_figure",
           "write_all_figures"]
