"""Submission-grade text and layout, without a render: prose on edge-case results, the title
page and declarations from the study metadata, Word table fitting, KM legend placement."""

from __future__ import annotations

import copy
import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis import paths
from analysis.report_text import InlineText
from tests.centre_export import as_centre_export
from analysis.tables.theme import lower_first as _lower_first
from analysis.tables import builders

ALPHA = 0.05


# --------------------------------------------------------------------------- results of real (edited) cohorts


def _cohort_results(tmp: Path, edit) -> dict:
    """Results of the shipped cohort after ``edit(rows)`` of patients.csv (computed, as the render does)."""
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import compute_results

    data = tmp / "data"
    shutil.copytree(paths.SHIPPED_DATA, data)
    path = data / "patients.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    edit(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    as_centre_export(data)
    return json.loads(json.dumps(compute_results(load_cohort(data, load_plan()))))


@pytest.fixture(scope="module")
def no_events(tmp_path_factory) -> dict:
    """Every patient alive and progression-free at last contact: no test of PFS or OS is possible."""
    def edit(rows):
        for row in rows:
            row["death_date"] = row["progression_date"] = ""
    return _cohort_results(tmp_path_factory.mktemp("no_events"), edit)


@pytest.fixture(scope="module")
def shipped() -> dict:
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import compute_results

    return json.loads(json.dumps(compute_results(load_cohort(paths.SHIPPED_DATA, load_plan()))))


def test_no_events_claims_no_test_and_no_separation(no_events: dict) -> None:
    text = InlineText(no_events)
    for sentence in (text.os_factors, text.pfs_factors):
        assert "could be tested" in sentence and "P ≥" not in sentence and "associated with" not in sentence
    assert text.os_factors.startswith("No death occurred")
    assert "No factor could be tested" in text.prognostic_summary
    assert "not evidence of no effect" not in text.discussion_prognostic  # no test was done at all
    assert "no Cox model could be fitted" in text.ph_summary
    assert "no test of proportional hazards was possible" in text.ph_results_sentence
    assert text.os_median == "not reached (no events)"
    notes = " ".join(builders.tbl_cox(no_events, "os").footnotes)
    assert "perfect separation" not in notes and "no event occurred" in notes
    assert "no factor met the criterion" not in notes


def test_second_centre_text_has_no_original_study_sentence(no_events: dict, shipped: dict) -> None:
    # no_events has no SYNTHETIC marker: nothing about the original report
    assert no_events["synthetic"] is False
    assert "original report" not in InlineText(no_events).discussion_prognostic
    twin = copy.deepcopy(shipped)
    twin["reproduction"] = [{"id": "logrank_pfs_sex", "match": True}]
    assert "original report [@hou2025]" in InlineText(twin).discussion_prognostic
    assert "small sample" not in InlineText(shipped).limitations


def test_shipped_text_reports_ph_failures_and_trend(shipped: dict) -> None:
    text = InlineText(shipped)
    # R cox.zph-style per-term failures of the univariable models (issue 15 item 5)
    failures = [t for e in ("pfs", "os") for m in shipped["cox"][e]["univariable_models"].values()
                for t, v in ((m.get("ph_test") or {}).get("terms") or {}).items() if v["p"] < ALPHA]
    assert failures, "the shipped cohort has PH failures"
    sentence = text.ph_results_sentence
    for key in failures:  # cox.zph tests a whole factor ('pos_count') or a term ('pos_count[2]')
        label = builders.term_label(shipped, key) if "[" in key else builders._factor_label(shipped, key)
        assert label.split(":")[0].lower()[:10] in sentence.lower()
    assert "[" not in sentence
    trend = shipped["logrank"]["os"]["pos_count"]["trend"]["p"]
    from analysis.tables import theme
    assert f"{theme.p_text(trend)} for OS" in text.trend_summary


# --------------------------------------------------------------------------- hand-built results


def base_results(**plan_changes) -> dict:
    """A hand-made results dict with its decisions made as ``analysis.results.decisions`` makes them."""
    from analysis.results import decisions

    group = lambda n, events, expected: {"n": n, "events": events, "expected": expected}  # noqa: E731
    results = {
        "synthetic": False,
        "plan": {"alpha": ALPHA, "logrank_factors": ["sex", "modality"], "min_level_size": 5,
                 "min_events_per_variable": 10,
                 "factors": {"sex": {"label": "Sex", "levels": ["Male", "Female"], "reference": "Male"},
                             "modality": {"label": "Ablation modality", "levels": ["MWA", "RFA"], "reference": "MWA"}}},
        "pfs": {"label": "Progression-free survival", "events": 40, "n": 62, "median": 11.4,
                "median_ci": [10.1, 12.8], "rates": {"12": {"estimate": 0.43}, "36": {"estimate": None}}},
        "os": {"label": "Overall survival", "events": 30, "n": 62, "median": None, "median_ci": [None, None],
               "rates": {"36": {"estimate": None}}},
        "logrank": {"pfs": {
            "sex": {"label": "Sex", "p": 0.4, "groups": {"Male": group(33, 20, 21.0), "Female": group(29, 20, 19.0)}},
            # a P below alpha that rests on one patient
            "modality": {"label": "Ablation modality", "p": 0.003, "groups": {"MWA": group(61, 39, 39.5),
                                                                               "RFA": group(1, 1, 0.5)}},
        }, "os": {}},
        "cox": {"pfs": {"epv": 4.0}, "os": {"epv": None}},
        "followup": {"median": None, "range": [None, None], "n_alive": 0, "plain_median_all": 20.04},
        "data": {"directory": "/home/someone/exports/centre-b", "corrections": [{"correction_id": "C1"}]},
    }
    results["plan"]["endpoints"] = ["pfs"]
    results["plan"].update(plan_changes)
    results["decisions"] = decisions(results)
    return results


def test_no_association_from_a_level_below_the_plan_minimum() -> None:
    sentence = InlineText(base_results()).pfs_factors
    assert "Longer" not in sentence  # not claimed
    assert "ablation modality (P = 0.003; level RFA: 1 patient)" in sentence
    assert "fewer than 5 patients" in sentence
    relaxed = base_results(min_level_size=1)
    assert "Longer progression-free survival was associated with ablation modality" in InlineText(relaxed).pfs_factors


def test_followup_landmark_plural_and_path_sentences() -> None:
    text = InlineText(base_results())
    assert "NR" not in text.followup_sentence and "0 patients alive" not in text.followup_sentence
    assert "no patient was alive at last contact" in text.followup_sentence
    assert "20.0 months" in text.followup_sentence
    assert text.rate("os", 36) == "not estimable (no patient followed to 36 months)"
    assert text.corrections_summary.startswith("1 correction from the corrections ledger was applied")
    assert "/home" not in text.data_directory and "centre-b" in text.data_directory
    assert "4.0 events per variable" in text.limitations and "small sample" not in text.limitations
    one_alive = base_results()
    one_alive["followup"] = {"median": 30.0, "range": [16.0, 16.0], "n_alive": 1}
    assert "in the 1 patient alive" in InlineText(one_alive).followup_sentence


def test_eponyms_keep_their_capital_mid_sentence() -> None:
    assert _lower_first("Child-Pugh class") == "Child-Pugh class"
    assert _lower_first("Treatment of primary HCC") == "treatment of primary HCC"


def test_cox_note_names_a_factor_left_out_instead_of_no_factor_met_the_criterion() -> None:
    results = {"plan": {"alpha": 0.05, "cox_candidates": ["sex"], "factors": {"sex": {"label": "Sex"}}},
               "pfs": {"label": "Progression-free survival", "events": 5},
               "cox": {"pfs": {"univariable": [{"factor": "sex", "term": "sex[Female]", "level": "Female",
                                                "hr": None, "ci": [None, None], "p": 0.021}],
                               "univariable_models": {"sex": {"factor_p": {"sex": {"p": 0.021}},
                                                              "references": {"sex": {"level": "Male"}}}},
                               "selected": [], "multivariable": [], "selection": {"threshold": 0.05}}}}
    notes = " ".join(builders.tbl_cox(results, "pfs").footnotes)
    assert "no factor met the criterion" not in notes
    assert "Sex met the criterion, but a hazard ratio could not be estimated" in notes


# --------------------------------------------------------------------------- title page and declarations


def _study_dir(tmp: Path, filled: bool) -> Path:
    report = tmp / "report"
    report.mkdir()
    author = {"name": "Ann *Example*", "orcid": "0000-0002-1825-0097", "email": "ann@example.org",
              "corresponding": True, "roles": ["conceptualization", "formal analysis"],
              "affiliations": [{"ref": "a1"}]} if filled else {"name": "", "affiliations": [{"ref": "a1"}]}
    meta = {"author": [author],
            "affiliations": [{"id": "a1", "name": "Example Hospital" if filled else "",
                              "department": "Radiology", "city": "Leeds" if filled else "",
                              "country": "UK" if filled else ""}],
            "funding": {"statement": "None." if filled else ""}}
    (report / "_metadata.yml").write_text(json.dumps(meta), encoding="utf-8")
    keys = ["consent_to_participate", "consent_for_publication", "data_availability", "competing_interests",
            "acknowledgements"]
    declarations = {"journal": "cancer-imaging",
                    "ethics": {"committee": "the Example Ethics Committee" if filled else "",
                               "approval_number": "2026-01" if filled else ""},
                    **{k: ("Not applicable." if filled else "") for k in keys}}
    (report / "declarations.yml").write_text(json.dumps(declarations), encoding="utf-8")
    return report


BMC_HEADINGS = ["Ethics approval and consent to participate", "Consent for publication",
                "Availability of data and materials", "Competing interests", "Funding",
                "Authors' contributions", "Acknowledgements"]


def test_declarations_in_bmc_order_with_visible_to_be_completed_lines(tmp_path: Path) -> None:
    from analysis.submission import declarations_markdown, load_study, title_page_markdown

    study = load_study(_study_dir(tmp_path, filled=False))
    text = declarations_markdown(study)
    positions = [text.index(f"## {h}") for h in BMC_HEADINGS]
    assert positions == sorted(positions)
    assert text.count("to be completed") >= len(BMC_HEADINGS)
    assert "ethics approval number" in study.missing and "author 1 name" in study.missing
    assert "to be completed: affiliation 1 institution" in title_page_markdown(study)


def test_filled_metadata_prints_authors_and_nothing_to_complete(tmp_path: Path) -> None:
    from analysis.submission import declarations_markdown, load_study, title_page_markdown

    study = load_study(_study_dir(tmp_path, filled=True))
    page = title_page_markdown(study)
    assert "Ann \\*Example\\*^1^\\*" in page  # the name is inert Markdown, affiliation 1, corresponding
    assert "Radiology, Example Hospital, Leeds, UK" in page and "ann\\@example.org" in page
    assert "Conceptualization, Formal analysis" in declarations_markdown(study)
    assert study.missing == []


def test_word_counts_and_abstract_headings_from_html(tmp_path: Path) -> None:
    from analysis.submission import check_html, load_study

    html = ("<h1>Abstract</h1><p><strong>Background.</strong> one two</p><p><strong>Methods.</strong> three</p>"
            "<p><strong>Results.</strong> four</p><h1>Background</h1><p>a b c</p><table><tr><td>9 9 9</td></tr></table>"
            "<h1>Conclusions</h1><p>d e</p><h1>References</h1><p>x y z</p>")
    page = tmp_path / "m.html"
    page.write_text(html, encoding="utf-8")
    check = check_html(page, load_study(_study_dir(tmp_path, filled=True)))
    assert check.abstract_words == 7 and check.main_words == 5  # table and references not counted
    assert check.headings_missing == ["Conclusions"]


# --------------------------------------------------------------------------- Word tables


def test_docx_tables_fit_the_text_width_and_never_break_a_number(tmp_path: Path) -> None:
    import docx
    import pypandoc

    from analysis.docx_layout import CHAR_TWIPS, fit_tables, is_number
    reference_doc = paths.PROJECT_ROOT / "report" / "journal" / "reference.docx"  # named in _quarto.yml

    long_label = "A factor label long enough to push the pipe table over seventy-two characters"
    markdown = ("| Factor | HR (95% CI) | P |\n|:--|--:|--:|\n"
                f"| {long_label} | 0.94 (0.45–1.98) | 0.535 |\n| Other | 12.34 (10.01–15.20) | <0.001 |\n")
    out = tmp_path / "t.docx"
    pypandoc.convert_text(markdown, "docx", format="markdown", outputfile=str(out),
                          extra_args=[f"--reference-doc={reference_doc}"])
    assert fit_tables(out) == 1
    document = docx.Document(str(out))
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7  # A4
    text_width = section.page_width - section.left_margin - section.right_margin
    table = document.tables[0]
    widths = [cell.width for cell in table.rows[0].cells]
    assert sum(widths) <= text_width
    for row in table.rows[1:]:
        for cell, width in zip(row.cells, widths):
            if is_number(cell.text):
                assert " " not in cell.text and "-" not in cell.text  # no break opportunity
                assert width.twips >= len(cell.text.replace("\u2060", "")) * CHAR_TWIPS  # one line


# --------------------------------------------------------------------------- KM legends


@pytest.mark.parametrize("name", ["km_os_radical_treatment", "km_pfs_radical_treatment", "km_os_bclc_group",
                                  "km_pfs_po_timing", "km_os"])
def test_km_legend_covers_no_curve(name: str) -> None:
    import matplotlib.pyplot as plt

    from analysis import report
    from analysis.figures.km import curve_points, legend_overlap

    figure = report.load(paths.SHIPPED_DATA).figure_object(name)
    ax = next(a for a in figure.axes if a.get_legend() is not None)
    assert len(curve_points(ax)) > 100
    assert legend_overlap(ax, ax.get_legend()) == 0
    plt.close(figure)


# --------------------------------------------------------------------------- the embedded engine reads _metadata.yml


def test_embedded_engine_merges_directory_metadata_with_quarto_author_schema(tmp_path: Path) -> None:
    from analysis.render.project import Project, document_settings
    from analysis.render.qmd import parse_qmd

    (tmp_path / "_metadata.yml").write_text(
        "author:\n  - name: Ann Example\n    orcid: 0000-0002-1825-0097\n    corresponding: true\n"
        "    affiliations:\n      - ref: a1\naffiliations:\n  - id: a1\n    name: Example Hospital\n", encoding="utf-8")
    doc = tmp_path / "doc.qmd"
    doc.write_text("---\ntitle: T\n---\n\nText.\n", encoding="utf-8")
    project = Project(root=tmp_path, config_file=None, config={}, source=None, output_dir=tmp_path, render=[doc])
    settings = document_settings(parse_qmd(doc), project)
    assert [(a["name"], a["affiliations"]) for a in settings.authors] == [("Ann Example", ["Example Hospital"])]


# --------------------------------------------------------------------------- newcomer friction


def test_synth_without_out_refuses_to_overwrite_the_shipped_cohort(capsys) -> None:
    from analysis.cli import main

    before = {p.name: p.stat().st_mtime_ns for p in paths.SHIPPED_DATA.iterdir()}
    assert main(["synth", "--patients", "5"]) == 2
    assert "--out" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in paths.SHIPPED_DATA.iterdir()} == before


def test_help_has_no_rst_markup_and_states_defaults() -> None:
    from analysis.cli import build_parser

    parser = build_parser()
    texts = [parser.format_help()]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    texts += [p.format_help() for p in sub.choices.values()]
    assert not any("``" in t for t in texts)
    render_help = sub.choices["render"].format_help()
    assert "(default: auto)" in render_help and "(default: _output)" in render_help
    assert "(default: None)" not in render_help


def test_a_failed_data_check_names_the_problem_on_the_last_line() -> None:
    from analysis.data.errors import DataError, Problem
    from analysis.render.command import _problem_summary

    report = DataError([Problem(file="patients.csv", line=2, column="sex", value="X",
                                rule="not one of the allowed codes: M, F")]).report()
    summary = _problem_summary(report + "\n")
    assert "data problem" in summary and "patients.csv" in summary and "sex" in summary


def test_corrections_template_has_the_contract_header() -> None:
    from analysis.data import contract

    header = (paths.PROJECT_ROOT / "data" / "templates" / "corrections.csv").read_text(encoding="utf-8").strip()
    assert header.split(",") == list(contract.COLUMNS["corrections"])  # the contract decides
    assert header == "correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by"
    assert "STUDY.md" not in (paths.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- STROBE checklist


def test_strobe_checklist_finds_reported_items_and_shows_missing_ones(tmp_path: Path) -> None:
    from analysis.strobe import NOT_FOUND, checklist_rows

    qmd = tmp_path / "m.qmd"
    qmd.write_text("---\ntitle: A retrospective cohort study\n---\n\n# Methods\n\n## Statistical analysis\n\n"
                   "`{python} R.t.statistical_methods`\n\n# Discussion\n\nThis study has limitations.\n",
                   encoding="utf-8")
    rows = {r["item"]: r["where"] for r in checklist_rows(qmd, inline=lambda n: "Kaplan-Meier and Cox models")}
    assert rows["1a"] == "Title"
    assert rows["12a"] == "Methods: Statistical analysis"  # found in the inline value's text
    assert rows["19"] == "Discussion"
    assert rows["12c"] == NOT_FOUND and rows["22"] == NOT_FOUND  # no missing-data sentence, no funding


def test_discussion_opening_states_results_without_judgement(no_events: dict, shipped: dict) -> None:
    opening = InlineText(shipped).discussion_opening
    assert "technically reliable" not in opening and "common" not in opening
    assert "56 of 62 patients progressed or died" in opening
    assert "No patient progressed or died" in InlineText(no_events).discussion_opening
