"""Assemble pandoc Markdown from a document and its executed outputs (Quarto's semantics).

Per cell (options from the cell, else ``execute:`` defaults):

- ``include: false``: the cell runs, nothing is shown;
- ``echo: true``: the code is shown in a ```` ```python ```` block;
- ``output: false``: outputs hidden; ``output: asis``: text/markdown or text/plain
  output is inserted as raw Markdown;
- ``warning: false``: stderr output (where Python warnings go) is hidden;
- ``error: true``: an exception is shown as output instead of stopping the render;
- outputs: ``text/markdown`` (``IPython.display.Markdown``) -> Markdown;
  ``image/png`` / ``image/svg+xml`` -> an image file, embedded by each writer;
  ``text/plain`` and stdout -> a verbatim block;
- label ``fig-*`` + ``fig-cap``: the cell's single image becomes a figure with that id;
- label ``tbl-*`` + ``tbl-cap``: the cell's output (one Markdown table) is wrapped
  in a div with that id and the caption; :mod:`.crossref` numbers both and, as Quarto,
  takes a last paragraph of the cell's output as the caption instead of ``tbl-cap``;
- an image output's ``width``/``height`` metadata (``IPython.display.Image(width=...)``)
  become its size attributes, as in Quarto.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from analysis.render.errors import RenderError
from analysis.render.execute import FIGURE_DPI, ExecutedDocument
from analysis.render.qmd import Cell, InlineExpr, QmdDocument

TABLE_CAPTION_CLASS = "qmd-tbl-cap"


def assemble_markdown(doc: QmdDocument, executed: ExecutedDocument, execute_defaults: dict[str, Any],
                      figure_dir: Path) -> str:
    """Pandoc Markdown for ``doc``; images are written to ``figure_dir``, referenced relative to its parent
    (the work directory every writer runs in)."""
    blocks: list[str] = []
    inline_values = iter(executed.inline_values)
    for chunk in doc.chunks:
        if isinstance(chunk, Cell):
            blocks.append(_cell_markdown(doc, chunk, executed.outputs.get(chunk.index, []), execute_defaults, figure_dir))
        else:
            text = []
            for part in chunk.parts:
                text.append(next(inline_values) if isinstance(part, InlineExpr) else part)
            blocks.append("".join(text))
    return "\n".join(b if b.endswith("\n") else b + "\n" for b in blocks)


def _fence(text: str, info: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{info}\n{text.rstrip(chr(10))}\n{ticks}\n"


def _cell_markdown(doc: QmdDocument, cell: Cell, outputs: list[dict[str, Any]], defaults: dict[str, Any], figure_dir: Path) -> str:
    option = lambda name: cell.options.get(name, defaults[name])  # noqa: E731
    if not option("include"):
        return "\n"
    parts: list[str] = []
    if option("echo") and cell.code.strip():
        parts.append(_fence(cell.code, " {.python .cell-code}"))
    shown = option("output")
    images: list[Path] = []
    body: list[str] = []
    if shown is not False:
        asis = shown == "asis"
        for number, output in enumerate(outputs):
            kind = output.get("output_type")
            if kind == "stream":
                if output.get("name") == "stderr" and not option("warning"):
                    continue
                text = output.get("text", "")
                # stderr (warnings) stays verbatim even under asis: it is never meant as Markdown
                raw = asis and output.get("name") == "stdout"
                body.append(text if raw else _fence(text, " {.cell-output}"))
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "text/markdown" in data:
                    body.append(_text(data["text/markdown"]))
                elif asis and "text/plain" in data:
                    body.append(_text(data["text/plain"]))
                elif "image/png" in data or "image/svg+xml" in data:
                    path = _write_image(data, figure_dir, cell, number)
                    images.append((path, _metadata_size(output, path)))
                    body.append(None)  # placeholder: images are placed below
                elif "text/plain" in data:
                    body.append(_fence(_text(data["text/plain"]), " {.cell-output}"))
            elif kind == "error":
                body.append(_fence(f"{output.get('ename')}: {output.get('evalue')}", " {.cell-output-error}"))
    label = cell.label or ""
    line = cell.option_lines.get("label", cell.line)
    if label.startswith("fig-"):
        if len(images) != 1:
            raise RenderError(f"cell '{label}' must produce exactly one image for its figure, it produced {len(images)}", doc.path, line)
        alt = cell.options.get("fig-alt")
        path, size = images[0]
        attrs = f'#{label}' + size + (f' alt="{_attr(alt)}"' if alt else "")
        figure = f"![{cell.options['fig-cap']}]({_relative(path)}){{{attrs}}}\n"
        body = [figure if b is None else b for b in body]
    else:
        queue = iter(images)
        body = [_plain_image(next(queue)) if b is None else b for b in body]
    content = "\n".join(b.rstrip("\n") + "\n" for b in body)
    if label.startswith("tbl-"):
        content = (f"::: {{#{label}}}\n\n{content}\n"
                   f"::: {{.{TABLE_CAPTION_CLASS}}}\n{cell.options['tbl-cap']}\n:::\n\n:::\n")
    parts.append(content)
    return "\n" + "\n".join(parts) + "\n"


def _plain_image(image: tuple[Path, str]) -> str:
    path, size = image
    size = size.strip()
    return f"![]({_relative(path)})" + (f"{{{size}}}" if size else "") + "\n"


def _relative(path: Path) -> str:
    """``<stem>_files/<name>``: relative to the work directory, so no temporary path reaches an output."""
    return f"{path.parent.name}/{path.name}"


def _metadata_size(output: dict[str, Any], path: Path) -> str:
    """The image's size attributes: the output's own ``width``/``height`` metadata when it has them
    (``out-width`` first), as Quarto writes them (src/core/jupyter/jupyter.ts ``mdImageOutput``);
    otherwise the engine's share of the text width (see ``_size``)."""
    mime = "image/png" if path.suffix == ".png" else "image/svg+xml"
    metadata = (output.get("metadata") or {}).get(mime) or {}
    width = metadata.get("out-width") or metadata.get("width")
    height = metadata.get("out-height") or metadata.get("height")
    if not (width or height):
        return _size(path)
    return (f' width="{_attr(str(width))}"' if width else "") + (f' height="{_attr(str(height))}"' if height else "")


# Width of the text block the figure sizes are relative to: A4 with 2.5 cm margins (16 cm).
TEXT_WIDTH_INCHES = 16 / 2.54


def _size(path: Path) -> str:
    """`` width="N%"``: the figure's width (pixels / dpi) as a share of the text width, at most 100 %.

    A percentage means the same in HTML, DOCX and Typst, and a figure wider than
    the text (e.g. ``fig-width: 9``) is scaled down rather than cut off at the margin.
    """
    if path.suffix != ".png":
        return ""
    header = path.read_bytes()[:24]
    width_px = int.from_bytes(header[16:20], "big")  # PNG IHDR width
    share = min(100.0, 100.0 * width_px / FIGURE_DPI / TEXT_WIDTH_INCHES)
    return f' width="{share:.1f}%"'


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _attr(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _write_image(data: dict[str, Any], figure_dir: Path, cell: Cell, number: int) -> Path:
    figure_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{cell.label or f'cell-{cell.index + 1}'}-{number + 1}"
    if "image/png" in data:  # PNG first: embedded as a raster image in every format
        path = figure_dir / f"{stem}.png"
        path.write_bytes(base64.b64decode(_text(data["image/png"])))
    else:
        path = figure_dir / f"{stem}.svg"
        path.write_text(_text(data["image/svg+xml"]), encoding="utf-8")
    return path.resolve()
