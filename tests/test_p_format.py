"""P formatting never prints a value at or across the plan's alpha; significance follows the printed value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.tables import theme


def test_one_more_digit_where_three_would_cross_alpha():
    assert theme.p_value(0.0497) == "0.0497"
    assert theme.p_value(0.0504) == "0.0504"
    assert theme.p_value(0.0494) == "0.049"
    assert theme.p_value(0.0506) == "0.051"
    assert theme.p_value(0.05) == "0.050"
    assert theme.p_text(0.0497) == "P = 0.0497"
    assert theme.p_value(0.00996, alpha=0.01) == "0.00996"
    assert theme.p_value(0.0004) == "<0.001"
    assert theme.p_value(0.0004, alpha=0.001) == "0.0004"


def test_significance_is_decided_on_the_printed_value():
    assert theme.significant(0.0497) is True
    assert theme.significant(0.0504) is False
    assert theme.significant(0.05) is False
    assert theme.significant(0.0004) is True
    assert theme.significant(None) is None
    assert theme.significant(0.03, alpha=0.01) is False


@settings(max_examples=300, derandomize=True, database=None)
@given(p=st.floats(0.0, 1.0), alpha=st.sampled_from([0.05, 0.01, 0.1, 0.001]))
def test_printed_p_is_on_the_side_of_alpha_that_p_is(p, alpha):
    text = theme.p_value(p, alpha)
    significant = theme.significant(p, alpha)
    assert significant == (p < alpha) or p == alpha
    if not text.startswith("<"):
        shown = float(text)
        assert (shown < alpha) == (p < alpha)
        assert shown != alpha or p == alpha or len(text.split(".")[1]) == theme.DECIMALS["p"] + theme.MAX_EXTRA_P_DIGITS
