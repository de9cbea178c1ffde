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
    changes: list[str] = []
    status = render_project(path=path, to=to, engine=engine, out=out, env=env,
                            staged_env={RESULTS_ENV_VAR: RESULTS_FILE}, default_root=paths.PROJECT_ROOT,
                            no_cache=no_cache, progress=progress,
                            # the documents read the data only through the results file (analysis.report)
                            derived_inputs=("data",),
                            input_paths=paths.render_input_paths({**os.environ, **env}),
                            before_swap=lambda output_dir, staging: changes.extend(_what_changed(output_dir, staging)))
    for line in changes:
        progress(line)
    return status


def _what_changed(output_dir: Path, staging: Path) -> list[str]:
    """After a render that replaces a previous set: every printed number that changed
    (``python -m analysis diff``), comparing the outgoing results file with the staged one."""
    import json

    from analysis.diff import summary_after_render

    def read(path: Path) -> dict | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    current = read(staging / RESULTS_FILE)
    if current is None:
        return []
    text = summary_after_render(read(output_dir / RESULTS_FILE), current)
    return ["compared with the outputs replaced: " + text] if text else []
