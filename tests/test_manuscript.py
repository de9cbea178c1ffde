"""End to end: the shipped data -> `python -m analysis render` -> HTML, PDF and DOCX.

The expected strings are built from the results file the render wrote beside the
documents (formatted by the journal theme), so these tests check that what the
documents print is what the results file holds, in every format.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import paths
from analysis.report import SYNTHETIC_NOTICE
from analysis.report_text import InlineText
from analysis.tables import theme

pytestmark = pytest.mark.render

DOCUMENTS = ("manuscript", "supplement")
NOTICE = "SYNTHETIC DATA — NOT PATIENT RESULTS"
UNRESOLVED = ("?@", "??", "@tbl-", "@fig-", "@sec-", "{python}")


def render(data_dir: Path, out_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ABLATION_DATA_DIR=str(data_dir))
    env.pop("ABLATION_RESULTS", None)
    return subprocess.run(
        [sys.executable, "-m", "analysis", "render", "--engine", "embedded", "--out", str(out_dir)],
        cwd=paths.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )


def normalise(text: str) -> str:
    # no-break spaces and word joiners (DOCX number cells, analysis/docx_layout.py) read as plain text
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u2060", "")).strip()


def html_text(path: Path) -> str:
    from bs4 import BeautifulSoup

    return normalise(BeautifulSoup(path.read_text(encoding="utf-8"), "lxml").get_text(" "))


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return normalise(" ".join(page.extract_text() or "" for page in PdfReader(path).pages))


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return normalise(" ".join(parts))


READERS = {"html": html_text, "pdf": pdf_text, "docx": docx_text}


class Rendered:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.results = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
        self.texts = {
            (doc, fmt): reader(out_dir / "report" / f"{doc}.{fmt}")
            for doc in DOCUMENTS for fmt, reader in READERS.items()
        }


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Rendered:
    out = tmp_path_factory.mktemp("shipped") / "_output"
    done = render(paths.SHIPPED_DATA, out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Rendered(out)


def table1_cells(results: dict) -> list[str]:
    cells = []
    for row in results["table1"]["patient"]:
        if row["type"] == "categorical":
            cells += [theme.n_percent(level["count"], level["proportion"]) for level in row["levels"]]
    return cells


def hazard_ratio_cells(results: dict) -> list[str]:
    cells = []
    for endpoint in ("pfs", "os"):
        for model in ("univariable", "multivariable"):
            for row in results["cox"][endpoint][model]:
                if row.get("hr") is not None:
                    cells.append(theme.hr_ci(row["hr"], *row["ci"]))
    return cells


@pytest.mark.parametrize("fmt", list(READERS))
def test_manuscript_prints_the_results_file(shipped: Rendered, fmt: str) -> None:
    text = shipped.texts[("manuscript", fmt)]
    results = shipped.results
    inline = InlineText(results)
    missing = [cell for cell in table1_cells(results) if cell not in text]
    assert not missing, f"Table 1 cells missing from the {fmt}: {missing}"
    for median in (inline.pfs_median, inline.os_median):
        assert normalise(median) in text, f"{median!r} not in the {fmt}"
    hrs = hazard_ratio_cells(results)
    assert hrs, "the results hold no hazard ratio"
    missing = [cell for cell in hrs if cell not in text]
    assert not missing, f"hazard ratios missing from the {fmt}: {missing}"
    assert f"{results['n_patients']} patients" in text


@pytest.mark.parametrize("doc", DOCUMENTS)
@pytest.mark.parametrize("fmt", list(READERS))
def test_synthetic_notice_and_no_unresolved_reference(shipped: Rendered, doc: str, fmt: str) -> None:
    text = shipped.texts[(doc, fmt)]
    assert shipped.results["synthetic"] is True
    assert NOTICE in text
    assert NOTICE in SYNTHETIC_NOTICE
    leftovers = [token for token in UNRESOLVED if token in text]
    assert not leftovers, f"unresolved references in {doc}.{fmt}: {leftovers}"
    assert ("Table 1" if doc == "manuscript" else "Table S1") in text  # the supplement is numbered S1...


def test_render_leaves_results_tables_and_figures(shipped: Rendered) -> None:
    out = shipped.out_dir
    assert (out / "results.json").is_file()
    for name in ("km_pfs_overall", "km_os_overall", "forest_pfs", "forest_os", "flow"):
        for ext in ("pdf", "svg", "png", "tiff"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 1000
    assert (out / "tables" / "baseline.csv").is_file()


def test_a_correction_changes_every_format_and_is_listed(shipped: Rendered, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(paths.SHIPPED_DATA, data)
    with open(data / "patients.csv", encoding="utf-8", newline="") as handle:
        first_male = next(row for row in csv.DictReader(handle) if row["sex"] == "M")
    reason = "Sex transcribed wrongly from the paper chart (audit 2026-11)"
    with open(data / "corrections.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["correction_id", "file", "record_id", "column", "old_value", "new_value", "reason",
                         "corrected_on", "corrected_by"])
        writer.writerow(["C001", "patients", first_male["patient_id"], "sex", "M", "F", reason, "2026-11-20", "DM"])
    raw_before = (data / "patients.csv").read_bytes()

    out = tmp_path / "_output"
    done = render(data, out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    corrected = Rendered(out)
    assert (data / "patients.csv").read_bytes() == raw_before, "a raw file was rewritten"

    def sex_cells(results: dict) -> dict[str, str]:
        row = next(r for r in results["table1"]["patient"] if r["variable"] == "sex")
        return {lvl["level"]: theme.n_percent(lvl["count"], lvl["proportion"]) for lvl in row["levels"]}

    before, after = sex_cells(shipped.results), sex_cells(corrected.results)
    assert before != after
    for fmt in READERS:
        text = corrected.texts[("manuscript", fmt)]
        for cell in after.values():
            assert cell in text, f"{cell!r} not in corrected manuscript.{fmt}"
        supplement = corrected.texts[("supplement", fmt)]
        assert reason in supplement, f"correction reason not listed in supplement.{fmt}"
        assert "C001" in supplement
