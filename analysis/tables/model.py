"""The table model: tables as data first, rendered to pandoc Markdown or CSV.

A ``Table`` has a title, one header row, body rows (each with an indent
level, and optionally marked as a group heading) and footnotes. Cells are
already-formatted text (see ``analysis.tables.theme``); the model knows no
statistics.

Markdown: a pandoc *pipe table* (``to_markdown``), which pandoc turns into
proper tables in HTML, DOCX and Typst. Indentation is written as leading
non-breaking spaces (pandoc keeps them in every output format); group
headings are bold; footnotes follow the table as a paragraph of lines.
The title is written as a pandoc table caption (``: Title``) unless
``caption=False`` (a Quarto cell with ``tbl-cap`` supplies its own).

CSV: one row per body row, with a leading ``indent`` column and the header
as the first line; cells hold plain values (no Markdown: a digest is the digest,
not `` `digest` ``; a row's ``styles`` say how the Markdown shows a cell); footnotes are not part of the CSV (``to_csv(footnotes=True)``
appends them as ``#`` comment lines).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from analysis import safe_text

INDENT = "\u00a0" * 4  # one indent level: four non-breaking spaces


@dataclass
class Row:
    cells: list[str]
    indent: int = 0
    heading: bool = False  # a group heading (e.g. a factor name above its levels)
    # column index -> "code" or "strong": how the Markdown shows that cell (the CSV holds the plain value)
    styles: dict[int, str] = field(default_factory=dict)


MARKDOWN_STYLES = {"code": lambda text: f"`{text}`" if "`" not in text else f"`` {text} ``",
                   "strong": lambda text: f"**{text}**"}


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[Row] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    name: str = ""  # a short identifier, e.g. "cox_pfs" (used for file names)
    align: list[str] | None = None  # per column: "l", "r" or "c" (default: first left, rest right)

    def add(self, *cells, indent: int = 0, heading: bool = False) -> Row:
        # A data-text cell (safe_text.Inert) keeps its mark, so the writers below make it inert.
        cells = [c if isinstance(c, safe_text.Inert) else ("" if c is None else str(c)) for c in cells]
        if len(cells) < len(self.header):
            cells += [""] * (len(self.header) - len(cells))
        if len(cells) != len(self.header):
            raise ValueError(f"row has {len(cells)} cells, header has {len(self.header)}: {cells}")
        row = Row(cells=cells, indent=indent, heading=heading)
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        if text and text not in self.footnotes:
            self.footnotes.append(text)

    # ------------------------------------------------------------------ renderers

    def _alignments(self) -> list[str]:
        if self.align:
            return list(self.align)
        return ["l"] + ["r"] * (len(self.header) - 1)

    def to_markdown(self, caption: bool = True, footnotes: bool = True, escape_lt: bool = True) -> str:
        """A pandoc pipe table, its caption and (unless ``footnotes=False``) its footnotes.

        ``escape_lt``: a bare ``<`` written ``\\<`` (``safe_text.literal_lt``: the same table, read
        faster by pandoc); off for the tables folder's ``.md`` files, which people read as text.
        """

        def escape(text: str) -> str:
            if isinstance(text, safe_text.Inert):   # text from a data file: every character literal
                return safe_text.markdown(text)
            return text.replace("\\", "\\\\").replace("|", "\\|")

        body = []
        for row in self.rows:
            cells = [escape(c) for c in row.cells]
            for column, style in row.styles.items():
                if cells[column]:
                    cells[column] = MARKDOWN_STYLES[style](cells[column])
            if row.heading and cells[0]:
                cells[0] = f"**{cells[0]}**"
            cells[0] = INDENT * row.indent + cells[0]
            body.append(cells)
        header = [escape(h) for h in self.header]
        # Widths (the separator's dashes, which pandoc turns into relative column widths) and line
        # lengths (a line over 72 characters makes the table full width) are those of the text
        # before a bare "<" is written "\\<" (safe_text.literal_lt, only for pandoc's speed).
        widths = [max(3, len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
        separators = {
            "l": lambda w: ":" + "-" * (w + 1),
            "r": lambda w: "-" * (w + 1) + ":",
            "c": lambda w: ":" + "-" * w + ":",
        }

        def line(cells: list[str]) -> str:
            plain = "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
            if not escape_lt or "<" not in plain:
                return plain
            return _literal_lt_line(cells, widths, len(plain)) or plain

        lines = [line(header)]
        lines.append("|" + "|".join(separators[a](w) for a, w in zip(self._alignments(), widths)) + "|")
        lines += [line(cells) for cells in body]
        text = "\n".join(lines) + "\n"
        if caption and self.title:
            text += f"\n: {self.title}\n"
        if footnotes and self.footnotes:
            text += "\n" + self.notes_markdown(escape_lt)
        return text

    def notes_markdown(self, escape_lt: bool = True) -> str:
        """The footnotes as one Markdown paragraph (lines joined by hard breaks); empty without notes."""
        return "\\\n".join(escape_note(n, escape_lt) for n in self.footnotes) + "\n" if self.footnotes else ""

    def to_csv(self, footnotes: bool = False) -> str:
        """CSV text (UTF-8, comma, minimal quoting) with a leading ``indent`` column."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["indent", *self.header])
        for row in self.rows:
            writer.writerow([row.indent, *(safe_text.csv_cell(c) if isinstance(c, safe_text.Inert) else c
                                           for c in row.cells)])
        if footnotes:
            for note in self.footnotes:
                buffer.write(f"# {note}\n")
        return buffer.getvalue()

    def to_records(self) -> list[dict]:
        """Rows as dicts keyed by header (plus ``indent`` and ``heading``)."""
        return [{"indent": r.indent, "heading": r.heading, **dict(zip(self.header, r.cells))} for r in self.rows]

    def write(self, directory, caption: bool = True, notice: str | None = None) -> dict:
        """Write ``<name>.md`` and ``<name>.csv`` into ``directory``; returns their paths.

        ``notice`` (e.g. the synthetic-data notice) opens both files: a bold paragraph
        in the Markdown, a ``#`` line before the CSV header (``pandas.read_csv(path, skiprows=1)``,
        R's ``read.csv(path, skip=1)``; a spreadsheet shows it as the first row).
        """
        from pathlib import Path

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        name = self.name or "table"
        md = directory / f"{name}.md"
        md.write_text((f"**{escape_note(notice, False)}**\n\n" if notice else "")
                      + self.to_markdown(caption=caption, escape_lt=False),
                      encoding="utf-8")
        csv_path = directory / f"{name}.csv"
        csv_path.write_text((f"# {notice}\n" if notice else "") + self.to_csv(), encoding="utf-8")
        return {"markdown": md, "csv": csv_path}


def _literal_lt_line(cells: list[str], widths: list[int], length: int) -> str | None:
    """A pipe-table line with its bare ``<`` written ``\\<``, exactly ``length`` characters long.

    The line keeps the length of the unescaped line (pandoc makes a table full width when a line
    is longer than its column setting): the backslashes take the place of the cells' padding
    (pandoc trims a cell's spaces). ``None`` when they do not fit (the line is left as it was).
    """
    shown = [safe_text.literal_lt(c) for c in cells]
    padding = [max(0, w - len(c)) for c, w in zip(shown, widths)]
    overflow = sum(len(c) + p for c, p in zip(shown, padding)) + 3 * len(cells) + 1 - length
    for index, room in enumerate(padding):
        taken = min(overflow, room)
        padding[index] -= taken
        overflow -= taken
    if overflow > 0:
        return None
    return "| " + " | ".join(c + " " * p for c, p in zip(shown, padding)) + " |"


def escape_note(text: str, escape_lt: bool = True) -> str:
    """A footnote line as Markdown text (only characters pandoc would misread are escaped; a bare
    ``<`` as ``\\<``: ``safe_text.literal_lt``)."""
    text = text.replace("|", "\\|")
    return safe_text.literal_lt(text) if escape_lt else text
