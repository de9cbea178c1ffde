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
# in sys.modules makes the import fail; a process that imported it already keeps it. The same
# for the other optional format checkers (duration, uri, date-time, json-pointer, ...: 0.2-0.4 s of
# imports, arrow among them): nbformat validates without a FormatChecker (nbformat/json_compat.py),
# so none of them is ever called.
for _optional_format_checker in ("rfc3987_syntax", "isoduration", "rfc3986_validator", "rfc3339_validator",
                                 "jsonpointer", "uri_template", "webcolors", "fqdn"):
    sys.modules.setdefault(_optional_format_checker, None)

import nbformat  # noqa: E402
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from analysis.render.errors import RenderError
from analysis.render.gate import StartGate
from analysis.render.kernel_fork import ForkingKernelManager
from analysis.render.limits import CELL_TIMEOUT_SECONDS
from analysis.render.qmd import Cell, InlineExpr, QmdDocument

FIG_WIDTH, FIG_HEIGHT, FIGURE_DPI = 7.0, 5.0, 150

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
    print("\\x1eQMD-INLINE" + __qmd_json.dumps(data), end="")

def __qmd_inline_data(value):
    data, _metadata = get_ipython().display_formatter.format(value)
    return data
"""


# What the cells read, for the per-document cache (analysis.render.cache.storable_reads): an audit
# hook, installed before any of the document's code runs, counts every file opened (by absolute
# path) and notes any process started; the module ``INPUTS_READ_MODULE``, when the document's code
# imported it, says which parts of a JSON input it read (analysis/inputs_read.py).
INPUTS_READ_MODULE = "analysis.inputs_read"
_SPAWN_EVENTS = ("subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.spawn", "os.fork",
                 "os.forkpty", "pty.spawn", "os.startfile", "ctypes.dlopen")

_AUDIT_SETUP = f"""
def __qmd_audit():
    import os, sys
    opened, spawned = {{}}, []
    def hook(event, args):
        if event == "open":
            path = args[0] if args else None
            if isinstance(path, os.PathLike):
                path = os.fspath(path)
            if isinstance(path, (str, bytes)):
                try:
                    path = os.path.abspath(os.fsdecode(path))
                except Exception:
                    return
                opened[path] = opened.get(path, 0) + 1
        elif event in {_SPAWN_EVENTS!r}:
            spawned.append(event)
    sys.addaudithook(hook)
    return opened, spawned
__qmd_opened, __qmd_spawned = __qmd_audit()
del __qmd_audit
"""

_INPUTS_READ_REPORT = f"""
import sys as __qmd_sys, json as __qmd_json
__qmd_m = __qmd_sys.modules.get({INPUTS_READ_MODULE!r})
print("\\x1eQMD-READS" + __qmd_json.dumps({{"parts": __qmd_m.parts_read() if __qmd_m else {{}},
      "opened": dict(__qmd_opened), "spawned": list(__qmd_spawned)}}), end="")
"""


@dataclass
class ExecutedDocument:
    """Outputs of every executed cell (nbformat dicts) and the text of every inline expression."""

    outputs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    inline_values: list[str] = field(default_factory=list)
    kernel_start_seconds: float = 0.0
    run_seconds: float = 0.0
    inputs_read: dict[str, Any] | None = None   # with ``record_inputs``: what the code read (see _AUDIT_SETUP)


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
                     figure_size: tuple[float, float] = (FIG_WIDTH, FIG_HEIGHT),
                     record_inputs: bool = False) -> ExecutedDocument:
    """Run ``doc`` in a fresh kernel whose environment is ``env`` and cwd the document's folder.

    With a ``gate``, the kernel starts at once and the cells wait until the gate opens.
    ``record_inputs``: note what the code read (``ExecutedDocument.inputs_read``).
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
    # Its kernel is forked from a process that imported ipykernel and pyplot once (analysis.render.kernel_fork).
    socket_dir = Path(tempfile.mkdtemp(prefix="qmd-kernel-"))
    manager = ForkingKernelManager(kernel_name="python3", transport="ipc", ip=str(socket_dir / "kernel"),
                                 kernel_spec_manager=_kernel_spec_manager())
    if gate is not None:   # imported while the pre-render step runs: by the fork server, once for every kernel
        manager.warm_modules = tuple(imported_modules(doc))
    client = NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(doc.path.parent)}})
    try:
        _run_in_kernel(client, nb, doc, steps, execute_defaults, env, result, progress, gate, figure_size,
                       record_inputs)
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
                   figure_size: tuple[float, float] = (FIG_WIDTH, FIG_HEIGHT), record_inputs: bool = False) -> None:
    import json

    started = time.perf_counter()
    with client.setup_kernel(env=env):
        _run_hidden(client, nb, _SETUP + (_AUDIT_SETUP if record_inputs else ""))
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
        run_steps(client, nb, doc, steps, execute_defaults, result)
        if record_inputs:
            cell = _execute(client, nb, _INPUTS_READ_REPORT)
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            if "\x1eQMD-READS" in text:
                result.inputs_read = json.loads(text.rsplit("\x1eQMD-READS", 1)[1])
        result.run_seconds = time.perf_counter() - run_started


def run_steps(client: NotebookClient, nb: Any, doc: QmdDocument, steps: list[tuple[str, Any]],
              execute_defaults: dict[str, Any], result: ExecutedDocument) -> None:
    """Run ``steps`` in order: each cell on its own, each run of consecutive inline expressions
    (the ones in the text between two cells) in one kernel request (:func:`_run_inlines`)."""
    pending: list[InlineExpr] = []
    for kind, item in steps:
        if kind == "inline":
            pending.append(item)
            continue
        if pending:
            result.inline_values.extend(_run_inlines(client, nb, doc, pending))
            pending = []
        if kind == "cell":
            result.outputs[item.index] = _run_cell(client, nb, doc, item, execute_defaults)
    if pending:
        result.inline_values.extend(_run_inlines(client, nb, doc, pending))


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


_INLINE_MARKER = "\x1eQMD-INLINE"


def _run_inlines(client: NotebookClient, nb: Any, doc: QmdDocument, exprs: list[InlineExpr]) -> list[str]:
    """The Markdown of consecutive inline expressions, evaluated in order in one kernel request.

    Each expression is one top-level statement of the request, in the user namespace, as
    when it runs alone; they stop at the first that raises, whose error is the one reported
    (the values before it are kept in the list printed at the end). One request instead
    of one per expression: each costs a kernel round trip (~10 ms; a document with 55 inline values
    pays 0.5 s).
    A group with an expression that does not parse on its own runs one by one, so that its
    error is exactly the one a lone run gives.
    """
    import ast
    import json

    if len(exprs) == 1 or not all(_parses(f"__qmd_inline_data({e.expr})", ast) for e in exprs):
        return [_run_inline(client, nb, doc, e) for e in exprs]
    lines = ["__qmd_values = []", "try:"]
    lines += [f"    __qmd_values.append(__qmd_inline_data({e.expr}))" for e in exprs]
    lines += ["finally:",
              f"    print({_INLINE_MARKER!r} + __import__('json').dumps(__qmd_values), end='')",
              "    del __qmd_values"]
    try:
        executed = _execute(client, nb, "\n".join(lines))
        failed = None
    except CellExecutionError as error:
        executed, failed = nb.cells[-1], error
    text = "".join(o.get("text", "") for o in executed.outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    values = json.loads(text.rsplit(_INLINE_MARKER, 1)[1]) if _INLINE_MARKER in text else []
    if failed is not None:
        expr = exprs[min(len(values), len(exprs) - 1)]
        raise RenderError(f"inline expression `{{python}} {expr.expr}` failed: {failed.ename}: {failed.evalue}",
                          doc.path, expr.line) from None
    return [inline_markdown(data) for data in values]


def _parses(code: str, ast) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _run_inline(client: NotebookClient, nb: Any, doc: QmdDocument, expr: InlineExpr) -> str:
    import json

    try:
        executed = _execute(client, nb, f"__qmd_inline({expr.expr})")
    except CellExecutionError as error:
        raise RenderError(f"inline expression `{{python}} {expr.expr}` failed: {error.ename}: {error.evalue}", doc.path, expr.line) from None
    text = "".join(o.get("text", "") for o in executed.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    marker = "\x1eQMD-INLINE"
    return inline_markdown(json.loads(text.split(marker, 1)[1]) if marker in text else {"text/plain": text})


# Quarto escapes these in a quoted text/plain result; ``+-.`` is a range in its regex, so ``,`` too.
_QUARTO_INLINE_ESCAPED = re.compile(r"([\\`*_{}\[\]()>#+-.!])")
# A "<" before a space (or at the end) is text to pandoc whether escaped or not (no tag, comment or
# autolink starts so), but a bare one costs pandoc's reader a raw-HTML attempt that scans ahead
# (engine detail: Quarto leaves it bare; the AST is the same).
_LT_BEFORE_SPACE = re.compile(r"<(?=\s|$)")


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
        return _LT_BEFORE_SPACE.sub(r"\\<", _QUARTO_INLINE_ESCAPED.sub(r"\\\1", text))
    return text


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
