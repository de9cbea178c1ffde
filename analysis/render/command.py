"""``python -m analysis render [PATH] [--to html,pdf,docx] [--engine auto|quarto|embedded] [--out DIR] [--data DIR]``.

PATH is a .qmd file or a project folder (holding ``_quarto.yml``), as for
``quarto render``; it defaults to the project in the current directory, else
this repository's. ``auto`` runs ``quarto render`` when ``quarto`` is on PATH and
the embedded engine otherwise, and says which.

Both engines see the same environment: ``ABLATION_DATA_DIR`` (``--data``, else
the variable, else the shipped data), ``ABLATION_PLAN`` (``--plan``) and
``ABLATION_RESULTS`` (a ``results.json`` in the staging directory unless set).
Everything is rendered into a staging directory inside the output directory
first; only when every document and format is complete are the files moved
over the previous ones (``os.replace``, atomic per file). A failure leaves the
previous outputs untouched. Document errors print ``file:line: message`` and
exit with status 2.
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

from analysis import paths
from analysis.render.errors import RenderError
from analysis.render.project import Project, find_project, load_project, output_path, parse_to


def run(args) -> int:
    try:
        return render(path=args.path, to=args.to, engine=args.engine, out=args.out, data=args.data,
                      plan=getattr(args, "plan", None), no_cache=getattr(args, "no_cache", False))
    except RenderError as error:
        print(f"render error: {error.report()}", file=sys.stderr)
        return 2


def _say(message: str) -> None:
    print(message, flush=True)


def resolve_target(path: str | None, out: str | None) -> tuple[Project, list[Path], bool, bool]:
    """(project, documents, project_mode, render_all) for PATH as ``quarto render`` reads it."""
    if path is None:
        root = Path.cwd() if (Path.cwd() / "_quarto.yml").is_file() else paths.PROJECT_ROOT
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
           data: str | None = None, plan: str | None = None, no_cache: bool = False,
           progress: Callable[[str], None] = _say) -> int:
    started = time.perf_counter()
    formats = parse_to(to)
    project, documents, project_mode, render_all = resolve_target(path, out)
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

    env = dict(os.environ)
    env[paths.DATA_ENV_VAR] = str(paths.data_dir(data))
    env[paths.RENDER_FORMATS_ENV_VAR] = ",".join(formats)  # the pre-render does only what these formats need
    if plan:
        env[paths.PLAN_ENV_VAR] = str(Path(plan).resolve())
    progress(f"data: {env[paths.DATA_ENV_VAR]}")

    output_dir = project.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    # Freeze-like cache (analysis/render/cache.py; embedded engine only): unchanged inputs reuse the outputs.
    cache_report, render_cache, cache_inputs, throwaway = None, None, None, None
    if not use_quarto:
        from analysis.render import cache as render_cache_module

        render_cache = render_cache_module.RenderCache(output_dir)
        cache_inputs = render_cache_module.render_inputs(project, documents, formats, "embedded", env, output_dir)
        manifest, cache_report = (None, render_cache_module.CacheReport("off")) if no_cache \
            else render_cache.lookup(cache_inputs)
        if manifest is not None:
            written, cache_report.restored = render_cache.restore(manifest)
            progress(f"cache: {cache_report.describe()}")
            progress(f"rendered {len(documents)} document(s) in {time.perf_counter() - started:.1f} s "
                     f"(engine: embedded; cache: hit):")
            _summarise(written, progress)
            return 0
        progress(f"cache: {cache_report.describe()}")
        figure_root, throwaway = render_cache_module.figure_cache_root(output_dir, no_cache)
        env[render_cache_module.CACHE_ENV_VAR] = str(figure_root)
    _remove_stale_staging(output_dir)
    staging = output_dir / f"{STAGING_PREFIX}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    env.setdefault("ABLATION_RESULTS", str(staging / "results.json"))
    # The pre-render step hands its validated cohort to the kernels here (outside the staging
    # folder: not an output; a fixed name, so the render cache's key does not change).
    handover = output_dir / ".render-cohort.pickle"
    env[paths.COHORT_HANDOVER_ENV_VAR] = str(handover)
    timings: dict[str, dict[str, float]] = {}
    try:
        if use_quarto:
            _render_with_quarto(quarto, path or str(project.root), formats, staging, env, progress)
        else:
            _render_embedded(project, documents, project_mode, render_all, formats, staging, env, timings, progress)
        written = _swap_in(staging, output_dir)
        if render_cache is not None:  # a --no-cache render refreshes the cache
            render_cache.store(cache_inputs, written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        handover.unlink(missing_ok=True)
        if throwaway:
            shutil.rmtree(env[render_cache_module.CACHE_ENV_VAR], ignore_errors=True)

    progress("")
    progress(f"rendered {len(documents)} document(s) in {time.perf_counter() - started:.1f} s "
             f"(engine: {'quarto' if use_quarto else 'embedded'}; cache: {cache_report.status if cache_report else 'none (quarto)'}):")
    _summarise(written, progress)
    for name, steps in timings.items():
        progress(f"  timings {name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    return 0


STAGING_PREFIX = ".render-staging-"
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


def _remove_stale_staging(output_dir: Path) -> None:
    """Staging folders left by a killed render (its process is gone) are removed."""
    for folder in output_dir.glob(f"{STAGING_PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(STAGING_PREFIX))
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _render_embedded(project: Project, documents: list[Path], project_mode: bool, render_all: bool, formats: list[str],
                     staging: Path, env: dict[str, str], timings: dict[str, dict[str, float]],
                     progress: Callable[[str], None]) -> None:
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
        return render_document(doc, settings, formats, staging, relative, kernel_env, progress, gate=gate)

    # Documents are independent (one kernel each, outputs in their own files): render them side by
    # side, one per core. Their kernels start, and import what the cells import, while the
    # pre-render step runs; no cell runs before it has finished (as under Quarto).
    from analysis.render.gate import StartGate

    gate = StartGate() if project.pre_render else None
    pre_render_error: list[BaseException] = []

    def pre_render() -> None:
        try:
            _pre_render(project, documents, render_all, staging, env, progress)
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


def _one_line_at_a_time(progress: Callable[[str], None]) -> Callable[[str], None]:
    """``progress`` for several threads: each message is printed whole."""
    lock = threading.Lock()

    def say(message: str) -> None:
        with lock:
            progress(message)

    return say


def _pre_render(project: Project, documents: list[Path], render_all: bool, staging: Path, env: dict[str, str],
                progress: Callable[[str], None]) -> None:
    """Quarto's ``project: pre-render:``: scripts (.py with this Python) or commands, run in the project folder."""
    script_env = dict(env, QUARTO_PROJECT_OUTPUT_DIR=str(staging), QUARTO_PROJECT_DIR=str(project.root),
                      QUARTO_PROJECT_INPUT_FILES="\n".join(_rel(d, project.root) for d in documents))
    if render_all:
        script_env["QUARTO_PROJECT_RENDER_ALL"] = "1"
    else:
        script_env.pop("QUARTO_PROJECT_RENDER_ALL", None)
    for entry in project.pre_render:
        argv = shlex.split(entry)
        if argv and argv[0].endswith(".py"):
            argv = [sys.executable, *argv]
        progress(f"pre-render: {entry}")
        try:
            process = subprocess.run(argv, cwd=project.root, env=script_env)
        except OSError as error:
            raise RenderError(f"pre-render '{entry}' could not start: {error}", project.config_file) from None
        if process.returncode != 0:
            raise RenderError(f"pre-render '{entry}' failed with exit status {process.returncode}", project.config_file)


def _render_with_quarto(quarto: str, path: str, formats: list[str], staging: Path, env: dict[str, str],
                        progress: Callable[[str], None]) -> None:
    argv = [quarto, "render", path] + ["--to", ",".join(formats), "--output-dir", str(staging)]
    progress("running: " + " ".join(shlex.quote(a) for a in argv))
    process = subprocess.run(argv, env=env)
    if process.returncode != 0:
        raise RenderError(f"quarto render failed with exit status {process.returncode}")


def _swap_in(staging: Path, output_dir: Path) -> list[Path]:
    """Move every staged file over its destination (``os.replace``: atomic per file).

    A destination that already holds the same bytes is left as it is (not rewritten: its
    modification time stays, so a journal figure file changes only when its inputs did).
    """
    staged = sorted(p for p in staging.rglob("*") if p.is_file())
    written = []
    for file in staged:
        final = output_dir / file.relative_to(staging)
        final.parent.mkdir(parents=True, exist_ok=True)
        if not _same_bytes(file, final):
            os.replace(file, final)
        written.append(final)
    return written


def _same_bytes(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return b.is_file() and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
