"""Build ``reference.docx`` (next to this file): pandoc's default reference document with journal styles.

Named by ``format: docx: reference-doc:`` in ``_quarto.yml``, so Quarto and the embedded
engine use the same file. Run once by a developer (``python report/journal/build_reference_docx.py``); the
result is committed, so rendering needs neither python-docx nor this module.
Changes to pandoc's default: serif body text 11 pt, black sans-serif headings,
captions in 10 pt, and the ``Table`` style with rules above, below and under
the header row (no vertical lines), as journals print tables.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def build(out: Path = Path(__file__).with_name("reference.docx")) -> Path:
    import pypandoc
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    with tempfile.TemporaryDirectory() as tmp:
        default = Path(tmp) / "default.docx"
        with open(default, "wb") as handle:
            subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                           stdout=handle, check=True)
        document = Document(str(default))
    styles = document.styles
    for name in ("Normal", "Body Text", "First Paragraph", "Compact"):
        if name in [s.name for s in styles]:
            styles[name].font.name = "Times New Roman"
            styles[name].font.size = Pt(11)
    for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3", "Heading 4"):
        if name in [s.name for s in styles]:
            font = styles[name].font
            font.name = "Arial"
            font.color.rgb = RGBColor(0, 0, 0)
    names = {s.name for s in styles}
    for name in ("Table Caption", "Image Caption", "Caption"):
        if name in names:
            styles[name].font.size = Pt(10)
            styles[name].font.italic = False
    table_style = styles["Table"]
    tbl_pr = table_style.element.find(qn("w:tblPr"))
    if tbl_pr is None:
        tbl_pr = OxmlElement("w:tblPr")
        table_style.element.append(tbl_pr)
    for old in tbl_pr.findall(qn("w:tblBorders")):
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "bottom"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "single")
        element.set(qn("w:sz"), "12")
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    margins = tbl_pr.find(qn("w:tblCellMar"))  # schema order: tblBorders before tblCellMar
    if margins is not None:
        margins.addprevious(borders)
    else:
        tbl_pr.append(borders)
    document.save(str(out))
    return out


if __name__ == "__main__":
    print(build())
