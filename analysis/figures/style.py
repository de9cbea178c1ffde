"""One place for the look of every figure: palette, line styles, fonts, sizes.

Sizes follow the usual journal columns: 85 mm for one column, 170 mm for two.
Text is never smaller than 6 pt at the final printed size; figures are built at
that size, so a size in points here is the size in print.

Palette: Okabe & Ito (2008), "Color Universal Design", safe for the common forms
of colour-vision deficiency. Groups are told apart by line style as well as
colour, so curves stay distinct when printed in greyscale.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never
through pyplot, so no figure and no setting leaks from one figure into the next.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from analysis.figures.files import RASTER_DPI

MM = 1 / 25.4  # inches per millimetre

ONE_COLUMN_MM = 85.0
TWO_COLUMN_MM = 170.0

# Point sizes at the printed size.
MIN_TEXT_PT = 6.0
TEXT_PT = 7.0          # axis labels, legend, box text
SMALL_PT = 6.5         # tick labels, number-at-risk table
FOOTNOTE_PT = 6.0      # footer notes (synthetic data, missing values)

LINE_PT = 1.0          # survival curves, CI whiskers
THIN_PT = 0.6          # axes, boxes, reference lines

# Resolution of the figure object itself (what pytest-mpl compares).
SCREEN_DPI = 200

FONT_FAMILY = "DejaVu Sans"  # ships with matplotlib: the same glyphs on every machine
# The figures' text is set in a subset of it, made once (``figure_font``): every glyph,
# metric, hint, ligature and kerning pair of these characters, under its own family
# name, with FONT_FAMILY as the fallback for any other character. matplotlib then
# embeds a subset of the small font in each PDF (fontTools reads its layout tables
# in milliseconds, against about a second per figure for the full face), through
# public APIs only (fontTools.subset, font_manager.addfont).
FIGURE_FONT_FAMILY = "DejaVu Sans Figures"
# (Superscript digits and ordinals are left to the fallback face: subset, they rasterise differently.)
FIGURE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x180)
                            if chr(c).isprintable() and chr(c) not in "\u00aa\u00b2\u00b3\u00b9\u00ba") + (
    "\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u2032\u2033\u2212\u2264\u2265\u221e"
    "\u00b1\u00d7\u00b7\u00b5\u00b0")
_FONT_FACES = ("normal", "bold")
_FONT_SUBSET_VERSION = "5"

# Okabe-Ito, in the order groups receive them: blue and orange first (very
# different lightness, so a two-group plot survives greyscale even without
# the line styles), then green, reddish purple, vermillion, sky blue.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GROUP_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")
GROUP_LINESTYLES = ("solid", (0, (4.0, 1.6)), (0, (1.0, 1.2)), (0, (5.0, 1.5, 1.0, 1.5)),
                    (0, (7.0, 2.0)), (0, (2.0, 1.0, 2.0, 3.0)))
OVERALL_COLOUR = "#000000"
CI_BAND_COLOUR = "#000000"
CI_BAND_ALPHA = 0.15
GRID_GREY = "#BBBBBB"
BOX_EDGE = "#000000"
CENSOR_MARKER = "|"

SYNTHETIC_NOTE = "Synthetic data \u2014 not patient results"

# rcParams for every figure, applied on top of matplotlib's defaults (never the
# user's matplotlibrc), so output does not depend on the machine.
RC: dict = {
    "font.family": [FIGURE_FONT_FAMILY, FONT_FAMILY],  # a list: matplotlib falls back per character
    "font.sans-serif": [FIGURE_FONT_FAMILY, FONT_FAMILY],
    "font.size": TEXT_PT,
    "axes.labelsize": TEXT_PT,
    "axes.titlesize": TEXT_PT,
    "axes.linewidth": THIN_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.labelsize": SMALL_PT,
    "ytick.labelsize": SMALL_PT,
    "xtick.major.width": THIN_PT,
    "ytick.major.width": THIN_PT,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "legend.fontsize": SMALL_PT,
    "legend.title_fontsize": SMALL_PT,
    "legend.frameon": False,
    "lines.linewidth": LINE_PT,
    "figure.dpi": SCREEN_DPI,
    "savefig.dpi": RASTER_DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    # Vector output: TrueType (Type 42) fonts in PDF, as journals ask (no Type 3);
    # text as paths in SVG so it looks the same without the font installed.
    "pdf.fonttype": 42,
    "svg.fonttype": "path",
    # Fixed salt: SVG element ids are hashes, otherwise random per run.
    "svg.hashsalt": "ablation-manuscript",
    "path.simplify": False,
}


@contextmanager
def figure_style() -> Iterator[None]:
    """Matplotlib defaults + ``RC`` for the duration of the block, then the caller's settings back."""
    figure_font()
    with mpl.rc_context():
        mpl.rcdefaults()  # style-blacklisted keys (the backend) are left alone
        mpl.rcParams.update(RC)
        yield


@lru_cache(maxsize=None)
def figure_font() -> tuple[Path, ...]:
    """The figure font's files (``FIGURE_FONT_FAMILY``), made once per machine and registered once per process.

    Each face of FONT_FAMILY is subset to FIGURE_CHARACTERS with fontTools' public
    ``Subsetter`` (layout features, hinting and the legacy kern table kept, so text
    is laid out and rasterised exactly as with the full face), renamed, and written
    into a folder named after a digest of the source font and the settings (the
    same bytes on every run: no timestamps). ``font_manager.fontManager.addfont``
    makes it known to matplotlib.
    """
    import hashlib
    import os
    import tempfile

    from matplotlib import font_manager

    made = []
    for weight in _FONT_FACES:
        source = Path(font_manager.findfont(FontProperties(family=FONT_FAMILY, weight=weight),
                                            fallback_to_default=False))
        digest = hashlib.sha256(source.read_bytes() + FIGURE_CHARACTERS.encode() + _FONT_SUBSET_VERSION.encode())
        target = Path(tempfile.gettempdir()) / "ablation-figure-fonts" / digest.hexdigest()[:16] / \
            source.name.replace(FONT_FAMILY.replace(" ", ""), FIGURE_FONT_FAMILY.replace(" ", ""))
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".{target.name}.{os.getpid()}")
            _write_subset(source, staging)
            os.replace(staging, target)  # atomic: a concurrent process writes the same bytes
        font_manager.fontManager.addfont(str(target))
        made.append(target)
    return tuple(made)


def _write_subset(source: Path, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = True
    options.legacy_kern = True
    options.recalc_timestamp = False
    options.recalc_bounds = False
    options.drop_tables += ["GPOS"]  # positioning: matplotlib kerns with the legacy kern table (kept)
    font = TTFont(source, recalcTimestamp=False, recalcBBoxes=False)
    cmap = font.getBestCmap()
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in FIGURE_CHARACTERS if ord(c) in cmap])
    import logging

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "FFTM NOT subset": a timestamp table, dropped
    subsetter.subset(font)
    compact, figure = FONT_FAMILY.replace(" ", ""), FIGURE_FONT_FAMILY.replace(" ", "")
    for record in font["name"].names:
        text = record.toUnicode()
        record.string = text.replace(FONT_FAMILY, FIGURE_FONT_FAMILY).replace(compact, figure)
    font.save(target)


def new_figure(width_mm: float, height_mm: float) -> Figure:
    """A figure of the printed size, on an Agg canvas (no pyplot, no global figure registry)."""
    fig = Figure(figsize=(width_mm * MM, height_mm * MM), dpi=SCREEN_DPI)
    FigureCanvasAgg(fig)
    return fig


_RENDERED_IN_STYLE = ContextVar("rendered_in_style", default=False)


@contextmanager
def rendered_in_style() -> Iterator[None]:
    """Figures drawn in this block are rendered inside ``figure_style`` before they leave it
    (``save.png_bytes``): their first draw lays them out in the style, so ``finish`` skips its
    own layout pass (a whole draw: 0.045 s a figure); the pixels are the same."""
    token = _RENDERED_IN_STYLE.set(True)
    try:
        yield
    finally:
        _RENDERED_IN_STYLE.reset(token)


def finish(fig: Figure) -> Figure:
    """Lay the figure out once inside the style, so lazily created artists (ticks) take it."""
    if not _RENDERED_IN_STYLE.get():
        fig.draw_without_rendering()
    return fig


def group_style(index: int) -> dict:
    """Colour and line style of the index-th group (cycling if there are more groups than styles)."""
    return {"color": GROUP_COLOURS[index % len(GROUP_COLOURS)],
            "linestyle": GROUP_LINESTYLES[index % len(GROUP_LINESTYLES)]}


_TEXT_TO_PATH = TextToPath()


def text_width_mm(text: str, size_pt: float = TEXT_PT, weight: str = "normal") -> float:
    """Printed width of one line of ``text`` in the figure font (no figure needed)."""
    if not text:
        return 0.0
    figure_font()
    prop = FontProperties(family=[FIGURE_FONT_FAMILY, FONT_FAMILY], size=size_pt, weight=weight)
    width_pt, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)
    return width_pt / 72.0 * 25.4


def line_height_mm(size_pt: float = TEXT_PT, spacing: float = 1.2) -> float:
    return size_pt * spacing / 72.0 * 25.4


def wrap_to_width(text: str, width_mm: float, size_pt: float = TEXT_PT, weight: str = "normal") -> list[str]:
    """Greedy word wrap so every line fits ``width_mm`` at ``size_pt`` (a single long word stays whole)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        current = words[0]
        for word in words[1:]:
            candidate = f"{current} {word}"
            if text_width_mm(candidate, size_pt, weight) <= width_mm:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return lines
