"""Render the fixture project with the embedded engine and read every output back.

One session-scoped render (twice, for the reproducibility check) is shared by
all tests: the fixture project has one document with cells (one kernel per
render) and one without (no kernel). HTML is parsed with BeautifulSoup, PDF
text and images with pypdf, DOCX with python-docx. The expected numbers come
from the order of the labels in ``tests/fixtures/qmd/project/features.qmd``,
not from an earlier render.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from analysis.cli import main

pytestmark = pytest.mark.render

FIXTURES = Path(__file__).parent / "fixtures" / "qmd"
PROJECT = FIXTURES / "project"
ERRORS = FIXTURES / "errors"
DATA_NAME = "fixture-data-dir"

# In features.qmd: tbl-demo is the first table, the Markdown table tbl-md the second;
# fig-line the first figure, fig-bars the second; sec-methods is the second numbered section.
REFERENCE_SENTENCE = ("Table 1 lists the groups, Figure 1 shows a line and Figure 2 shows bars; "
                      "the methods are in Section 2 and the second table is Table 2.")
CAPTIONS = ["Table 1: Demonstration table with emphasis", "Figure 1: A straight line.",
            "Table 2: Markdown table with a label", "Figure 2: Bars from a cell."]
# biomed-central style: numbered citations in brackets, Vancouver-like entries
CITATION = "described before [1, 2]."
BIBLIOGRAPHY = ["Smith J, Doe J. Microwave ablation of pulmonary metastases. Cancer Imaging. 2020;20:1–8.",
                "Jones A. Radiofrequency ablation outcomes. Radiology. 2021;298:100–10."]
INLINE = "The inline answer is forty-two, the sum is 42 and the data folder is fixture-data-dir."
LEFTOVERS = ["?@", "??", "@tbl-", "@fig-", "@sec-", "HIDDEN-"]


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u00ad", "")).strip()


def render_project(out: Path) -> None:
    data = out.parent / DATA_NAME
    data.mkdir(exist_ok=True)
    status = main(["render", str(PROJECT), "--engine", "embedded", "--out", str(out), "--data", str(data)])
    assert status == 0


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> tuple[Path, Path]:
    first = tmp_path_factory.mktemp("render1") / "out"
    second = tmp_path_factory.mktemp("render2") / "out"
    render_project(first)
    render_project(second)
    return first, second


@pytest.fixture(scope="session")
def texts(rendered) -> dict[str, str]:
    out = rendered[0]
    return {"html": html_text(out / "features.html"), "pdf": pdf_text(out / "features.pdf"),
            "docx": docx_text(out / "features.docx")}


def html_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")
    return normalise(soup.body.get_text())  # pandoc puts a newline between block elements


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return normalise(" ".join(page.extract_text() for page in PdfReader(str(path)).pages))


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = []
    # body order: paragraphs and tables as they appear
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            parts.append("".join(node.text or "" for node in block.iter() if node.tag.endswith("}t")))
        elif tag == "tbl":
            parts.append(" ".join(node.text or "" for node in block.iter() if node.tag.endswith("}t")))
    return normalise(" ".join(parts))


def test_outputs_written_with_prerender(rendered):
    out = rendered[0]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        ["features.html", "features.pdf", "features.docx", "second.html", "second.pdf", "second.docx", "prerender.txt"])
    assert (out / "prerender.txt").read_text().splitlines() == [
        "render_all=1", f"data={DATA_NAME}", "inputs=features.qmd,second.qmd"]
    assert not list(out.glob(".render-staging-*"))


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_captions_references_citations_inline_values(texts, fmt):
    text = texts[fmt]
    positions = [text.find(caption) for caption in CAPTIONS]
    assert all(p >= 0 for p in positions), (fmt, CAPTIONS, text[:3000])
    # numbered in order of appearance; in the PDF figures float (to the top or bottom of a page,
    # header.typ), so only the order within each kind is the reading order there
    for kind in ("Table", "Figure") if fmt == "pdf" else ("",):
        ordered = [p for p, c in zip(positions, CAPTIONS) if c.startswith(kind)]
        assert ordered == sorted(ordered)
    assert REFERENCE_SENTENCE in text
    assert CITATION in text
    for entry in BIBLIOGRAPHY:
        assert entry in text
    assert INLINE in text
    assert "1 Introduction" in text and "2 Methods" in text and "3 Results" in text
    for leftover in LEFTOVERS:
        assert leftover not in text, (fmt, leftover)
    # the only '{python}' left is the one inside a plain (not executed) code block
    assert text.count("{python}") == 1 and "`{python} not_evaluated`" in text


@pytest.mark.parametrize("fmt", ["html", "pdf", "docx"])
def test_cell_options_applied(texts, fmt):
    text = texts[fmt]
    assert "ECHOED-OUTPUT" in text and 'print("ECHOED-OUTPUT")' in text      # echo: true shows code and output
    assert "ASIS-MARKDOWN bold from asis" in text and "**" not in text      # output: asis -> Markdown
    assert "UserWarning: SHOWN-WARNING" in text                              # warning: true (front matter)
    assert "HIDDEN-WARNING" not in text                                      # warning: false (cell)
    assert "HIDDEN-INCLUDE-FALSE" not in text and "HIDDEN-OUTPUT-FALSE" not in text
    assert "ZeroDivisionError: division by zero" in text                     # error: true
    assert 'raise SystemExit("NOT-EVALUATED")' in text                       # eval: false, echo: true
    assert "import matplotlib" not in text                                   # echo: false from _quarto.yml


def test_html_structure_links_and_embedded_images(rendered):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((rendered[0] / "features.html").read_text(encoding="utf-8"), "lxml")
    assert soup.find("h1", class_="title").get_text() == "Fixture: every supported feature"
    links = {a["href"]: normalise(a.get_text()) for a in soup.select("a.quarto-xref")}
    assert links == {"#tbl-demo": "Table 1", "#fig-line": "Figure 1", "#fig-bars": "Figure 2",
                     "#sec-methods": "Section 2", "#tbl-md": "Table 2"}  # [Table -@tbl-md]: the prefix is inside the link (crossref/refs.lua)
    for target in links:
        assert soup.find(id=target[1:]) is not None
    assert [normalise(c.get_text()) for c in soup.find_all("caption")] == [CAPTIONS[0], CAPTIONS[2]]
    assert [normalise(c.get_text()) for c in soup.find_all("figcaption")] == [CAPTIONS[1], CAPTIONS[3]]
    images = soup.find_all("img")
    assert len(images) == 2 and all(img["src"].startswith("data:image/png;base64,") for img in images)
    assert soup.find("img", alt="A diagonal line from bottom left to top right.") is not None
    assert soup.find("strong", string="bold from asis") is not None


URL_IN_CSS = re.compile(r"url\(\s*['\"]?([^'\")]+)")


def test_html_loads_no_external_resource(rendered):
    from bs4 import BeautifulSoup

    for name in ("features.html", "second.html"):
        html = (rendered[0] / name).read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "lxml")
        urls = []
        for tag in soup.find_all(True):
            for attribute in ("src", "href", "srcset", "data", "poster", "action", "xlink:href"):
                if tag.has_attr(attribute):
                    urls.append(tag[attribute])
            if tag.has_attr("style"):
                urls += URL_IN_CSS.findall(tag["style"])
        for style in soup.find_all("style"):
            urls += URL_IN_CSS.findall(style.get_text())
            assert "@import" not in style.get_text()
        assert urls, "expected some links and images"
        for url in urls:
            assert url.startswith("data:") or url.startswith("#"), (name, url[:80])
        assert not soup.find_all("script", src=True) and not soup.find_all("link", rel="stylesheet")
        assert "mathjax" not in html.lower() and "googleapis" not in html


def test_pdf_images_are_xobjects_and_metadata_fixed(rendered):
    from pypdf import PdfReader

    reader = PdfReader(str(rendered[0] / "features.pdf"))
    images = []
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject") or {}
        images += [name for name, obj in xobjects.items() if obj.get_object()["/Subtype"] == "/Image"]
    assert len(images) == 2
    assert reader.metadata["/CreationDate"] == "D:20000101000000Z"
    assert reader.metadata["/Title"] == "Fixture: every supported feature"
    # citations and cross-references on page 1 are internal links (2 citations + 5 references)
    links = [a.get_object() for a in reader.pages[0].get("/Annots") or []]
    internal = [a for a in links if a.get("/Subtype") == "/Link" and a.get("/Dest") is not None]
    assert len(internal) == 7


def test_docx_images_tables_and_captions(rendered):
    import docx

    document = docx.Document(str(rendered[0] / "features.docx"))
    assert len(document.inline_shapes) == 2
    assert len(document.tables) == 2
    assert [c.text for c in document.tables[0].rows[0].cells] == ["Group", "n", "Median PFS"]
    captions = [normalise(p.text) for p in document.paragraphs if p.style.name in ("Table Caption", "Image Caption")]
    assert captions == CAPTIONS
    # every cross-reference is an internal hyperlink to a bookmark that exists
    with zipfile.ZipFile(rendered[0] / "features.docx") as package:
        xml = package.read("word/document.xml").decode()
    anchors = set(re.findall(r'w:anchor="([^"]+)"', xml))
    bookmarks = set(re.findall(r'w:bookmarkStart[^>]*w:name="([^"]+)"', xml))
    assert {"tbl-demo", "tbl-md", "fig-line", "fig-bars", "sec-methods"} <= anchors <= bookmarks


def test_second_document_shares_project_metadata(rendered):
    out = rendered[0]
    for text in (html_text(out / "second.html"), pdf_text(out / "second.pdf"), docx_text(out / "second.docx")):
        assert "Figure 1: A one-pixel dot." in text
        assert "(Figure 1), a citation [1] and maths" in text  # one citation: number 1 in this document
        assert BIBLIOGRAPHY[1] in text
    html = (out / "second.html").read_text(encoding="utf-8")
    assert "<math" in html and "mathjax" not in html.lower()  # maths as MathML: nothing to load


def test_rendering_twice_is_identical(rendered):
    first, second = rendered
    for name in ("features.html", "second.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    for name in ("features.pdf", "second.pdf"):
        assert pdf_text(first / name) == pdf_text(second / name), name
    for name in ("features.docx", "second.docx"):
        with zipfile.ZipFile(first / name) as a, zipfile.ZipFile(second / name) as b:
            assert a.namelist() == b.namelist()
            for member in a.namelist():
                assert a.read(member) == b.read(member), (name, member)


def test_raising_cell_stops_render_and_keeps_previous_outputs(rendered, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    for suffix in (".html", ".pdf", ".docx"):  # a previous, complete set of outputs
        shutil.copy(rendered[0] / f"features{suffix}", out / f"raising_cell{suffix}")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    status = main(["render", str(ERRORS / "raising_cell.qmd"), "--engine", "embedded", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    # label, the .qmd line of the failing statement (ratio = numerator / denominator) and the Python error
    assert "raising_cell.qmd:16: cell 'compute-ratio' (cell starts at line 12) failed: " \
           "ZeroDivisionError: division by zero" in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


@pytest.mark.browser
def test_html_opens_in_headless_chromium(rendered, tmp_path):
    if CHROMIUM is None:
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("REQUIRE_CHROMIUM=1 but chromium is not installed")
        pytest.skip("chromium not installed")
    from bs4 import BeautifulSoup
    from PIL import Image, ImageStat

    page = (rendered[0] / "features.html").as_uri()
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1600"]
    dom = subprocess.run(flags + ["--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    soup = BeautifulSoup(dom, "lxml")
    assert normalise(soup.find("h1", class_="title").get_text()) == "Fixture: every supported feature"
    assert normalise(soup.find("table").find("caption").get_text()) == CAPTIONS[0]
    assert soup.find("figure").find("img")["src"].startswith("data:image/png")
    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--screenshot={shot}", page], capture_output=True, timeout=120)
    image = Image.open(shot).convert("L")
    assert image.size == (1000, 1600)
    # not blank: plenty of dark (text, table rules, the plotted line) and light pixels
    histogram = image.histogram()
    dark = sum(histogram[:100]) / (image.size[0] * image.size[1])
    assert 0.005 < dark < 0.5, dark
    assert ImageStat.Stat(image).stddev[0] > 20
