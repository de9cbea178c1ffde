"""``python -m analysis render [PATH] [--to html,pdf,docx] [--engine auto|quarto|embedded] [--out DIR] [--data DIR]``.

The study's side of the render command: it hands the study's inputs to the render
engine (``analysis.render.command``, which knows nothing of the study) as
environment variables, the same for real Quarto and the embedded engine:
``ABLATION_DATA_DIR`` (``--data``, else the variable, else the shipped data),
``ABLATION_PLAN`` (``--plan``) and ``ABLATION_RESULTS`` (``results.json`` in the
render's staging directory unless set: the pre-render step writes it there and
the documents read it, see ``analysis.report.results_path``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from analysis import paths
from analysis.render.command import _say
from analysis.render.command import render as render_project
from analysis.render.errors import RenderError
from analysis.render.project import parse_to

RESULTS_ENV_VAR = paths.RESULTS_ENV_VAR
RESULTS_FILE = "results.json"


def run(args) -> int:
    try:
        return render(path=args.path, to=args.to, engine=args.engine, out=args.out, data=args.data,
                      plan=getattr(args, "plan", None), no_cache=getattr(args, "no_cache", False))
    except RenderError as error:
        print(f"render error: {error.report()}", file=sys.stderr)
        return 2
    except OSError as error:   # a read-only or full output disk, a folder in the way: one line, no traceback
        print(f"render error: {error.filename or ''}: {error.strerror or error} "
              "(the previous outputs are unchanged)", file=sys.stderr)
        return 1


def render(path: str | None = None, to: str | None = "html,pdf,docx", engine: str = "auto", out: str | None = None,
           data: str | None = None, plan: str | None = None, no_cache: bool = False,
           progress: Callable[[str], None] = _say) -> int:
    # the pre-render step does only what the formats asked for need (analysis.publish)
    env = {paths.DATA_ENV_VAR: str(paths.data_dir(data)), paths.RENDER_FORMATS_ENV_VAR: ",".join(parse_to(to))}
    if plan:
        env[paths.PLAN_ENV_VAR] = str(Path(plan).resolve())
    progress(f"data: {env[paths.DATA_ENV_VAR]}")
    changes = ChangeSummary()
    status = render_project(path=path, to=to, engine=engine, out=out, env=env,
                            staged_env={RESULTS_ENV_VAR: RESULTS_FILE}, default_root=paths.PROJECT_ROOT,
                            no_cache=no_cache, progress=progress,
                            # the documents read the data only through the results file (analysis.report)
                            derived_inputs=("data",),
                            input_paths=paths.render_input_paths({**os.environ, **env}),
                            pre_rendered=changes.start, before_swap=changes.finish)
    for line in changes.lines:
        progress(line)
    return status


class ChangeSummary:
    """``_what_changed`` off the render's critical path: begun in a thread once the pre-render step has
    staged the new results file (``start``), while the documents render, and collected before the new set
    replaces the old (``finish``). The early answer is used only when both results files still hold the
    bytes it was made from; otherwise, or when it was never begun (a cache hit), it is made again then."""

    def __init__(self):
        self.lines: list[str] = []
        self._thread = None
        self._begun: tuple | None = None   # (the two files' bytes, lines) of the early comparison

    def start(self, output_dir: Path, staging: Path) -> None:
        import threading

        def compare() -> None:
            contents = _contents(output_dir, staging)
            try:
                self._begun = (contents, _what_changed(*contents))
            except Exception:  # noqa: BLE001 - nothing begun: finish() compares again, where a failure is reported
                self._begun = None

        self._thread = threading.Thread(target=compare, name="render-change-summary", daemon=True)
        self._thread.start()

    def finish(self, output_dir: Path, staging: Path) -> None:
        if self._thread is not None:
            self._thread.join()
        contents = _contents(output_dir, staging)
        begun = self._begun
        self.lines = list(begun[1]) if begun is not None and begun[0] == contents else _what_changed(*contents)


def _contents(output_dir: Path, staging: Path) -> tuple[bytes | None, bytes | None]:
    """The bytes of the outgoing results file and of the staged one (None: absent or unreadable)."""
    def read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except OSError:
            return None

    return read(output_dir / RESULTS_FILE), read(staging / RESULTS_FILE)


def _what_changed(previous: bytes | None, staged: bytes | None) -> list[str]:
    """After a render that replaces a previous set: every printed number that changed
    (``python -m analysis diff``), comparing the outgoing results file with the staged one."""
    import json

    from analysis.diff import summary_after_render

    def parse(content: bytes | None) -> dict | None:
        try:
            return None if content is None else json.loads(content.decode("utf-8"))
        except ValueError:   # UnicodeDecodeError included
            return None

    current = parse(staged)
    if current is None:
        return []
    text = summary_after_render(parse(previous), current)
    return ["compared with the outputs replaced: " + text] if text else []
