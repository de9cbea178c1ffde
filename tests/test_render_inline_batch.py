"""Consecutive inline expressions run in one kernel request (analysis.render.execute.run_steps):
the same values, in the same order and namespace, and the same error, as one request each."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from analysis.render.errors import RenderError
from analysis.render.execute import _plan_steps, execute_document
from analysis.render.qmd import parse_qmd

DEFAULTS = {"eval": True, "echo": False, "output": True, "warning": True, "error": False, "include": True}

BODY = """\
---
title: t
---

```{{python}}
x = 3
calls = []
def note(v):
    calls.append(v)
    return v
```

A `{{python}} note(x + 1)`, `{{python}} repr("[@k] *e*")`, `{{python}} note(len(calls))` and
`{{python}} {fourth}` and `{{python}} note("after")`.

```{{python}}
print(calls)
```

Last `{{python}} len(calls)`.
"""


def _doc(tmp_path: Path, fourth: str):
    path = tmp_path / "d.qmd"
    path.write_text(BODY.format(fourth=fourth), encoding="utf-8")
    return parse_qmd(path)


def _one_by_one(doc, monkeypatch):
    """The values with every inline expression in its own request (the batch turned off)."""
    from analysis.render import execute

    monkeypatch.setattr(execute, "_run_inlines",
                        lambda client, nb, d, exprs: [execute._run_inline(client, nb, d, e) for e in exprs])
    return execute_document(doc, DEFAULTS, dict(os.environ))


def test_batched_inline_values_equal_one_request_each(tmp_path, monkeypatch):
    doc = _doc(tmp_path, "note(x * 2)")
    batched = execute_document(doc, DEFAULTS, dict(os.environ))
    # the expressions ran in order, in the namespace the cells share, each once
    assert batched.inline_values == ["4", r"'\[@k\] \*e\*'", "1", "6", "after", "4"]
    cell_text = "".join(o.get("text", "") for o in batched.outputs[max(batched.outputs)])
    assert cell_text.strip() == "[4, 1, 6, 'after']"
    alone = _one_by_one(doc, monkeypatch)
    assert alone.inline_values == batched.inline_values and alone.outputs == batched.outputs


@pytest.mark.parametrize("fourth, words", [
    ("undefined_name", "NameError: name 'undefined_name' is not defined"),
    ("1 / 0", "ZeroDivisionError: division by zero"),
    ("x +", "SyntaxError"),          # does not parse: the group runs one by one
])
def test_a_failing_inline_expression_is_the_one_reported(tmp_path, monkeypatch, fourth, words):
    doc = _doc(tmp_path, fourth)
    with pytest.raises(RenderError) as batched:
        execute_document(doc, DEFAULTS, dict(os.environ))
    assert f"`{{python}} {fourth}` failed" in batched.value.message and words in batched.value.message
    assert batched.value.line == next(e.line for k, e in _plan_steps(doc, DEFAULTS) if k == "inline" and e.expr == fourth)
    with pytest.raises(RenderError) as alone:
        _one_by_one(doc, monkeypatch)
    assert alone.value.message == batched.value.message and alone.value.line == batched.value.line
