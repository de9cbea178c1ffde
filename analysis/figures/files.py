"""Which files a figure is written as (light: no matplotlib, so cache lookups need no drawing code)."""

FORMATS = ("pdf", "svg", "png", "tiff")
# Raster output: line art, so 600 dpi (journals ask for 300 to 1200).
RASTER_DPI = 600
# Figures in the HTML/PDF/DOCX documents: the RASTER_DPI image halved (save.document_png_bytes).
DOCUMENT_DPI = 300
