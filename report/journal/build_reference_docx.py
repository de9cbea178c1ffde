"""Build ``reference.docx`` (next to this file): pandoc's default reference document with journal styles.

Named by ``format: docx: reference-doc:`` in ``_quarto.yml``, so Quarto and the embedded
engine use the same file. Run once by a developer (``python report/journal/build_reference_docx.py``); the
result is committed, so rendering needs neither python-docx nor this module.
Changes to pandoc's default: serif body text 11 pt, black sans-serif headings,
captions in 10 pt, and the ``Table`` style with rules above, below and under
the header row (no vertical lines), as journals print tables; A4 paper with
2.5 cm margins (as the PDF), continuous line numbers (reviewers cite by line)
and the page number in the footer. Pandoc copies the reference document's
section properties (page size, margins, line numbering, footer) into every DOCX.
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
    _page_setup(document)
    document.save(str(out))
    return out


def _page_setup(document) -> None:
    """A4, 2.5 cm margins, line numbers restarting never, page number centred in the footer."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    sect_pr = section._sectPr
    for old in sect_pr.findall(qn("w:lnNumType")):
        sect_pr.remove(old)
    numbering = OxmlElement("w:lnNumType")
    numbering.set(qn("w:countBy"), "1")
    numbering.set(qn("w:restart"), "continuous")
    numbering.set(qn("w:distance"), "284")  # 0.5 cm between number and text (twentieths of a point)
    # schema order of sectPr children: ... pgSz, pgMar, ..., lnNumType, pgNumType, cols ...
    anchor = sect_pr.find(qn("w:pgNumType")) or sect_pr.find(qn("w:cols"))
    if anchor is not None:
        anchor.addprevious(numbering)
    else:
        sect_pr.append(numbering)
    footer = section.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph._p.get_or_add_pPr().append(OxmlElement("w:suppressLineNumbers"))  # the page number is not a text line
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


if __name__ == "__main__":
    print(build())
