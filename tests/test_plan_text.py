"""Endpoints, landmarks and the confidence level of the inline text come from the analysis plan (issue 16)."""

from __future__ import annotations

import re

import pytest
import yaml

from analysis import paths
from analysis.report import ReportContext
from analysis.report_text import InlineText, landmark_label, landmarks_label

DOCUMENTS = [paths.PROJECT_ROOT / "report" / name for name in ("manuscript.qmd", "supplement.qmd")]
INLINE = re.compile(r"`\{python\} (R\.t\.[^`]+)`")


def _results_with_plan(tmp_path, change) -> dict:
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import compute_results

    raw = yaml.safe_load(paths.PLAN_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "plan.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    plan = load_plan(path)
    return compute_results(load_cohort(paths.SHIPPED_DATA, plan))


def _inline_text(results: dict) -> str:
    """Every inline value the documents print (``{python} R.t....``), evaluated as the documents do."""
    R = ReportContext(results=results)  # noqa: N806 (the documents' name)
    expressions = [e for document in DOCUMENTS for e in INLINE.findall(document.read_text(encoding="utf-8"))]
    assert any(e.endswith("_survival") for e in expressions), "the documents print the plan's landmarks"
    return "\n".join(str(eval(expression, {"R": R})) for expression in expressions)  # noqa: S307 (our own documents)


def test_landmark_labels() -> None:
    assert landmark_label(12) == "1-year" and landmark_label(36) == "3-year"
    assert landmark_label(18) == "18-month" and landmark_label(6) == "6-month"
    assert landmarks_label([12, 24, 36]) == "1-, 2- and 3-year"
    assert landmarks_label([6, 18]) == "6- and 18-month"
    assert landmarks_label([6, 12]) == "6-month and 1-year"


def test_other_landmarks_and_alpha_are_printed_from_the_plan(tmp_path) -> None:
    def change(plan: dict) -> None:
        plan["time"]["landmarks"] = [6, 18]
        plan["survival"]["alpha"] = 0.10

    results = _results_with_plan(tmp_path, change)
    text = _inline_text(results)
    for wanted in ("6- and 18-month PFS rates of", "6- and 18-month OS rates of", "90% CI"):
        assert wanted in text, wanted
    for unwanted in ("1-year", "2-year", "3-year", "95%", "P < 0.05", "P ≥ 0.05"):
        assert unwanted not in text, unwanted
    inline = InlineText(results)
    assert inline.rates_sentence("os").startswith("The 6- and 18-month OS rates were ")
    assert inline.os_rate_18 == inline.rate("os", 18)
    assert {"os_rate_6", "os_rate_18", "pfs_survival"} <= set(inline.names()) and "os_rate_12" not in inline.names()


def test_endpoints_follow_the_plan() -> None:
    """One endpoint in the plan: no sentence names the other one."""
    from analysis.results import decisions

    results = {
        "plan": {"alpha": 0.05, "endpoints": ["os"], "landmarks": [12, 36], "logrank_factors": ["sex"],
                 "factors": {"sex": {"label": "Sex", "levels": ["Male", "Female"], "reference": "Male"}},
                 "min_events_per_variable": 10},
        "os": {"label": "Overall survival", "abbreviation": "OAS", "events": 30, "n": 62, "median": 30.0,
               "median_ci": [25.0, 35.0], "rates": {"12": {"estimate": 0.9}, "36": {"estimate": None}}},
        "logrank": {"os": {"sex": {"label": "Sex", "p": 0.4, "groups": {
            "Male": {"n": 33, "events": 15, "expected": 16.0}, "Female": {"n": 29, "events": 15, "expected": 14.0}}}}},
        "cox": {"os": {"epv": 3.0, "univariable_models": {}, "selected": []}},
    }
    results["decisions"] = decisions(results)
    text = InlineText(results)
    assert text.survival_sentence("os") == ("The median OAS was 30.0 months (95% CI 25.0\u201335.0), with 1- and "
                                            "3-year OAS rates of 90.0% and not estimable (no patient followed to "
                                            "36 months)")
    assert text.prognostic_summary == "No factor was associated with longer OAS."
    assert "3.0 events per variable in the multivariable model of OAS" in text.limitations
    assert text.ph_results_sentence == "No Cox model of OAS failed the test of proportional hazards."
    with pytest.raises(AttributeError, match="pfs_median"):
        _ = text.pfs_median


def test_ph_table_lists_the_plan_endpoints(tmp_path) -> None:
    from analysis.tables.supplement import tbl_ph

    results = _results_with_plan(tmp_path, lambda plan: None)
    results["plan"]["endpoints"] = ["os"]
    cells = " ".join(str(cell) for row in tbl_ph(results).rows for cell in row.cells)
    assert "Overall survival, multivariable model" in cells and "Progression-free" not in cells


def test_proportion_ci_text_at_the_plan_level() -> None:
    from analysis.tables import theme

    assert theme.n_of_n_percent_ci(13, 62, 13 / 62, 0.117, 0.332, alpha=0.10) == "13/62 (21.0%; 90% CI 11.7\u201333.2)"
