"""Patient flow diagram (STROBE item 13, von Elm et al., Lancet 2007;370:1453-7).

Boxes, top to bottom: patients screened, patients included, patients analysed;
beside the first arrow, the patients excluded with a count for each reason
(largest first); beside the second, patients included but not analysed, if any.
Counts come from ``results['flow']`` = {screened, excluded: {reason: n}, included,
analysed}; when there was no screening file (screened is None or the key is
absent) the diagram starts at the included patients.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from analysis.figures import style
from analysis import safe_text
from analysis.figures.notes import add_footer, is_synthetic

FLOW_AXES_LABEL = "flow"


def _count(n: int) -> str:
    return f"(n = {int(n)})"


def _sentence_case(text: str) -> str:
    text = str(text).strip()
    return text[:1].upper() + text[1:] if text else "Reason not given"


def flow_boxes(results: dict) -> tuple[list[str], list[str | None]]:
    """Texts of the main boxes (top to bottom) and of the side box after each main box (or None)."""
    flow = results.get("flow") or {}
    included = flow.get("included", results.get("n_patients"))
    if included is None:
        raise KeyError("results have neither flow.included nor n_patients: nothing to draw")
    analysed = flow.get("analysed", included)
    screened = flow.get("screened")
    excluded = flow.get("excluded") or {}

    main: list[str] = []
    side: list[str | None] = []
    if screened is not None:
        main.append(f"Patients screened\n{_count(screened)}")
        n_excluded = int(screened) - int(included)
        reasons = sorted(excluded.items(), key=lambda item: (-int(item[1]), str(item[0])))
        lines = [f"Excluded {_count(n_excluded)}"]
        # exclusion reasons are data text: one line each, never mathtext (analysis.safe_text)
        lines += [f"\u2022 {_sentence_case(safe_text.matplotlib(reason))} {_count(n)}" for reason, n in reasons]
        side.append("\n".join(lines))
    main.append(f"Patients included\n{_count(included)}")
    not_analysed = int(included) - int(analysed)
    side.append(f"Not analysed {_count(not_analysed)}" if not_analysed else None)
    main.append(f"Patients analysed\n{_count(analysed)}")
    side.append(None)
    return main, side


def flow_figure(results: dict, width_mm: float = style.ONE_COLUMN_MM) -> Figure:
    """STROBE-style patient flow diagram, one column wide."""
    main_texts, side_texts = flow_boxes(results)
    notes = [style.SYNTHETIC_NOTE] if is_synthetic(results) else []

    margin, pad, gap = 1.5, 1.6, 4.0          # mm
    main_width = 0.42 * (width_mm - 2 * margin)
    side_left = margin + main_width + 6.0
    side_width = width_mm - margin - side_left
    line = style.line_height_mm(style.TEXT_PT)

    main_lines = [style.wrap_to_width(t, main_width - 2 * pad) for t in main_texts]
    side_lines = [_wrap_bullets(t, side_width - 2 * pad) if t else None for t in side_texts]
    main_heights = [len(lines) * line + 2 * pad for lines in main_lines]
    side_heights = [len(lines) * line + 2 * pad if lines else 0.0 for lines in side_lines]

    # Vertical positions (mm from the top): a side box sits in the gap below its main box.
    tops = []
    y = margin
    for index, height in enumerate(main_heights):
        tops.append(y)
        y += height + max(2 * gap, side_heights[index] + 2 * gap) if index < len(main_heights) - 1 else height
    footer_mm = (len(notes) * style.line_height_mm(style.FOOTNOTE_PT) + 2.0) if notes else 0.0
    height_mm = y + margin + footer_mm

    with style.figure_style():
        fig = style.new_figure(width_mm, height_mm)
        ax = fig.add_axes([0, 0, 1, 1], label=FLOW_AXES_LABEL)
        ax.set_xlim(0, width_mm)
        ax.set_ylim(height_mm, 0)
        ax.axis("off")

        main_centre = margin + main_width / 2
        for index, (top, height, lines) in enumerate(zip(tops, main_heights, main_lines)):
            _box(ax, margin, top, main_width, height, lines, centred=True)
            if index + 1 < len(tops):
                _arrow(ax, (main_centre, top + height), (main_centre, tops[index + 1]))
            if side_lines[index]:
                side_top = top + height + gap
                _box(ax, side_left, side_top, side_width, side_heights[index], side_lines[index], centred=False)
                branch_y = side_top + side_heights[index] / 2
                _arrow(ax, (main_centre, branch_y), (side_left, branch_y))

        add_footer(fig, notes, margin / width_mm, (margin / 2) / height_mm)
        return style.finish(fig)


def _wrap_bullets(text: str, width_mm: float) -> list[str]:
    """Wrap line by line; a bullet's continuation lines are indented under its text (hanging indent)."""
    out: list[str] = []
    indent = "\u2007 "  # figure space + space: about the width of "\u2022 "
    for paragraph in text.split("\n"):
        if paragraph.startswith("\u2022 "):
            wrapped = style.wrap_to_width(paragraph, width_mm - style.text_width_mm(indent))
            out += [wrapped[0]] + [indent + line for line in wrapped[1:]]
        else:
            out += style.wrap_to_width(paragraph, width_mm)
    return out


def _box(ax, left, top, width, height, lines, centred: bool) -> None:
    ax.add_patch(Rectangle((left, top), width, height, facecolor="white", edgecolor=style.BOX_EDGE,
                           linewidth=style.THIN_PT, zorder=2))
    text = "\n".join(lines)
    if centred:
        ax.text(left + width / 2, top + height / 2, text, ha="center", va="center", multialignment="center",
                fontsize=style.TEXT_PT, zorder=3)
    else:
        ax.text(left + 1.6, top + height / 2, text, ha="left", va="center", multialignment="left",
                fontsize=style.TEXT_PT, zorder=3)


def _arrow(ax, start, end) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=6, shrinkA=0, shrinkB=0,
                                 linewidth=style.THIN_PT, color="black", zorder=1))
