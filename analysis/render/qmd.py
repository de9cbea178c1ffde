"""Parse a Quarto ``.qmd`` document: front matter, ``{python}`` cells, inline code.

Syntax recognised (Quarto's own, see quarto.org/docs/computations/execution-options):

- YAML front matter between ``---`` lines at the top of the file;
- executable cells: a fence ```` ```{python} ```` ... ```` ``` ````; leading
  ``#| key: value`` lines are YAML cell options;
- inline expressions: `` `{python} expr` `` in Markdown text.

Everything Quarto defines but this engine does not implement is reported as a
:class:`RenderError` naming the file and line, never dropped silently: cell
options (checked against Quarto's schema list in ``assets/quarto-cell-options.yml``),
other engines (```` ```{r} ````), shortcodes (``{{< >}}``), callouts, tabsets,
column classes, layout attributes and cross-reference divs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from analysis.render.errors import RenderError

ASSETS = Path(__file__).with_name("assets")

# Cell options this engine implements (all others in Quarto's list are errors).
SUPPORTED_CELL_OPTIONS = frozenset({
    "label", "echo", "eval", "output", "include", "warning", "error",
    "tbl-cap", "fig-cap", "fig-alt", "fig-width", "fig-height", "out-width", "out-height",
})
# Accepted and, as by Quarto's Jupyter engine, without effect: knitr-only figure options
# (src/resources/schema/cell-figure.yml tags them 'engine: knitr').
IGNORED_CELL_OPTIONS = frozenset({"fig-width", "fig-height", "out-width", "out-height"})

_FENCE_OPEN = re.compile(r"^(?P<ticks>`{3,})\s*(?P<info>.*?)\s*$")
_ENGINE = re.compile(r"^\{\s*(?P<lang>[A-Za-z0-9_.-]+)(?P<rest>[^}]*)\}$")
_INLINE = re.compile(r"`\{(?P<lang>[A-Za-z0-9_]+)\}\s+(?P<expr>[^`]+?)`")
_OPTION = re.compile(r"^#\|\s?(?P<yaml>.*)$")
_SHORTCODE = re.compile(r"\{\{[<%]")
_DIV = re.compile(r"^\s*:{3,}\s*(?P<attrs>\{[^}]*\}|[A-Za-z][\w-]*)?\s*$")
# Quarto classes/attributes with behaviour this engine does not implement.
_UNSUPPORTED_CLASS = re.compile(r"^(callout(-\w+)?|panel-\w+|column-[\w-]+|hidden|aside|margin)$")
_UNSUPPORTED_DIV_ID = re.compile(r"^(fig|tbl|lst|eq|thm|lem|cor|prp|cnj|def|exm|exr|sol|rem)-")


@lru_cache(maxsize=1)
def quarto_cell_options() -> frozenset[str]:
    """The cell option names Quarto's schema defines (``assets/quarto-cell-options.yml``)."""
    names = yaml.safe_load((ASSETS / "quarto-cell-options.yml").read_text(encoding="utf-8"))
    return frozenset(str(name) for name in names)


@dataclass
class InlineExpr:
    """`` `{python} expr` `` at ``line`` of the .qmd."""

    expr: str
    line: int


@dataclass
class MarkdownChunk:
    """Markdown text between cells: a list of strings and inline expressions."""

    line: int
    parts: list[str | InlineExpr] = field(default_factory=list)

    @property
    def inlines(self) -> list[InlineExpr]:
        return [p for p in self.parts if isinstance(p, InlineExpr)]


@dataclass
class Cell:
    """A ```` ```{python} ```` cell: ``line`` is the fence line, ``code`` has no ``#|`` lines."""

    index: int
    line: int
    code: str
    options: dict[str, Any]
    option_lines: dict[str, int]

    @property
    def label(self) -> str | None:
        label = self.options.get("label")
        return str(label) if label is not None else None

    def describe(self) -> str:
        return f"cell '{self.label}'" if self.label else f"cell #{self.index + 1} (unlabelled)"


@dataclass
class QmdDocument:
    path: Path
    meta: dict[str, Any]
    meta_lines: dict[tuple[str, ...], int]
    chunks: list[MarkdownChunk | Cell]
    source: str

    @property
    def cells(self) -> list[Cell]:
        return [c for c in self.chunks if isinstance(c, Cell)]

    def line_of(self, needle: str) -> int | None:
        """First line (1-based) whose text contains ``needle``, for error messages."""
        for number, text in enumerate(self.source.splitlines(), start=1):
            if needle in text:
                return number
        return None


def yaml_with_lines(text: str, file: Path, first_line: int = 1) -> tuple[Any, dict[tuple[str, ...], int]]:
    """Parse YAML and return ``(data, {key path: line})`` with lines in the file."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        raise RenderError(f"invalid YAML: {getattr(error, 'problem', error)}", file, line) from None
    lines: dict[tuple[str, ...], int] = {}

    def walk(n: Any, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                sub = path + (str(key.value),)
                lines[sub] = first_line + key.start_mark.line
                walk(value, sub)

    walk(node, ())
    return data, lines


def parse_qmd(path: str | Path) -> QmdDocument:
    """Parse ``path``; raise :class:`RenderError` (file, line) on unsupported syntax."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RenderError("document not found", path) from None
    lines = source.splitlines()
    meta: dict[str, Any] = {}
    meta_lines: dict[tuple[str, ...], int] = {}
    start = 0
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                break
        else:
            raise RenderError("front matter opened with '---' is never closed", path, 1)
        meta, meta_lines = yaml_with_lines("\n".join(lines[1:end]), path, first_line=2)
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise RenderError("front matter must be a YAML mapping", path, 1)
        start = end + 1

    chunks: list[MarkdownChunk | Cell] = []
    chunk = MarkdownChunk(line=start + 1)
    i = start
    n_cells = 0
    while i < len(lines):
        text = lines[i]
        fence = _FENCE_OPEN.match(text)
        if fence:
            ticks, info = fence.group("ticks"), fence.group("info")
            close = _find_close(lines, i, ticks)
            engine = _ENGINE.match(info)
            if engine:
                lang = engine.group("lang")
                if lang != "python":
                    raise RenderError(f"executable cell '{{{lang}}}' is not supported (only {{python}} cells)", path, i + 1)
                if engine.group("rest").strip():
                    raise RenderError("cell attributes in the fence are not supported; use '#| key: value' lines", path, i + 1)
                if close is None:
                    raise RenderError("python cell is never closed (missing ``` line)", path, i + 1)
                if chunk.parts:
                    chunks.append(chunk)
                chunks.append(_parse_cell(path, lines, i, close, n_cells))
                n_cells += 1
                i = close + 1
                chunk = MarkdownChunk(line=i + 1)
                continue
            # a plain (non-executed) code block: copied verbatim, no inline evaluation
            stop = close if close is not None else len(lines) - 1
            chunk.parts.append("\n".join(lines[i:stop + 1]) + "\n")
            i = stop + 1
            continue
        _check_markdown_line(path, text, i + 1)
        _split_inline(path, text + "\n", i + 1, chunk.parts)
        i += 1
    if chunk.parts:
        chunks.append(chunk)
    return QmdDocument(path=path, meta=meta, meta_lines=meta_lines, chunks=chunks, source=source)


def _find_close(lines: list[str], open_index: int, ticks: str) -> int | None:
    for j in range(open_index + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped.startswith(ticks) and set(stripped) == {"`"}:
            return j
    return None


def _check_markdown_line(path: Path, text: str, line: int) -> None:
    if _SHORTCODE.search(text):
        raise RenderError("Quarto shortcodes ({{< ... >}}) are not supported by the embedded engine", path, line)
    div = _DIV.match(text)
    if div and div.group("attrs"):
        attrs = div.group("attrs").strip("{} ")
        for token in attrs.split():
            if token.startswith("#") and _UNSUPPORTED_DIV_ID.match(token[1:]):
                raise RenderError(
                    f"cross-reference div '{token}' is not supported; label a {{python}} cell "
                    "('#| label: fig-...' / 'tbl-...') or an image '![cap](file){#fig-...}' instead", path, line)
            name = token.lstrip(".")
            if (token.startswith(".") or "=" not in token and not token.startswith("#")) and _UNSUPPORTED_CLASS.match(name):
                raise RenderError(f"Quarto div class '{name}' is not supported by the embedded engine", path, line)
            if token.startswith("layout") or token.startswith("fig-") or token.startswith("tbl-"):
                raise RenderError(f"div attribute '{token}' is not supported by the embedded engine", path, line)


def _split_inline(path: Path, text: str, line: int, parts: list[str | InlineExpr]) -> None:
    pos = 0
    for match in _INLINE.finditer(text):
        if match.group("lang") != "python":
            raise RenderError(f"inline '{{{match.group('lang')}}}' code is not supported (only {{python}})", path, line)
        parts.append(text[pos:match.start()])
        parts.append(InlineExpr(expr=match.group("expr").strip(), line=line))
        pos = match.end()
    parts.append(text[pos:])


def _parse_cell(path: Path, lines: list[str], open_index: int, close_index: int, index: int) -> Cell:
    body = lines[open_index + 1:close_index]
    option_text: list[str] = []
    first_option_line = open_index + 2
    k = 0
    while k < len(body):
        match = _OPTION.match(body[k])
        if not match:
            break
        option_text.append(match.group("yaml"))
        k += 1
    options: dict[str, Any] = {}
    option_lines: dict[str, int] = {}
    if option_text:
        data, key_lines = yaml_with_lines("\n".join(option_text), path, first_line=first_option_line)
        if data is not None and not isinstance(data, dict):
            raise RenderError("cell options must be 'key: value' lines", path, first_option_line)
        options = data or {}
        option_lines = {key[0]: line for key, line in key_lines.items() if len(key) == 1}
    cell = Cell(index=index, line=open_index + 1, code="\n".join(body[k:]).strip("\n"),
                options=options, option_lines=option_lines)
    _validate_cell_options(path, cell)
    return cell


def _validate_cell_options(path: Path, cell: Cell) -> None:
    known = quarto_cell_options()
    for name, value in cell.options.items():
        line = cell.option_lines.get(name, cell.line)
        if name not in known:
            raise RenderError(f"unknown cell option '{name}' (not a Quarto cell option)", path, line)
        if name not in SUPPORTED_CELL_OPTIONS:
            raise RenderError(f"cell option '{name}' is a Quarto option the embedded engine does not implement", path, line)
        if name in ("echo", "eval", "include", "warning", "error") and not isinstance(value, bool):
            raise RenderError(f"cell option '{name}' must be true or false, got {value!r}", path, line)
        if name == "output" and value not in (True, False, "asis"):
            raise RenderError(f"cell option 'output' must be true, false or asis, got {value!r}", path, line)
        if name in ("fig-width", "fig-height", "out-width", "out-height") and name.startswith("fig-") and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise RenderError(f"cell option '{name}' must be a positive number of inches, got {value!r}", path, line)
        if name in ("tbl-cap", "fig-cap", "fig-alt", "label") and not isinstance(value, str):
            raise RenderError(f"cell option '{name}' must be a single string, got {value!r}", path, line)
    label = cell.label
    line = cell.option_lines.get("label", cell.line)
    if label is not None and not re.fullmatch(r"[A-Za-z][\w-]*", label):
        raise RenderError(f"cell label {label!r} must be letters, digits, '-' or '_'", path, line)
    if "tbl-cap" in cell.options and not (label or "").startswith("tbl-"):
        raise RenderError("'tbl-cap' needs a cell label starting with 'tbl-'", path, cell.option_lines["tbl-cap"])
    if "fig-cap" in cell.options and not (label or "").startswith("fig-"):
        raise RenderError("'fig-cap' needs a cell label starting with 'fig-'", path, cell.option_lines["fig-cap"])
    if label and label.startswith("tbl-") and "tbl-cap" not in cell.options:
        raise RenderError(f"cell '{label}' needs '#| tbl-cap:' to be a numbered table", path, line)
    if label and label.startswith("fig-") and "fig-cap" not in cell.options:
        raise RenderError(f"cell '{label}' needs '#| fig-cap:' to be a numbered figure", path, line)
