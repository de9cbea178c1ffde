"""Submission form of the rendered documents, read back from HTML, PDF and DOCX.

Two renders (module fixtures): the shipped synthetic cohort, and a generated 300-patient
cohort without the SYNTHETIC marker (a second centre's data), which must get none of the
material about the original study.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.centre_export import as_centre_export

from analysis import paths
from tests.test_manuscript import READERS, Rendered, normalise, render

pytestmark = pytest.mark.render

BMC_DECLARATIONS = ["Ethics approval and consent to participate", "Consent for publication",
                    "Availability of data and materials", "Competing interests", "Funding",
                    "Authors' contributions", "Acknowledgements"]
ABSTRACT_HEADINGS = ["Background.", "Methods.", "Results.", "Conclusions."]
ORIGINAL_STUDY = ["original report", "original study", "Reproduction of the published results",
                  "Published versus computed", "reproduced", "SYNTHETIC DATA", "small sample"]


class Run(Rendered):
    def __init__(self, out_dir: Path, done: subprocess.CompletedProcess):
        super().__init__(out_dir)
        self.stdout = done.stdout


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Run:
    out = tmp_path_factory.mktemp("submission") / "_output"
    done = render(paths.SHIPPED_DATA, out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Run(out, done)


@pytest.fixture(scope="module")
def second_centre(tmp_path_factory) -> Run:
    base = tmp_path_factory.mktemp("centre")
    data = base / "export"
    made = subprocess.run([sys.executable, "-m", "analysis", "synth", "--patients", "300", "--out", str(data)],
                          cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    as_centre_export(data)
    out = base / "_output"
    done = render(data, out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Run(out, done)


@pytest.mark.parametrize("fmt", list(READERS))
def test_title_page_abstract_and_declarations_in_every_format(shipped: Run, fmt: str) -> None:
    text = shipped.texts[("manuscript", fmt)].replace("\u2019", "'")  # pandoc's smart apostrophe
    assert "Authors:" in text and "Department of Interventional Radiology" in text and "Corresponding author:" in text
    abstract = text[text.index("Abstract"):text.index("Keywords")]
    positions = [abstract.index(h) for h in ABSTRACT_HEADINGS]
    assert positions == sorted(positions), f"BMC abstract headings out of order in {fmt}"
    # the Declarations section: after the abbreviations, before the references (a TOC may list its headings too)
    start = text.index("SIR: Society of Interventional Radiology")
    declarations = text[start:text.index("References", start)]
    assert "Declarations" in declarations
    positions = [declarations.index(h) for h in BMC_DECLARATIONS]
    assert positions == sorted(positions), f"declarations not in BMC order in {fmt}"
    # the shipped metadata is not filled in: every item says so, visibly
    assert declarations.count("[to be completed:") >= len(BMC_DECLARATIONS)


def test_render_prints_word_counts_and_items_to_complete(shipped: Run) -> None:
    assert re.search(r"abstract: \d+ words; Cancer Imaging limit 350 \(within the limit\)", shipped.stdout)
    assert re.search(r"main text \(Background to Conclusions\): \d+ words", shipped.stdout)
    assert "to be completed before submission" in shipped.stdout and "ethics approval number" in shipped.stdout


def test_pdf_has_page_and_line_numbers(shipped: Run) -> None:
    from pypdf import PdfReader

    reader = PdfReader(shipped.out_dir / "report" / "manuscript.pdf")
    left_margin_pt = 2.5 / 2.54 * 72
    for index in (0, 1):
        page = reader.pages[index]
        found: list[tuple[str, float, float]] = []
        page.extract_text(visitor_text=lambda t, cm, tm, *_: found.append((t.strip(), tm[4], tm[5])) if t.strip() else None)
        margin_numbers = {int(t) for t, x, _y in found if t.isdigit() and x < left_margin_pt}
        assert len(margin_numbers) >= 10, f"no line numbers in the left margin of page {index + 1}"
        bottom = [t for t, _x, y in found if y < 2.5 / 2.54 * 72]
        assert str(index + 1) in bottom, f"no page number at the foot of page {index + 1}"


def test_docx_is_a4_with_line_and_page_numbers(shipped: Run) -> None:
    import docx

    document = docx.Document(str(shipped.out_dir / "report" / "manuscript.docx"))
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert section._sectPr.find(docx.oxml.ns.qn("w:lnNumType")) is not None
    assert "PAGE" in section.footer._element.xml


@pytest.mark.parametrize("doc", ["manuscript", "supplement"])
def test_docx_tables_never_break_a_number_and_have_no_code_labels(shipped: Run, doc: str) -> None:
    import docx

    from docx.shared import Length

    from analysis.docx_layout import CHAR_TWIPS, is_number

    document = docx.Document(str(shipped.out_dir / "report" / f"{doc}.docx"))
    text_width = document.sections[0].page_width - document.sections[0].left_margin - document.sections[0].right_margin
    assert document.tables
    for table in document.tables:
        widths = [cell.width for cell in table.rows[0].cells]
        assert sum(int(w) for w in widths) <= int(text_width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths):
                assert "[" not in cell.text, f"code label in a {doc} table: {cell.text!r}"
                if is_number(cell.text) and len(cell.text) > 1:
                    assert " " not in cell.text, cell.text
                    assert Length(width).twips >= len(cell.text.replace("\u2060", "")) * CHAR_TWIPS, cell.text


@pytest.mark.parametrize("fmt", list(READERS))
def test_supplement_is_numbered_s1_and_reports_ph_failures(shipped: Run, fmt: str) -> None:
    text = shipped.texts[("supplement", fmt)]
    assert "Table S1:" in text and "Table S2:" in text
    assert not re.search(r"Table \d+:", text), "a supplement table numbered like the manuscript's"
    assert "univariable models: factors with P < 0.05" in text


def test_submission_docx_leaves_figures_out_and_lists_legends_after_references(shipped: Run) -> None:
    import docx

    document = docx.Document(str(shipped.out_dir / "report" / "manuscript-submission.docx"))
    assert len(document.inline_shapes) == 0
    texts = [p.text for p in document.paragraphs]
    legends = texts.index("Figure legends")
    assert legends > texts.index("References") and texts[legends + 1].startswith("Figure\u00a01:")
    assert document.sections[0]._sectPr.find(docx.oxml.ns.qn("w:lnNumType")) is not None
    assert (shipped.out_dir / "figures" / "flow.tiff").is_file()  # the figures it leaves out, as files


def test_supplement_strobe_checklist_names_a_section_or_not_found(shipped: Run) -> None:
    text = shipped.texts[("supplement", "html")]
    assert "STROBE checklist for cohort studies" in text
    assert "Declarations: Funding" in text and "not found" in text


def test_manuscript_results_report_ph_failures_and_trend(shipped: Run) -> None:
    text = shipped.texts[("manuscript", "html")]
    assert "test of proportional hazards (scaled Schoenfeld residuals) gave P < 0.05" in text
    assert "log-rank test for trend" in text


@pytest.mark.parametrize("doc", ["manuscript", "supplement"])
@pytest.mark.parametrize("fmt", list(READERS))
def test_second_centre_gets_no_original_study_material(second_centre: Run, doc: str, fmt: str) -> None:
    assert second_centre.results["synthetic"] is False and second_centre.results["n_patients"] == 300
    text = second_centre.texts[(doc, fmt)]
    found = [phrase for phrase in ORIGINAL_STUDY if phrase.lower() in text.lower()]
    assert not found, f"{doc}.{fmt} of a second centre's data says {found}"
    assert "/tmp" not in text and str(second_centre.out_dir.parent) not in text  # no absolute path
