"""Baseline table: summaries against tableone's own describe tables and scipy's tests."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats.baseline import describe

SPEC = [
    {"column": "age", "label": "Age", "type": "continuous", "summary": "mean_sd"},
    {"column": "afp", "label": "AFP", "type": "continuous", "summary": "median_iqr"},
    {"column": "sex", "label": "Sex", "type": "categorical", "map": {"M": "Male", "F": "Female"}},
    {"column": "stage", "label": "Stage", "type": "categorical"},
    {"column": "radical", "label": "Radical", "type": "categorical", "map": {True: "Yes", False: "No"}},
]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 40
    frame = pd.DataFrame(
        {
            "age": rng.normal(60, 9, n).round(1),
            "afp": rng.lognormal(3, 1.5, n).round(1),
            "sex": rng.choice(["M", "F"], n),
            "stage": rng.choice(["0", "A", "B", "C"], n),
            "radical": rng.choice([True, False], n),
        }
    )
    frame.loc[[3, 7], "afp"] = np.nan
    frame.loc[5, "sex"] = None
    group = pd.Series(pd.Categorical(np.where(np.arange(n) % 3 == 0, "Non-radical", "Radical"),
                                     categories=["Radical", "Non-radical"]))
    return frame, group


def test_overall_summaries_by_hand(data):
    frame, _ = data
    rows = {row["variable"]: row for row in describe(frame, SPEC)}
    age = rows["age"]
    assert age["mean"] == pytest.approx(frame.age.mean()) and age["sd"] == pytest.approx(frame.age.std(ddof=1))
    afp = rows["afp"]
    assert afp["missing"] == 2 and afp["n"] == 38
    assert afp["median"] == pytest.approx(np.median(frame.afp.dropna()))
    assert afp["q1"] == pytest.approx(np.percentile(frame.afp.dropna(), 25))
    sex = rows["sex"]
    assert sex["missing"] == 1 and [lvl["level"] for lvl in sex["levels"]] == ["Male", "Female"]
    n_male = int((frame.sex == "M").sum())
    assert sex["levels"][0]["count"] == n_male
    assert sex["levels"][0]["proportion"] == pytest.approx(n_male / 39)  # of the known values
    assert [lvl["level"] for lvl in rows["radical"]["levels"]] == ["Yes", "No"]
    assert rows["radical"]["levels"][0]["count"] == int(frame.radical.sum())


def test_summaries_agree_with_tableone(data):
    """Second computation: tableone's cont_describe / cat_describe on the same recoded data."""
    from tableone import TableOne

    frame, _ = data
    rows = {row["variable"]: row for row in describe(frame, SPEC)}
    recoded = frame.assign(sex=frame.sex.map({"M": "Male", "F": "Female"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = TableOne(recoded, columns=["age", "afp", "sex"], categorical=["sex"], include_null=False)
    cont = table.cont_describe
    assert rows["age"]["mean"] == pytest.approx(float(cont.loc["age", ("mean", "Overall")]))
    assert rows["age"]["sd"] == pytest.approx(float(cont.loc["age", ("std", "Overall")]))
    assert rows["afp"]["q3"] == pytest.approx(float(cont.loc["afp", ("q75", "Overall")]))
    cat = table.cat_describe
    assert rows["sex"]["levels"][1]["count"] == int(cat.loc[("sex", "Female"), ("freq", "Overall")])


def test_stratified_p_values_and_smd(data):
    """P from tableone equals scipy's Welch t-test / Kruskal-Wallis / chi2 or Fisher;
    SMD of a binary variable equals (p1 - p2) / sqrt((p1 q1 + p2 q2) / 2) by hand."""
    frame, group = data
    rows = {r["variable"]: r for r in describe(frame, SPEC, groupby=group, group_levels=["Radical", "Non-radical"])}
    a, b = group == "Radical", group == "Non-radical"
    welch = stats.ttest_ind(frame.age[a], frame.age[b], equal_var=False).pvalue
    assert rows["age"]["p"] == pytest.approx(welch, rel=1e-6)
    kruskal = stats.kruskal(frame.afp[a].dropna(), frame.afp[b].dropna()).pvalue
    assert rows["afp"]["p"] == pytest.approx(kruskal, rel=1e-6)
    assert rows["age"]["groups"]["Radical"]["n"] == int(a.sum())

    radical = frame.radical
    p1, p2 = radical[b].mean(), radical[a].mean()
    smd = (p1 - p2) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    (value,) = rows["radical"]["smd"].values()
    assert abs(value) == pytest.approx(abs(smd), rel=1e-6)
    table = pd.crosstab(group, radical)
    if rows["radical"]["test"].startswith("Fisher"):
        expected = stats.fisher_exact(table.to_numpy()).pvalue
    else:
        expected = stats.chi2_contingency(table.to_numpy())[1]
    assert rows["radical"]["p"] == pytest.approx(expected, rel=1e-6)


def test_level_in_map_but_absent_is_shown_with_zero():
    frame = pd.DataFrame({"sex": ["M", "M", "M"]})
    (row,) = describe(frame, [SPEC[2]])
    assert [(lvl["level"], lvl["count"]) for lvl in row["levels"]] == [("Male", 3), ("Female", 0)]


def test_unknown_column_is_an_error():
    with pytest.raises(KeyError):
        describe(pd.DataFrame({"x": [1]}), [{"column": "y", "type": "continuous"}])
