"""Table model, journal theme and the builders (results dict -> Table)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analysis.data import load_cohort
from analysis.results import compute_results
from analysis.tables import Table, tbl_baseline, tbl_cox, tbl_lesions, tbl_logrank, tbl_technical_outcomes
from analysis.tables import theme

DATA = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture(scope="module")
def results():
    return compute_results(load_cohort(DATA))


# ----------------------------------------------------------------- theme


def test_p_values():
    assert theme.p_value(0.0004) == "<0.001"
    assert theme.p_value(0.001) == "0.001"
    assert theme.p_value(0.0494) == "0.049"
    assert theme.p_value(0.5) == "0.500"
    assert theme.p_value(None) == theme.MISSING
    assert theme.p_text(0.00001) == "P < 0.001"
    assert theme.p_text(0.049) == "P = 0.049"


def test_intervals_and_estimates():
    assert theme.ci(10.07, 12.8, 1) == "(10.1\u201312.8)"
    assert theme.median_ci(11.43, 10.07, 12.80) == "11.4 (10.1\u201312.8)"
    assert theme.median_ci(None, None, None) == "NR"
    assert theme.median_ci(None, 23.0, None) == "NR (23.0\u2013NR)"
    assert theme.hr_ci(0.4512, 0.2, 1.0) == "0.45 (0.20\u20131.00)"
    assert theme.percent(0.435) == "43.5"
    assert theme.percent(0.435, sign=True) == "43.5%"
    assert theme.percent_ci(0.21, 0.117, 0.332) == "21.0 (11.7\u201333.2)"
    assert theme.n_percent(13, 13 / 62) == "13 (21.0)"
    assert theme.n_of_n_percent_ci(13, 62, 13 / 62, 0.117, 0.332) == "13/62 (21.0%; 95% CI 11.7\u201333.2)"
    assert theme.mean_sd(61.04, 8.25) == "61.0 \u00b1 8.2"
    assert theme.median_iqr(38.9, 8.0, 80.7) == "38.9 (8.0\u201380.7)"
    assert theme.number(-0.001, 2) == "0.00"
    assert theme.number(float("inf"), 2) == "\u221e"


# ----------------------------------------------------------------- model


def _table() -> Table:
    table = Table(title="A title", header=["Factor", "HR (95% CI)", "P"], name="demo")
    table.add("Group", heading=True)
    table.add("A", theme.REFERENCE, "", indent=1)
    table.add("B | C", "2.00 (1.00\u20134.00)", "0.049", indent=1)
    table.note("HR, hazard ratio.")
    return table


def test_markdown_is_a_pandoc_pipe_table():
    """pandoc (pypandoc-binary) reads our Markdown as a table with caption, indent and escaped pipe."""
    import pypandoc

    text = _table().to_markdown()
    html = pypandoc.convert_text(text, "html", format="markdown")
    assert "<table" in html and "<caption>" in html and "A title" in html
    assert html.count("<tr") == 4  # header + 3 rows
    assert "B | C" in html
    assert "\u00a0\u00a0\u00a0\u00a0A" in html  # indentation kept as non-breaking spaces
    assert "<strong>Group</strong>" in html
    assert "HR, hazard ratio." in html
    assert 'style="text-align: right;"' in html  # numeric columns right-aligned


def test_markdown_without_caption_for_quarto():
    text = _table().to_markdown(caption=False)
    assert "A title" not in text and text.startswith("| Factor")


def test_csv_round_trip():
    rows = list(csv.reader(io.StringIO(_table().to_csv())))
    assert rows[0] == ["indent", "Factor", "HR (95% CI)", "P"]
    assert rows[3] == ["1", "B | C", "2.00 (1.00\u20134.00)", "0.049"]
    assert "# HR, hazard ratio." in _table().to_csv(footnotes=True)


def test_row_width_is_checked():
    with pytest.raises(ValueError):
        _table().add("a", "b", "c", "d")


# ----------------------------------------------------------------- builders


def test_cox_table(results):
    table = tbl_cox(results, "pfs")
    assert table.header == ["Factor", "Univariable HR (95% CI)", "P", "Multivariable HR (95% CI)", "P"]
    labels = [r.cells[0] for r in table.rows if r.heading]
    expected = [results["plan"]["factors"][name]["label"] for name in results["plan"]["cox_candidates"]]
    assert labels == expected  # plan order, plan labels
    sex = next(r for r in results["cox"]["pfs"]["univariable"] if r["term"] == "sex[Female]")
    row = next(r for r in table.rows if r.cells[0] == "Female")
    assert row.cells[1] == theme.hr_ci(sex["hr"], *sex["ci"])
    assert row.cells[2] == theme.p_value(sex["p"])
    assert any("Efron" in note for note in table.footnotes)
    # the multi-level factor carries its likelihood-ratio P on the factor line
    pos = next(r for r in table.rows if r.heading and r.cells[0] == "Number of POs")
    assert pos.cells[2] == theme.p_value(results["cox"]["pfs"]["univariable_models"]["pos_count"]["factor_p"]["pos_count"]["p"])


def test_cox_table_marks_not_estimable(results):
    table = tbl_cox(results, "os")
    row = next(r for r in table.rows if r.cells[0] == "B or C")
    assert row.cells[1].startswith("NE") and row.cells[2] == theme.MISSING
    assert any("not estimable" in note for note in table.footnotes)
    text = table.to_markdown()
    assert "e+" not in text  # never an absurd number printed as an HR


def test_logrank_table(results):
    table = tbl_logrank(results, "os")
    trend = [r for r in table.rows if r.cells[0] == "Test for trend"]
    assert len(trend) == 1
    assert trend[0].cells[4] == theme.p_value(results["logrank"]["os"]["pos_count"]["trend"]["p"])
    first = table.rows[0]
    assert first.heading and first.cells[0] == results["plan"]["factors"]["sex"]["label"]
    # levels in plan order even after a JSON round trip (which sorts keys: Female < Male)
    import json

    reloaded = tbl_logrank(json.loads(json.dumps(results, sort_keys=True)), "os")
    assert [r.cells[0] for r in reloaded.rows[1:3]] == list(results["plan"]["factors"]["sex"]["levels"])


def test_baseline_and_lesion_tables(results):
    baseline = tbl_baseline(results)
    assert baseline.header[1] == f"All patients (n = {results['n_patients']})"
    age = results["table1"]["patient"][0]
    assert baseline.rows[0].cells == ["Age, years, mean \u00b1 SD", theme.mean_sd(age["mean"], age["sd"])]
    lesions = tbl_lesions(results)
    assert lesions.header[1] == f"All POs (n = {results['n_lesions']})"
    assert baseline.to_markdown().count("\n|") == len(baseline.rows) + 1


def test_technical_table(results):
    table = tbl_technical_outcomes(results)
    per_patient = results["technical"]["patient"]["efficacy"]
    rows = [r for r in table.rows if r.cells[0] == "Per patient"]
    assert rows[1].cells[1] == f"{per_patient['count']}/{per_patient['denominator']}"
    assert rows[1].cells[2] == theme.percent_ci(per_patient["proportion"], *per_patient["ci"])
    assert any("Clopper-Pearson" in note for note in table.footnotes)


def test_stratified_baseline(results):
    import dataclasses

    cohort = load_cohort(DATA)
    plan = dataclasses.replace(cohort.plan, raw={**cohort.plan.raw,
                                                 "table1": {**cohort.plan.raw["table1"], "stratify_by": ["radical_treatment"]}})
    stratified = compute_results(dataclasses.replace(cohort, plan=plan))
    table = tbl_baseline(stratified, stratified_by="radical_treatment")
    assert table.header[-2:] == ["P", "SMD"]
    assert len(table.header) == 6
    assert table.rows[0].cells[4] != ""  # P of the first variable
