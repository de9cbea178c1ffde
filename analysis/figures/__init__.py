"""Publication figures, drawn from the results dict alone (see ``registry``).

km_figure(results, endpoint, factor=None)           Kaplan-Meier with number-at-risk table
forest_figure(results, endpoint)                   multivariable Cox hazard ratios
flow_figure(results)                               STROBE patient flow
save_figure(fig, name, out_dir) -> [paths]         PDF, SVG, PNG (600 dpi), TIFF (LZW), reproducible bytes
write_all_figures(results, out_dir)                every figure, every format
png_bytes(fig, dpi=300)                            PNG bytes for embedding in a document
"""

from importlib import import_module

# Imported on first use (PEP 562): a render whose figures all come from the cache
# never imports matplotlib for them.
_HOME = {"figure_names": "catalog", "write_all_figures": "catalog", "flow_figure": "flow", "forest_figure": "forest",
         "km_at_risk_table": "km", "km_figure": "km", "png_bytes": "save", "save_figure": "save"}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(f"analysis.figures.{_HOME[name]}"), name)
    raise AttributeError(f"module 'analysis.figures' has no attribute {name!r}")
