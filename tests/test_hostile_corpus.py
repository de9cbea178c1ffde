"""A hostile corpus in the corrections ledger, through ONE full render: nothing acts, leaks or fetches.

The ledger of a copy of the shipped data carries payloads (raw HTML and script,
Typst and LaTeX, pandoc raw attributes, links, images of local files and of a
loopback URL, autolinks, footnotes, attributes, shortcodes, spreadsheet formulas,
control characters, very long and multi-line values) in its reasons, in new
values of a free-text column and in exclusion reasons (which reach the flow
figure). After one render into HTML, PDF (Typst) and DOCX of both documents:

- the loopback HTTP server saw no request, and no canary file's content is in any output;
- no payload is live: no element, image, link, script or raw block made of it in any of
  the six documents or in tables/corrections.md; the payload's words are there as text;
- tables/corrections.csv has no cell a spreadsheet would run.
"""

from __future__ import annotations

import csv
import http.server
import io
import re
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from analysis import paths

pytestmark = pytest.mark.render

CANARY = "CANARY-CONTENT-5f1d0c"   # the content of files the payloads name: must never be read into an output


def payloads(port: int, secret: Path) -> list[str]:
    url = f"http://127.0.0.1:{port}"
    return [
        f"![]({secret})", f"![x](<{secret}>)", "![](../secret.txt)", f"![]({url}/img.png)",
        f"<img src={url}/raw.png onerror=alert(1)>", "<script>alert('scriptlive')</script>",
        "<b>htmlbold</b> <iframe src=x></iframe>", f"<link rel=stylesheet href={url}/css>",
        f"<style>@import url({url}/imp.css);</style>", '`#upper("typstlive")`{=typst}',
        '#upper[typsthash] #read("/etc/hostname")', f'#image("{secret}")',
        "```{=html}\n<b>rawblock</b>\n```", "`\\textbf{latexlive}`{=latex} $x^2$ \\input{/etc/hostname}",
        f"[linktext]({url}/link){{.cls onclick=alert(1)}}", f"<{url}/auto>", "note[^1]\n\n[^1]: footlive",
        f"{{{{< include {secret} >}}}}", "**boldlive** _emlive_ ~~strike~~ @citekey [@hou2025]",
        "cell | split | here", "line one\nline two\r\nline three", "\x1b[31mansired\x1b[0m\x07bell",
        "rtl\u202eoverride", "=HYPERLINK(\"http://evil/\",\"click\")", "+SUM(1,2)", "@cmd", "-2+3",
        "long-" + "x" * 5000, "<!-- hidden comment -->", "&lt;b&gt;entity&lt;/b&gt;", "trailing backslash \\",
    ]


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:   # noqa: N802 (http.server API)
        Recorder.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _complication_rows(data: Path) -> list[tuple[str, str]]:
    """(record_id, treatment) of every complications.csv row (record ids as the ledger names them)."""
    with open(data / "complications.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        seen[row["session_id"]] = seen.get(row["session_id"], 0) + 1
        out.append((f"{row['session_id']}#{seen[row['session_id']]}", row["treatment"]))
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from analysis.render_command import render

    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.txt"
    secret.write_text(CANARY)
    (root / "secret.png").write_text(CANARY)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    corpus = payloads(server.server_address[1], secret)

    data = root / "data"
    shutil.copytree(paths.SHIPPED_DATA, data)
    rows = _complication_rows(data)
    with open(data / "corrections.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["correction_id", "file", "record_id", "column", "old_value", "new_value", "reason",
                         "corrected_on", "corrected_by"])
        for index, payload in enumerate(corpus):
            record, treatment = rows[index]
            writer.writerow([f"H{index:03d}", "complications", record, "treatment", treatment, payload, payload,
                             "2026-11-20", payload[:40]])
    # exclusion reasons reach the flow figure's labels (matplotlib: no mathtext from data)
    screening = (data / "screening.csv").read_text(encoding="utf-8")
    screening = re.sub(r",no,([^\n]*)", r",no,$\\frac{x} <b>screenbold</b>", screening, count=1)
    (data / "screening.csv").write_text(screening, encoding="utf-8")

    lines: list[str] = []
    out = root / "_output"
    status = render(path=None, to="html,pdf,docx", engine="embedded", out=str(out), data=str(data),
                    no_cache=True, progress=lines.append)
    server.shutdown()
    return {"status": status, "out": out, "corpus": corpus, "requests": list(Recorder.requests), "log": lines}


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def test_the_render_succeeds_and_makes_no_network_request(hostile) -> None:
    assert hostile["status"] == 0, "\n".join(hostile["log"][-30:])
    assert hostile["requests"] == []


def test_no_file_named_by_the_data_is_read_into_any_output(hostile) -> None:
    for path in _files(hostile["out"]):
        blobs = [path.read_bytes()]
        if path.suffix == ".docx":
            with zipfile.ZipFile(path) as archive:
                blobs += [archive.read(name) for name in archive.namelist()]
        assert not any(CANARY.encode() in blob for blob in blobs), path


def test_no_payload_is_live_in_the_html_documents(hostile) -> None:
    from bs4 import BeautifulSoup

    for name in ("manuscript", "supplement"):
        soup = BeautifulSoup((hostile["out"] / "report" / f"{name}.html").read_text(encoding="utf-8"), "lxml")
        for tag in soup.find_all(True):
            assert not any(attr.lower().startswith("on") for attr in tag.attrs), tag
            for attr in ("src", "href", "data"):
                value = str(tag.get(attr, ""))
                assert "127.0.0.1" not in value and "secret" not in value and value != "x", tag
        assert not soup.find("iframe") and not soup.find("link", href=re.compile("127"))
        assert not [s for s in soup.find_all("script") if "alert" in s.get_text()]
        for word in ("htmlbold", "rawblock", "boldlive", "screenbold"):
            assert not soup.find(["b", "strong"], string=re.compile(word)), word
        assert not soup.find("em", string="emlive") and not soup.find("del")
        assert not soup.find(class_="cls") and not soup.find(class_="footnotes")
        assert "\x1b" not in str(soup) and "\u202e" not in str(soup)
    supplement = (hostile["out"] / "report" / "supplement.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(supplement, "lxml")
    text = soup.get_text(" ")
    for literal in ("<script>alert('scriptlive')</script>", "<b>htmlbold</b>", '`#upper("typstlive")`{=typst}',
                    "**boldlive**", "=HYPERLINK(", "[^1]: footlive", "more characters"):
        assert literal in text, literal
    table = next(t for t in soup.find_all("table") if "H000" in t.get_text())
    assert len(table.find_all("tr")) == len(hostile["corpus"]) + 1, "a payload broke the corrections table"


def test_no_payload_is_live_in_the_pdf_documents(hostile) -> None:
    from pypdf import PdfReader

    text = " ".join(page.extract_text() or "" for page in PdfReader(hostile["out"] / "report" / "supplement.pdf").pages)
    assert "typstlive" in text and "TYPSTLIVE" not in text and "TYPSTHASH" not in text
    assert "#upper" in text


def test_no_payload_is_live_in_the_docx_documents(hostile) -> None:
    for name in ("manuscript", "supplement"):
        with zipfile.ZipFile(hostile["out"] / "report" / f"{name}.docx") as archive:
            rels = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist() if n.endswith(".rels"))
            body = archive.read("word/document.xml").decode("utf-8")
        targets = re.findall(r'Target="([^"]*)"', rels)
        # the only external targets are the references' DOI links, no image or link of a payload
        assert not [t for t in targets if "127.0.0.1" in t or "secret" in t or "evil" in t or "etc/" in t], targets
        assert not [t for t in targets if "://" in t and not t.startswith("https://doi.org/")], targets
        assert "127.0.0.1" not in re.sub(r"<w:t[^>]*>[^<]*</w:t>", "", body), "a payload outside a text run"
    import docx

    document = docx.Document(str(hostile["out"] / "report" / "supplement.docx"))
    text = " ".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert "<script>alert('scriptlive')</script>" in text and "**boldlive**" in text


def test_the_table_files_are_inert(hostile) -> None:
    import pypandoc

    tables = hostile["out"] / "tables"
    html = pypandoc.convert_text((tables / "corrections.md").read_text(encoding="utf-8"), "html", format="markdown")
    assert "<img" not in html and "<script" not in html and "<a " not in html and "<b>" not in html
    with open(tables / "corrections.csv", encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(io.StringIO(handle.read())) for cell in row]
    runnable = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or re.match(r"-(?![\d.]+$)", c)]
    assert runnable == [], runnable
    assert "'=HYPERLINK(\"http://evil/\",\"click\")" in cells and "-2+3" not in cells
