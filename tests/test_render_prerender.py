"""The pre-render step and the documents' kernels: kernels start during pre-render, cells only after it."""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.cli import main
from analysis.render.execute import imported_modules
from analysis.render.gate import PreRenderFailed, StartGate
from analysis.render.qmd import parse_qmd

PROJECT = Path(__file__).parent / "fixtures" / "qmd" / "project"


def test_cells_wait_for_the_pre_render_step(tmp_path: Path) -> None:
    """A cell that reads the pre-render's output finds it, although its kernel started before the step ended."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("_out"))
    (project / "prerender.py").write_text(
        "import os, time\nfrom pathlib import Path\ntime.sleep(3)\n"
        "Path(os.environ['QUARTO_PROJECT_OUTPUT_DIR'], 'made-by-prerender.txt').write_text('ready')\n",
        encoding="utf-8")
    (project / "_quarto.yml").write_text(
        (project / "_quarto.yml").read_text(encoding="utf-8").replace("    - features.qmd\n", ""), encoding="utf-8")
    (project / "second.qmd").write_text(
        "---\ntitle: Gate\n---\n\n```{python}\n#| output: asis\nimport os\nfrom pathlib import Path\n"
        # ABLATION_RESULTS points into the staging folder, where pre-render scripts write
        "print(Path(os.environ['ABLATION_RESULTS']).parent.joinpath('made-by-prerender.txt').read_text())\n```\n",
        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["render", str(project), "--to", "html", "--engine", "embedded", "--out", str(out)]) == 0
    assert "ready" in (out / "second.html").read_text(encoding="utf-8")


def test_a_failing_pre_render_stops_every_document_and_keeps_previous_outputs(tmp_path: Path, capsys) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("_out"))
    out = tmp_path / "out"
    out.mkdir()
    previous = out / "second.html"
    previous.write_text("previous render", encoding="utf-8")
    (project / "prerender.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    status = main(["render", str(project), "--to", "html", "--engine", "embedded", "--out", str(out)])
    assert status == 2
    assert "pre-render 'prerender.py' failed with exit status 3" in capsys.readouterr().err
    assert previous.read_text(encoding="utf-8") == "previous render"
    assert sorted(p.name for p in out.iterdir()) == ["second.html"]


def test_imported_modules_are_the_cells_top_level_imports(tmp_path: Path) -> None:
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: t\n---\n\n```{python}\nimport json, os.path\nfrom analysis import report\n"
                   "def f():\n    import secret_inner_module\n```\n", encoding="utf-8")
    assert imported_modules(parse_qmd(qmd)) == ["json", "os.path", "analysis", "analysis.report"]


def test_gate_reports_a_failed_pre_render() -> None:
    gate = StartGate()
    gate.open(failed=True)
    try:
        gate.wait()
    except PreRenderFailed:
        return
    raise AssertionError("the gate let cells run after a failed pre-render")


def test_documents_find_the_pre_render_results_file_under_both_engines(tmp_path, monkeypatch) -> None:
    """No recompute in the kernel: $ABLATION_RESULTS (set by the render command, for either engine),
    else results.json in _quarto.yml's output-dir under $QUARTO_PROJECT_ROOT (plain `quarto render`:
    Quarto gives kernels QUARTO_PROJECT_ROOT, the pre-render step QUARTO_PROJECT_OUTPUT_DIR)."""
    import pytest

    from analysis import report

    (tmp_path / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _built\n", encoding="utf-8")
    monkeypatch.delenv("ABLATION_RESULTS", raising=False)
    monkeypatch.setenv("QUARTO_PROJECT_ROOT", str(tmp_path))
    assert report.results_path() == tmp_path / "_built" / "results.json"
    with pytest.raises(FileNotFoundError, match="pre-render step"):
        report._load_results()
    from analysis import paths
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import compute_results, write_results

    written = compute_results(load_cohort(paths.SHIPPED_DATA, load_plan()))
    write_results(written, tmp_path / "_built" / "results.json")
    assert report._load_results()["n_patients"] == written["n_patients"]
    (tmp_path / "_built" / "results.json").write_text('{"n_patients": 3}', encoding="utf-8")
    with pytest.raises(ValueError, match="schema version"):  # checked when read (results_schema)
        report._load_results()
    monkeypatch.setenv("ABLATION_RESULTS", str(tmp_path / "given.json"))
    assert report.results_path() == tmp_path / "given.json"


def test_author_affiliations_from_the_document_front_matter(tmp_path, monkeypatch) -> None:
    """The DOCX-only affiliation line (Quarto's DOCX title block prints names only) comes from the running
    document's own front matter, found through QUARTO_DOCUMENT_PATH / QUARTO_DOCUMENT_FILE."""
    from analysis.report import ReportContext

    (tmp_path / "doc.qmd").write_text("---\ntitle: T\nauthor:\n  - name: A One\n    affiliations:\n"
                                      "      - name: Unit X\n      - Unit Y\n  - name: B Two\n---\nText\n", encoding="utf-8")
    monkeypatch.setenv("QUARTO_DOCUMENT_PATH", str(tmp_path))
    monkeypatch.setenv("QUARTO_DOCUMENT_FILE", "doc.qmd")
    assert ReportContext(results={}).author_affiliations() == "A One: Unit X, Unit Y"
    monkeypatch.delenv("QUARTO_DOCUMENT_FILE")
    assert ReportContext(results={}).author_affiliations() == ""
