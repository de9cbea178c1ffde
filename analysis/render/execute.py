"""Run a document's ``{python}`` cells and inline expressions in one Jupyter kernel.

Quarto's Jupyter engine does the same: one kernel per document, started in the
document's directory, cells run top to bottom, inline `` `{python} expr` ``
evaluated where they appear in the text (after the cells above them).

Figures: matplotlib's inline backend returns PNG (``image/png``) at
``FIGURE_DPI``; Software metadata is removed and ``svg.hashsalt`` fixed so that
two runs give the same bytes. The document-level ``fig-width``/``fig-height``
set ``rcParams['figure.figsize']`` for the whole kernel (Quarto 1.10:
src/resources/jupyter/lang/python/setup.py); the same options on a cell are
ignored, as Quarto's Jupyter engine ignores them (knitr-only options:
src/resources/schema/cell-figure.yml).

Inline expressions return their display data (mime bundle), as Jupyter's
``user_expressions`` do for Quarto; :func:`inline_markdown` turns it into
Markdown by Quarto's rule (src/core/jupyter/jupyter-inline.ts).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

# nbformat imports jsonschema, whose format checkers import rfc3987_syntax when it is installed
# (jupyter pulls it in, through jupyter-events); that import compiles 38 Lark grammars, 1.1 s of
# CPU per render, for the "iri" formats that no notebook schema uses. jsonschema skips a checker
# whose module is absent (jsonschema/_format.py: ``with suppress(ImportError)``), and a None entry
# in sys.modules makes the import fail; a process that imported it already keeps it.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from analysis.render.errors import RenderError
from analysis.render.gate import StartGate
from analysis.render.qmd import Cell, InlineExpr, QmdDocument

FIG_WIDTH, FIG_HEIGHT, FIGURE_DPI = 7.0, 5.0, 150
CELL_TIMEOUT_SECONDS = 600

_SETUP = f"""
import matplotlib as __qmd_mpl
__qmd_mpl.use("module://matplotlib_inline.backend_inline")
import matplotlib.pyplot as __qmd_plt
from matplotlib_inline.backend_inline import set_matplotlib_formats as __qmd_formats
__qmd_formats("png")
get_ipython().run_line_magic("config", "InlineBackend.print_figure_kwargs = {{'bbox_inches': 'tight', 'metadata': {{'Software': None}}}}")
__qmd_mpl.rcParams.update({{"figure.figsize": ({FIG_WIDTH}, {FIG_HEIGHT}), "figure.dpi": {FIGURE_DPI},
                           "savefig.dpi": {FIGURE_DPI}, "svg.hashsalt": "qmd", "pdf.compression": 6}})

import warnings as __qmd_warnings

def __qmd_formatwarning(message, category, filename, lineno, line=None):
    # Quarto-like warning text without the kernel's temporary file name (reproducible output)
    return f"{{category.__name__}}: {{message}}\\n"

__qmd_warnings.formatwarning = __qmd_formatwarning

def __qmd_inline(value):
    \"\"\"The value's display data (text/markdown, text/plain, ...), as Jupyter's user_expressions give it.\"\"\"
    import json as __qmd_json
    data, _metadata = get_ipython().display_formatter.format(value)
    print("\\x1eQMD-INLINE" + __qmd_json.dumps(data) + "\\x1d", end="")
"""


@dataclass
class ExecutedDocument:
    """Outputs of every executed cell (nbformat dicts) and the text of every inline expression."""

    outputs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    inline_values: list[str] = field(default_factory=list)
    kernel_start_seconds: float = 0.0
    run_seconds: float = 0.0


def imported_modules(doc: QmdDocument) -> list[str]:
    """Top-level modules and submodules the document's cells import (``from a import b`` -> a, a.b)."""
    import ast

    names: list[str] = []
    for cell in doc.cells:
        try:
            tree = ast.parse(cell.code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.append(node.module)
                names += [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
    return list(dict.fromkeys(names))


def _warm_imports(modules: list[str]) -> str:
    return (f"import importlib as __qmd_importlib\nfor __qmd_m in {modules!r}:\n"
            "    try:\n        __qmd_importlib.import_module(__qmd_m)\n"
            "    except Exception:\n        pass\ndel __qmd_importlib, __qmd_m\n")


def execute_document(doc: QmdDocument, execute_defaults: dict[str, Any], env: dict[str, str],
                     progress: Callable[[str], None] = print, gate: StartGate | None = None,
                     figure_size: tuple[float, float] = (FIG_WIDTH, FIG_HEIGHT)) -> ExecutedDocument:
    """Run ``doc`` in a fresh kernel whose environment is ``env`` and cwd the document's folder.

    With a ``gate``, the kernel starts at once and the cells wait until the gate opens.
    """
    result = ExecutedDocument()
    steps = _plan_steps(doc, execute_defaults)
    if not any(kind in ("cell", "inline") for kind, _ in steps):
        return result
    # nbformat.v4.new_notebook's fields, without validating the empty notebook against the schema
    nb = nbformat.NotebookNode(nbformat=nbformat.v4.nbformat, nbformat_minor=nbformat.v4.nbformat_minor,
                               metadata=nbformat.NotebookNode(), cells=[])
    # IPC transport: a local kernel needs no TCP ports (and ipykernel warns about unencrypted TCP).
    # The async manager is what nbclient expects: its client polls without blocking, so a dead kernel is noticed.
    socket_dir = Path(tempfile.mkdtemp(prefix="qmd-kernel-"))
    manager = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(socket_dir / "kernel"),
                                 kernel_spec_manager=_kernel_spec_manager())
    client = NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(doc.path.parent)}})
    try:
        _run_in_kernel(client, nb, doc, steps, execute_defaults, env, result, progress, gate, figure_size)
    finally:  # nbclient leaves a kernel manager it did not create running
        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)
        shutil.rmtree(socket_dir, ignore_errors=True)
    return result


@lru_cache(maxsize=None)
def _kernel_spec_manager():
    """jupyter_client's kernel spec lookup, in the same folders: Jupyter's data path, then
    ``<IPython dir>/kernels``. jupyter_client finds that last folder through ``IPython.paths``, which
    imports all of IPython into the render process (0.3 s of CPU) for one path; IPython's rule for
    it is ``$IPYTHONDIR``, else ``~/.ipython`` (IPython/paths.py ``get_ipython_dir``)."""
    import os

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path

    ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    return KernelSpecManager(kernel_dirs=[*jupyter_path("kernels"), os.path.join(ipython_dir, "kernels")])


def _run_in_kernel(client: NotebookClient, nb: Any, doc: QmdDocument, steps: list[tuple[str, Any]],
                   execute_defaults: dict[str, Any], env: dict[str, str], result: ExecutedDocument,
                   progress: Callable[[str], None], gate: StartGate | None = None,
                   figure_size: tuple[float, float] = (FIG_WIDTH, FIG_HEIGHT)) -> None:
    started = time.perf_counter()
    with client.setup_kernel(env=env):
        _run_hidden(client, nb, _SETUP)
        if figure_size != (FIG_WIDTH, FIG_HEIGHT):
            _run_hidden(client, nb, f"__qmd_mpl.rcParams['figure.figsize'] = ({figure_size[0]!r}, {figure_size[1]!r})")
        if gate is not None:
            modules = imported_modules(doc)
            if modules:
                _run_hidden(client, nb, _warm_imports(modules))
        result.kernel_start_seconds = time.perf_counter() - started
        progress(f"    kernel ready ({result.kernel_start_seconds:.1f} s)")
        if gate is not None:
            gate.wait()
        run_started = time.perf_counter()
        for kind, item in _batched(steps):
            if kind == "cell":
                result.outputs[item.index] = _run_cell(client, nb, doc, item, execute_defaults)
            elif kind == "inline":
                result.inline_values.extend(_run_inline(client, nb, doc, item))
        result.run_seconds = time.perf_counter() - run_started


def _plan_steps(doc: QmdDocument, defaults: dict[str, Any]) -> list[tuple[str, Any]]:
    steps: list[tuple[str, Any]] = []
    for chunk in doc.chunks:
        if isinstance(chunk, Cell):
            if chunk.options.get("eval", defaults["eval"]):
                steps.append(("cell", chunk))
        else:
            steps.extend(("inline", expr) for expr in chunk.inlines)
    return steps


def _execute(client: NotebookClient, nb: Any, code: str, tags: list[str] | None = None) -> dict[str, Any]:
    # nbformat.v4.new_code_cell's fields, without its schema validation of every new cell (jsonschema:
    # 4 ms a cell, a third of a second per document) and with an id that is the same on every run
    cell = nbformat.NotebookNode(id=f"qmd-{len(nb.cells)}", cell_type="code", metadata=nbformat.NotebookNode(),
                                 execution_count=None, source=code, outputs=[])
    if tags:
        cell.metadata["tags"] = tags
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    return cell


def _run_hidden(client: NotebookClient, nb: Any, code: str) -> None:
    try:
        _execute(client, nb, code)
    except CellExecutionError as error:  # the engine's own code: a bug, not a document error
        raise RuntimeError(f"render engine setup failed in the kernel: {error.ename}: {error.evalue}") from None


def _run_cell(client: NotebookClient, nb: Any, doc: QmdDocument, cell: Cell, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    # A cell's own fig-width/fig-height have no effect: Quarto's Jupyter engine ignores them.
    allow_error = cell.options.get("error", defaults["error"])
    try:
        executed = _execute(client, nb, cell.code, tags=["raises-exception"] if allow_error else None)
    except CellExecutionError as error:
        line = _error_qmd_line(error, cell, doc)
        raise RenderError(f"{cell.describe()} (cell starts at line {cell.line}) failed: {error.ename}: {error.evalue}",
                          doc.path, line) from None
    except CellTimeoutError:
        raise RenderError(f"{cell.describe()} ran longer than {CELL_TIMEOUT_SECONDS} s", doc.path, cell.line) from None
    except DeadKernelError:
        raise RenderError(f"{cell.describe()}: the Python kernel died (crash or exit)", doc.path, cell.line) from None
    return list(executed.outputs)


_CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _code_first_line(doc: QmdDocument, cell: Cell) -> int:
    """1-based .qmd line of the first code line of ``cell`` (after the fence and ``#|`` lines)."""
    lines = doc.source.splitlines()
    i = cell.line  # index of the line after the fence
    while i < len(lines) and lines[i].startswith("#|"):
        i += 1
    while i < len(lines) and not lines[i].strip():  # code is stripped of leading blank lines
        i += 1
    return i + 1


def _error_qmd_line(error: CellExecutionError, cell: Cell, doc: QmdDocument) -> int:
    """The .qmd line of the failing statement (the cell's own frame in the traceback), else the fence line."""
    match = _CELL_LINE.search(_ANSI.sub("", error.traceback or ""))
    return _code_first_line(doc, cell) + int(match.group(1)) - 1 if match else cell.line


def _inline_code(expr: InlineExpr) -> str:
    return f"__qmd_inline({expr.expr})\n"


def _batched(steps: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The steps with each run of consecutive inline expressions as one step (a list): they are
    evaluated in order in one kernel request instead of one request each (a request costs 10-20 ms
    of CPU in the kernel and the client; a long document has dozens). An expression
    that does not compile runs alone, so that its error names it."""
    out: list[tuple[str, Any]] = []
    for kind, item in steps:
        if kind == "inline":
            try:
                compile(_inline_code(item), "<inline>", "exec")
                alone = False
            except (SyntaxError, ValueError):
                alone = True
            if out and out[-1][0] == "inline" and not alone and not out[-1][2]:
                out[-1][1].append(item)
                continue
            out.append(("inline", [item], alone))
        else:
            out.append((kind, item, False))
    return [(kind, item) for kind, item, _alone in out]


_INLINE_VALUE = re.compile("\x1eQMD-INLINE(.*?)\x1d", re.S)


def _run_inline(client: NotebookClient, nb: Any, doc: QmdDocument, exprs: list[InlineExpr]) -> list[str]:
    """The Markdown of each expression of ``exprs``, evaluated in order in one request."""
    import json

    def values(cell: dict[str, Any]) -> list[str]:
        text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        return [inline_markdown(json.loads(found)) for found in _INLINE_VALUE.findall(text)]

    try:
        executed = _execute(client, nb, "".join(_inline_code(expr) for expr in exprs))
    except CellExecutionError as error:
        failed = exprs[min(len(values(nb.cells[-1])), len(exprs) - 1)]   # the values printed before it
        raise RenderError(f"inline expression `{{python}} {failed.expr}` failed: {error.ename}: {error.evalue}",
                          doc.path, failed.line) from None
    found = values(executed)
    if len(found) != len(exprs):   # the engine's own protocol broke (a value printed no marker): a bug
        raise RuntimeError(f"inline expressions: {len(exprs)} evaluated, {len(found)} values received")
    return found


# Quarto escapes these in a quoted text/plain result; ``+-.`` is a range in its regex, so ``,`` too.
_QUARTO_INLINE_ESCAPED = re.compile(r"([\\`*_{}\[\]()>#+-.!])")


def inline_markdown(data: dict[str, Any]) -> str:
    """The Markdown Quarto inserts for an inline result (src/core/jupyter/jupyter-inline.ts:28-39, 61-78).

    ``text/markdown`` (e.g. ``IPython.display.Markdown``) is inserted as it is. Otherwise the
    ``text/plain`` repr: when quoted (a ``str``), the quotes are dropped, every backslash doubled
    and Markdown punctuation backslash-escaped, so markup in a plain string shows literally
    (``[@key]`` -> ``\\[@key\\]``, which still cites inside literal brackets); unquoted reprs
    (int, float) are inserted as they are.
    """
    if "text/markdown" in data:
        return _joined(data["text/markdown"])
    text = _joined(data.get("text/plain", ""))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].replace("\\", "\\\\")
        return _QUARTO_INLINE_ESCAPED.sub(r"\\\1", text)
    return text


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
