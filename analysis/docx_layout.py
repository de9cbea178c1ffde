"""Word tables sized to their content within the text width, with no line break inside a number.

Pandoc gives a pipe table wider than 72 characters relative column widths from the
dashes of its separator line, spread over the full text width, so a narrow P column
wraps "0.53|5" in Word. ``fit_tables(docx)`` rewrites every table of a DOCX:

- each column gets the width its content needs (estimated from the text at the table
  font's average character width): cells that hold a number (a P value, an estimate
  with its CI) need their whole text on one line, text cells their longest word;
  space left over goes to the columns whose text would otherwise wrap; a table never
  exceeds the text width (page width minus margins, read from the document);
- a row never splits across pages;
- inside a number cell, spaces become no-break spaces, a hyphen between digits a
  no-break hyphen, and an en dash is followed by a word joiner, so Word and
  LibreOffice cannot break "0.94 (0.45–1.98)" anywhere.

Run by the post-render step on every DOCX the render wrote, under Quarto and under the
embedded engine alike. Works on the XML pandoc writes (one ``w:tbl`` per table, no
merged cells); the file is rewritten only when something changed.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

DOCUMENT = "word/document.xml"
CHAR_TWIPS = 105  # average character width of 10-11 pt Times in twentieths of a point (digits are 0.5 em)
CELL_PADDING_TWIPS = 2 * 115 + 20  # Word's default left/right cell margins (0.19 cm each) and a little air
DEFAULT_TEXT_WIDTH = 11906 - 2 * 1417  # A4 with 2.5 cm margins
NBSP, NB_HYPHEN, WORD_JOINER, EN_DASH = "\u00a0", "\u2011", "\u2060", "\u2013"

# A cell that is a number: digits with the marks numbers carry (CI brackets and dash, <, ≥, %, ±, NR/NE, footnote marks).
NUMBER_CELL = re.compile(r"^(?=.*\d)[\d\s\u00a0.,:;()\[\]<>=≤≥%±+\-\u2011\u2013\u2212\u2060/·*NREPa-f\u1d43-\u1d4f]+$")
_TBL = re.compile(r"<w:tbl>.*?</w:tbl>", re.S)
_ROW = re.compile(r"<w:tr>.*?</w:tr>|<w:tr [^>]*>.*?</w:tr>", re.S)
_CELL = re.compile(r"<w:tc>.*?</w:tc>", re.S)
_TEXT = re.compile(r"(<w:t(?: [^>]*)?>)(.*?)(</w:t>)", re.S)


def is_number(text: str) -> bool:
    return bool(NUMBER_CELL.match(text.strip())) if text.strip() else False


def unbreakable(text: str) -> str:
    """The number with every break opportunity removed (spaces, hyphens between digits, after en dashes)."""
    text = text.replace(" ", NBSP)
    text = re.sub(r"(?<=\d)-(?=\d)", NB_HYPHEN, text)
    return re.sub(f"{EN_DASH}(?!{WORD_JOINER})", EN_DASH + WORD_JOINER, text)


def _cell_text(cell: str) -> str:
    return "".join(html.unescape(m.group(2)) for m in _TEXT.finditer(cell))


def _visible_length(text: str) -> int:
    return len(text.replace(WORD_JOINER, ""))


def text_width(document_xml: str) -> int:
    size = re.search(r'<w:pgSz [^>]*w:w="(\d+)"', document_xml)
    margins = re.search(r"<w:pgMar [^>]*>", document_xml)
    if not size or not margins:
        return DEFAULT_TEXT_WIDTH
    left = re.search(r'w:left="(\d+)"', margins.group(0))
    right = re.search(r'w:right="(\d+)"', margins.group(0))
    return int(size.group(1)) - int(left.group(1) if left else 1417) - int(right.group(1) if right else 1417)


def column_widths(rows: list[list[str]], available: int) -> list[int]:
    """Twips per column: numbers on one line, text at least its longest word, within ``available``."""
    columns = max(len(r) for r in rows)
    need = [0] * columns
    prefer = [0] * columns
    for row in rows:
        for j, text in enumerate(row):
            full = _visible_length(text.strip()) * CHAR_TWIPS + CELL_PADDING_TWIPS
            if is_number(text):
                need[j] = max(need[j], full)
            else:
                longest = max((_visible_length(w) for w in re.split(r"[ \t]+", text.strip())), default=0)
                # one character spare: a bold header word ("Match") is wider than the average estimate
                need[j] = max(need[j], (longest + 1) * CHAR_TWIPS + CELL_PADDING_TWIPS)
            prefer[j] = max(prefer[j], full)
    if sum(prefer) <= available:
        return prefer  # the table is as wide as its content, no wider
    if sum(need) > available:  # cannot fit even at the minimum: scale (the narrowest possible table)
        scale = available / sum(need)
        return [int(w * scale) for w in need]
    spare = available - sum(need)
    extra = [p - n for p, n in zip(prefer, need)]
    total = sum(extra) or 1
    return [n + int(spare * e / total) for n, e in zip(need, extra)]


def _fit_table(table: str, available: int) -> str:
    rows_xml = _ROW.findall(table)
    rows = [[_cell_text(c) for c in _CELL.findall(r)] for r in rows_xml]
    if not rows or not any(rows):
        return table
    widths = column_widths(rows, available)

    def fix_cell(cell: str, width: int) -> str:
        if is_number(_cell_text(cell)):
            cell = _TEXT.sub(lambda m: m.group(1) + html.escape(unbreakable(html.unescape(m.group(2))), quote=False)
                             + m.group(3), cell)
        tcw = f'<w:tcW w:w="{width}" w:type="dxa" />'
        cell = re.sub(r"<w:tcW [^>]*/>", "", cell)
        if "<w:tcPr />" in cell:
            return cell.replace("<w:tcPr />", f"<w:tcPr>{tcw}</w:tcPr>", 1)
        if "<w:tcPr>" in cell:
            return cell.replace("<w:tcPr>", f"<w:tcPr>{tcw}", 1)
        return cell.replace("<w:tc>", f"<w:tc><w:tcPr>{tcw}</w:tcPr>", 1)

    def fix_row(match: re.Match) -> str:
        cells = iter(widths)
        row = _CELL.sub(lambda c: fix_cell(c.group(0), next(cells, widths[-1])), match.group(0))
        # a row is never split across two pages
        if "<w:cantSplit" in row:
            return row
        if "<w:trPr>" in row:
            return row.replace("<w:trPr>", "<w:trPr><w:cantSplit />", 1)
        return row.replace("<w:tr>", "<w:tr><w:trPr><w:cantSplit /></w:trPr>", 1)

    table = _ROW.sub(fix_row, table)
    grid = "<w:tblGrid>" + "".join(f'<w:gridCol w:w="{w}" />' for w in widths) + "</w:tblGrid>"
    table = re.sub(r"<w:tblGrid>.*?</w:tblGrid>", grid, table, count=1, flags=re.S)
    table = re.sub(r"<w:tblW [^>]*/>", f'<w:tblW w:type="dxa" w:w="{sum(widths)}" />', table, count=1)
    return table


def fit_tables(docx: str | Path) -> int:
    """Rewrite the tables of ``docx`` in place; returns the number of tables fitted."""
    docx = Path(docx)
    with zipfile.ZipFile(docx) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    xml = next(data for info, data in items if info.filename == DOCUMENT).decode("utf-8")
    available = text_width(xml)
    tables = _TBL.findall(xml)
    fitted = _TBL.sub(lambda m: _fit_table(m.group(0), available), xml)
    if fitted == xml:
        return 0
    tmp = docx.with_suffix(".docx.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            out.writestr(info, fitted.encode("utf-8") if info.filename == DOCUMENT else data)
    tmp.replace(docx)
    return len(tables)


# --------------------------------------------------------------------------- the submission copy

_FIGURE_PARAGRAPH = re.compile(r'<w:p><w:pPr><w:pStyle w:val="CaptionedFigure" /></w:pPr>.*?</w:p>', re.S)
_CAPTION_PARAGRAPH = re.compile(r'<w:p><w:pPr><w:pStyle w:val="ImageCaption" /></w:pPr>.*?</w:p>', re.S)
_IMAGE_RELATIONSHIP = re.compile(r'<Relationship [^>]*Type="[^"]*/image"[^>]*/>')
LEGENDS_HEADING = "Figure legends"


def submission_copy(reading: str | Path, out: str | Path) -> Path:
    """The journal's form of a manuscript DOCX: figures left out (they are uploaded as the files in
    ``figures/``), their legends collected under "Figure legends" after the references; tables,
    line and page numbers as in the reading draft."""
    reading, out = Path(reading), Path(out)
    with zipfile.ZipFile(reading) as archive:
        items = [(info, archive.read(info.filename)) for info in archive.infolist()]
    xml = next(data for info, data in items if info.filename == DOCUMENT).decode("utf-8")
    captions = _CAPTION_PARAGRAPH.findall(xml)
    xml = _CAPTION_PARAGRAPH.sub("", _FIGURE_PARAGRAPH.sub("", xml))
    heading = (f'<w:p><w:pPr><w:pStyle w:val="Heading1" /></w:pPr><w:r><w:t xml:space="preserve">'
               f"{LEGENDS_HEADING}</w:t></w:r></w:p>")
    body_end = xml.rfind("<w:sectPr")
    if captions and body_end > 0:
        xml = xml[:body_end] + heading + "".join(captions) + xml[body_end:]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            if info.filename.startswith("word/media/"):
                continue  # the figures are separate files
            if info.filename == DOCUMENT:
                data = xml.encode("utf-8")
            elif info.filename == "word/_rels/document.xml.rels":
                data = _IMAGE_RELATIONSHIP.sub("", data.decode("utf-8")).encode("utf-8")
            target.writestr(info, data)
    return out
