"""Footer notes shared by every figure (synthetic-data note, missing values)."""

from __future__ import annotations

from matplotlib.figure import Figure

from analysis.figures import style


def is_synthetic(results: dict | None, cohort=None) -> bool:
    """True when the results say so (``results['synthetic']``) or the cohort is the synthetic one."""
    if results and results.get("synthetic"):
        return True
    return bool(cohort is not None and getattr(cohort, "is_synthetic", False))


def add_footer(fig: Figure, notes: list[str], left: float, bottom: float) -> None:
    """Print ``notes`` one per line at the bottom left of ``fig`` (figure fractions), the last line lowest.

    Upright only (an italic face would be one more font to embed in every PDF).
    The synthetic-data note is bold, so nobody mistakes the figure for patient results.
    """
    height_in = fig.get_figheight()
    line = style.line_height_mm(style.FOOTNOTE_PT) / 25.4 / height_in
    for index, note in enumerate(reversed(notes)):
        fig.text(left, bottom + index * line, note, ha="left", va="bottom", fontsize=style.FOOTNOTE_PT,
                 fontweight="bold" if note == style.SYNTHETIC_NOTE else "normal")
