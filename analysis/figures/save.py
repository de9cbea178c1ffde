"""Write a figure in every format journals ask for, byte for byte the same on every run.

PDF and SVG (vector), PNG and TIFF (raster, ``style.RASTER_DPI``, 600 dpi: line art).
Nothing that changes between runs goes into a file: no creation date, no software
version, SVG ids from a fixed hash salt (``style.RC['svg.hashsalt']``). The TIFF is
the PNG's pixels as RGB (no alpha channel: some submission systems reject it), LZW
compressed, with its resolution tags set.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure
from PIL import Image

from analysis.figures import style

FORMATS = ("pdf", "svg", "png", "tiff")

# Metadata written into each format: only fixed values (None removes a key).
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_PNG_METADATA = {"Software": None}


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
    png_bytes: bytes | None = None
    with style.figure_style():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            if fmt == "pdf":
                fig.savefig(path, format="pdf", metadata=_PDF_METADATA)
            elif fmt == "svg":
                fig.savefig(path, format="svg", metadata=_SVG_METADATA)
            elif fmt == "png":
                png_bytes = _png(fig, dpi)
                path.write_bytes(png_bytes)
            elif fmt == "tiff":
                _tiff(png_bytes or _png(fig, dpi), path, dpi)
            written.append(path)
    return written


def _png(fig: Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata=_PNG_METADATA)
    return buffer.getvalue()


def _tiff(png_bytes: bytes, path: Path, dpi: int) -> None:
    with Image.open(io.BytesIO(png_bytes)) as image:
        rgb = image.convert("RGB")
    rgb.save(path, format="TIFF", compression="tiff_lzw", dpi=(dpi, dpi))
