"""Citeproc's output kept by what citeproc reads, so a text edit does not run citeproc again.

``pandoc --citeproc`` (``formats.run_citeproc``) formats the document's citations and writes
its bibliography. For a style of class ``in-text`` (numeric or author-date, as the journal
styles here) its output outside the citations does not depend on the text around them:
each ``Cite`` inline gets its formatted text, and the bibliography goes into the ``#refs``
div or after the last block. So what it reads is the **citation skeleton**: every Cite in
document order (its citations with their note numbers, its fallback text, the footnote it
sits in), the ``#refs`` div's own attributes and content, the metadata, the bibliography
and CSL files. With the same skeleton, citeproc's output is the same: the cached Cites and
bibliography are put into the new AST (``splice``) and no pandoc process runs.

Note styles (class ``note``) are never kept: citeproc turns their citations into footnotes
and moves the punctuation around them, which depends on the text. A result is kept only if
putting it back into the AST it came from gives exactly citeproc's output (``remember``'s
check), so whatever else citeproc changed in a document makes that document run citeproc
every time.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any


def style_is_in_text(csl: Path | None) -> bool:
    """Whether the CSL style is of class ``in-text`` (pandoc's default, Chicago author-date, is)."""
    if csl is None:
        return True
    head = csl.read_text(encoding="utf-8", errors="replace")[:4000]
    match = re.search(r"<style\b[^>]*\bclass\s*=\s*[\"']([^\"']+)[\"']", head)
    return match is not None and match.group(1).strip() == "in-text"


def _walk(node: Any, on_cite, on_refs, note: list[int], in_note: int | None) -> Any:
    """A copy of ``node`` with each outermost Cite replaced by ``on_cite(cite, in_note)`` and each
    ``#refs`` div by ``on_refs(div)``; ``note`` counts the footnotes in document order."""
    if isinstance(node, list):
        return [_walk(item, on_cite, on_refs, note, in_note) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("t")
    if kind == "Cite":
        return on_cite(node, in_note)
    if kind == "Div" and node["c"][0][0] == "refs":
        return on_refs(node)
    if kind == "Note":
        note[0] += 1
        return {"t": "Note", "c": _walk(node["c"], on_cite, on_refs, note, note[0])}
    if "c" not in node:
        return node
    return dict(node, c=_walk(node["c"], on_cite, on_refs, note, in_note))


def skeleton(ast: dict[str, Any]) -> tuple[list[Any], list[Any], int]:
    """(Cites in document order with their footnote, ``#refs`` divs as written, footnotes)."""
    cites: list[Any] = []
    refs: list[Any] = []
    notes = [0]
    _walk(ast.get("blocks", []), lambda cite, in_note: cites.append([cite, in_note]) or cite,
          lambda div: refs.append(div) or div, notes, None)
    return cites, refs, notes[0]


def splice(ast: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """``ast`` with the cached formatted Cites, ``#refs`` divs and appended blocks put in."""
    cites = iter(entry["cites"])
    refs = iter(entry["refs"])
    blocks = _walk(ast.get("blocks", []), lambda _cite, _note: next(cites), lambda _div: next(refs), [0], None)
    return dict(ast, meta=entry["meta"], blocks=blocks + entry["appended"])


class CiteprocMemo:
    """Citeproc's last outputs by citation skeleton (in memory; the preview keeps one per document).

    Key: SHA-256 of the metadata, the skeleton, the bibliography and CSL files' bytes and
    citeproc's arguments (``formats.run_citeproc``)."""

    def __init__(self, size: int = 4):
        self.size = size
        self._entries: dict[str, str] = {}   # key -> entry as JSON (the writers get their own copy)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(ast: dict[str, Any], bibliography: list[Path], csl: Path | None, args: list[str]) -> str | None:
        """The key, or None when the style is not ``in-text`` (never kept)."""
        if not style_is_in_text(csl):
            return None
        digest = hashlib.sha256(json.dumps([args, ast.get("meta", {}), skeleton(ast)], sort_keys=True,
                                           ensure_ascii=False).encode("utf-8"))
        for path in [*bibliography, *([csl] if csl is not None else [])]:
            digest.update(b"\0" + str(path).encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
        return digest.hexdigest()

    def lookup(self, key: str | None, ast: dict[str, Any]) -> dict[str, Any] | None:
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        return splice(ast, json.loads(entry))

    def remember(self, key: str | None, ast: dict[str, Any], cited: dict[str, Any]) -> bool:
        """Keep citeproc's output ``cited`` for input ``ast`` if putting it back gives the same output."""
        if key is None:
            return False
        cited_cites, cited_refs, _ = skeleton(cited)
        blocks_in, blocks_out = ast.get("blocks", []), cited.get("blocks", [])
        entry = {"cites": [cite for cite, _ in cited_cites], "refs": cited_refs, "meta": cited.get("meta", {}),
                 "appended": blocks_out[len(blocks_in):]}
        if (len(blocks_out) < len(blocks_in) or len(entry["cites"]) != len(skeleton(ast)[0])
                or json.dumps(splice(ast, entry), sort_keys=True) != json.dumps(cited, sort_keys=True)):
            return False
        self._entries[key] = json.dumps(entry, ensure_ascii=False)
        while len(self._entries) > self.size:
            self._entries.pop(next(iter(self._entries)))
        return True
