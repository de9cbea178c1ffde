"""The one escaping layer: text that comes from data files, made inert for each output.

Data files (the corrections ledger's reasons and values, ids, codes, free-text
columns) are untrusted: a reason such as ``![](/etc/hostname)``, ``<script>``,
`` `#upper("x")`{=typst} `` or ``=HYPERLINK(...)`` must never act in an output.
Every place where data text enters a table, a document or the terminal passes
it through one function of this module (it imports nothing of the project, so
the data, tables and report layers can all use it):

``markdown(text)``
    pandoc Markdown that reads back as exactly ``text``, as plain characters:
    every ASCII punctuation character is backslash-escaped (pandoc allows an
    escape before any of them and then treats the character literally), so raw
    HTML, raw attributes (``{=typst}``, ``{=latex}``), links, images,
    autolinks, footnotes, attributes, emphasis, math, shortcodes and table pipes
    all become literal text. Line breaks, control and format characters
    (ANSI escapes, bidi overrides) become one space, and a very long value is
    cut (``MAX_MARKDOWN``) with a note of how much was left out. Because pandoc
    then writes HTML, Typst and DOCX from plain text nodes, the value is inert
    in every format, and no file or URL named by it is ever read.
``csv_cell(text)``
    the OWASP CSV-injection rule: a cell a spreadsheet would run as a formula
    (starting with ``= + - @``, tab or CR) is prefixed with ``'``. A plain
    number (``-3``, ``+2.5``) is left as it is: no spreadsheet runs it.
``terminal(text)``
    text for a terminal: control and format characters (ESC of ANSI sequences,
    BEL, backspace, bidi overrides) shown as ``\\x1b``-style escapes, never sent.

``matplotlib(text)``
    one line for a figure label: ``$`` escaped, so matplotlib never parses data
    text as mathtext (a stray ``$\\frac`` would otherwise stop the render).

``literal_lt(markdown)``
    the project's own Markdown with every ``<`` that cannot open a tag written
    ``\\<``. Not for safety (such a ``<`` is text either way: the AST is the
    same) but for speed: pandoc's reader tries raw HTML at every bare ``<``,
    at a cost that grows with the rest of the document (19 bare ``<`` in
    "P < 0.001" and "<60 years" made the manuscript's read 0.07 -> 0.21 s CPU).

``Inert`` marks a table cell as data text (``analysis.tables.model.Table``
writes such cells through ``markdown``/``csv_cell``; other cells are the
project's own formatted Markdown).
"""

from __future__ import annotations

import re
import string
import unicodedata

MAX_MARKDOWN = 300  # characters of one data value shown in a document (the audit CSV keeps all)

_PUNCTUATION = frozenset(string.punctuation)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Unicode categories never printed as they are: controls (Cc: ESC, BEL, CR, LF...), format
# characters (Cf: bidi overrides, zero-width joiners), line/paragraph separators, surrogates.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


class Inert(str):
    """A table cell holding text from a data file (written inert by the table model)."""

    __slots__ = ()


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN


def plain(text: object) -> str:
    """One line of visible characters: every control/format character and line break -> one space."""
    text = "" if text is None else str(text)
    if text.isprintable():
        return text
    out = re.sub(r"\s+", " ", "".join(" " if _hidden(c) or c.isspace() else c for c in text))
    return out.strip()


def markdown(text: object, limit: int = MAX_MARKDOWN) -> str:
    """``text`` as inert pandoc Markdown (see the module docstring)."""
    value = plain(text)
    cut = ""
    if limit and len(value) > limit:
        cut = f" [... {len(value) - limit} more characters]"
        value = value[:limit]
    return "".join("\\" + c if c in _PUNCTUATION else c for c in value + cut)


# A "<" followed by a letter, "/", "!" or "?" may open a tag, comment or declaration: left alone.
# An even run of backslashes before it (``\\\\<``) leaves the "<" bare; an odd one has escaped it.
_CODE_SPAN = re.compile(r"(?<!`)((`+)(?!`).*?(?<!`)\2(?!`))", re.S)   # a run of n backticks to the next run of n
_BARE_LT = re.compile(r"(?<!\\)((?:\\\\)*)<(?![A-Za-z/!?])")


def literal_lt(markdown_text: str) -> str:
    """``markdown_text`` with each ``<`` that cannot open an HTML tag (``< 0.05``, ``<60``) as ``\\<``.

    pandoc reads ``\\<`` as the character ``<``, as it reads such a bare ``<``: the document is
    the same; it is only read faster (pandoc's raw-HTML attempt at a bare ``<`` scans ahead).
    """
    if "`" not in markdown_text:
        return _BARE_LT.sub(r"\1\\<", markdown_text)
    # code spans keep their text as it is (a backslash there is printed): only the text between them
    parts = _CODE_SPAN.split(markdown_text)
    # split() gives text, span, the span's backtick run (dropped), text, ...
    return "".join(_BARE_LT.sub(r"\1\\<", part) if index % 3 == 0 else part
                   for index, part in enumerate(parts) if index % 3 != 2)


def csv_cell(text: object) -> str:
    """``text`` as a CSV cell no spreadsheet would run (OWASP CSV injection)."""
    value = "" if text is None else str(text)
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def terminal(text: object) -> str:
    """``text`` safe to print on a terminal: hidden characters shown as escapes, never sent."""
    value = "" if text is None else str(text)
    if value.isprintable():
        return value
    return "".join(c if not _hidden(c) else c.encode("unicode_escape").decode("ascii") for c in value)


def matplotlib(text: object) -> str:
    """``text`` as a matplotlib label: one line, ``$`` escaped (no mathtext from data)."""
    return plain(text).replace("$", "\\$")
