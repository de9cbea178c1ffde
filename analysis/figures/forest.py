"""Forest plot of the multivariable Cox hazard ratios, read from the results dict.

One block per factor in the model: the factor's label, its reference level
("1 (reference)") and a row per other level with the hazard ratio as a square,
its 95% CI as a line, and "HR (95% CI)" and P as text beside it. The HR axis is
logarithmic (a ratio and its inverse lie equally far from 1), with a reference
line at HR = 1. Nothing is recomputed here: every number comes from
``results['cox'][endpoint]['multivariable']``.
"""

from __future__ import annotations

import math

from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from analysis.figures import style
from analysis.figures.notes import add_footer, is_synthetic
from analysis.tables import theme  # the one place numbers become text

# Axis limits never go beyond these: a CI reaching past them (separation) gets an arrow.
HR_AXIS_MIN, HR_AXIS_MAX = 1 / 64, 64.0
FOREST_AXES_LABEL = "forest"


def forest_rows(results: dict, endpoint: str, plan=None) -> list[dict]:
    """The rows the forest plot prints, top to bottom.

    Each row: {kind: 'factor'|'reference'|'level', text, term, hr, ci, p}. Factors
    appear in the order of the results rows; the reference level comes from the plan.
    """
    factors = _factors(results, plan)
    try:
        model = results["cox"][endpoint]["multivariable"]
    except KeyError as error:
        raise KeyError(f"results have no cox/{endpoint}/multivariable rows (missing key {error})") from None
    rows: list[dict] = []
    seen: list[str] = []
    by_factor: dict[str, list[dict]] = {}
    for entry in model:
        factor = entry["factor"]
        if factor not in by_factor:
            seen.append(factor)
            by_factor[factor] = []
        by_factor[factor].append(entry)
    for factor in seen:
        spec = factors.get(factor)
        label = spec.label if spec else factor
        entries = by_factor[factor]
        factor_p = entries[0].get("factor_p") if len(entries) > 1 else None
        rows.append({"kind": "factor", "text": label, "term": None, "hr": None, "ci": None,
                     "p": factor_p})
        if spec:
            rows.append({"kind": "reference", "text": spec.reference, "term": None, "hr": 1.0,
                         "ci": None, "p": None})
        for entry in entries:
            rows.append({"kind": "level", "text": str(entry["level"]), "term": entry.get("term"),
                         "hr": _float(entry.get("hr")), "ci": [_float(v) for v in entry.get("ci", [None, None])],
                         "p": entry.get("p")})
    return rows


def _factors(results: dict, plan=None) -> dict:
    """{factor: spec with .label and .reference}: the given plan's, else the results' plan section."""
    if plan is not None:
        return plan.factors
    from types import SimpleNamespace

    return {name: SimpleNamespace(**spec) for name, spec in results["plan"]["factors"].items()}


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def hr_text(hr: float, ci: list[float]) -> str:
    """'2.45 (1.20\u20135.01)': the HR and its 95% CI as the tables print them."""
    return theme.hr_ci(hr, ci[0], ci[1])


def _axis_limits(rows: list[dict]) -> tuple[float, float]:
    values = [1.0]
    for row in rows:
        if row["kind"] == "level":
            values += [v for v in [row["hr"], *row["ci"]] if v is not None and math.isfinite(v) and v > 0]
    low = max(HR_AXIS_MIN, 2.0 ** math.floor(math.log2(min(values)) - 1e-9))
    high = min(HR_AXIS_MAX, 2.0 ** math.ceil(math.log2(max(values)) + 1e-9))
    if low >= 1:
        low = 0.5
    if high <= 1:
        high = 2.0
    return low, high


def forest_figure(results: dict, endpoint: str, plan=None, width_mm: float = style.TWO_COLUMN_MM) -> Figure:
    """Forest plot of the multivariable Cox model for ``endpoint`` ('pfs' or 'os')."""
    rows = forest_rows(results, endpoint, plan)
    notes = [style.SYNTHETIC_NOTE] if is_synthetic(results) else []

    with style.figure_style():
        row_mm = 4.0
        header_mm, top_mm, axis_mm = 5.0, 2.0, 9.0
        body_mm = row_mm * max(len(rows), 1)
        footer_mm = (len(notes) * style.line_height_mm(style.FOOTNOTE_PT) + 1.5) if notes else 0.0
        bottom_mm = 1.5
        height_mm = top_mm + header_mm + body_mm + axis_mm + footer_mm + bottom_mm
        fig = style.new_figure(width_mm, height_mm)

        # Columns (mm from the left): variable | plot | HR (95% CI) | P. The variable
        # column is as wide as its longest label; the rest share what is left.
        x_variable, x_level = 2.0, 5.0
        label_mm = max([style.text_width_mm("Variable", weight="bold")]
                       + [style.text_width_mm(r["text"], weight="bold" if r["kind"] == "factor" else "normal")
                          + (x_level - x_variable if r["kind"] != "factor" else 0.0) for r in rows])
        p_column_mm = style.text_width_mm(theme.p_value(0.0)) + 2.0
        hr_texts = [hr_text(r["hr"], r["ci"]) for r in rows if r["kind"] == "level"] + ["Not estimable"]
        hr_column_mm = max(style.text_width_mm(text) for text in hr_texts) + 5.0
        plot_left = x_variable + label_mm + 5.0
        x_p = width_mm - p_column_mm
        x_hr = x_p - hr_column_mm
        plot_right = x_hr - 5.0
        if plot_right - plot_left < 30.0:
            raise ValueError(f"forest plot: labels too long for a {width_mm:g} mm wide figure")

        ax = fig.add_axes([plot_left / width_mm, 1 - (top_mm + header_mm + body_mm) / height_mm,
                           (plot_right - plot_left) / width_mm, body_mm / height_mm], label=FOREST_AXES_LABEL)
        ax.set_ylim(max(len(rows), 1) - 0.5, -0.5)
        text_at = transforms.blended_transform_factory(fig.transFigure, ax.transData)

        def put(x_mm, y, text, **kwargs):
            fig_text = ax.text(x_mm / width_mm, y, text, transform=text_at, va="center", **kwargs)
            return fig_text

        header_y = -0.5 - header_mm / row_mm / 2
        put(x_variable, header_y, "Variable", fontweight="bold")
        put(x_hr, header_y, f"HR ({theme.confidence_label(results['plan']['alpha'])})", fontweight="bold")
        put(x_p, header_y, "P", fontweight="bold")

        if not rows:
            put((plot_left + plot_right) / 2, 0, _no_model_text(results, endpoint), ha="center")
            low, high = 0.5, 2.0
        else:
            low, high = _axis_limits(rows)

        for y, row in enumerate(rows):
            if row["kind"] == "factor":
                put(x_variable, y, row["text"], fontweight="bold")
                if row["p"] is not None:
                    put(x_p, y, theme.p_value(row["p"]))
            elif row["kind"] == "reference":
                put(x_level, y, row["text"])
                put(x_hr, y, theme.REFERENCE)
            else:
                put(x_level, y, row["text"])
                estimable = math.isfinite(row["hr"]) and row["hr"] > 0
                put(x_hr, y, hr_text(row["hr"], row["ci"]) if estimable else "Not estimable")
                if row["p"] is not None:
                    put(x_p, y, theme.p_value(row["p"]))
                _draw_estimate(ax, y, row["hr"], row["ci"], low, high)

        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ticks = [2.0 ** k for k in range(round(math.log2(low)), round(math.log2(high)) + 1)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.axvline(1.0, color="black", linewidth=style.THIN_PT, linestyle=(0, (3, 2)), zorder=1)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_xlabel("Hazard ratio (log scale)")

        add_footer(fig, notes, x_variable / width_mm, bottom_mm / height_mm)
        return style.finish(fig)


def _no_model_text(results: dict, endpoint: str) -> str:
    selection = results["cox"][endpoint].get("selection") or {}
    threshold = selection.get("threshold")
    if selection.get("rule") == "univariable_p_below" and threshold is not None:
        return f"No factor with univariable P < {threshold:g}: no multivariable model"
    return "No factor entered the multivariable model"


def _draw_estimate(ax, y: float, hr: float, ci: list[float], low: float, high: float) -> None:
    lo, hi = ci
    if not (hr is not None and math.isfinite(hr) and hr > 0):
        return
    lo_drawn = low if not (math.isfinite(lo) and lo > 0) else max(lo, low)
    hi_drawn = high if not math.isfinite(hi) else min(hi, high)
    ax.plot([lo_drawn, hi_drawn], [y, y], color="black", linewidth=style.LINE_PT, solid_capstyle="butt",
            zorder=2)
    # Arrowheads where the CI runs past the axis (e.g. separation): the bound is not drawn to scale.
    if lo_drawn > (lo if math.isfinite(lo) else 0):
        ax.plot([lo_drawn], [y], marker="<", color="black", markersize=3.5, zorder=3)
    if hi_drawn < hi:
        ax.plot([hi_drawn], [y], marker=">", color="black", markersize=3.5, zorder=3)
    if low <= hr <= high:
        ax.plot([hr], [y], marker="s", color="black", markersize=4.0, linestyle="none", zorder=4)


__all__ = ["forest_figure", "forest_rows", "hr_text"]
