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
from typing import Any, Callable

from analysis.render.cache import file_digest


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

    Key: SHA-256 of citeproc's arguments, the metadata, the skeleton and the bibliography and
    CSL files' digests (``formats.run_citeproc``)."""

    def __init__(self, size: int = 4):
        self.size = size
        self._entries: dict[str, str] = {}   # key -> entry as JSON (the writers get their own copy)
        self.hits = 0
        self.misses = 0

    def cited(self, ast: dict[str, Any], bibliography: list[Path], csl: Path | None, args: list[str],
              run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Citeproc's output for ``ast``: the kept one for its skeleton, else ``run()``'s (then kept)."""
        if not style_is_in_text(csl):   # never kept
            return run()
        cites = skeleton(ast)
        files = [[str(path), file_digest(path)] for path in [*bibliography, *([csl] if csl is not None else [])]]
        key = hashlib.sha256(json.dumps([args, ast.get("meta", {}), cites, files], sort_keys=True,
                                        ensure_ascii=False).encode("utf-8")).hexdigest()
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            return splice(ast, json.loads(entry))
        self.misses += 1
        output = run()
        self._remember(key, ast, len(cites[0]), output)
        return output

    def _remember(self, key: str, ast: dict[str, Any], cite_count: int, output: dict[str, Any]) -> None:
        """Keep citeproc's ``output`` for ``ast`` if putting it back into ``ast`` gives ``output`` exactly."""
        blocks_in, blocks_out = ast.get("blocks", []), output.get("blocks", [])
        if len(blocks_out) < len(blocks_in):
            return
        # the formatted Cites and #refs divs are in the blocks that were there; citeproc's appended
        # bibliography (no #refs div) is after them
        cited_cites, cited_refs, _ = skeleton({"blocks": blocks_out[:len(blocks_in)]})
        entry = {"cites": [cite for cite, _ in cited_cites], "refs": cited_refs, "meta": output.get("meta", {}),
                 "appended": blocks_out[len(blocks_in):]}
        if (len(entry["cites"]) != cite_count
                or json.dumps(splice(ast, entry), sort_keys=True) != json.dumps(output, sort_keys=True)):
            return
        self._entries[key] = json.dumps(entry, ensure_ascii=False)
        while len(self._entries) > self.size:
            self._entries.pop(next(iter(self._entries)))
