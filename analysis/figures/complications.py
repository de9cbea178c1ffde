"""Complications by SIR class: the share of patients with at least one, with its exact CI."""

from __future__ import annotations

from matplotlib.figure import Figure

from analysis.figures import style
from analysis.figures.notes import add_footer, is_synthetic
from analysis.tables import theme


def complications_figure(results: dict, width_mm: float = style.ONE_COLUMN_MM) -> Figure:
    """One bar per SIR class (patients with a complication of that class, % with CI), from the results."""
    classes = results["complications"]["by_sir_class"]
    notes = [style.SYNTHETIC_NOTE] if is_synthetic(results) else []
    with style.figure_style():
        fig = style.new_figure(width_mm, 45.0 + 3.0 * len(notes))
        ax = fig.add_axes([0.16, 0.30 if notes else 0.22, 0.8, 0.62 if notes else 0.7])
        names = list(classes)
        shares = [100 * (classes[c]["patients"]["proportion"] or 0.0) for c in names]
        lows = [100 * (classes[c]["patients"]["ci"][0] or 0.0) for c in names]
        highs = [100 * (classes[c]["patients"]["ci"][1] or 0.0) for c in names]
        ax.bar(names, shares, color=style.GROUP_COLOURS[0], width=0.6)
        ax.errorbar(names, shares, yerr=[[s - lo for s, lo in zip(shares, lows)],
                                         [hi - s for s, hi in zip(shares, highs)]],
                    fmt="none", ecolor="black", elinewidth=style.THIN_PT, capsize=2)
        ax.set_xlabel("SIR class")
        ax.set_ylabel(f"Patients, % ({theme.confidence_label(results['plan']['alpha'])})")
        add_footer(fig, notes, 0.02, 0.02)
        return style.finish(fig)
