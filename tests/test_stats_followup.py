"""Median follow-up by reverse Kaplan-Meier and the plain median of survivors."""

from __future__ import annotations

import math

from analysis.stats.followup import median_followup


def test_reverse_km_by_hand():
    """Six patients: follow-up 2 (died), 5 (alive), 7 (died), 9 (alive), 12 (alive), 20 (alive).
    Reverse KM: 'events' are the alive patients; deaths censor.
    t=5: n=5 at risk (times >= 5), 1 'event' -> S = 4/5 = 0.8
    t=9: n=3, 1 -> S = 0.8 * 2/3 = 0.5333;  t=12: n=2, 1 -> S = 0.2667 (first <= 0.5)
    -> median potential follow-up 12 (SPSS rule; no flat at 0.5).
    Survivors' follow-up: 5, 9, 12, 20 -> plain median 10.5, range 5-20; all patients: median 8."""
    result = median_followup([2, 5, 7, 9, 12, 20], [1, 0, 1, 0, 0, 0], median_ci_method="spss")
    assert result["median"] == 12
    assert result["plain_median"] == 10.5
    assert result["range"] == [5, 20]
    assert result["plain_median_all"] == 8
    assert result["n_alive"] == 4 and result["n"] == 6
    assert result["method"] == "reverse_km"


def test_nobody_alive():
    result = median_followup([2, 4, 6], [1, 1, 1])
    assert result["median"] is None and result["range"] == [None, None] and result["plain_median"] is None


def test_early_death_does_not_shorten_reverse_km():
    """An early death censors (does not end) potential follow-up: the reverse-KM median stays
    at the survivors' value while the plain median of everyone drops."""
    alive_only = median_followup([10, 20, 30], [0, 0, 0])
    with_death = median_followup([1, 10, 20, 30], [1, 0, 0, 0])
    assert with_death["median"] == alive_only["median"] == 20
    assert with_death["plain_median_all"] < alive_only["plain_median_all"]
    assert not math.isnan(with_death["median"])
