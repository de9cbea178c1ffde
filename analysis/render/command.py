"""The render command's engine side: render PATH with real Quarto or the embedded engine.

PATH is a .qmd file or a project folder (holding ``_quarto.yml``), as for
``quarto render``; it defaults to the project in the current directory, else
the caller's ``default_root``. ``auto`` runs ``quarto render`` when ``quarto`` is
on PATH and the embedded engine otherwise, and says which.

The engine knows nothing of the documents' inputs: the caller (the study's
``analysis/render_command.py``) passes them as environment variables (``env``),
and ``staged_env`` names variables set to a file in the staging directory
(e.g. a results file the pre-render step writes and the documents read). Both
engines see the same environment. ``input_paths`` ({component: file or folder})
names the caller's inputs besides code and documents: the render cache hashes
them, and an output folder inside one of them is never replaced as a whole.

One render at a time per output folder; everything is rendered into a staging
folder beside it and, when every document and format is complete, the staged set
replaces the output set as a whole (``analysis.render.output_set``: lock,
atomic exchange, leftovers of killed renders cleaned). A failure leaves the
previous outputs untouched. Document errors print ``file:line: message`` and
exit with status 2; a disk that cannot be written prints one line and exits 1.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from analysis.render import output_set
from analysis.render.errors import RenderError
from analysis.render.project import Project, find_project, load_project, output_path, parse_to


def _say(message: str) -> None:
    print(message, flush=True)


def resolve_target(path: str | None, out: str | None, default_root: Path | None = None) -> tuple[Project, list[Path], bool, bool]:
    """(project, documents, project_mode, render_all) for PATH as ``quarto render`` reads it."""
    if path is None:
        root = Path.cwd() if (Path.cwd() / "_quarto.yml").is_file() or default_root is None else default_root
        project = load_project(root, Path(out) if out else None)
        return project, project.render, True, True
    target = Path(path).resolve()
    if target.is_dir():
        if not (target / "_quarto.yml").is_file():
            raise RenderError("folder has no _quarto.yml (not a Quarto project); give a .qmd file", target)
        project = load_project(target, Path(out) if out else None)
        return project, project.render, True, True
    if not target.is_file():
        raise RenderError("no such file or folder", target)
    if target.suffix != ".qmd":
        raise RenderError("only .qmd documents can be rendered", target)
    root = find_project(target)
    if root is not None:
        return load_project(root, Path(out) if out else None), [target], True, False
    project = Project(root=target.parent, config_file=None, config={}, source=None,
                      output_dir=Path(out).resolve() if out else target.parent, render=[target])
    return project, [target], False, False


def render(path: str | None = None, to: str | None = "html,pdf,docx", engine: str = "auto", out: str | None = None,
           env: dict[str, str] | None = None, staged_env: dict[str, str] | None = None,
           default_root: Path | None = None, no_cache: bool = False, input_paths: dict[str, Path] | None = None,
           before_swap: Callable[[Path, Path], None] | None = None,
           progress: Callable[[str], None] = _say, derived_inputs: tuple[str, ...] = (),
           pre_rendered: Callable[[Path, Path], None] | None = None) -> int:
    """Render; 0 on success. ``env``: variables added to the environment of every step;
    ``staged_env``: {variable: file name} set to that file in the staging directory unless already set;
    ``before_swap(output_dir, staging)``: called when a complete new set is staged, before it replaces the old;
    ``pre_rendered(output_dir, staging)``: called (embedded engine) once the pre-render step has succeeded, while
    the documents render (so it must return at once: it may start work of its own that ``before_swap`` collects);
    ``derived_inputs``: components of ``input_paths`` the documents read only through the staged files
    (``staged_env``): a document is then re-rendered only when the parts of those files it read changed
    (``cache.DocumentCache``)."""
    started = time.perf_counter()
    formats = parse_to(to)
    project, documents, project_mode, render_all = resolve_target(path, out, default_root)
    quarto = shutil.which("quarto")
    if engine == "quarto" and not quarto:
        raise RenderError("--engine quarto: 'quarto' is not on PATH (use --engine embedded or auto)")
    use_quarto = engine == "quarto" or (engine == "auto" and quarto is not None)
    if use_quarto:
        progress(f"engine: quarto ({quarto})")
    else:
        reason = "quarto not on PATH" if quarto is None else "--engine embedded"
        progress(f"engine: embedded ({reason})")
    progress(f"documents: {', '.join(_rel(d, project.root) for d in documents)}; formats: {', '.join(formats)}")

    env = dict(os.environ, **(env or {}))

    output_dir = project.output_dir.resolve()
    with output_set.locked(output_dir, progress):
        return _render_locked(project, documents, project_mode, render_all, formats, use_quarto, quarto, path,
                              env, staged_env or {}, dict(input_paths or {}), output_dir, no_cache, started, progress,
                              before_swap, tuple(derived_inputs), pre_rendered)


def _render_locked(project, documents, project_mode, render_all, formats, use_quarto, quarto, path, env,
                   staged_env: dict[str, str], input_paths: dict[str, Path], output_dir: Path, no_cache: bool,
                   started: float, progress: Callable[[str], None],
                   before_swap: Callable[[Path, Path], None] | None = None,
                   derived_inputs: tuple[str, ...] = (),
                   pre_rendered: Callable[[Path, Path], None] | None = None) -> int:
    """The render, holding the output folder's lock (``output_set``): staged, then swapped in whole."""
    from analysis.render import cache as render_cache_module

    whole = output_set.is_dedicated(output_dir, project, documents, list(input_paths.values()),
                                   tuple(staged_env.values()))
    output_set.clean_leftovers(output_dir)
    render_cache_module.fault_point("locked")
    if not whole:
        output_dir.mkdir(parents=True, exist_ok=True)
        output_set.remove_stale_inside_staging(output_dir)
    # Freeze-like cache (analysis/render/cache.py; embedded engine only): unchanged inputs reuse the outputs.
    cache_report, render_cache, cache_inputs, throwaway = None, None, None, False
    staging = output_set.new_staging(output_dir, inside=not whole)
    try:
        if not use_quarto:
            unusable = render_cache_module.usable(render_cache_module.cache_dir(output_dir))
            if unusable:
                progress(f"cache: off (cache folder unusable: {unusable})")
            else:
                render_cache = render_cache_module.RenderCache(output_dir)
                cache_inputs = render_cache_module.render_inputs(project, documents, formats, "embedded", env,
                                                                 output_dir, input_paths)
            manifest = None
            if render_cache is not None:
                manifest, cache_report = ((None, render_cache_module.CacheReport("off")) if no_cache
                                          else render_cache.lookup(cache_inputs))
            if manifest is not None:
                try:
                    render_cache.restore(manifest, staging)
                except render_cache_module.CacheCorrupt as error:
                    progress(f"cache: {error}; rendering anew")
                    shutil.rmtree(staging, ignore_errors=True)
                    staging.mkdir()
                    cache_report = render_cache_module.CacheReport("miss", changed=["corrupt cache object"])
                else:
                    cache_report.restored = render_cache.differing(manifest, output_dir)
                    if before_swap is not None:
                        before_swap(output_dir, staging)
                    written = output_set.swap_in(staging, output_dir, whole, _set_record(documents, formats))
                    progress(f"cache: {cache_report.describe()}")
                    progress(f"rendered {len(documents)} document(s) in {time.perf_counter() - started:.1f} s "
                             f"(engine: embedded; cache: hit):")
                    _summarise(written, progress)
                    return 0
            if cache_report is not None:
                progress(f"cache: {cache_report.describe()}")
            if render_cache is not None:
                figure_root, throwaway = render_cache_module.figure_cache_root(output_dir, no_cache)
                env[render_cache_module.CACHE_ENV_VAR] = str(figure_root)
            else:
                env.pop(render_cache_module.CACHE_ENV_VAR, None)
        for variable, name in staged_env.items():
            env.setdefault(variable, str(staging / name))
        timings: dict[str, dict[str, float]] = {}
        if use_quarto:
            _render_with_quarto(quarto, path or str(project.root), formats, project, staging, env, progress)
        else:
            reuse = None
            if render_cache is not None:  # per document: reused while the parts of the results it read are unchanged
                reuse = DocumentReuse(render_cache_module.DocumentCache(render_cache), cache_inputs, derived_inputs,
                                      [input_paths[c] for c in derived_inputs if c in input_paths],
                                      tuple(staged_env.values()), output_dir, documents, lookup=not no_cache)
            _render_embedded(project, documents, project_mode, render_all, formats, staging, env, timings, progress,
                             reuse=reuse, pre_rendered=None if pre_rendered is None
                             else (lambda: pre_rendered(output_dir, staging)))
            # Quarto's ``project: post-render:`` (Quarto runs it itself): after every document, on the outputs.
            _pre_render(project, documents, render_all, staging, env, progress, scripts=project.post_render,
                        step="post-render")
        render_cache_module.fault_point("rendered")
        if before_swap is not None:  # the caller compares the outgoing set with the new one
            before_swap(output_dir, staging)
        written = output_set.swap_in(staging, output_dir, whole, _set_record(documents, formats))
        if render_cache is not None:  # a --no-cache render refreshes the cache
            render_cache.store(cache_inputs, written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if throwaway:
            shutil.rmtree(env[render_cache_module.CACHE_ENV_VAR], ignore_errors=True)

    progress("")
    progress(f"rendered {len(documents)} document(s) in {time.perf_counter() - started:.1f} s "
             f"(engine: {'quarto' if use_quarto else 'embedded'}; cache: {cache_report.status if cache_report else 'none'}):")
    _summarise(written, progress)
    for name, steps in timings.items():
        progress(f"  timings {name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    return 0


def _set_record(documents: list[Path], formats: list[str]) -> dict:
    """What made an output set (written beside it: ``output_set.record_path``)."""
    return {"documents": [str(d) for d in documents], "formats": list(formats)}


FOLDER_SUMMARY_OVER = 6  # a folder with more written files than this is summarised in one line


def _summarise(written: list[Path], progress: Callable[[str], None]) -> None:
    """What was written where: each file, or one line per folder holding many (figures/, tables/)."""
    by_folder: dict[Path, list[Path]] = {}
    for file in written:
        by_folder.setdefault(file.parent, []).append(file)
    for folder, files in by_folder.items():
        if len(files) > FOLDER_SUMMARY_OVER:
            kinds = ", ".join(sorted({f.suffix.lstrip(".") for f in files}))
            size = sum(f.stat().st_size for f in files)
            progress(f"  {folder}/  ({len(files)} files: {kinds}; {size:,} bytes)")
        else:
            for file in files:
                progress(f"  {file}  ({file.stat().st_size:,} bytes)")


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _render_embedded(project: Project, documents: list[Path], project_mode: bool, render_all: bool, formats: list[str],
                     staging: Path, env: dict[str, str], timings: dict[str, dict[str, float]],
                     progress: Callable[[str], None], reuse: "DocumentReuse | None" = None,
                     pre_rendered: Callable[[], None] | None = None) -> None:
    from analysis.render.project import prepare

    # Every document is parsed and validated before any code runs or any kernel starts.
    prepared = [prepare(doc, project) for doc in documents]
    progress = _one_line_at_a_time(progress)
    progress(f"checked {len(prepared)} document(s): syntax and options supported")

    def render_one(doc, settings, gate):
        relative = output_path(doc.path, project, formats[0], project_mode).relative_to(project.output_dir).with_suffix("")
        kernel_env = dict(env, QUARTO_PROJECT_ROOT=str(project.root), QUARTO_DOCUMENT_PATH=str(doc.path.parent),
                          QUARTO_DOCUMENT_FILE=doc.path.name)
        progress(f"rendering {_rel(doc.path, project.root)}")
        if reuse is None:
            return render_document(doc, settings, formats, staging, relative, kernel_env, progress, gate=gate)
        return reuse.render(doc, settings, formats, staging, relative, kernel_env, progress, gate)

    # Documents are independent (one kernel each, outputs in their own files): render them side by
    # side, one per core. Their kernels start, and import what the cells import, while the
    # pre-render step runs; no cell runs before it has finished (as under Quarto).
    from analysis.render.gate import StartGate

    gate = StartGate() if project.pre_render else None
    pre_render_error: list[BaseException] = []

    def pre_render() -> None:
        try:
            _pre_render(project, documents, render_all, staging, env, progress)
            from analysis.render.cache import fault_point

            fault_point("pre-rendered")
            if pre_rendered is not None:
                pre_rendered()
        except BaseException as error:  # reported below, before any document error
            pre_render_error.append(error)
        finally:
            gate.open(failed=bool(pre_render_error))

    workers = max(1, min(len(prepared), os.cpu_count() or 1)) + (1 if gate else 0)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        if gate:
            pool.submit(pre_render)
        # The engine's imports (nbclient, nbformat, jsonschema: about 1 s) overlap the pre-render step.
        from analysis.render.engine import render_document

        futures = [pool.submit(render_one, doc, settings, gate) for doc, settings in prepared]
    if pre_render_error:
        raise pre_render_error[0]
    # Errors are raised in document order, after every document has stopped.
    for (doc, _settings), future in zip(prepared, futures):
        timings[doc.path.name] = future.result().timings


class DocumentReuse:
    """A document's outputs from the per-document cache when the parts of the staged files it read
    (the results) are unchanged, else rendered (its reads recorded) and stored: ``cache.DocumentCache``."""

    def __init__(self, cache, inputs: dict[str, str], through: tuple[str, ...], through_paths: list[Path],
                 staged_files: tuple[str, ...], output_dir: Path, documents: list[Path], lookup: bool = True):
        self.cache, self.inputs, self.through, self.through_paths = cache, inputs, through, through_paths
        self.staged_files, self.output_dir, self.lookup = staged_files, output_dir, lookup
        self.documents = [Path(d).resolve() for d in documents]   # the render's documents (one may read another)

    def render(self, doc, settings, formats: list[str], staging: Path, relative: Path, env: dict[str, str],
               progress: Callable[[str], None], gate):
        from functools import partial

        from analysis.render import cache as render_cache_module
        from analysis.render.engine import OUTPUT_SUFFIX, RenderedDocument, render_document
        from analysis.render.execute import execute_document

        key = render_cache_module.document_key(self.inputs, self.through, doc.path, self.documents, self.output_dir)
        files = {fmt: relative.with_suffix(OUTPUT_SUFFIX[fmt]) for fmt in formats}
        wanted = [f.as_posix() for f in files.values()]
        through_now = {name: self.inputs.get(name) for name in self.through}
        entries = self.cache.entries(key) if self.lookup else []
        started = time.perf_counter()

        def restore():
            restored = self.cache.restore(key, staging, wanted)
            if restored is not None:
                progress(f"  [{doc.path.name}] reused: the parts of the results it reads are unchanged "
                         "(no kernel, no pandoc)")
                return RenderedDocument(source=doc.path, files={fmt: staging / f for fmt, f in files.items()},
                                        timings={"reused": time.perf_counter() - started})
            return None

        if entries and (gate is None or any(entry.get("through") == through_now for entry in entries)):
            # no pre-render step, or the same data as a cached render (the results will match): no kernel
            # is started for nothing; the staged results must be complete before they are compared
            if gate is not None:
                gate.wait()
            reused = restore()
            if reused is not None:
                return reused
            entries = []
        checking = _CheckThenRun(gate, restore) if entries else gate
        try:
            # otherwise the kernel starts at once (its start overlaps the pre-render step) and the cache
            # is checked when the results are complete, before any cell runs
            rendered = render_document(doc, settings, formats, staging, relative, env, progress, gate=checking,
                                       execute=partial(execute_document, record_inputs=True),
                                       same_markdown=_SameMarkdown(self.cache, key, staging, self.lookup))
        except _Reused as done:
            return done.rendered
        parts, why = render_cache_module.storable_reads(rendered.inputs_read, staging, self.staged_files,
                                                        self.through_paths, self.output_dir, self.documents)
        if parts is None:
            progress(f"  [{doc.path.name}] not cached on its own: {why}")
        else:
            self.cache.store(key, parts, {f.as_posix(): staging / f for f in files.values()}, through=through_now)
        return rendered


class _Reused(Exception):
    """Raised from the start gate when the document's cached outputs turned out to be usable."""

    def __init__(self, rendered):
        super().__init__("reused")
        self.rendered = rendered


class _CheckThenRun:
    """A start gate that, once the pre-render step is done, tries the document cache first: when it
    can be used the kernel is stopped (``_Reused``) before any cell runs."""

    def __init__(self, gate, restore: Callable):
        self.gate, self.restore = gate, restore

    def wait(self) -> None:
        self.gate.wait()
        reused = self.restore()
        if reused is not None:
            raise _Reused(reused)


class _SameMarkdown:
    """``engine.SameMarkdown`` in the document cache: key = the document's key + its executed Markdown's."""

    def __init__(self, cache, document_key: str, staging: Path, lookup: bool):
        self.cache, self.document_key, self.staging, self.lookup = cache, document_key, staging, lookup

    def _key(self, markdown_digest: str) -> str:
        import hashlib

        return hashlib.sha256(f"{self.document_key}:markdown:{markdown_digest}".encode()).hexdigest()

    def restore(self, markdown_digest: str, outputs: dict[str, Path]) -> bool:
        if not self.lookup:
            return False
        wanted = [p.relative_to(self.staging).as_posix() for p in outputs.values()]
        return self.cache.restore(self._key(markdown_digest), self.staging, wanted) is not None

    def store(self, markdown_digest: str, outputs: dict[str, Path]) -> None:
        self.cache.store(self._key(markdown_digest), {},
                         {p.relative_to(self.staging).as_posix(): p for p in outputs.values()})


def _one_line_at_a_time(progress: Callable[[str], None]) -> Callable[[str], None]:
    """``progress`` for several threads: each message is printed whole."""
    lock = threading.Lock()

    def say(message: str) -> None:
        with lock:
            progress(message)

    return say


def _pre_render(project: Project, documents: list[Path], render_all: bool, staging: Path, env: dict[str, str],
                progress: Callable[[str], None], scripts: list[str] | None = None, step: str = "pre-render") -> None:
    """Quarto's ``project: pre-render:`` (or ``post-render:``): scripts (.py with this Python) or commands,
    run in the project folder."""
    script_env = dict(env, QUARTO_PROJECT_OUTPUT_DIR=str(staging), QUARTO_PROJECT_DIR=str(project.root),
                      QUARTO_PROJECT_INPUT_FILES="\n".join(_rel(d, project.root) for d in documents))
    if render_all:
        script_env["QUARTO_PROJECT_RENDER_ALL"] = "1"
    else:
        script_env.pop("QUARTO_PROJECT_RENDER_ALL", None)
    for entry in project.pre_render if scripts is None else scripts:
        argv = shlex.split(entry)
        if argv and argv[0].endswith(".py"):
            argv = [sys.executable, *argv]
        progress(f"{step}: {entry}")
        try:
            # stderr is passed on as it comes and kept, so that the last line can name the problem
            process = subprocess.run(argv, cwd=project.root, env=script_env, stderr=subprocess.PIPE, text=True)
        except OSError as error:
            raise RenderError(f"{step} '{entry}' could not start: {error}", project.config_file) from None
        if process.stderr:
            sys.stderr.write(process.stderr)
            sys.stderr.flush()
        if process.returncode != 0:
            raise RenderError(f"{step} '{entry}' failed with exit status {process.returncode}"
                              + _problem_summary(process.stderr), project.config_file)


def _problem_summary(stderr: str | None) -> str:
    """': 2 data problem(s) found (listed above); first: patients.csv line 3 ...' from a step's stderr."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    if not lines:
        return ""
    heading = next((line for line in lines if line.endswith("found:")), None)
    if heading:
        first = lines[lines.index(heading) + 1].lstrip("- ") if lines.index(heading) + 1 < len(lines) else ""
        return f": {heading.rstrip(':')} (listed above); first: {first}"
    return f": {lines[-1]}"


def quarto_commands(quarto: str, path: str, formats: list[str], project: Project | None,
                    output_dir: Path) -> list[list[str]]:
    """The ``quarto render`` command lines that render ``formats`` of ``path`` into ``output_dir``.

    In a project, Quarto reads ``--to`` as ONE format name (or ``all``): a comma list
    becomes a format called "html,typst,docx" and fails with "Unknown format"
    (quarto-cli v1.10.18 src/project/project-context.ts:259-271 injects ``flags.to`` as a
    format key; src/command/render/render-contexts.ts:606 rejects it). So: ``--to all``
    when every format the project declares is asked, else one command per format.
    """
    declared = list(_project_formats(project))
    tail = ["--output-dir", str(output_dir)]
    if declared and set(formats) == set(declared):
        return [[quarto, "render", path, "--to", "all", *tail]]
    return [[quarto, "render", path, "--to", fmt, *tail] for fmt in formats]


def _project_formats(project: Project | None) -> list[str]:
    """Format names declared under ``format:`` in ``_quarto.yml`` (Quarto's names: html, typst, docx)."""
    value = (project.config if project is not None else {}).get("format")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(k) for k in value] if isinstance(value, dict) else []


def _render_with_quarto(quarto: str, path: str, formats: list[str], project: Project, staging: Path,
                        env: dict[str, str], progress: Callable[[str], None]) -> None:
    for argv in quarto_commands(quarto, path, formats, project, staging):
        progress("running: " + " ".join(shlex.quote(a) for a in argv))
        process = subprocess.run(argv, env=env)
        if process.returncode != 0:
            raise RenderError(f"quarto render failed with exit status {process.returncode}: "
                              + " ".join(shlex.quote(a) for a in argv))
