"""Number figures, tables and sections and resolve ``@fig-``/``@tbl-``/``@sec-`` references.

Done once on the pandoc AST (JSON), before any writer runs, so every format
prints the same numbers (Quarto's default prefixes and caption form):

- caption ``Figure N: ...`` / ``Table N: ...``, numbered in order of appearance;
- reference ``@fig-x`` -> ``Figure N`` (a link to ``#fig-x``), ``-@fig-x`` -> ``N``;
  ``[@tbl-a; @tbl-b]`` -> ``Table 1, Table 2``; ``[see @fig-a]`` -> ``see 1`` (Quarto:
  a prefix replaces the type name); ``@Tbl-a`` -> ``Table 1``;
- sections are numbered only with ``number-sections: true`` (as Quarto requires
  for ``@sec-`` references): ``Section 2.1``; numbers are written into the
  heading text, so no writer renumbers them.

An unknown label, a ``@sec-`` reference without ``number-sections`` and a
Quarto cross-reference type this engine does not implement (``@eq-``, ``@lst-``,
theorems...) are errors naming the .qmd line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.render.errors import RenderError
from analysis.render.markdown import TABLE_CAPTION_CLASS
from analysis.render.qmd import QmdDocument

PREFIX = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
UNSUPPORTED_TYPES = {"eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def", "exm", "exr", "sol", "rem"}
NBSP = "\u00a0"


def _str(text: str) -> dict[str, Any]:
    return {"t": "Str", "c": text}


SPACE = {"t": "Space"}


@dataclass
class CrossrefIndex:
    numbers: dict[str, str] = field(default_factory=dict)   # label -> "1" / "2.1"
    counters: dict[str, int] = field(default_factory=lambda: {"fig": 0, "tbl": 0})
    citations: list[str] = field(default_factory=list)      # bibliography keys cited, in order

    def reference_text(self, label: str) -> str:
        return f"{PREFIX[label.split('-', 1)[0]]}{NBSP}{self.numbers[label]}"


class _Numberer:
    def __init__(self, doc: QmdDocument, number_sections: bool, labels: dict[str, list[str]] | None = None):
        self.labels = labels or {}
        self.doc = doc
        self.number_sections = number_sections
        self.index = CrossrefIndex()
        self.section_counters: list[int] = []
        self.top_level = 1

    def error(self, message: str, needle: str) -> RenderError:
        return RenderError(message, self.doc.path, self.doc.line_of(needle))

    def add(self, label: str, number: str) -> None:
        if label in self.index.numbers:
            raise self.error(f"label '{label}' is used twice", label)
        self.index.numbers[label] = number

    def next_number(self, kind: str, label: str) -> str:
        self.index.counters[kind] += 1
        count = self.index.counters[kind]
        # Quarto's `crossref: <kind>-labels:` given as a list: the n-th entry is the n-th number
        # (wrapping round), e.g. [S1, S2, ...] (filters/crossref/format.lua,
        # formatNumberOption); used in captions and references alike.
        custom = self.labels.get(kind)
        number = str(custom[(count - 1) % len(custom)]) if custom else str(count)
        self.add(label, number)
        return number

    def caption_prefix(self, kind: str, number: str) -> list[dict[str, Any]]:
        return [_str(f"{PREFIX[kind]}{NBSP}{number}:"), SPACE]

    # --- blocks -------------------------------------------------------------
    def blocks(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for block in blocks:
            kind = block.get("t")
            if kind == "Div":
                attr, content = block["c"]
                if attr[0].startswith("tbl-"):
                    out.extend(self.table_div(attr[0], content))
                    continue
                block["c"][1] = self.blocks(content)
            elif kind == "Table":
                label = block["c"][0][0]
                if label.startswith("tbl-"):
                    caption = block["c"][1][1]
                    number = self.next_number("tbl", label)
                    inlines = caption[0]["c"] if caption else []
                    block["c"][1] = [None, [{"t": "Plain", "c": self.caption_prefix("tbl", number) + inlines}]]
            elif kind == "Figure":
                label = block["c"][0][0]
                if label.startswith("fig-"):
                    number = self.next_number("fig", label)
                    caption_blocks = block["c"][1][1]
                    inlines = caption_blocks[0]["c"] if caption_blocks else []
                    block["c"][1] = [None, [{"t": "Plain", "c": self.caption_prefix("fig", number) + inlines}]]
            elif kind == "Header":
                self.header(block)
            elif kind == "BlockQuote":
                block["c"] = self.blocks(block["c"])
            out.append(block)
        return out

    def table_div(self, label: str, content: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tables = [b for b in content if b.get("t") == "Table"]
        captions = [b for b in content if b.get("t") == "Div" and TABLE_CAPTION_CLASS in b["c"][0][1]]
        if len(tables) != 1:
            raise self.error(f"cell '{label}' must output exactly one Markdown table (a pipe or grid table "
                             f"as text/markdown or with 'output: asis'); it produced {len(tables)}", f"label: {label}")
        table = tables[0]
        if table["c"][1][1]:
            raise self.error(f"the table of cell '{label}' already has a caption; use only '#| tbl-cap:'", f"label: {label}")
        outputs = [b for b in content if not any(b is c for c in captions)]
        last = outputs[-1]
        if last.get("t") == "Para" and len(outputs) > 1:
            # Quarto's rule (src/resources/filters/common/refs.lua:66-73 refCaptionFromDiv, used first by
            # src/resources/filters/quarto-pre/parsefiguredivs.lua:252-257): the last paragraph of the
            # cell's output is the caption and tbl-cap is dropped. A notes paragraph printed after the
            # table in the same cell therefore REPLACES the caption, as it does under Quarto.
            inlines = last["c"]
            outputs = outputs[:-1]
        else:
            caption_blocks = captions[0]["c"][1] if captions else []
            inlines = caption_blocks[0]["c"] if caption_blocks else []
        number = self.next_number("tbl", label)
        table["c"][0] = [label, table["c"][0][1], table["c"][0][2]]
        table["c"][1] = [None, [{"t": "Plain", "c": self.caption_prefix("tbl", number) + inlines}]]
        rest = [b for b in outputs if b is not table]
        return [table] + self.blocks(rest)

    def header(self, block: dict[str, Any]) -> None:
        level, attr, inlines = block["c"]
        label, classes = attr[0], attr[1]
        numbered = self.number_sections and "unnumbered" not in classes and "-" not in classes
        if not numbered:
            if label.startswith("sec-"):
                self.index.numbers.setdefault(label, "")  # referencing it is an error (see cite)
            return
        depth = max(1, level - self.top_level + 1)
        counters = self.section_counters
        while len(counters) < depth:
            counters.append(0)
        del counters[depth:]
        counters[depth - 1] += 1
        number = ".".join(str(c) for c in counters)
        if label.startswith("sec-"):
            self.add(label, number)
        block["c"][2] = [{"t": "Span", "c": [["", ["header-section-number"], []], [_str(number)]]}, SPACE] + inlines

    # --- inlines ------------------------------------------------------------
    def inlines(self, node: Any) -> Any:
        if isinstance(node, list):
            out = []
            for item in node:
                if isinstance(item, dict) and item.get("t") == "Cite":
                    out.extend(self.cite(item))
                else:
                    out.append(self.inlines(item))
            return out
        if isinstance(node, dict):
            return {k: self.inlines(v) for k, v in node.items()}
        return node

    def cite(self, cite: dict[str, Any]) -> list[dict[str, Any]]:
        citations, _text = cite["c"]
        # Quarto looks labels up with the first letter lowered (@Tbl-a is @tbl-a): refs.lua:29-34
        ids = [c["citationId"] for c in citations]
        labels = [i[:1].lower() + i[1:] for i in ids]
        kinds = [i.split("-", 1)[0] if "-" in i else "" for i in labels]
        crossref = [k in PREFIX for k in kinds]
        for ident, kind in zip(ids, kinds):
            if kind in UNSUPPORTED_TYPES:
                raise self.error(f"cross-reference type '@{kind}-' is not supported by the embedded engine (fig, tbl, sec)", "@" + ident)
        if not any(crossref):
            self.index.citations.extend(i for i in ids if i not in self.index.citations)
            return [cite]
        if not all(crossref):
            raise self.error("a citation and a cross-reference cannot share one [...]; write them separately", "@" + ids[0])
        out: list[dict[str, Any]] = []
        for n, (citation, label) in enumerate(zip(citations, labels)):
            if label not in self.index.numbers:
                raise self.error(f"cross-reference '@{citation['citationId']}' does not match any label in the document",
                                 "@" + citation["citationId"])
            if label.startswith("sec-") and not self.index.numbers[label]:
                raise self.error(f"'@{label}': section references need 'number-sections: true' (as in Quarto) "
                                 "and a numbered heading", "@" + label)
            if n:  # refDelim(): ", " between the references of one [...]
                out += [_str(","), SPACE]
            number = _str(self.index.numbers[label])
            # src/resources/filters/crossref/refs.lua:8-140 (resolveRefs): a prefix REPLACES the type
            # name ([see @fig-a] -> "see 1"), -@ gives the bare number, a suffix is dropped; the
            # link holds the whole reference text.
            if citation["citationPrefix"]:
                text = citation["citationPrefix"] + [_str(NBSP), number]
            elif citation["citationMode"]["t"] == "SuppressAuthor":
                text = [number]
            else:
                text = [_str(f"{PREFIX[label.split('-', 1)[0]]}{NBSP}"), number]
            out.append({"t": "Link", "c": [["", ["quarto-xref"], []], text, ["#" + label, ""]]})
        return out


def resolve_crossrefs(ast: dict[str, Any], doc: QmdDocument, number_sections: bool,
                      labels: dict[str, list[str]] | None = None) -> CrossrefIndex:
    """Number and resolve in place; return the index (numbers, and the bibliography keys cited).

    ``labels``: {"tbl": [...], "fig": [...]} from ``crossref: tbl-labels / fig-labels`` lists."""
    numberer = _Numberer(doc, number_sections, labels)
    levels = [b["c"][0] for b in _all_blocks(ast["blocks"]) if b.get("t") == "Header"]
    numberer.top_level = min(levels) if levels else 1
    ast["blocks"] = numberer.blocks(ast["blocks"])
    ast["blocks"] = numberer.inlines(ast["blocks"])
    return numberer.index


def _all_blocks(blocks: list[dict[str, Any]]):
    for block in blocks:
        yield block
        if block.get("t") == "Div":
            yield from _all_blocks(block["c"][1])
