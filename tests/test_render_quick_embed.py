"""The preview's pages embed their images and stylesheets themselves (formats.embed_local_resources).

The page must be the one pandoc's --embed-resources writes, as a browser shows it: the same text,
the same images (byte for byte, as data: URIs) and the same styles; anything the quick path does
not handle goes to pandoc.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pypandoc
import pytest

from analysis.render import formats

PNG = base64.b64decode(  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class _Page(HTMLParser):
    """What a browser shows: the text, each image's data, each style sheet's rules (whitespace-free)."""

    def __init__(self):
        super().__init__()
        self.text, self.images, self.styles, self._in_style = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append((attrs["src"].split(",", 1)[1], attrs.get("alt"), attrs.get("style")))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(re.sub(r"/\*.*?\*/|\s+", "", data, flags=re.S))
        elif data.strip():
            self.text.append(" ".join(data.split()))


def _seen(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _document(tmp_path: Path, extra: str = "", css: str = "p { color: #123; }\n") -> tuple[dict, dict, Path]:
    work = tmp_path / "work"
    (work / "doc_files").mkdir(parents=True)
    (work / "doc_files" / "fig-a-1.png").write_bytes(PNG)
    stylesheet = tmp_path / "journal.css"
    stylesheet.write_text(css, encoding="utf-8")
    markdown = ("# Results\n\nText with *emphasis* & an ampersand, P \\< 0.05.\n\n"
                "![Kaplan-Meier & risk](doc_files/fig-a-1.png){#fig-a width=\"100%\"}\n\n" + extra)
    ast = json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))
    ast["meta"]["title"] = {"t": "MetaInlines", "c": [{"t": "Str", "c": "T"}]}
    return ast, {"css": [str(stylesheet)]}, work


def test_the_quick_page_shows_what_pandocs_embedded_page_shows(tmp_path):
    ast, options, work = _document(tmp_path)
    formats.write_html(ast, tmp_path / "pandoc.html", options, True, work, work)
    formats.write_html(ast, tmp_path / "quick.html", options, True, work, work, quick_embed=True)
    pandoc_page, quick_page = _seen(tmp_path / "pandoc.html"), _seen(tmp_path / "quick.html")
    assert quick_page.text == pandoc_page.text
    assert quick_page.images == pandoc_page.images and base64.b64decode(quick_page.images[0][0]) == PNG
    assert quick_page.styles == pandoc_page.styles and any("color:#123" in s for s in quick_page.styles)
    assert "doc_files" not in (tmp_path / "quick.html").read_text(encoding="utf-8")   # nothing left to load


@pytest.mark.parametrize("extra, css", [
    ('<script src="x.js"></script>\n', None),                      # a script
    ("![remote](https://example.org/a.png)\n", None),               # a remote image
    ("![missing](doc_files/none.png)\n", None),                     # a file that is not there (pandoc's error)
    ("", "body { background: url(paper.png); }\n"),                 # a stylesheet that loads a file
    ("", "@import 'other.css';\n"),
])
def test_anything_else_to_embed_goes_to_pandoc(tmp_path, extra, css):
    ast, options, work = _document(tmp_path, extra, css or "p { color: #123; }\n")
    page = formats.pandoc(["-f", "json", "-t", "html5", "--standalone", *(f"--css={c}" for c in options["css"])],
                          json.dumps(ast), cwd=work).stdout
    assert formats.embed_local_resources(page, work) is None


def test_a_page_without_resources_is_left_as_it_is(tmp_path):
    page = "<html><body><p>x</p></body></html>"
    assert formats.embed_local_resources(page, tmp_path) == page
