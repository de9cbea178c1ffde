"""The results file: writing, reading and the JSON form of the values (no pandas, no statistics).

What the documents' kernels import to read the results (analysis.report), so it imports
neither pandas nor the statistics (0.3 s of CPU saved in every kernel); ``analysis.results``
computes the results and re-exports these functions.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from analysis.results_schema import check


def _finite(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def to_jsonable(value):
    """Plain JSON types: numpy scalars/arrays -> Python, NaN/inf -> None, keys -> str."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _finite(value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    pd = sys.modules.get("pandas")   # a pandas value exists only where pandas was imported
    if pd is not None:
        missing = pd.isna(value)
        if value is pd.NaT or (isinstance(missing, (bool, np.bool_)) and missing):
            return None
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
    return str(value)


def dumps(results: dict) -> str:
    """Deterministic, strictly valid JSON text (sorted keys; NaN was mapped to null)."""
    try:  # compute_results already returns plain JSON types; sanitise only if needed
        text = json.dumps(results, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = json.dumps(to_jsonable(results), sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    return text + "\n"


def write_results(results: dict, path: str | Path) -> Path:
    """Write ``results`` to ``path`` (parents created), after checking its shape (``results_schema``)."""
    path = Path(path)
    text = dumps(check(results, "results to write"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_results(path: str | Path) -> dict:
    """The results file at ``path``, checked against the schema (``ResultsShapeError`` names the bad keys)."""
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        return check(json.load(handle), str(path))
