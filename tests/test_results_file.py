"""results_file.dumps writes json.dumps's text (sorted keys, indent 1) for every value, and to_jsonable
converts as before (issue 17: the fast writer and the exact-type conversion must change no byte)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.results_file import dumps, to_jsonable

ROOT = Path(__file__).resolve().parents[1]


def reference_to_jsonable(value):
    """The conversion as written before the exact-type shortcuts (analysis/results_file.py at 3721ffa)."""
    if isinstance(value, dict):
        return {str(k): reference_to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [reference_to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [reference_to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def reference_dumps(results) -> str:
    """The standard library's text, as dumps wrote it before its fast writer."""
    try:
        text = json.dumps(results, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        text = json.dumps(reference_to_jsonable(results), sort_keys=True, indent=1, ensure_ascii=False,
                          allow_nan=False)
    return text + "\n"


HOSTILE_TEXT = ["", "a, b", 'quote " and \\ backslash', "comma,inside", "new\nline\ttab\r", "\x00\x1f\x7f",
                "é ü 中文 😀", "\u2028\u2029", "\ud800 lone surrogate", "[1, 2]", "{\"k\": 1}", "null"]
NUMBERS = [0, -0.0, 1, -1, 2**70, 1e16, 1.5e-7, 5e-324, 1.7976931348623157e308, 0.1, 123456.789, True, False, None]


def test_hostile_values_give_the_standard_librarys_text():
    cases = [
        {}, [], {"a": {}}, {"a": []}, [[], {}], [[1, 2], [3.5, None]], NUMBERS, HOSTILE_TEXT,
        {text: text for text in HOSTILE_TEXT}, [1, "a, b", 2.5, None], [{"x": [1, 2]}, {"y": []}],
        {"b": 1, "a": 2, "A": 3, "é": 4, "": 5, "10": 6, "9": 7},
        {"deep": [[[[[[{"z": [0.5, 1.5]}]]]]]]},
        # not plain JSON types: left to json.dumps (and to_jsonable)
        [float("nan"), 1.0], {"x": float("inf")}, [np.float64(0.1), np.int64(3)], {"t": (1, 2)},
        {1: "int key", 2: "x"}, {"v": np.array([1.0, np.nan])}, [np.bool_(True)], {"p": Path("a/b")},
    ]
    for value in cases:
        assert dumps(value) == reference_dumps(value), value


def test_the_shipped_results_file_is_written_byte_for_byte(tmp_path):
    from analysis.data import load_cohort
    from analysis.results import compute_results

    results = compute_results(load_cohort(ROOT / "tests" / "fixtures" / "example_data"))
    assert dumps(results) == reference_dumps(results)
    assert to_jsonable(results) == reference_to_jsonable(results)


scalars = (st.none() | st.booleans() | st.integers(min_value=-2**80, max_value=2**80)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
           | st.sampled_from(HOSTILE_TEXT))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(values)
def test_any_json_value_gives_the_standard_librarys_text(value):
    assert dumps(value) == reference_dumps(value)
    assert json.dumps(to_jsonable(value), sort_keys=True) == json.dumps(reference_to_jsonable(value), sort_keys=True)
