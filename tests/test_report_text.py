"""Inline text of the documents: formatted from a hand-built results dict."""

from __future__ import annotations

from analysis.report_text import InlineText
from analysis.results import decisions
from analysis.tables.theme import lower_first


def decided(r: dict) -> dict:
    """The hand-made results with their decisions (made in analysis.results, read by the text)."""
    r["plan"]["endpoints"] = [e for e in ("pfs", "os") if e in r["logrank"]]
    r["decisions"] = decisions(r)
    return r


def results(p_radical: float = 0.004, p_sex: float = 0.4) -> dict:
    return decided({
        "plan": {"alpha": 0.05, "logrank_factors": ["sex", "radical_treatment"]},
        "pfs": {"label": "Progression-free survival", "events": 40, "n": 62, "median": 11.4329,
                "median_ci": [10.071, 12.795], "rates": {"12": {"estimate": 0.435484}}},
        "logrank": {"pfs": {
            "sex": {"label": "Sex", "p": p_sex, "groups": {
                "Female": {"events": 20, "expected": 19.0}, "Male": {"events": 20, "expected": 21.0}}},
            # groups come back alphabetical from JSON; the favourable level has the lower O/E
            "radical_treatment": {"label": "Treatment of primary HCC", "p": p_radical, "groups": {
                "Non-radical": {"events": 25, "expected": 12.5}, "Radical": {"events": 15, "expected": 27.5}}},
        }},
        "technical_efficacy": {"count": 60, "denominator": 62, "proportion": 60 / 62},
    })


def test_median_with_ci_and_rate() -> None:
    text = InlineText(results())
    assert text.pfs_median == "11.4 months (95% CI 10.1\u201312.8)"
    assert text.pfs_rate_12 == "43.5%"
    assert text.technical_efficacy == "96.8% (60/62)"


def test_factor_sentence_names_only_significant_factors_best_level_first() -> None:
    sentence = InlineText(results()).pfs_factors
    assert "treatment of primary HCC (radical vs non-radical; P = 0.004)" in sentence
    assert "sex" not in sentence.lower().replace("associated", "")


def test_factor_sentence_when_nothing_is_significant() -> None:
    sentence = InlineText(results(p_radical=0.2)).pfs_factors
    assert sentence.startswith("No factor was associated with progression-free survival")


def test_lower_first_keeps_acronyms() -> None:
    """One rule for the figures' notes and the text (they used to differ on 'T stage')."""
    assert lower_first("Initial BCLC stage") == "initial BCLC stage"
    assert lower_first("PO timing") == "PO timing"
    assert lower_first("AFP") == "AFP"
    assert lower_first("T stage") == "T stage"
    assert lower_first("Sex") == "sex"


def test_prognostic_summary_names_factors_significant_for_both_endpoints() -> None:
    both = results()
    both["os"] = {"label": "Overall survival", "events": 30, "n": 62}
    both["logrank"]["os"] = both["logrank"]["pfs"]
    decided(both)
    assert InlineText(both).prognostic_summary == \
        "Treatment of primary HCC (radical) was associated with longer PFS and OS."
    pfs_only = results()
    pfs_only["os"] = {"label": "Overall survival", "events": 30, "n": 62}
    pfs_only["logrank"]["os"] = {}
    decided(pfs_only)
    assert InlineText(pfs_only).prognostic_summary.startswith("No factor")
