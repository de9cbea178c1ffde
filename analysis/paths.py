"""Where the project's files live. Everything else asks here."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PLAN_FILE = PROJECT_ROOT / "analysis_plan.yml"
SHIPPED_DATA = PROJECT_ROOT / "data" / "synthetic"
PRIVATE_DATA = PROJECT_ROOT / "data" / "private"
REPORT_DIR = PROJECT_ROOT / "report"
DEFAULT_OUTPUT = PROJECT_ROOT / "_output"

# The data directory reaches the .qmd documents through this variable, the same
# way under Quarto and under the embedded engine (both pass the environment on
# to the Jupyter kernel).
DATA_ENV_VAR = "ABLATION_DATA_DIR"
PLAN_ENV_VAR = "ABLATION_PLAN"
RENDER_CACHE_ENV_VAR = "ABLATION_RENDER_CACHE"  # the render cache folder, set by the render command
# The formats a render was asked for (``--to``, Quarto names), set by the render command for the
# pre-render step: the journal figure files are written only by a render of every format.
RENDER_FORMATS_ENV_VAR = "ABLATION_RENDER_FORMATS"
ALL_FORMATS = ("html", "typst", "docx")
# A cohort validated once (by the pre-render step or ``preview``) and handed to the documents'
# kernels, which use it only while the data files and plan are as they were (analysis.report).
COHORT_HANDOVER_ENV_VAR = "ABLATION_COHORT_HANDOVER"


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
