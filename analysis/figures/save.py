"""Write a figure in every format journals ask for, byte for byte the same on every run.

PDF and SVG (vector), PNG and TIFF (raster, ``style.RASTER_DPI``, 600 dpi: line art).
Nothing that changes between runs goes into a file: no creation date, no software
version, SVG ids from a fixed hash salt (``style.RC['svg.hashsalt']``). PNG and TIFF
hold the same pixels, RGB without an alpha channel (some submission systems reject
one), with their resolution tags set; the TIFF is LZW compressed.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from matplotlib.figure import Figure
from PIL import Image

from analysis.figures import style

FORMATS = ("pdf", "svg", "png", "tiff")

# Metadata written into each format: only fixed values (None removes a key).
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


def save_figure(fig: Figure, name: str, out_dir: str | Path, formats: tuple[str, ...] = FORMATS,
                dpi: int = style.RASTER_DPI) -> list[Path]:
    """Write ``fig`` as ``out_dir/name.{pdf,svg,png,tiff}`` and return the paths written.

    The same figure saved twice gives identical bytes in every format.
    """
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
                with _lean_font_subsets():
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
    return written


# OpenType layout tables: read by text shapers, never by a PDF viewer (a PDF places
# every glyph itself). Subsetting them is ~2/3 of the time matplotlib spends
# writing a PDF (fontTools decompiles GSUB/GPOS for every embedded face), so the
# embedded subsets leave them out. The glyphs, metrics and cmap are unchanged.
_LAYOUT_TABLES = ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH", "kern"]


@contextmanager
def _lean_font_subsets() -> Iterator[None]:
    """While writing a PDF, fonts are subset without their OpenType layout tables.

    matplotlib subsets each embedded face with ``fontTools.subset`` after
    ``fontTools.subset.load_font``; the tables are removed from the loaded font
    before they are ever decompiled. Where fontTools lacks that function the PDF
    is written exactly as matplotlib writes it.
    """
    try:
        from fontTools import subset
    except ImportError:  # pragma: no cover - fontTools is a matplotlib dependency
        yield
        return
    load_font = getattr(subset, "load_font", None)
    if load_font is None:
        yield
        return

    def load_font_without_layout(*args, **kwargs):
        font = load_font(*args, **kwargs)
        for tag in _LAYOUT_TABLES:
            if tag in font:
                del font[tag]
        return font

    subset.load_font = load_font_without_layout
    try:
        yield
    finally:
        subset.load_font = load_font


def png_bytes(fig: Figure, dpi: int = 300) -> bytes:
    """The figure as PNG bytes (for embedding in a document), rendered in the figure style, same bytes every run."""
    import io

    buffer = io.BytesIO()
    with style.figure_style():
        _render_rgb(fig, dpi).save(buffer, format="PNG", dpi=(dpi, dpi))
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
