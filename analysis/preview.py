"""``python -m analysis preview [PATH] [--port N] [--no-browser] [--browser] [--data DIR] [--plan F] [--out DIR]``.

The draft loop, as ``quarto preview`` serves it: the documents' HTML on
http://127.0.0.1:PORT/ (loopback only), re-rendered when a watched file changes,
and the open page reloaded.

What a change re-does (nothing more):

- a ``.qmd`` text edit: that document's HTML only. Its cells are not run again when
  their code, options and inline expressions are unchanged (the outputs of the last run
  are reused); a changed cell is run in the document's warm kernel (no kernel start).
- another file in a document's folder (bibliography, CSL): every document's HTML, no code runs.
- the data directory (the corrections ledger included) or the analysis plan: the results
  are computed again (in this process, imports already loaded), then every document's
  cells are run again in its warm kernel and its HTML written.

Pages open in a browser are rendered first; when a file is saved again meanwhile, the other
documents are left to the next round (which renders them with the newer files).

Outputs go to ``<output>/.preview/`` (never over the rendered files of ``render``). The
reload script (server-sent events) is added to the page as it is served, never to a
file. A page whose render failed keeps its last good version; the error is printed
and shown on the page. Ctrl-C stops the server and the kernels.

Port: ``--port`` as for ``quarto preview`` (default: a free port between 3000 and
8000). A browser is opened only with ``--browser``, or when a display is available
and ``--no-browser`` is not given.
"""

from __future__ import annotations

import html
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from analysis import paths
from analysis.render.citations import CiteprocMemo
from analysis.render.errors import RenderError

HOST = "127.0.0.1"
PORT_RANGE = (3000, 8000)          # quarto preview: "defaults to random value between 3000 and 8000"
POLL_SECONDS = 0.05                # how often the watched files are stat'ed (a few dozen files: microseconds)
SETTLE_SECONDS = 0.03              # a change is acted on once the files have stopped changing for this long
KEEPALIVE_SECONDS = 15.0
PREVIEW_DIRNAME = ".preview"
EVENTS_PATH = "/__preview/events"
STATUS_PATH = "/__preview/status"

# Added before </body> of every served page (not to the files): reload when this document's
# version changes, show a render error over the last good page. Text from the server is set
# with textContent (inert).
RELOAD_SCRIPT = """<script>/* analysis preview: live reload */
(function () {{
  var doc = {doc}, version = {version};
  var source = new EventSource({events} + "?doc=" + encodeURIComponent(doc) + "&v=" + version);
  source.onmessage = function (event) {{
    var state = JSON.parse(event.data);
    if (state.version > version) {{ source.close(); window.location.reload(); return; }}
    var banner = document.getElementById("__preview_error");
    if (state.error) {{
      if (!banner) {{
        banner = document.createElement("pre");
        banner.id = "__preview_error";
        banner.style.cssText = "position:fixed;top:0;left:0;right:0;margin:0;padding:1em;z-index:99999;" +
          "background:#fde8e8;color:#8a1c1c;border-bottom:2px solid #8a1c1c;white-space:pre-wrap;font-size:13px";
        document.body.appendChild(banner);
      }}
      banner.textContent = "Preview: the last change could not be rendered (this page is the last good one).\\n\\n" + state.error;
    }} else if (banner) {{ banner.remove(); }}
  }};
}})();
</script>
"""


def run(args) -> int:
    from analysis.render.command import resolve_target

    try:
        project, documents, _project_mode, _render_all = resolve_target(getattr(args, "path", None), args.out)
    except RenderError as error:
        print(f"preview error: {error.report()}", file=sys.stderr)
        return 2
    session = PreviewSession(project, documents, data=args.data, plan=args.plan)
    try:
        server = PreviewServer(session, port=args.port)
    except OSError as error:
        print(f"preview error: cannot listen on {HOST}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    # SIGTERM stops the server the way Ctrl-C does (kernels shut down, port released).
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        server.start()
        session.start()
        session.wait_ready()
        url = server.url()
        print(f"Watching files for changes\nBrowse at {url}", flush=True)
        for doc in documents:
            print(f"  {server.url(session.page_path(doc))}", flush=True)
        if _should_open_browser(args):
            import webbrowser

            webbrowser.open(server.url(session.page_path(documents[0])))
        session.watch_forever()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping preview server", flush=True)
        server.stop()
        session.stop()
        signal.signal(signal.SIGTERM, previous)
    return 0


def _raise_keyboard_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _should_open_browser(args) -> bool:
    if getattr(args, "browser", False):
        return True
    if getattr(args, "no_browser", False):
        return False
    # A headless machine (no display) never gets a browser unless asked for one.
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# --------------------------------------------------------------------------- what is watched


@dataclass
class Change:
    documents: set[Path] = field(default_factory=set)   # .qmd files edited
    resources: bool = False                             # other files in the documents' folders
    results: bool = False                               # data directory or analysis plan

    def __bool__(self) -> bool:
        return bool(self.documents or self.resources or self.results)

    def merge(self, other: "Change") -> None:
        self.documents |= other.documents
        self.resources = self.resources or other.resources
        self.results = self.results or other.results

    def describe(self, root: Path) -> str:
        what = [_rel(d, root) for d in sorted(self.documents)]
        if self.resources:
            what.append("document resources")
        if self.results:
            what.append("data/plan")
        return ", ".join(what)


class Watcher:
    """Polls the stat of every watched file: the documents, their folders, the data directory, the plan."""

    def __init__(self, documents: list[Path], data_dir: Path, plan_file: Path):
        self.documents = [d.resolve() for d in documents]
        self.doc_dirs = sorted({d.parent for d in self.documents})
        self.data_dir = data_dir
        self.plan_file = plan_file
        self.snapshot = self._scan()

    def _scan(self) -> dict[Path, tuple[str, tuple[int, int] | None]]:
        """path -> (kind, (mtime_ns, size) or None if absent)."""
        seen: dict[Path, tuple[str, tuple[int, int] | None]] = {}
        for folder in self.doc_dirs:
            for entry in _files(folder):
                seen[entry] = ("document" if entry in self.documents else "resource", _stat(entry))
        for doc in self.documents:
            seen.setdefault(doc, ("document", _stat(doc)))
        for entry in _files(self.data_dir, recursive=True):
            seen[entry] = ("results", _stat(entry))
        seen[self.plan_file] = ("results", _stat(self.plan_file))
        return seen

    def poll(self) -> Change:
        """What changed since the last poll (empty if nothing)."""
        current = self._scan()
        change = Change()
        for path in set(current) | set(self.snapshot):
            before = self.snapshot.get(path)
            after = current.get(path)
            if before == after:
                continue
            kind = (after or before)[0]
            if kind == "document":
                change.documents.add(path)
            elif kind == "resource":
                change.resources = change.resources or not _ignored(path)
            else:
                change.results = True
        self.snapshot = current
        return change


def _files(folder: Path, recursive: bool = False) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_file():
            found.append(path)
        elif recursive and entry.is_dir():
            found.extend(_files(path, recursive=True))
    return found


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _ignored(path: Path) -> bool:
    """Editor scratch files next to a document are no reason to re-render."""
    name = path.name
    return name.endswith(("~", ".swp", ".swx", ".tmp")) or name.startswith("#")


# --------------------------------------------------------------------------- one kernel per document


class WarmKernel:
    """A document's Jupyter kernel, kept running between renders (``execute`` for ``render_document``).

    The cells' outputs are reused when nothing they depend on changed: the code, options
    and inline expressions of every step, the execute options and the results version.
    Otherwise the kernel's namespace is cleared and the cells run again (modules stay
    imported: that is the time a warm kernel saves).
    """

    def __init__(self, doc_path: Path, env: dict[str, str]):
        self.doc_path = doc_path
        self.env = env
        self.results_version = 0
        self._stack: ExitStack | None = None
        self._client = None
        self._nb = None
        self._manager = None
        self._socket_dir: Path | None = None
        self._last_key: Any = None
        self._last = None
        self.process = None    # the kernel's process (killed at exit if it would not shut down)
        self.runs = 0          # times the cells ran (for tests and the benchmark)
        self.reuses = 0        # times the outputs were reused

    def start(self, warm_modules: list[str] | None = None) -> None:
        import tempfile

        import nbformat
        from jupyter_client import AsyncKernelManager
        from nbclient import NotebookClient

        from analysis.render.execute import CELL_TIMEOUT_SECONDS, _SETUP, _run_hidden, _warm_imports

        self._socket_dir = Path(tempfile.mkdtemp(prefix="qmd-preview-kernel-"))
        self._manager = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(self._socket_dir / "kernel"))
        self._nb = nbformat.v4.new_notebook()
        self._client = NotebookClient(self._nb, km=self._manager, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                                      resources={"metadata": {"path": str(self.doc_path.parent)}})
        self._stack = ExitStack()
        self._stack.enter_context(self._client.setup_kernel(env=self.env))
        self.process = getattr(getattr(self._manager, "provisioner", None), "process", None)
        _run_hidden(self._client, self._nb, _SETUP)
        if warm_modules:
            _run_hidden(self._client, self._nb, _warm_imports(warm_modules))

    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self._manager is not None and bool(run_sync(self._manager.is_alive)())

    def stop(self) -> None:
        import shutil

        from jupyter_core.utils import run_sync

        try:
            if self._stack is not None:
                self._stack.close()
        except Exception:  # a kernel that already died
            pass
        try:
            if self._manager is not None and self._manager.has_kernel:
                run_sync(self._manager.shutdown_kernel)(now=True)
        except Exception:
            pass
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        self._stack = self._client = self._manager = None

    def __call__(self, doc, execute_defaults: dict[str, Any], env: dict[str, str],
                 progress: Callable[[str], None] = print, gate=None,
                 figure_size: tuple[float, float] | None = None):
        from analysis.render.execute import ExecutedDocument, _plan_steps, _run_hidden, run_steps
        from analysis.render.qmd import Cell

        steps = _plan_steps(doc, execute_defaults)
        key = (self.results_version, figure_size, json.dumps(execute_defaults, sort_keys=True, default=str),
               [(kind, item.index, item.code, json.dumps(item.options, sort_keys=True, default=str))
                if isinstance(item, Cell) else (kind, item.expr) for kind, item in steps])
        if key == self._last_key and self._last is not None:
            self.reuses += 1
            progress(f"  [{doc.path.name}] cells unchanged: outputs reused (no code run)")
            return self._last
        if self._client is None or not self.alive():
            self.stop()
            progress(f"  [{doc.path.name}] starting kernel")
            self.start()
        from analysis.render.execute import _SETUP

        result = ExecutedDocument()
        self._last_key = self._last = None
        started = time.perf_counter()
        _run_hidden(self._client, self._nb, "get_ipython().run_line_magic('reset', '-f')\n" + _SETUP)
        if figure_size is not None:  # the document-level fig-width / fig-height, as execute_document sets them
            _run_hidden(self._client, self._nb,
                        f"__qmd_mpl.rcParams['figure.figsize'] = ({figure_size[0]!r}, {figure_size[1]!r})")
        run_steps(self._client, self._nb, doc, steps, execute_defaults, result)
        # nbclient keeps every executed cell in the notebook: drop them, a preview runs for hours
        del self._nb.cells[:]
        result.run_seconds = time.perf_counter() - started
        self.runs += 1
        progress(f"  [{doc.path.name}] ran {sum(1 for k, _ in steps if k == 'cell')} cell(s) in the warm kernel "
                 f"({result.run_seconds:.2f} s)")
        self._last_key, self._last = key, result
        return result


# --------------------------------------------------------------------------- the session


class PreviewSession:
    """Renders, watches and keeps the state the server reports (versions, last error)."""

    def __init__(self, project, documents: list[Path], data: str | None = None, plan: str | None = None,
                 progress: Callable[[str], None] | None = None):
        self.project = project
        self.documents = [d.resolve() for d in documents]
        self.data_dir = paths.data_dir(data)
        self.plan_file = paths.plan_file(plan)
        # beside the output folder, never in it: a render replaces the output folder as a whole
        # (analysis.render.output_set), and the publishable set holds no preview pages
        output_dir = project.output_dir.resolve()
        self.out_dir = output_dir.parent / PREVIEW_DIRNAME / output_dir.name
        self.results_path = self.out_dir / "results.json"
        self._lock = threading.Lock()
        self._print_lock = threading.Lock()
        self._say = progress or self._print
        self.changed = threading.Condition()
        self.serial = 0                                   # bumped on every state change (versions or error)
        self.versions: dict[str, int] = {}                # page path -> version (1 = first render)
        self.viewers: dict[str, int] = {}                 # page path -> open event streams (browser pages)
        self.errors: dict[str, str] = {}                  # page path or "results" -> message
        self.results_version = 0
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self._pools = {doc: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"preview-{doc.stem}")
                       for doc in self.documents}
        self._kernels: dict[Path, WarmKernel] = {}
        # a text edit that leaves the citations as they were runs no citeproc (analysis.render.citations)
        self._citeproc_memos: dict[Path, CiteprocMemo] = {}
        self._deferred = Change()                         # what a round left to the next (a newer save came)
        self.env = self._kernel_env()
        self.watcher = Watcher(self.documents, self.data_dir, self.plan_file)

    # ------------------------------------------------------------------ setup

    def _print(self, message: str) -> None:
        with self._print_lock:
            print(message, flush=True)

    def _kernel_env(self) -> dict[str, str]:
        from analysis.render.cache import figure_cache_root

        env = dict(os.environ)
        env[paths.DATA_ENV_VAR] = str(self.data_dir)
        env[paths.PLAN_ENV_VAR] = str(self.plan_file)
        env[paths.RESULTS_ENV_VAR] = str(self.results_path)  # the kernels read only this file
        # The render's figure cache: a document image drawn by a render (or an earlier preview) is reused.
        figure_root, _ = figure_cache_root(self.project.output_dir, False)
        env[paths.RENDER_CACHE_ENV_VAR] = str(figure_root)
        env["QUARTO_PROJECT_ROOT"] = str(self.project.root)
        return env

    def page_path(self, doc: Path) -> str:
        """URL path of ``doc``'s HTML: its place under the output folder, as ``quarto preview`` serves it."""
        try:
            relative = doc.relative_to(self.project.root)
        except ValueError:
            relative = Path(doc.name)
        return "/" + relative.with_suffix(".html").as_posix()

    def file_for(self, page: str) -> Path | None:
        for doc in self.documents:
            if self.page_path(doc) == page:
                return self.out_dir / page.lstrip("/")
        return None

    def start(self) -> None:
        """First render in the background: kernels start while the results are computed."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.results_path.unlink(missing_ok=True)  # never a previous session's results for this session's data
        from analysis.render.execute import imported_modules
        from analysis.render.project import prepare

        starts = {}
        for doc in self.documents:
            kernel = WarmKernel(doc, dict(self.env, QUARTO_DOCUMENT_PATH=str(doc.parent), QUARTO_DOCUMENT_FILE=doc.name))
            self._kernels[doc] = kernel
            try:
                modules = imported_modules(prepare(doc, self.project)[0])
            except RenderError:
                modules = []
            starts[doc] = self._pools[doc].submit(kernel.start, modules)
        threading.Thread(target=self._first_render, args=(starts,), name="preview-first", daemon=True).start()

    def _first_render(self, starts: dict[Path, Future]) -> None:
        try:
            self.rebuild(Change(documents=set(self.documents), results=True), starts)
        finally:
            self.ready.set()

    def wait_ready(self) -> None:
        while not self.ready.wait(0.2):
            pass

    def stop(self) -> None:
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        for doc, pool in self._pools.items():
            kernel = self._kernels.get(doc)
            if kernel is not None:
                try:
                    pool.submit(kernel.stop).result(timeout=20)
                except Exception:  # still busy (a long cell) or stuck: the kernel process is ended
                    if kernel.process is not None and kernel.process.poll() is None:
                        kernel.process.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ the loop

    def watch_forever(self) -> None:
        while not self.stopping.is_set():
            self.step()
            time.sleep(POLL_SECONDS)

    def step(self) -> Change:
        """One poll: act on whatever changed (once the files have settled)."""
        change, self._deferred = self._deferred, Change()
        change.merge(self.watcher.poll())
        if not change:
            return change
        while True:  # an editor's save can be several writes: wait until they have stopped
            time.sleep(SETTLE_SECONDS)
            more = self.watcher.poll()
            if not more:
                break
            change.merge(more)
        if change:
            self._say(f"change: {change.describe(self.project.root)}")
            self.rebuild(change)
        return change

    def rebuild(self, change: Change, starts: dict[Path, Future] | None = None) -> None:
        started = time.perf_counter()
        with self._lock:
            if change.results:
                if not self._compute_results():
                    return
                for kernel in self._kernels.values():
                    kernel.results_version = self.results_version
            if not self.results_path.is_file():  # results never computed (bad data since the start)
                return
            targets = self.documents if (change.results or change.resources) else \
                [d for d in self.documents if d in change.documents]
            # The pages open in a browser first, the others after them: on a machine with few cores
            # the unseen document's kernel and pandoc would otherwise slow the page being looked at.
            viewed = [d for d in targets if self.viewers.get(self.page_path(d))]
            batches = [viewed, [d for d in targets if d not in viewed]] if viewed else [targets]
            for number, batch in enumerate(batches):
                if number and batch and starts is None:
                    # Saved again while the page in view was rendered: the documents not in view are
                    # left to the next round, which renders them anyway (with the newer files).
                    newer = self.watcher.poll()
                    if newer:
                        newer.documents |= set(batch)
                        self._deferred.merge(newer)
                        left = Change(documents=set(batch)).describe(self.project.root)
                        self._say(f"  newer change: {left} left to the next round")
                        break
                futures = {doc: self._pools[doc].submit(self._render_html, doc, (starts or {}).get(doc))
                           for doc in batch}
                for doc, future in futures.items():
                    self._finish(doc, future)
        self._say(f"  updated in {time.perf_counter() - started:.2f} s")

    def _finish(self, doc: Path, future: Future) -> None:
        """The page's new version, or its error (the last good page stays)."""
        page = self.page_path(doc)
        try:
            future.result()
        except RenderError as error:
            self._set(page, error=error.report())
            self._say(f"render error: {error.report()}")
        except Exception as error:  # the engine's own failure: shown, the preview keeps running
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
            self._set(page, error=message)
            self._say(f"render error ({_rel(doc, self.project.root)}): {message}")
        else:
            self._set(page, bump=True)

    def viewing(self, page: str, delta: int) -> None:
        """A browser page's event stream opened (+1) or closed (-1)."""
        with self.changed:
            self.viewers[page] = max(0, self.viewers.get(page, 0) + delta)

    def _compute_results(self) -> bool:
        from analysis.data.errors import DataError
        from analysis.publish import write_results_file

        step = time.perf_counter()
        try:
            write_results_file(self.results_path, data_dir=self.data_dir, plan_file=self.plan_file)
        except DataError as error:
            self._set("results", error=error.report())
            self._say(error.report())
            return False
        self.results_version += 1
        self._set("results", error=None)
        self._say(f"  results computed ({time.perf_counter() - step:.2f} s)")
        return True

    def _render_html(self, doc: Path, start: Future | None) -> None:
        from analysis.render.engine import render_document
        from analysis.render.project import prepare

        if start is not None:
            try:
                start.result()
            except Exception as error:  # a kernel that could not start is started again when needed
                self._say(f"  [{doc.name}] kernel start failed ({error}); retrying")
                self._kernels[doc].stop()
        parsed, settings = prepare(doc, self.project)
        relative = Path(self.page_path(doc).lstrip("/")).with_suffix("")
        kernel = self._kernels[doc]
        render_document(parsed, settings, ["html"], self.out_dir, relative, kernel.env, progress=self._say, execute=kernel,
                        quick_html_embed=True, citeproc_memo=self._citeproc_memos.setdefault(doc, CiteprocMemo()))

    def _set(self, page: str, error: str | None = None, bump: bool = False) -> None:
        with self.changed:
            if bump:
                self.versions[page] = self.versions.get(page, 0) + 1
                self.errors.pop(page, None)
            elif error is None:
                self.errors.pop(page, None)
            else:
                self.errors[page] = error
            self.serial += 1
            self.changed.notify_all()

    def state(self, page: str | None = None) -> dict[str, Any]:
        with self.changed:
            errors = [self.errors[k] for k in ("results", page) if k in self.errors] if page else list(self.errors.values())
            return {"serial": self.serial, "version": self.versions.get(page, 0) if page else None,
                    "versions": dict(self.versions), "error": "\n\n".join(errors) or None,
                    "results_version": self.results_version, "ready": self.ready.is_set(),
                    "busy": self._lock.locked(),   # a change being rendered (every document it touches)
                    "kernels": {self.page_path(d): {"runs": k.runs, "reuses": k.reuses} for d, k in self._kernels.items()}}


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- the server


class PreviewServer:
    def __init__(self, session: PreviewSession, port: int | None = None):
        self.session = session
        handler = type("Handler", (_Handler,), {"session": session})
        self.httpd = _bind(handler, port)
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="preview-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True           # an open event stream never holds up Ctrl-C
    allow_reuse_address = True


def _bind(handler, port: int | None) -> _Server:
    if port:
        return _Server((HOST, port), handler)  # asked for: that port or an error
    rng = random.Random()
    for _ in range(50):
        try:
            return _Server((HOST, rng.randint(*PORT_RANGE)), handler)
        except OSError:
            continue
    return _Server((HOST, 0), handler)


class _Handler(BaseHTTPRequestHandler):
    session: PreviewSession
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002  (the request log would drown the render messages)
        pass

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        page = unquote(url.path)
        if page == EVENTS_PATH:
            return self._events(parse_qs(url.query))
        if page == STATUS_PATH:
            return self._send(HTTPStatus.OK, json.dumps(self.session.state()).encode(), "application/json")
        if page in ("/", "/index.html"):
            return self._send(HTTPStatus.OK, self._index().encode(), "text/html; charset=utf-8")
        file = self.session.file_for(page)
        if file is None:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
        state = self.session.state(page)
        try:
            body = file.read_bytes()
        except OSError:
            body = _waiting_page(state.get("error")).encode()
        return self._send(HTTPStatus.OK, _inject(body, page, state["version"]), "text/html; charset=utf-8")

    def _index(self) -> str:
        links = "".join(f'<li><a href="{html.escape(self.session.page_path(d))}">{html.escape(d.name)}</a></li>'
                        for d in self.session.documents)
        return f"<!doctype html><meta charset=utf-8><title>Preview</title><h1>Preview</h1><ul>{links}</ul>"

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self, query: dict[str, list[str]]) -> None:
        """Server-sent events: the page's state now, then whenever it changes."""
        session = self.session
        page = (query.get("doc") or [""])[0]
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        last = None
        session.viewing(page, +1)
        try:
            while not session.stopping.is_set():
                state = session.state(page)
                shown = (state["version"], state["error"])
                if shown != last:
                    data = json.dumps({"version": state["version"], "error": state["error"]})
                    self.wfile.write(f"data: {data}\n\n".encode())
                    self.wfile.flush()
                    last = shown
                with session.changed:  # no socket write while holding the lock
                    idle = session.serial == state["serial"] and not session.stopping.is_set() \
                        and not session.changed.wait(KEEPALIVE_SECONDS)
                if idle:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            session.viewing(page, -1)


def _inject(body: bytes, page: str, version: int) -> bytes:
    script = RELOAD_SCRIPT.format(doc=json.dumps(page), version=int(version), events=json.dumps(EVENTS_PATH)).encode()
    at = body.rfind(b"</body>")
    return body[:at] + script + body[at:] if at >= 0 else body + script


def _waiting_page(error: str | None) -> str:
    text = html.escape(error) if error else "Rendering…"
    return f"<!doctype html><meta charset=utf-8><title>Preview</title><body><pre>{text}</pre></body>"
