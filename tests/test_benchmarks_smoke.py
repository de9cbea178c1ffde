"""benchmarks/run.py in its quickest form, so that it cannot rot. No timing is asserted.

A one-document project without code cells (no kernel for its renders) stands in
for the manuscript; the scale part runs on 62 synthetic patients, once; no R, and
no preview (the stand-in has no report/manuscript.qmd).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.render


def load_benchmarks():
    spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickest_run_prints_every_row(tmp_path, capsys):
    project = tmp_path / "project"
    project.mkdir()
    (project / "_quarto.yml").write_text("project:\n  type: default\n  render:\n    - manuscript.qmd\n")
    (project / "manuscript.qmd").write_text('---\ntitle: "Smoke"\n---\n\nA paragraph with *emphasis*.\n')
    out = tmp_path / "benchmark.md"
    bench = load_benchmarks()
    status = bench.main(["--sizes", "62", "--repeats", "1", "--no-r", "--project", str(project), "--to", "html",
                         "--out", str(out)])
    assert status == 0
    table = out.read_text(encoding="utf-8")
    for row in ("| html |", "| all three formats |", "Results only (`python -m analysis results`",
                "All three formats after one correction", "| after a correction / cold (wall) |",
                "| after a correction / cold (CPU) |", "Machine: ",
                "Load average (1/5/15 min) at start", "| 62 |", "R comparison skipped", "Whole `results` command",
                "Peer: R not used"):
        assert row in table, row
    assert table in capsys.readouterr().out
