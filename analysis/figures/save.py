"""Write a figure in every format journals ask for, byte for byte the same on every run.

PDF and SVG (vector), PNG and TIFF (raster, ``style.RASTER_DPI``, 600 dpi: line art).
Nothing that changes between runs goes into a file: no creation date, no software
version, SVG ids from a fixed hash salt (``style.RC['svg.hashsalt']``). PNG and TIFF
hold the same pixels, RGB without an alpha channel (some submission systems reject
one), with their resolution tags set; the TIFF is LZW compressed.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from matplotlib.figure import Figure
from PIL import Image

from analysis.figures import style
from analysis.figures.files import FORMATS


# Metadata written into each format: only fixed values (None removes a key).
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


def save_figure(fig: Figure, name: str, out_dir: str | Path, formats: tuple[str, ...] = FORMATS,
                dpi: int = style.RASTER_DPI) -> list[Path]:
    """Write ``fig`` as ``out_dir/name.{pdf,svg,png,tiff}`` and return the paths written.

    The same figure saved twice gives identical bytes in every format.
    """
    return save_figure_and_raster(fig, name, out_dir, formats, dpi)[0]


def save_figure_and_raster(fig: Figure, name: str, out_dir: str | Path, formats: tuple[str, ...] = FORMATS,
                           dpi: int = style.RASTER_DPI) -> tuple[list[Path], Image.Image | None]:
    """``save_figure``, also returning the RGB raster written as PNG/TIFF (None if neither was asked)."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"save_figure: unknown format(s) {sorted(unknown)}; known: {', '.join(FORMATS)}")
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"save_figure: figure name {name!r} must be a plain file name")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    raster: Image.Image | None = None
    with style.figure_style():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if fmt == "pdf":
                with _fast_font_subsets():
                    fig.savefig(path, format="pdf", metadata=_PDF_METADATA)
            elif fmt == "svg":
                fig.savefig(path, format="svg", metadata=_SVG_METADATA)
            else:
                raster = raster or _render_rgb(fig, dpi)  # one Agg render for PNG and TIFF
                if fmt == "png":
                    # Pillow writes no text chunks (no software name, no time) unless asked.
                    raster.save(path, format="PNG", dpi=(dpi, dpi))
                else:
                    raster.save(path, format="TIFF", compression="tiff_lzw", dpi=(dpi, dpi))
            written.append(path)
    return written, raster


# OpenType layout tables: read by text shapers, never by a PDF viewer (a PDF places
# every glyph itself). Subsetting them is ~2/3 of the time matplotlib spends
# writing a PDF (fontTools decompiles GSUB/GPOS for every embedded face), so the
# embedded subsets leave them out. The glyphs, metrics and cmap are unchanged.
_LAYOUT_TABLES = ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern"]

# Every embedded face is subset to these characters plus any others the figure uses.
# The subset is then the same for every figure (about 110 glyphs, some 20 kB per face),
# so a process makes it once per face instead of once per figure: fontTools reads
# the whole font (some 6,000 glyphs) for each subset, which was 0.15 s per figure.
_COMMON_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "\u2212\u2013\u2014\u00d7\u00b7\u00b1\u2264\u2265\u00b0\u00b5\u2026\u2018\u2019\u201c\u201d"
_SUBSETS: dict[tuple, tuple[bytes, dict]] = {}  # (font file, face, glyph ids) -> (subset font bytes, glyph index map)


@contextmanager
def _fast_font_subsets() -> Iterator[None]:
    """While writing a PDF, embedded fonts are subset once per process and without layout tables.

    matplotlib subsets each embedded face with ``fontTools.subset`` after
    ``fontTools.subset.load_font`` (``_backend_pdf_ps.get_glyphs_subset``). Here the
    layout tables are removed from the loaded font before they are ever decompiled,
    and the subset, taken over ``_COMMON_CHARACTERS`` plus the figure's own glyphs,
    is kept for the next figure. The PDF holds the same glyphs, metrics and cmap for
    every character it shows. Where matplotlib or fontTools lack these functions the
    PDF is written exactly as matplotlib writes it.
    """
    try:
        from fontTools import subset
        from matplotlib.backends import _backend_pdf_ps
    except ImportError:  # pragma: no cover - fontTools is a matplotlib dependency
        yield
        return
    load_font = getattr(subset, "load_font", None)
    get_glyphs_subset = getattr(_backend_pdf_ps, "get_glyphs_subset", None)
    results_type = getattr(_backend_pdf_ps, "SubsetResults", None)
    if load_font is None or get_glyphs_subset is None or results_type is None:
        yield
        return

    def load_font_without_layout(*args, **kwargs):
        font = load_font(*args, **kwargs)
        for tag in _LAYOUT_TABLES:
            if tag in font:
                del font[tag]
        return font

    def memoised_subset(fontfile, glyphs):
        from fontTools.ttLib import TTFont

        face = getattr(fontfile, "face_index", 0)
        wanted = frozenset(glyphs) | _common_glyphs(str(fontfile), face)
        key = (str(fontfile), face, wanted)
        if key not in _SUBSETS:
            with get_glyphs_subset(fontfile, wanted) as made:
                _SUBSETS[key] = (_backend_pdf_ps.font_as_file(made.font).getvalue(), dict(made.glyph_index_map))
        data, index_map = _SUBSETS[key]
        # As fontTools.subset.load_font opens it: no timestamp or bounds recomputed on save.
        font = TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False)
        return results_type(font, dict(index_map))._as_cm()

    subset.load_font = load_font_without_layout
    _backend_pdf_ps.get_glyphs_subset = memoised_subset
    try:
        yield
    finally:
        subset.load_font = load_font
        _backend_pdf_ps.get_glyphs_subset = get_glyphs_subset


@lru_cache(maxsize=None)
def _common_glyphs(font_path: str, face: int) -> frozenset:
    """Glyph ids of ``_COMMON_CHARACTERS`` in one face (those it has)."""
    from fontTools.ttLib import TTFont

    with TTFont(font_path, fontNumber=face, lazy=True) as font:
        cmap = font.getBestCmap()
        return frozenset(font.getGlyphID(cmap[ord(c)]) for c in _COMMON_CHARACTERS if ord(c) in cmap)


def png_bytes(fig: Figure, dpi: int = 300) -> bytes:
    """The figure as PNG bytes (for embedding in a document), rendered in the figure style, same bytes every run.

    Where ``dpi`` divides the journal resolution (``style.RASTER_DPI``), the image is
    the journal raster reduced by box averaging (``document_png_bytes``), so the
    render's pre-render step makes it from the raster it writes anyway.
    """
    with style.figure_style():
        if style.RASTER_DPI % dpi == 0:
            return document_png_bytes(_render_rgb(fig, style.RASTER_DPI), dpi)
        return _png(_render_rgb(fig, dpi), dpi)


def document_png_bytes(raster: Image.Image, dpi: int, raster_dpi: int = style.RASTER_DPI) -> bytes:
    """PNG bytes at ``dpi`` from a raster made at ``raster_dpi`` (a whole multiple of ``dpi``): box-averaged pixels."""
    factor, remainder = divmod(raster_dpi, dpi)
    if remainder or factor < 1:
        raise ValueError(f"document_png_bytes: {raster_dpi} dpi is not a whole multiple of {dpi} dpi")
    return _png(raster.reduce(factor) if factor > 1 else raster, dpi)


def _png(image: Image.Image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def _render_rgb(fig: Figure, dpi: int) -> Image.Image:
    """The figure's pixels at ``dpi`` as an RGB image (white background, no alpha)."""
    screen_dpi = fig.dpi
    fig.set_dpi(dpi)
    try:
        rgba, size = fig.canvas.print_to_buffer()  # Agg: the buffer and its exact pixel size
    finally:
        fig.set_dpi(screen_dpi)
    return Image.frombuffer("RGBA", size, rgba, "raw", "RGBA", 0, 1).convert("RGB")
