"""Scaled Schoenfeld residuals of every Cox-model term that fails the proportional-hazards test.

One panel per failing cox.zph term (``results['cox'][endpoint]['ph_residuals']``, every endpoint,
univariable models then the multivariable one), as R's ``plot.cox.zph`` draws it: the residuals
as points against time on the transformed axis (1 - KM(t-), cox.zph's "km" transform) labelled in
months as R labels it, the natural-spline smooth (4 df) with its pointwise +-2 SE band (dashed),
and a dotted horizontal line at the Cox coefficient (1 for a factor of several indicators, whose
residual is that of its linear predictor). The title gives the model, the factor and the cox.zph P.
Nothing is recomputed here: every number comes from the results.

When no term fails, the figure says so in one box (the documents' figure cells need one image).
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from analysis.figures import style
from analysis.figures.notes import add_footer, is_synthetic
from analysis.tables import theme

PANEL_HEIGHT_MM = 52.0
SCHOENFELD_AXES_LABEL = "schoenfeld"


def panels(results: dict) -> list[dict]:
    """The panels the figure draws, in order: [{endpoint, model, factor, ...the stored panel}]."""
    out = []
    for endpoint in results["plan"]["endpoints"]:
        for panel in results["cox"][endpoint].get("ph_residuals") or []:
            out.append({"endpoint": endpoint, **panel})
    return out


def panel_title(results: dict, panel: dict) -> str:
    """'Treatment of primary HCC' (line 1) and 'PFS, univariable model; cox.zph P = 0.011' (line 2)."""
    spec = results["plan"]["factors"].get(panel["factor"], {})
    label = spec.get("label", panel["factor"]) if isinstance(spec, dict) else panel["factor"]
    p = theme.p_text(panel["p"], results["plan"]["alpha"])
    return f"{label}\n{panel['endpoint'].upper()}, {panel['model']} model; cox.zph {p}"


def schoenfeld_figure(results: dict, width_mm: float | None = None) -> Figure:
    """The figure: a grid of panels, two per row (one column wide for a single panel)."""
    shown = panels(results)
    notes = [style.SYNTHETIC_NOTE] if is_synthetic(results) else []
    columns = 1 if len(shown) <= 1 else 2
    width_mm = width_mm or (style.ONE_COLUMN_MM if columns == 1 else style.TWO_COLUMN_MM)
    rows = max(1, math.ceil(len(shown) / columns))
    with style.figure_style():
        footer_mm = (len(notes) * style.line_height_mm(style.FOOTNOTE_PT) + 2.0) if notes else 0.0
        legend_mm = 6.0 if shown else 0.0
        height_mm = (rows * PANEL_HEIGHT_MM if shown else 14.0) + legend_mm + footer_mm + 2.0
        fig = style.new_figure(width_mm, height_mm)
        if not shown:
            alpha = results["plan"]["alpha"]
            message = f"No term of any Cox model failed the proportional-hazards test (all P \u2265 {alpha:g})"
            fig.text(0.5, 0.5 + footer_mm / height_mm / 2, "\n".join(style.wrap_to_width(message, width_mm - 6.0)),
                     ha="center", va="center", fontsize=style.TEXT_PT)
            add_footer(fig, notes, 2.0 / width_mm, 1.0 / height_mm)
            return style.finish(fig)
        left_mm, right_mm, top_mm, gap_mm = 14.0, 3.0, 10.0, 8.0
        panel_w = (width_mm - left_mm - right_mm - (columns - 1) * gap_mm) / columns
        for index, panel in enumerate(shown):
            row, col = divmod(index, columns)
            x0 = left_mm + col * (panel_w + gap_mm)
            y_top = legend_mm + row * PANEL_HEIGHT_MM + top_mm
            plot_h = PANEL_HEIGHT_MM - top_mm - 12.0
            ax = fig.add_axes([x0 / width_mm, 1 - (y_top + plot_h) / height_mm, panel_w / width_mm,
                               plot_h / height_mm], label=f"{SCHOENFELD_AXES_LABEL}-{index}")
            _draw_panel(ax, results, panel)
        handles = fig.axes[0].get_legend_handles_labels()
        fig.legend(*handles, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.5 / height_mm),
                   ncol=4, frameon=False, fontsize=style.SMALL_PT, handlelength=2.0, columnspacing=1.2)
        add_footer(fig, notes, 2.0 / width_mm, 1.0 / height_mm)
        return style.finish(fig)


def _draw_panel(ax, results: dict, panel: dict) -> None:
    ax.scatter(panel["x"], panel["residual"], s=5, facecolors="none", edgecolors=style.OVERALL_COLOUR,
               linewidths=0.5, label="Scaled Schoenfeld residual")
    smooth = panel.get("smooth")
    if smooth:
        ax.plot(smooth["x"], smooth["fit"], color=style.GROUP_COLOURS[0], linewidth=style.LINE_PT,
                label=f"Spline smooth ({smooth['df']} df)")
        for key in ("upper", "lower"):
            ax.plot(smooth["x"], smooth[key], color=style.GROUP_COLOURS[0], linewidth=style.THIN_PT,
                    linestyle=(0, (4.0, 1.6)), label="\u00b12 SE" if key == "upper" else None)
    ax.axhline(panel["line"], color=style.GROUP_COLOURS[1], linewidth=style.THIN_PT, linestyle=(0, (1.0, 1.2)),
               label="Cox coefficient (1 for a multi-level factor)")
    ax.set_xticks(panel["axis"]["at"], [f"{m:g}" for m in panel["axis"]["months"]])
    ax.tick_params(labelsize=style.SMALL_PT)
    ax.set_xlabel("Months (axis spaced by 1 \u2212 KM)", fontsize=style.SMALL_PT)
    ax.set_ylabel("Beta(t)", fontsize=style.SMALL_PT)
    title, second = panel_title(results, panel).split("\n")
    width_mm = ax.get_position().width * ax.figure.get_figwidth() * 25.4
    lines = style.wrap_to_width(title, width_mm, style.TEXT_PT, "bold") + [second]
    ax.set_title("\n".join(lines), fontsize=style.TEXT_PT, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
