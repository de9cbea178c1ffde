"""The documents are made from the results file alone: no data directory, no mix of two data sets.

Issue 16: with ``$ABLATION_RESULTS`` pointing at another data set's results, the
text said 20 patients while the KM figures (re-fitted from the cohort) showed 62.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import diff, paths
from analysis.data import load_cohort
from analysis.figures.km import AT_RISK_AXES_LABEL
from analysis.results import compute_results, write_results
from analysis.tables import registry as table_registry

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture(scope="module")
def example_results_file(tmp_path_factory) -> Path:
    return write_results(compute_results(load_cohort(EXAMPLE)), tmp_path_factory.mktemp("ex") / "results.json")


def test_another_data_sets_results_change_every_number_table_and_figure_together(
        example_results_file, monkeypatch, tmp_path):
    """Data directory: the shipped 62 patients; results file: the 20 example patients. Everything the
    documents print is the example's; nothing is the shipped data's."""
    from analysis import report

    monkeypatch.setenv(paths.DATA_ENV_VAR, str(paths.SHIPPED_DATA))
    monkeypatch.setenv(paths.RESULTS_ENV_VAR, str(example_results_file))
    monkeypatch.delenv(paths.RENDER_CACHE_ENV_VAR, raising=False)
    context = report.load()
    example = compute_results(load_cohort(EXAMPLE))
    shipped = compute_results(load_cohort(paths.SHIPPED_DATA))
    assert context.t.n_patients == "20" != shipped["n_patients"]

    same_software = {"software", "corrections"}  # no data in them: versions; neither set has a correction
    for name in table_registry.tables(example):
        # what a document prints for the table: its body, then its notes in a cell of their own
        printed = context.table_markdown(name) + context.table_notes(name)
        expected = table_registry.table(name, example)
        assert printed == expected.to_markdown(caption=False, footnotes=False) + expected.notes_markdown(), name
        if name not in same_software:
            other = table_registry.table(name, shipped)
            assert printed != other.to_markdown(caption=False, footnotes=False) + other.notes_markdown(), name
    assert diff.sentences(context.results) == diff.sentences(example)
    numbers = diff.figure_numbers(context.results)
    assert numbers == diff.figure_numbers(example)
    for name, printed in numbers.items():
        assert printed != diff.figure_numbers(shipped)[name], name
    # what the drawn KM figure shows under its axis: the example's 20 patients at time 0
    fig = context.figure_object("km_os")
    (table_axes,) = [a for a in fig.axes if a.get_label() == AT_RISK_AXES_LABEL]
    first_column = [t for t in table_axes.texts if t.get_position()[0] == 0.0 and t.get_text().isdigit()]
    assert [t.get_text() for t in first_column] == ["20"]



def _render(out: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "render", "--engine", "embedded", "--to", "html",
                           "--out", str(out), "--no-cache"],
                          cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200)


@pytest.mark.render
def test_documents_from_a_results_file_alone_equal_a_full_render(tmp_path):
    """Render once from the data; render again from its results.json with no data directory at all:
    the same documents, tables and figures, byte for byte."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ABLATION_")}
    full = tmp_path / "full"
    done = _render(full, dict(base, ABLATION_DATA_DIR=str(EXAMPLE)))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results_file = tmp_path / "given" / "results.json"
    results_file.parent.mkdir()
    results_file.write_bytes((full / "results.json").read_bytes())
    alone = tmp_path / "alone"
    no_data = tmp_path / "no-such-data-directory"
    done = _render(alone, dict(base, ABLATION_DATA_DIR=str(no_data), ABLATION_RESULTS=str(results_file)))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "no data directory read" in done.stdout
    assert not no_data.exists()

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and ".cache" not in p.parts and p.name != "results.json"}

    made_full, made_alone = files(full), files(alone)
    documents = [name for name in made_full if name.endswith(".html")]
    # (one format: no journal figure files, which only a render of every format writes; the
    # documents' own figure images are inside the HTML files compared here)
    assert documents and any(n.startswith("tables/") for n in made_full)
    assert made_alone.keys() == made_full.keys()
    different = [name for name in made_full if made_full[name] != made_alone[name]]
    assert different == []
