"""Per-figure cache keys: a figure's key changes exactly when something it is drawn from changes."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from analysis.data import load_cohort
from analysis import source_digest
from analysis.figures import cache as figure_cache
from analysis.figures.catalog import figure_names
from analysis.plan import load_plan
from analysis.results import compute_results, dumps


@pytest.fixture(scope="module")
def shipped():
    cohort = load_cohort(None, load_plan())
    results = json.loads(dumps(compute_results(cohort)))
    return cohort, results


def keys(results) -> dict[str, str]:
    return {name: figure_cache.figure_key(name, results) for name in figure_names(results)}


def with_patients(cohort, column, row, value):
    patients = cohort.patients.copy()
    patients.loc[patients.index[row], column] = value
    return dataclasses.replace(cohort, patients=patients)


def test_every_figure_has_a_key_and_names_agree(shipped):
    cohort, results = shipped
    before = keys(results)
    assert all(before.values()) and len(set(before.values())) == len(before)
    # the documents' short names are the same figures
    assert figure_cache.figure_key("km_pfs", results) == before["km_pfs_overall"]
    assert figure_cache.figure_key("no_such_figure", results) is None


def test_a_table1_only_change_keeps_every_key(shipped):
    cohort, results = shipped
    changed = copy.deepcopy(results)
    changed["table1"] = {"changed": True}
    changed["n_sessions"] = -1
    assert keys(changed) == keys(results)
    ecog = json.loads(dumps(compute_results(with_patients(cohort, "ecog", 0, 3))))
    assert keys(ecog) == keys(results)


def test_survival_times_change_the_km_keys_of_that_endpoint_only(shipped):
    cohort, results = shipped
    before = keys(results)
    moved = with_patients(cohort, "pfs_months", 0, cohort.patients["pfs_months"].iloc[0] + 0.5)
    after = keys(json.loads(dumps(compute_results(moved))))
    for name in before:
        if name.startswith("km_"):
            assert (before[name] != after[name]) == name.startswith("km_pfs"), name
    assert after["flow"] == before["flow"] and after["forest_os"] == before["forest_os"]


def test_results_subtrees_change_their_figures_only(shipped):
    cohort, results = shipped
    before = keys(results)
    cox = copy.deepcopy(results)
    cox["cox"]["os"]["multivariable"][0]["hr"] = 9.99
    assert {n for n, k in keys(cox).items() if k != before[n]} == {"forest_os"}
    logrank = copy.deepcopy(results)
    factor = cohort.plan.logrank_factors[0]
    logrank["logrank"]["pfs"][factor]["p"] = 0.5
    assert {n for n, k in keys(logrank).items() if k != before[n]} == {f"km_pfs_{factor}"}
    curve = copy.deepcopy(results)
    curve["km"]["os"]["figures"]["overall"]["groups"][0]["at_risk"][-1] += 1
    assert {n for n, k in keys(curve).items() if k != before[n]} == {"km_os_overall"}
    flow = copy.deepcopy(results)
    flow["flow"]["included"] = 1
    assert {n for n, k in keys(flow).items() if k != before[n]} == {"flow"}
    synthetic = copy.deepcopy(results)
    synthetic["synthetic"] = not results.get("synthetic")
    assert all(k != before[n] for n, k in keys(synthetic).items())


def test_plan_code_and_variant_change_every_key(shipped, tmp_path, monkeypatch):
    cohort, results = shipped
    before = keys(results)
    replanned = copy.deepcopy(results)
    replanned["plan"]["time_unit"] = "weeks"
    assert all(k != before[n] for n, k in keys(replanned).items())
    assert figure_cache.figure_key("flow", results, variant="x") != before["flow"]
    code = tmp_path / "code"
    code.mkdir()
    (code / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(source_digest, "ANALYSIS_PACKAGE", code)
    assert all(k != before[n] for n, k in keys(results).items())


def test_document_png_draws_once_then_reads_the_cache(shipped, tmp_path, monkeypatch):
    cohort, results = shipped
    drawn = []

    def draw():
        drawn.append(1)
        return b"png-bytes"

    monkeypatch.delenv(figure_cache.CACHE_ENV_VAR, raising=False)
    assert figure_cache.document_png("flow", results, 300, draw) == b"png-bytes"
    assert figure_cache.document_png("flow", results, 300, draw) == b"png-bytes"
    assert len(drawn) == 2  # no cache folder: drawn every time
    monkeypatch.setenv(figure_cache.CACHE_ENV_VAR, str(tmp_path))
    for _ in range(2):
        assert figure_cache.document_png("flow", results, 300, draw) == b"png-bytes"
    assert len(drawn) == 3  # drawn once more, then read back
    figure_cache.document_png("flow", results, 150, draw)
    assert len(drawn) == 4  # another resolution is another entry


def test_journal_files_leave_the_documents_images_identical_to_drawing_them(shipped, tmp_path, monkeypatch):
    """The pre-render's figure pass stores the document image of each Kaplan-Meier and flow
    figure, made from its 600-dpi raster; a document then reads bytes identical to drawing
    the figure itself at 300 dpi. The forest plot, narrower in the documents, is not stored."""
    from analysis.figures import png_bytes
    from analysis.figures import catalog
    from analysis.report import ReportContext

    cohort, results = shipped
    monkeypatch.setenv(figure_cache.CACHE_ENV_VAR, str(tmp_path / "cache"))
    cache = figure_cache.FigureCache.from_env()
    names = ["km_pfs_overall", "km_os_radical_treatment", "forest_pfs", "flow"]
    small = copy.deepcopy(results)
    small["plan"]["logrank_factors"] = ["radical_treatment"]
    small["plan"]["endpoints"] = ["pfs", "os"]
    catalog.write_all_figures(small, tmp_path / "figures", cache=cache, workers=1)
    assert set(names) <= set(cache.misses)
    context = ReportContext(results=small)
    assert figure_cache.document_png("forest_pfs", small, 300, lambda: b"drawn") == b"drawn"
    for name in ["km_pfs_overall", "km_os_radical_treatment", "flow"]:
        def must_not_draw():
            raise AssertionError(f"{name}: the document image was not in the cache")

        stored = figure_cache.document_png(name, small, 300, must_not_draw)
        assert stored == png_bytes(context.figure_object(name), dpi=300), name


def test_a_render_whose_figures_are_all_cached_never_imports_matplotlib(shipped, tmp_path):
    """After a correction that leaves every figure's inputs alone, the pre-render copies the
    files from the cache without loading the drawing code (about 0.3 s of imports)."""
    import subprocess
    import sys

    from analysis.figures.files import FORMATS

    cohort, results = shipped
    cache = figure_cache.FigureCache(tmp_path / "cache")
    for name in figure_names(results):
        key = figure_cache.figure_key(name, results, variant="files-" + ",".join(FORMATS))
        cache.put_bytes(key, f"{name}.pdf", b"cached")
        for fmt in FORMATS[1:]:
            cache.put_bytes(key, f"{name}.{fmt}", b"cached")
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    script = f"""
import json, sys
from pathlib import Path
from analysis.figures.cache import FigureCache
from analysis.figures.catalog import write_all_figures
results = json.loads(Path({str(tmp_path / "results.json")!r}).read_text())
cache = FigureCache({str(tmp_path / "cache")!r})
written = write_all_figures(results, {str(tmp_path / "out")!r}, cache=cache)
print(len(cache.hits), len(cache.misses), len(written), sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))
"""
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert shown[:3] == [str(len(figure_names(results))), "0", str(len(figure_names(results)))]
    assert shown[3:] == ["[]"]
    assert (tmp_path / "out" / "flow.tiff").read_bytes() == b"cached"
