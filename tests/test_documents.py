"""The shipped documents under the embedded engine: complete tables, captions and clean text in every format.

One render of the project (module fixture); then, for the manuscript and the supplement:

- every row of every table is in the PDF text, each row's cells on one line in order (a
  table that does not break across pages loses its last rows at the page foot: issue 12 item 1);
- no word of the PDF lies below the bottom margin, except the page number;
- every ``tbl-cap`` of the .qmd is printed as "Table N: caption" in HTML, PDF and DOCX (a
  notes paragraph in the table's cell output would replace it: issue 12 item 2);
- no ``[[n]]`` and no backtick in any format (a plain-string inline value carrying
  citations or code is escaped by Quarto: issue 12 item 3).
"""

from __future__ import annotations

import csv
import html
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from analysis import paths

pytestmark = pytest.mark.render

DOCUMENTS = ("manuscript", "supplement")
FORMATS = ("html", "pdf", "docx")
BOTTOM_MARGIN_PT = 2.5 / 2.54 * 72  # _quarto.yml: format: typst: margin: y: 2.5cm


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u00ad", "").split())


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    from analysis.render_command import render

    folder = tmp_path_factory.mktemp("documents") / "_output"
    lines: list[str] = []
    status = render(str(paths.PROJECT_ROOT), out=str(folder), engine="embedded", data=str(paths.SHIPPED_DATA),
                    no_cache=True, progress=lines.append)
    assert status == 0, "\n".join(lines)
    return folder


def pdf_layout(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def text_of(out: Path, doc: str, fmt: str) -> str:
    path = out / "report" / f"{doc}.{fmt}"
    if fmt == "pdf":
        return _norm(pdf_layout(path))
    if fmt == "docx":
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("word/document.xml").decode("utf-8")
        paragraphs = re.findall(r"<w:p[ >].*?</w:p>", xml, re.S)
        return _norm(" ".join("".join(html.unescape(t) for t in re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p))
                              for p in paragraphs))
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    return _norm(soup.get_text(" "))


def document_tables(doc: str) -> list[str]:
    """The table names a document prints, in order (``R.table_markdown("name")`` cells)."""
    source = (paths.REPORT_DIR / f"{doc}.qmd").read_text(encoding="utf-8")
    return re.findall(r'R\.table_markdown\("(\w+)"\)', source)


def table_captions(doc: str) -> list[str]:
    source = (paths.REPORT_DIR / f"{doc}.qmd").read_text(encoding="utf-8")
    return [yaml.safe_load(value) for value in re.findall(r"^#\| tbl-cap: (.*)$", source, re.M)]


def table_labels(doc: str, count: int) -> list[str]:
    """The tables' numbers as printed: the front matter's ``crossref: tbl-labels`` list (S1, S2...) or 1, 2..."""
    source = (paths.REPORT_DIR / f"{doc}.qmd").read_text(encoding="utf-8")
    front = yaml.safe_load(source.split("\n---", 1)[0].removeprefix("---")) or {}
    labels = (front.get("crossref") or {}).get("tbl-labels")
    return [str(label) for label in labels[:count]] if isinstance(labels, list) else [str(n) for n in range(1, count + 1)]


def csv_rows(out: Path, name: str) -> list[list[str]]:
    with open(out / "tables" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    # the synthetic-data notice line (tables made from synthetic data say so) is not a table row
    rows = [row for row in rows if not (len(row) == 1 and row[0].startswith("# "))]
    # Markdown markup in a cell (bold headings, code spans) is not printed
    return [[cell.replace("**", "").replace("`", "") for cell in row[1:] if cell.strip()] for row in rows[1:]]


def _cells_in_order(line: str, cells: list[str]) -> bool:
    position = 0
    for cell in cells:
        found = line.find(cell, position)
        if found < 0:
            return False
        position = found + len(cell)
    return True


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text)


def row_printed(lines: list[str], cells: list[str]) -> bool:
    """The row's cells on one line in order, its first cell possibly wrapped onto the next lines
    (hyphenated or not) while the other cells stay on the first line."""
    key = _squash(cells[0])
    for i, line in enumerate(lines):
        if not _cells_in_order(line, cells[1:]):
            continue
        label = _squash(line[:line.find(cells[1])] if len(cells) > 1 else line)
        for following in [None, *lines[i + 1:i + 3]]:
            if following is not None:
                label += _squash(following)
            if key in label:
                return True
    # several cells wrapped (columns interleave in the layout text): every word of the row on the
    # line where the row starts and the two after it
    from collections import Counter

    words = Counter(" ".join(cells).split())
    for i, line in enumerate(lines):
        if line.startswith(cells[0].split()[0]) and not words - Counter(" ".join(lines[i:i + 3]).split()):
            return True
    return False


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_row_of_every_table_is_in_the_pdf(out, doc):
    # the PDF numbers its lines in the margin (reviewers cite by line): those numbers are not table text
    lines = [_norm(re.sub(r"^\s*\d+ {2,}", "", line)) for line in pdf_layout(out / "report" / f"{doc}.pdf").splitlines()]
    missing = []
    for name in document_tables(doc):
        for row in csv_rows(out, name):
            cells = [_norm(c) for c in row]
            if not row_printed(lines, cells):
                missing.append(f"{name}: {' | '.join(cells)}")
    assert missing == []


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_nothing_below_the_bottom_margin(out, doc):
    bbox = subprocess.run(["pdftotext", "-bbox", str(out / "report" / f"{doc}.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    below = []
    pages = re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', bbox, re.S)
    assert pages
    for number, (height, body) in enumerate(pages, start=1):
        limit = float(height) - BOTTOM_MARGIN_PT + 1
        below += [f"page {number}: {html.unescape(word)}" for y_max, word in
                  re.findall(r'yMax="([\d.]+)">([^<]*)</word>', body)
                  if float(y_max) > limit and html.unescape(word) != str(number)]
    assert below == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_tbl_cap_is_printed(out, doc, fmt):
    text = text_of(out, doc, fmt)
    captions = table_captions(doc)
    assert captions
    # numbered as the document numbers them (S1, S2... in the supplement); a table captioned in Markdown
    # (the supplement's reproduction table, shown for synthetic data only) takes a number too
    labels = "|".join(re.escape(label) for label in table_labels(doc, 40))
    missing = [f"Table ?: {cap}" for cap in captions
               if not re.search(rf"Table (?:{labels}): {re.escape(_norm(cap))}", text)]
    assert missing == []


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("doc", DOCUMENTS)
def test_no_escaped_citation_and_no_stray_backtick(out, doc, fmt):
    text = text_of(out, doc, fmt)
    squashed = re.sub(r"\s+", "", text)  # HTML text has spaces around the citation link: "[ [7] ]"
    assert re.findall(r"\[\[\d+", squashed) == []
    assert re.findall(r"\[[A-Z][a-z]+ [A-Z]+, [^\]]*\[\d+\]\]", text) == []  # Typst's own: "[Clopper CJ, ... [7]]"
    assert "`" not in text
    assert "\\" not in text  # no backslash escape shown literally
