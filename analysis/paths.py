"""Where the project's files live. Everything else asks here."""

from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PLAN_FILE = PROJECT_ROOT / "analysis_plan.yml"
PUBLISHED_FILE = PROJECT_ROOT / "published_results.yml"   # the numbers the reproduction table compares with
SHIPPED_DATA = PROJECT_ROOT / "data" / "synthetic"
PRIVATE_DATA = PROJECT_ROOT / "data" / "private"
REPORT_DIR = PROJECT_ROOT / "report"
DEFAULT_OUTPUT = PROJECT_ROOT / "_output"

# The data directory reaches the .qmd documents through this variable, the same
# way under Quarto and under the embedded engine (both pass the environment on
# to the Jupyter kernel).
DATA_ENV_VAR = "ABLATION_DATA_DIR"
PLAN_ENV_VAR = "ABLATION_PLAN"
RESULTS_ENV_VAR = "ABLATION_RESULTS"  # the results file the documents read (set by the render command)
RENDER_CACHE_ENV_VAR = "ABLATION_RENDER_CACHE"  # the render cache folder, set by the render command
# The formats a render was asked for (``--to``, Quarto names), set by the render command for the
# pre-render step: the journal figure files are written only by a render of every format.
RENDER_FORMATS_ENV_VAR = "ABLATION_RENDER_FORMATS"
ALL_FORMATS = ("html", "typst", "docx")


def journal_figures_wanted() -> bool:
    """Does this render write the journal figure files? (Yes unless fewer than every format was asked for.)"""
    asked = os.environ.get(RENDER_FORMATS_ENV_VAR)
    if not asked:  # a plain ``quarto render`` (the variable unset): every format
        return True
    return set(ALL_FORMATS) <= {f.strip() for f in asked.split(",")}


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: the explicit argument, else $ABLATION_DATA_DIR, else the shipped data."""
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env).resolve() if env else SHIPPED_DATA


def plan_file(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get(PLAN_ENV_VAR)
    return Path(env).resolve() if env else PLAN_FILE


def render_input_paths(env: dict[str, str]) -> dict[str, Path]:
    """{component: file or folder} that a render's outputs depend on besides code and documents.

    The render cache (analysis/render/cache.py) hashes each by content; it knows no study file
    names itself, so a new input of the study is added here, once.
    """
    return {
        "data": Path(env[DATA_ENV_VAR]) if env.get(DATA_ENV_VAR) else SHIPPED_DATA,
        "plan": plan_file(env.get(PLAN_ENV_VAR)),
        "published": PUBLISHED_FILE,
    }


def command_process() -> None:
    """Settings of a process that runs the project's commands (``python -m analysis``, the pre-render
    step), made before anything heavy is imported.

    - One BLAS thread, in this process and the ones it starts (pre-render step, kernels), unless the
      user set it: the matrices here are small (a Cox model's few columns), and OpenBLAS's idle
      threads spin between calls, 0.1-0.3 s of CPU per process for no wall time (numpy reads it
      when imported).
    - No hypothesis: pandera imports its data-synthesis strategies, and with them hypothesis when it
      is installed (the test extra), at every validation (6% of a 62-patient ``results`` run);
      pandera's strategies treat a missing hypothesis as "strategies unavailable", which no command
      uses. Only this process: ``sys.modules`` is not inherited by the processes it starts.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.modules.setdefault("hypothesis", None)


@contextmanager
def imports_uncollected():
    """Imports without the cyclic garbage collector, their objects then kept out of its sight.

    Importing numpy, pandas, pandera and pydantic creates some hundred thousand objects (modules,
    classes, functions) that live until the process ends, and every collection on the way walks
    the ones made before it: 3.6% of a 62-patient ``results`` run's instructions (cachegrind).
    ``gc.freeze()`` at the end moves what exists then to the permanent generation, so later
    collections, while the data are processed with the collector on, do not walk them again.
    Only around imports: a process's data (10^6 patients) are collected as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
