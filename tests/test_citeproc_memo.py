"""The preview's citeproc memo (analysis/render/citations.py): a kept output is reused only for
the same citations, and what it gives is what ``pandoc --citeproc`` gives on the new text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.render import formats
from analysis.render.citations import CiteprocMemo, skeleton, style_is_in_text
from analysis.render.qmd import parse_qmd

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "report" / "references.bib"
CSL = ROOT / "report" / "biomed-central.csl"

BODY = """---
title: memo
---

# Introduction

Ablation is one option [@hou2025]. Others exist [@sung2021; @reig2022, p. 4].
As @guckenberger2020 put it, oligometastases are a state.[^n]

[^n]: A footnote citing [@ahmed2014].

# Discussion

Again [@hou2025].
"""


def cited(tmp_path: Path, body: str, memo: CiteprocMemo | None, csl: Path = CSL) -> dict:
    path = tmp_path / "doc.qmd"
    path.write_text(body, encoding="utf-8")
    doc = parse_qmd(path)
    ast = formats.markdown_to_ast(doc.source, {}, tmp_path)
    return formats.run_citeproc(ast, [BIB], csl, doc, tmp_path, memo=memo)


def dump(ast: dict) -> str:
    return json.dumps(ast, sort_keys=True)


@pytest.mark.parametrize("refs_div", [False, True], ids=["refs appended", "refs div"])
def test_text_edit_reuses_citeproc_and_gives_its_output(tmp_path, refs_div):
    body = BODY + ("\n# References\n\n::: {#refs}\n:::\n" if refs_div else "")
    memo = CiteprocMemo()
    first = cited(tmp_path, body, memo)
    assert (memo.hits, memo.misses) == (0, 1)
    edited = body.replace("one option", "one of several options, *with caveats*,").replace("Again", "Once more")
    reused = cited(tmp_path, edited, memo)
    assert (memo.hits, memo.misses) == (1, 1)
    assert dump(reused) == dump(cited(tmp_path, edited, None))   # exactly citeproc's output on the edited text
    assert dump(reused) != dump(first)


@pytest.mark.parametrize("change", [
    ("[@hou2025]. Others", "[@sung2021]. Others"),        # another key
    ("p. 4", "p. 5"),                                     # a locator
    ("# Discussion", "[^m]\n\n[^m]: Another note.\n\n# Discussion"),   # a footnote before a citation
    ("Again [@hou2025].", "Again [@hou2025; @reig2022]."),
    ("title: memo", "title: memo\nnocite: '@ahmed2014'"),   # metadata
])
def test_citation_change_runs_citeproc(tmp_path, change):
    memo = CiteprocMemo()
    cited(tmp_path, BODY, memo)
    edited = BODY.replace(*change)
    assert edited != BODY
    out = cited(tmp_path, edited, memo)
    assert memo.hits == 0 and memo.misses == 2
    assert dump(out) == dump(cited(tmp_path, edited, None))


def test_bibliography_file_change_runs_citeproc(tmp_path):
    bib = tmp_path / "refs.bib"
    shutil.copy(BIB, bib)
    memo = CiteprocMemo()
    path = tmp_path / "doc.qmd"
    path.write_text(BODY, encoding="utf-8")
    doc = parse_qmd(path)
    ast = formats.markdown_to_ast(doc.source, {}, tmp_path)
    formats.run_citeproc(ast, [bib], CSL, doc, tmp_path, memo=memo)
    bib.write_text(bib.read_text(encoding="utf-8").replace("Hou", "Houx", 1), encoding="utf-8")
    again = formats.run_citeproc(formats.markdown_to_ast(doc.source, {}, tmp_path), [bib], CSL, doc, tmp_path, memo=memo)
    assert memo.hits == 0
    assert "Houx" in dump(again)


def test_note_style_is_never_kept(tmp_path):
    note_csl = tmp_path / "note.csl"
    note_csl.write_text(CSL.read_text(encoding="utf-8").replace('class="in-text"', 'class="note"', 1), encoding="utf-8")
    assert style_is_in_text(CSL) and style_is_in_text(None) and not style_is_in_text(note_csl)
    memo = CiteprocMemo()
    cited(tmp_path, BODY, memo, csl=note_csl)
    cited(tmp_path, BODY, memo, csl=note_csl)
    assert memo.hits == 0


def test_kept_output_is_a_copy(tmp_path):
    """A writer changing its AST cannot change what the memo gives next time."""
    memo = CiteprocMemo()
    cited(tmp_path, BODY, memo)
    reused = cited(tmp_path, BODY, memo)
    expected = dump(reused)
    reused["blocks"][-1]["c"] = []
    assert dump(cited(tmp_path, BODY, memo)) == expected


def test_skeleton_sees_cites_in_notes_and_refs_divs(tmp_path):
    path = tmp_path / "doc.qmd"
    path.write_text(BODY + "\n::: {#refs}\n:::\n", encoding="utf-8")
    ast = formats.markdown_to_ast(parse_qmd(path).source, {}, tmp_path)
    cites, refs, notes = skeleton(ast)
    assert len(cites) == 5 and notes == 1 and len(refs) == 1
    assert [in_note for _, in_note in cites] == [None, None, None, 1, None]
