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
    kind = type(value)   # the plain types first (nearly every value of a results dict), by exact type
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in value.items()}
    if kind is list:
        return [to_jsonable(v) for v in value]
    if kind is str or kind is int or kind is bool or value is None:
        return value
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
    if isinstance(value, str):
        return value
    pd = sys.modules.get("pandas")   # a pandas value exists only where pandas was imported
    if pd is not None:
        missing = pd.isna(value)
        if value is pd.NaT or (isinstance(missing, (bool, np.bool_)) and missing):
            return None
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
    return str(value)


class _NotPlain(Exception):
    """A value ``_indented`` leaves to ``json.dumps`` (not a plain JSON type, a key not text, NaN)."""


def _scalar_text(value) -> str:
    """The JSON text of a plain scalar, as json.dumps writes it (text by ``encode_basestring``)."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):   # json.dumps(allow_nan=False) refuses it
            raise _NotPlain(value)
        return float.__repr__(value)
    if kind is str:
        return _encode_text(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    raise _NotPlain(kind)


_encode_text = json.encoder.encode_basestring   # what json.dumps(ensure_ascii=False) writes text with
_FLOAT = frozenset((float,))


def _indented(value, level: int) -> str:
    """``json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)`` for plain
    JSON types (exactly dict with text keys, list, str, int, float, bool, None), character for character.

    With ``indent`` the standard library writes every value through Python generators (its C
    encoder serves only compact JSON): 6% of a 62-patient ``results`` run's instructions, most of it
    the Kaplan-Meier curves' long lists of numbers, which here are joined in one call each. Every
    scalar's text is the standard library's own (``float.__repr__``, ``int.__repr__``,
    ``json.encoder.encode_basestring``). Anything else raises ``_NotPlain`` and ``dumps`` calls
    ``json.dumps`` (tests/test_results_file.py compares them).
    """
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = "\n" + " " * (level + 1)
        items = []
        for key in sorted(value):
            if type(key) is not str:
                raise _NotPlain(key)
            item = value[key]
            kind = type(item)
            text = _indented(item, level + 1) if kind is dict or kind is list else _scalar_text(item)
            items.append(_encode_text(key) + ": " + text)
        return "{" + inner + ("," + inner).join(items) + "\n" + " " * level + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = "\n" + " " * (level + 1)
        kinds = set(map(type, value))
        if kinds == _FLOAT:   # a curve's times, estimates, bounds: no call per number
            if not all(map(math.isfinite, value)):
                raise _NotPlain("NaN or infinity")
            texts = map(float.__repr__, value)
        elif dict in kinds or list in kinds:
            texts = [_indented(item, level + 1) for item in value]
        else:
            texts = map(_scalar_text, value)
        return "[" + inner + ("," + inner).join(texts) + "\n" + " " * level + "]"
    return _scalar_text(value)


def dumps(results: dict) -> str:
    """Deterministic, strictly valid JSON text (sorted keys; NaN was mapped to null)."""
    try:  # compute_results returns plain JSON types: the text of json.dumps below, written faster
        return _indented(results, 0) + "\n"
    except (_NotPlain, TypeError, RecursionError):   # TypeError: keys that do not sort
        pass
    try:  # sanitise only if needed
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
