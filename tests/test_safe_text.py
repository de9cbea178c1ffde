"""The escaping layer: data text is inert in Markdown (checked through pandoc), CSV and the terminal."""

from __future__ import annotations

import csv
import io

import pypandoc
import pytest

from analysis import safe_text
from analysis.tables.model import Table

HOSTILE = [
    "![](/etc/hostname)", "![x](<data/private/patients.csv>)", "![](http://127.0.0.1:9/x.png)",
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", '`#upper("x")`{=typst}',
    "#upper[x] #read(\"/etc/passwd\")", "```{=html}\n<b>x</b>\n```", "\\input{/etc/passwd} $x^2$",
    "[link](http://example.org){.cls #id}", "<http://example.org>", "x[^1]\n\n[^1]: note", "**bold** _em_",
    "{{< include /etc/passwd >}}", "@cite and [@ref]", "a | b | c", "line1\nline2\r\nline3",
    "\x1b[31mred\x1b[0m\x07", "right\u202eto-left", "=HYPERLINK(\"http://x\")", "x" * 5000, "<!-- c -->",
    "&lt;b&gt;", "\\", "ends with \\",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_markdown_reads_back_as_plain_text_of_the_value(payload: str) -> None:
    text = safe_text.markdown(payload)
    ast = pypandoc.convert_text(text, "plain", format="markdown", extra_args=["--wrap=none"]).strip()
    html = pypandoc.convert_text(text, "html", format="markdown", extra_args=["--wrap=none"])
    expected = safe_text.plain(payload)[:safe_text.MAX_MARKDOWN]
    assert ast.startswith(expected.strip()) or ast == expected.strip()
    # nothing live: no element other than the paragraph, no link, image, raw block or note
    assert "<img" not in html and "<script" not in html and "<a " not in html and "<b>" not in html
    assert html.count("<") == 2 and html.startswith("<p>"), html


def test_markdown_cell_in_a_pipe_table_stays_in_its_cell() -> None:
    table = Table(title="t", header=["a", "b"], name="t")
    table.add(safe_text.Inert("x | y\nz ![](/etc/hostname)"), "2")
    html = pypandoc.convert_text(table.to_markdown(), "html", format="markdown")
    assert html.count("<td") == 2 and "<img" not in html


def test_csv_cells_a_spreadsheet_would_run_are_prefixed_and_numbers_kept() -> None:
    table = Table(title="t", header=["a", "b", "c", "d"], name="t")
    table.add(safe_text.Inert("=HYPERLINK(\"x\")"), safe_text.Inert("@SUM(1)"), safe_text.Inert("-3.5"),
              safe_text.Inert("\tcmd"))
    row = list(csv.reader(io.StringIO(table.to_csv())))[1]
    assert row == ["0", "'=HYPERLINK(\"x\")", "'@SUM(1)", "-3.5", "'\tcmd"]


def test_terminal_shows_control_characters_instead_of_sending_them() -> None:
    out = safe_text.terminal("a\x1b[31mb\x07\u202e")
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\\x1b" in out
