"""The render cache never serves stale outputs, and reuses them when nothing changed.

A tiny project (one document, HTML only, one kernel per rendered run) prints what
it read from each kind of input. Every test renders, changes one input, renders
again and checks both the cache's report (the progress lines: "cache: hit" /
"cache: miss (changed: ...)", and whether a kernel started) and the output
itself. No timing is asserted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import source_digest
from analysis.render_command import render

pytestmark = pytest.mark.render

DOCUMENT = """---
title: "Cache fixture"
---

```{python}
#| label: read
import os
from pathlib import Path
data = Path(os.environ["ABLATION_DATA_DIR"])
plan = os.environ.get("ABLATION_PLAN")
print("DATA:", (data / "values.csv").read_text().strip())
ledger = data / "corrections.csv"
print("LEDGER:", ledger.read_text().strip() if ledger.exists() else "none")
print("PLAN:", Path(plan).read_text().strip() if plan else "none")
```

VERSION-ONE of the text.
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _out\n  render:\n    - doc.qmd\n")
    (root / "doc.qmd").write_text(DOCUMENT)
    data = tmp_path / "data"
    data.mkdir()
    (data / "values.csv").write_text("a,b\n1,2\n")
    (tmp_path / "plan.yml").write_text("alpha: 0.05\n")
    # The analysis code is a copy, so that a test can change a byte of it.
    code = tmp_path / "code"
    shutil.copytree(Path(source_digest.ANALYSIS_PACKAGE), code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(source_digest, "ANALYSIS_PACKAGE", code)
    monkeypatch.delenv("ABLATION_RESULTS", raising=False)
    return root


def run(project: Path, no_cache: bool = False) -> list[str]:
    lines: list[str] = []
    status = render(str(project), to="html", engine="embedded", data=str(project.parent / "data"),
                    plan=str(project.parent / "plan.yml"), no_cache=no_cache, progress=lines.append)
    assert status == 0
    return lines


def cache_line(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("cache: "))


def kernel_started(lines: list[str]) -> bool:
    return any("kernel ready" in line for line in lines)


def html(project: Path) -> str:
    return (project / "_out" / "doc.html").read_text(encoding="utf-8")


def change_input(project: Path, change: str) -> None:
    data = project.parent / "data"
    if change == "data":
        (data / "values.csv").write_text("a,b\n1,3\n")  # one byte
    elif change == "ledger":
        (data / "corrections.csv").write_text("patient_id,field\n")
    elif change == "plan":
        (project.parent / "plan.yml").write_text("alpha: 0.01\n")
    elif change == "document":
        (project / "doc.qmd").write_text(DOCUMENT.replace("VERSION-ONE", "VERSION-TWO"))
    else:
        source = project.parent / "code" / "results.py"
        source.write_text(source.read_text() + "\n# changed\n")


# (input changed, the component the cache must name, text the new output must show)
CHANGES = [("data", "data", "1,3"), ("ledger", "data", "LEDGER: patient_id,field"), ("plan", "plan", "PLAN: alpha: 0.01"),
           ("document", "documents", "VERSION-TWO"), ("code", "code", "VERSION-TWO")]


def test_unchanged_inputs_reuse_outputs_each_changed_input_recomputes_and_no_cache_renders(project):
    first = run(project)
    assert cache_line(first) == "cache: miss (nothing cached yet)"
    assert kernel_started(first)
    before = html(project)
    second = run(project)
    assert cache_line(second).startswith("cache: hit")
    assert not kernel_started(second)
    assert html(project) == before

    # An output deleted or edited since is put back from the cache.
    (project / "_out" / "doc.html").write_text("tampered")
    lines = run(project)
    assert cache_line(lines) == "cache: hit (inputs unchanged; previous outputs reused, 1 file(s) restored)"
    assert html(project) == before

    # Each kind of input, changed one after the other: a miss naming it, a fresh
    # run (kernel), the new content in the output; the new outputs are then cached.
    for change, component, expected in CHANGES:
        change_input(project, change)
        lines = run(project)
        assert cache_line(lines) == f"cache: miss (changed: {component})", change
        assert kernel_started(lines), change
        assert expected in html(project), change
    assert cache_line(run(project)).startswith("cache: hit")

    # --no-cache renders anew (a kernel runs) and refreshes the cache.
    lines = run(project, no_cache=True)
    assert cache_line(lines) == "cache: off (--no-cache)"
    assert kernel_started(lines)
    assert cache_line(run(project)).startswith("cache: hit")
