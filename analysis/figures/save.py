"""Write a figure in every format journals ask for, byte for byte the same on every run.

PDF and SVG (vector), PNG and TIFF (raster, ``style.RASTER_DPI``, 600 dpi: line art).
Nothing that changes between runs goes into a file: no creation date, no software
version, SVG ids from a fixed hash salt (``style.RC['svg.hashsalt']``). PNG and TIFF
hold the same pixels, RGB without an alpha channel (some submission systems reject
one), with their resolution tags set; the TIFF is LZW compressed.
"""

from __future__ import annotations

import io
from pathlib import Path

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
            if fmt == "pdf":  # fonts: the figure font (style.figure_font), small, so subset quickly
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


# zlib level of a document image: level 3 encodes in 0.020 s instead of level 6's 0.033 s (Pillow's
# default) for a file 5% larger; an image that goes into every document of every render
DOCUMENT_PNG_COMPRESS_LEVEL = 3


def _png(image: Image.Image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(dpi, dpi), compress_level=DOCUMENT_PNG_COMPRESS_LEVEL)
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
