"""A bare ``<`` that cannot open a tag is written ``\\<`` in the Markdown the project generates.

Only for speed: pandoc's Markdown reader tries raw HTML at every bare ``<`` and that attempt
scans ahead, so 19 of them ("P < 0.001", "<60 years") made the manuscript's read 0.07 -> 0.21 s
CPU. The document must stay the same: every check here compares pandoc's AST (or the output
bytes) of the escaped text with that of the text as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import pypandoc
import pytest

from analysis import safe_text
from analysis.render.execute import _QUARTO_INLINE_ESCAPED, inline_markdown
from analysis.tables import registry
from analysis.tables.model import Table

DATA = Path(__file__).parent / "fixtures" / "example_data"


def _ast(markdown: str) -> list:
    return json.loads(pypandoc.convert_text(markdown, "json", format="markdown"))["blocks"]


@pytest.mark.parametrize("text, expected", [
    ("P < 0.05", "P \\< 0.05"), ("<0.001", "\\<0.001"), ("x<", "x\\<"), ("<<", "\\<\\<"),
    ("<b>bold</b>", "<b>bold</b>"), ("<!-- c -->", "<!-- c -->"), ("<?x?>", "<?x?>"),   # may open markup
    ("a\\< 1", "a\\< 1"),          # already escaped
    ("a\\\\< 1", "a\\\\\\< 1"),    # an escaped backslash, then a bare "<"
    ("run `a < b` then x < y", "run `a < b` then x \\< y"),            # code spans keep their text
    ("two ``a ` < b`` < c", "two ``a ` < b`` \\< c"), ("lone ` < x", "lone ` \\< x"),
])
def test_literal_lt(text: str, expected: str) -> None:
    assert safe_text.literal_lt(text) == expected
    assert _ast(expected) == _ast(text)


def test_every_table_reads_as_before(tmp_path) -> None:
    """All tables of a computed results file: the same AST with and without the escapes, and the
    tables folder's files (read by people) keep ``<`` bare."""
    from analysis.data import load_cohort
    from analysis.results import compute_results

    results = compute_results(load_cohort(DATA))
    escaped = 0
    for name in registry.tables(results):
        table = registry.table(name, results)
        plain = table.to_markdown(escape_lt=False)
        fast = table.to_markdown()
        assert _ast(fast) == _ast(plain), name
        assert [len(line) for line in fast.splitlines() if line.startswith("|")] == \
            [len(line) for line in plain.splitlines() if line.startswith("|")], name   # pandoc's width rule
        escaped += fast.count("\\<")
        written = table.write(tmp_path / name)
        assert "\\<" not in written["markdown"].read_text(encoding="utf-8")
    assert escaped >= 5   # the Cox and log-rank tables' "<0.001" and "<60 years"


def test_a_cell_too_narrow_for_the_backslash_keeps_its_bare_lt() -> None:
    table = Table(title="t", header=["P"], name="t")
    table.add("<0.001")
    fast = table.to_markdown(caption=False)
    assert "| <0.001 |" in fast and _ast(fast) == _ast(table.to_markdown(caption=False, escape_lt=False))


@pytest.mark.parametrize("value", ["P < 0.001", "x <", "a<b", "<https://example.org>", "<me@example.org>",
                                   "< 3 <", "\\< 1", "<!-- c -->"])
def test_inline_values_read_as_quarto_writes_them(value: str) -> None:
    """Quarto leaves ``<`` bare in a plain string's Markdown (src/core/jupyter/jupyter-inline.ts); the
    engine escapes it only before a space or at the end, where no tag, comment or autolink can start."""
    shown = repr(value)[1:-1]   # Quarto works on the text/plain repr, without its quotes
    quarto = _QUARTO_INLINE_ESCAPED.sub(r"\\\1", shown.replace("\\", "\\\\"))
    ours = inline_markdown({"text/plain": repr(value)})
    assert _ast(f"Text {ours} end") == _ast(f"Text {quarto} end")
