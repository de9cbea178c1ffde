"""Kaplan-Meier figures: overall (with the CI band) or stratified by a plan factor.

Drawn from the results alone (``results['km'][endpoint]``): the step curves, CI
band and censor marks are the stored fitted curves; the ticks and the numbers at
risk printed under the axis are the stored figure panel
(``results['km'][endpoint]['figures'][factor or 'overall']``, computed by
``analysis.results.km_figure_panel``); the log-rank P is ``results['logrank']``.
Nothing is fitted or counted here.

Number at risk at time t is the size of the Kaplan-Meier risk set at t,
n(t) = #{i : T_i >= t} (Kaplan & Meier 1958; the "n.risk" of R's
``summary(survfit, times=)``, and the KMunicate proposals, Morris et al.,
BMJ Open 2019;9:e030215). lifelines' ``add_at_risk_counts`` is not used: it
counts at the end of each period (T_i > t at event times) by default, places the
table by a guessed offset in inches through pyplot's global state, and gives no
access to the numbers it prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.figures import style
from analysis.figures.notes import add_footer, is_synthetic
from analysis.tables import theme  # the one place numbers become text

AT_RISK_AXES_LABEL = "at_risk_table"
MAIN_AXES_LABEL = "km_curves"


@dataclass(frozen=True)
class Curve:
    """A stored Kaplan-Meier curve as arrays (null -> NaN)."""

    times: np.ndarray
    survival: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    n_censored: np.ndarray
    n: int

    @classmethod
    def from_results(cls, entry: dict) -> "Curve":
        def floats(key):
            return np.array([np.nan if v is None else v for v in entry[key]], dtype=float)

        return cls(floats("time"), floats("survival"), floats("ci_lower"), floats("ci_upper"),
                   np.asarray(entry["n_censored"], dtype=int), int(entry["n"]))


@dataclass(frozen=True)
class KMPanel:
    """What a KM figure shows, read from the results: the groups, their curves and the at-risk table.

    groups    [(level label, patients in the group, stored curve)] in plan order
    ticks     time-axis ticks (months); also the columns of ``at_risk``
    at_risk   number at risk: (group label, one count per tick) per group
    missing   patients left out because the factor value is missing
    """

    endpoint: str
    factor: str | None
    factor_label: str | None
    groups: list[tuple[str, int, Curve]]
    ticks: list[float]
    at_risk: list[tuple[str, list[int]]]
    missing: int


def km_panel(results: dict, endpoint: str, factor: str | None = None) -> KMPanel:
    """The stored curves and at-risk table of a KM figure (see :class:`KMPanel`)."""
    try:
        stored = results["km"][endpoint]
    except KeyError:
        raise KeyError(f"endpoint {endpoint!r}: the results have no km/{endpoint}") from None
    panel = stored["figures"].get(factor or "overall")
    if panel is None:
        known = ", ".join(k for k in stored["figures"] if k != "overall")
        raise KeyError(f"factor {factor!r} has no KM figure in the results (known: {known})")
    curves = {None: stored["overall"]} if factor is None else stored["factors"][factor]
    groups = []
    for group in panel["groups"]:
        entry = curves[None] if factor is None else curves[group["level"]]
        groups.append((group["level"], int(group["n"]), Curve.from_results(entry)))
    ticks = [float(t) for t in panel["ticks"]]
    table = [(g["level"], [int(n) for n in g["at_risk"]]) for g in panel["groups"]]
    return KMPanel(endpoint, factor, panel["factor_label"], groups, ticks, table, int(panel["missing"]))


def km_at_risk_table(results: dict, endpoint: str, factor: str | None = None):
    """Numbers at risk printed under the KM figure, as a pandas DataFrame: one row per group, one column
    per tick (months). (The drawing itself needs no pandas: a document's kernel never imports it.)"""
    import pandas as pd

    panel = km_panel(results, endpoint, factor)
    return pd.DataFrame([counts for _, counts in panel.at_risk], index=[label for label, _ in panel.at_risk],
                        columns=panel.ticks, dtype=int)


def _logrank_text(results: dict, endpoint: str, factor: str) -> str | None:
    entry = (results.get("logrank") or {}).get(endpoint, {}).get(factor)
    if not entry or entry.get("p") is None:
        return None
    text = f"Log-rank {theme.p_text(entry['p'])}"
    trend = entry.get("trend")
    if trend and trend.get("p") is not None:
        text += f"\nTrend {theme.p_text(trend['p'])}"
    return text


def km_figure(results: dict, endpoint: str, factor: str | None = None,
              width_mm: float = style.ONE_COLUMN_MM) -> Figure:
    """Kaplan-Meier figure for the plan endpoint ``endpoint``, overall or by the plan factor ``factor``.

    The number-at-risk table under the axis is :func:`km_at_risk_table`; its axes
    carries the label ``AT_RISK_AXES_LABEL`` so the printed numbers can be read back.
    """
    plan = results["plan"]
    panel = km_panel(results, endpoint, factor)
    curves, ticks, missing, factor_label = panel.groups, panel.ticks, panel.missing, panel.factor_label

    notes = []
    if not curves:
        notes.append(f"No patient has a recorded {theme.lower_first(factor_label)}.")
    if missing:
        notes.append(f"Not shown: {missing} patient{'s' if missing != 1 else ''} with missing "
                     f"{theme.lower_first(factor_label)}.")
    if is_synthetic(results):
        notes.append(style.SYNTHETIC_NOTE)

    with style.figure_style():
        # Vertical layout in mm, top to bottom.
        row_mm = style.line_height_mm(style.SMALL_PT, 1.25)
        top_mm, plot_mm, axis_mm, title_mm = 2.5, 50.0, 9.5, row_mm + 0.5
        table_mm = row_mm * max(len(curves), 1)
        footer_mm = (len(notes) * style.line_height_mm(style.FOOTNOTE_PT) + 1.5) if notes else 0.0
        bottom_mm = 1.5
        height_mm = top_mm + plot_mm + axis_mm + title_mm + table_mm + footer_mm + bottom_mm

        # Left margin: wide enough for the y label + tick labels and for the risk-table row labels.
        label_width = max([style.text_width_mm(label, style.SMALL_PT) for label, _, _ in curves] + [0.0])
        left_mm = max(11.0, label_width + 5.5)
        right_mm = 3.5
        plot_width_mm = width_mm - left_mm - right_mm

        fig = style.new_figure(width_mm, height_mm)
        ax = fig.add_axes(_rect(left_mm, top_mm, plot_width_mm, plot_mm, width_mm, height_mm),
                          label=MAIN_AXES_LABEL)
        table_top = top_mm + plot_mm + axis_mm + title_mm
        rt = fig.add_axes(_rect(left_mm, table_top, plot_width_mm, table_mm, width_mm, height_mm),
                          label=AT_RISK_AXES_LABEL)

        handles = []
        for index, (label, n, curve) in enumerate(curves):
            line_style = {"color": style.OVERALL_COLOUR, "linestyle": "solid"} if factor is None \
                else style.group_style(index)
            _draw_curve(ax, curve, line_style, ci_band=factor is None)
            handles.append(Line2D([], [], linewidth=style.LINE_PT, **line_style,
                                  label=f"{label} (n = {n})"))
        if factor is None:
            handles.append(Patch(facecolor=style.CI_BAND_COLOUR, alpha=style.CI_BAND_ALPHA,
                                 edgecolor="none", label=theme.confidence_label(plan["alpha"])))
        handles.append(Line2D([], [], color="black", linestyle="none", marker=style.CENSOR_MARKER,
                              markersize=4, markeredgewidth=style.THIN_PT, label="Censored"))

        ax.set_xlim(0, ticks[-1])
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_ylim(0, 1.03)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_yticklabels(["0", "25", "50", "75", "100"])
        ax.set_xlabel(f"Time since first lung ablation ({plan['time_unit']})")
        ax.set_ylabel(f"{results[endpoint]['label']} (%)")
        ax.yaxis.set_label_coords(-7.5 / plot_width_mm, 0.5)

        title = factor_label
        logrank = _logrank_text(results, endpoint, factor) if factor else None
        if logrank:
            title = f"{title}\n{logrank}" if title else logrank
        place_legend(ax, handles, title)

        _draw_at_risk(fig, rt, panel.at_risk, ticks)
        add_footer(fig, notes, left_mm / width_mm, bottom_mm / height_mm)
        return style.finish(fig)


# Where a legend may go, in order of preference; the first that covers no curve is taken.
LEGEND_LOCATIONS = ("upper right", "lower left", "lower right", "center right", "upper center",
                    "lower center", "center left", "upper left", "center")


def curve_points(ax) -> np.ndarray:
    """Display coordinates of every drawn curve (the steps densified) and censor mark of ``ax``."""
    points = []
    for line in ax.get_lines():
        xy = line.get_xydata()
        if not len(xy):
            continue
        if line.get_drawstyle().startswith("steps"):
            # the drawn path of a post-step: horizontal runs sampled finely, so a legend cannot sit on one
            x, y = xy[:, 0], xy[:, 1]
            if len(x) > 1:   # every segment at once: linspace with array ends, one row a segment
                run_x = np.linspace(x[:-1], x[1:], 60, axis=1)
                drop_y = np.linspace(y[:-1], y[1:], 20, axis=1)
                runs = np.column_stack([run_x.ravel(), np.repeat(y[:-1], 60)])
                drops = np.column_stack([np.repeat(x[1:], 20), drop_y.ravel()])
                xy = np.concatenate([runs, drops])
        points.append(ax.transData.transform(xy))
    return np.concatenate(points) if points else np.empty((0, 2))


def legend_overlap(ax, legend, pts: np.ndarray | None = None) -> int:
    """How many drawn curve points (``curve_points(ax)`` unless given) the legend's box covers."""
    box = legend.get_window_extent(ax.figure.canvas.get_renderer())
    pts = curve_points(ax) if pts is None else pts
    inside = (pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)
    return int(inside.sum())


def place_legend(ax, handles, title):
    """The legend at the first of ``LEGEND_LOCATIONS`` where it covers no curve (else where it covers
    fewest points): measured on the drawn artists, so the same data always give the same place."""
    import textwrap

    # Then a narrower legend: shorter line samples and the title wrapped (long factor labels).
    wrapped = "\n".join(textwrap.fill(line, 16) for line in title.split("\n")) if title else title
    layouts = [(title, 2.6), (wrapped, 1.8)]
    best = None
    points = curve_points(ax)   # a legend moves no curve: measured once for every candidate place
    for legend_title, handle_length in layouts:
        for location in LEGEND_LOCATIONS:
            legend = ax.legend(handles=handles, title=legend_title, loc=location, handlelength=handle_length,
                               borderaxespad=0.3, labelspacing=0.3, alignment="left")
            covered = legend_overlap(ax, legend, points)
            if covered == 0:
                return legend
            if best is None or covered < best[0]:
                best = (covered, location, legend_title, handle_length)
    # Nowhere inside the plot is free: the legend goes above it, in a band the figure grows by.
    return _legend_above(ax, handles, title)


def _legend_above(ax, handles, title):
    fig = ax.figure
    height_in = fig.get_figheight()
    legend = ax.legend(handles=handles, title=title, loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=2,
                       handlelength=2.6, borderaxespad=0.0, labelspacing=0.3, columnspacing=1.2,
                       alignment="left")
    band_in = legend.get_window_extent(fig.canvas.get_renderer()).height / fig.dpi + 0.04
    # Keep every axes and figure text where it is, measured from the bottom; the new band is on top.
    boxes = [(a, a.get_position().bounds) for a in fig.axes]
    texts = [(t, t.get_position()) for t in fig.texts]
    fig.set_figheight(height_in + band_in)
    scale = height_in / (height_in + band_in)
    for a, (x0, y0, w, h) in boxes:
        a.set_position([x0, y0 * scale, w, h * scale])
    for t, (x, y) in texts:
        t.set_position((x, y * scale))
    return legend


def _rect(left_mm, top_mm, width_mm, height_mm, fig_w_mm, fig_h_mm) -> list[float]:
    """Axes rectangle in figure fractions from a position in mm measured from the top left."""
    return [left_mm / fig_w_mm, 1 - (top_mm + height_mm) / fig_h_mm, width_mm / fig_w_mm, height_mm / fig_h_mm]


def _draw_curve(ax, curve: Curve, line_style: dict, ci_band: bool) -> None:
    """Step curve from S(0) = 1 to the last observed time, optional CI band, censor marks on the curve."""
    times = np.concatenate([[0.0], curve.times])
    survival = np.concatenate([[1.0], curve.survival])
    ax.step(times, survival, where="post", linewidth=style.LINE_PT, solid_joinstyle="miter", **line_style)
    if ci_band:
        lower = np.concatenate([[1.0], curve.ci_lower])
        upper = np.concatenate([[1.0], curve.ci_upper])
        # The log-log band is undefined once S = 0: leave it out there rather than invent it.
        defined = np.isfinite(lower) & np.isfinite(upper)
        ax.fill_between(times, np.where(defined, lower, 0.0), np.where(defined, upper, 0.0), where=defined,
                        step="post", color=style.CI_BAND_COLOUR, alpha=style.CI_BAND_ALPHA, linewidth=0)
    censored = curve.n_censored > 0
    if censored.any():
        ax.plot(curve.times[censored], curve.survival[censored], linestyle="none", marker=style.CENSOR_MARKER,
                markersize=4, markeredgewidth=style.THIN_PT, color=line_style["color"])


def _draw_at_risk(fig, rt, at_risk: list[tuple[str, list[int]]], ticks: list[float]) -> None:
    """One row per group under the time axis, each count centred on its tick."""
    rt.set_xlim(0, ticks[-1])
    rt.set_ylim(len(at_risk) - 0.5, -0.5)
    rt.axis("off")
    # Title flush with the figure's left edge, just above the first row.
    title_at = transforms.blended_transform_factory(fig.transFigure, rt.transData)
    rt.text(1.5 / (fig.get_figwidth() * 25.4), -0.6, "Number at risk", transform=title_at,
            ha="left", va="bottom", fontsize=style.SMALL_PT, fontweight="bold")
    for row, (label, counts) in enumerate(at_risk):
        rt.annotate(label, xy=(0, row), xycoords=("axes fraction", "data"), xytext=(-4.0 / 25.4 * 72, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=style.SMALL_PT)
        for t, n in zip(ticks, counts):
            rt.text(t, row, f"{int(n)}", ha="center", va="center", fontsize=style.SMALL_PT)
