"""The shortcuts that make loading and the models fast at 10^6 patients give exactly what they replace.

- ``schema.duplicated_rows`` (whole rows compared only where the key repeats) is
  ``DataFrame.duplicated(keep="first")``;
- ``derive.join_on_key`` (one index lookup) is the left merge on the right frame's index;
- ``efron._time_order`` (a remembered stable sort) is ``np.argsort(kind="stable")``, never another
  vector's order;
- a file check reading the shared parse (``schema.ParsedText``) reports what it reports without it,
  and its parses of a column's distinct values spread by codes are the parses of the column;
- ``derive.sort_stable`` is the stable ``sort_values`` (rows already in order are returned as they are);
- plan factors recoded on distinct values are the row-wise recoding;
- ``efron._zph_setup`` (cox.zph's test and residuals of one fit share a setup) is reused only for equal inputs;
- the log-rank groups hashed once are the row-wise groups;
- ``schema.IdCodes`` (ids hashed once across tables) gives what isin / map / groupby-min give, NaN included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import schema
from analysis.data.derive import join_on_key
from analysis.stats import efron


def _frames(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(0, 40))
        yield rng, pd.DataFrame({
            "id": rng.integers(0, 8, n).astype(str),
            "a": rng.integers(0, 2, n).astype(str),
            "b": rng.choice(["", "x", "y"], n),
        }, index=pd.Index(rng.permutation(n) + 2, name="line"))


def test_duplicated_rows_is_pandas_duplicated() -> None:
    for _, frame in _frames(1, 100):
        expected = frame.duplicated(keep="first")
        for key in ("id", "b", None):
            got = schema.duplicated_rows(frame, key)
            assert got.index.equals(frame.index)
            assert got.tolist() == expected.tolist(), (key, frame)


def test_join_on_key_is_the_left_merge() -> None:
    for rng, frame in _frames(2, 60):
        keys = sorted(set(frame["id"])) + ["zz"]
        chosen = [k for k in keys if rng.random() < 0.6]   # some keys unmatched, sometimes none at all
        right = pd.DataFrame({"n": rng.integers(0, 9, len(chosen)), "flag": rng.random(len(chosen)) < 0.5,
                              "when": pd.to_datetime("2020-01-01") + pd.to_timedelta(
                                  rng.integers(0, 99, len(chosen)), unit="D"),
                              "text": [f"t{k}" for k in chosen]}, index=pd.Index(chosen, name="id"))
        expected = frame.merge(right, how="left", left_on="id", right_index=True)
        got = join_on_key(frame, "id", right)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert list(got.dtypes) == list(expected.dtypes)


def test_join_on_key_falls_back_to_the_merge_for_a_repeated_key() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "v": [1, 2]})
    right = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["a", "a"]))
    pd.testing.assert_frame_equal(join_on_key(frame, "id", right),
                                  frame.merge(right, how="left", left_on="id", right_index=True))


def test_remembered_time_order_is_the_stable_argsort(monkeypatch) -> None:
    monkeypatch.setattr(efron, "_ORDERS", [])
    monkeypatch.setattr(efron, "_ORDERS_FROM", 1)   # remember every vector here
    rng = np.random.default_rng(3)
    vectors = [rng.integers(0, 20, 500).astype(float) for _ in range(6)]
    for _ in range(2):   # the second round reads remembered orders (the last four)
        for time in vectors:
            assert np.array_equal(efron._time_order(time), np.argsort(time, kind="stable"))
    same_shape = vectors[-1].copy()
    same_shape[0] += 100.0   # another vector of the same length is not mistaken for a remembered one
    assert np.array_equal(efron._time_order(same_shape), np.argsort(same_shape, kind="stable"))


@pytest.mark.parametrize("name, rows", [
    ("patients", None),
    ("lesions", [["L1", "P1", "S1", "left", "RUL", "-1", "MWA", "yes", "maybe", "2017-7-05"],
                 ["L1", "P1", "S1", "left", "RUL", "-1", "MWA", "yes", "maybe", "2017-7-05"],
                 ["L3", "", "S2", "up", "RUL", "abc", "MWA", "", "no", "2017-02-30"]]),
])
def test_checks_on_the_shared_parse_report_what_they_report_without_it(name, rows) -> None:
    columns = list(schema.COLUMNS[name])
    if rows is None:
        rows = [["P1", "X", "130", "5", "HBV", "A", "-3", "0", "resection", "2010-01-01", "2010-13-01",
                 "2010-02-01", "yes", "no", "", "", "2012-01-01"],
                ["P1", "M", "50", "1", "HBV", "A", "", "0", "resection", "2010-01-01", "2010-01-02",
                 "2010-02-01", "maybe", "no", "", "", ""]]
    frame = pd.DataFrame(rows, columns=columns, index=pd.Index(range(2, 2 + len(rows)), name="line"))
    shared = schema.problems_from(schema.file_schema(name, frame, True, schema.ParsedText(frame)),
                                  frame, frame, f"{name}.csv")
    alone = schema.problems_from(schema.file_schema(name, frame, True), frame, frame, f"{name}.csv")
    assert shared == alone
    assert len(shared) >= 5
    # a check handed another column than the one parsed computes from what it is given
    parsed = schema.ParsedText(frame)
    other = frame.iloc[:1]
    checks = schema.column_checks("date", None, True, None, columns[-1], parsed)
    for check in checks:
        assert check._check_fn(other[columns[-1]]).index.equals(other.index)


def test_residual_panel_keeps_every_event_up_to_the_cap_then_an_even_sample(monkeypatch) -> None:
    from analysis.stats import cox

    rng = np.random.default_rng(4)
    n = 400
    x = rng.integers(0, 2, n).astype(float)[:, None]
    time = rng.exponential(10.0 / (1.0 + x[:, 0]))
    event = rng.random(n) < 0.8
    coef = np.array([0.5])
    ph = {"terms": {"f": {"p": 0.001}}}   # a failing term: its panel is drawn
    full = efron.zph_residuals(time, event, x, coef, {"f": [0]})
    all_points = cox.ph_residual_panels(time, event, x, coef, {"f": [0]}, ph, 0.05)["f"]
    assert all_points["residual"] == full["y"]["f"].tolist() and len(all_points["time"]) == int(event.sum())
    monkeypatch.setattr(cox, "PH_MAX_POINTS", 50)
    sample = cox.ph_residual_panels(time, event, x, coef, {"f": [0]}, ph, 0.05)["f"]
    assert len(sample["time"]) == len(sample["x"]) == len(sample["residual"]) == 50
    picked = [all_points["time"].index(t) for t in sample["time"]]   # a subsequence, evenly spread, ends kept
    assert sample["residual"] == [all_points["residual"][i] for i in picked]
    assert sample["time"][0] == all_points["time"][0] and sample["time"][-1] == all_points["time"][-1]
    assert max(np.diff(picked)) <= 2 * (len(all_points["time"]) // 50)
    assert sample["smooth"] == all_points["smooth"] and sample["axis"] == all_points["axis"]   # from every event


def test_sort_stable_is_the_stable_sort_values() -> None:
    from analysis.data.derive import sort_stable

    keys = ["id", "when", "b"]
    for rng, frame in _frames(5, 150):
        frame = frame.assign(when=pd.to_datetime("2020-01-01") + pd.to_timedelta(
            rng.integers(0, 3, len(frame)), unit="D"))
        if rng.random() < 0.2 and len(frame):
            frame.loc[frame.index[0], "when"] = pd.NaT
        expected = frame.sort_values(keys, kind="stable")
        for candidate in (frame, expected):   # unsorted, and already in order (returned as it is)
            got = sort_stable(candidate, keys)
            pd.testing.assert_frame_equal(got, expected)


def test_parses_of_distinct_values_are_the_parses_of_the_column() -> None:
    rng = np.random.default_rng(6)
    texts = ["", "1", "2.5", "-3", "abc", "inf", "2017-02-30", "2017-7-05", "2017-07-05", "2017-07-05 ", "1e3", "0"]
    frame = pd.DataFrame({"v": rng.choice(texts, 300)}, index=pd.Index(rng.permutation(300) + 2, name="line"))
    parsed = schema.ParsedText(frame)
    s = frame["v"]
    pd.testing.assert_series_equal(parsed.numbers("v"), schema.as_number(s))
    pd.testing.assert_series_equal(parsed.dates("v"), pd.to_datetime(s, format="%Y-%m-%d", errors="coerce"))
    assert parsed.iso_dates("v").tolist() == schema.is_iso_date(s).tolist()
    assert parsed.in_codes("v", ["1", "0"]).tolist() == s.isin(["1", "0"]).tolist()
    assert parsed.blank("v").tolist() == (s == "").tolist()


def test_factor_recoded_on_distinct_values_is_the_rowwise_recoding() -> None:
    from analysis.data.derive import _recode, factor_column
    from analysis.plan import Factor

    rng = np.random.default_rng(7)
    columns = {"text": pd.Series(rng.choice(["a", "b", "c", None], 200), dtype=object),
               "number": pd.Series(rng.choice([1.0, 2.5, np.nan, 7.0], 200)),
               "whole": pd.Series(rng.integers(0, 4, 200)),
               "flag": pd.Series(rng.random(200) < 0.5)}
    factors = [Factor("m", "m", "", ("low", "high"), mapping={"a": "low", "b": "high", 0: "low", 3: "high",
                                                            True: "high", False: "low"}),
               Factor("c", "c", "", ("low", "high"), cut=2.0, ordered=True),
               Factor("p", "p", "", ("a", "b"))]
    for values in columns.values():
        values.index = pd.Index(rng.permutation(200) + 5)
        for factor in factors:
            if factor.cut is not None and values.dtype == object:
                continue
            expected = pd.Series(_recode(values, factor), index=values.index, name=factor.name)
            pd.testing.assert_series_equal(factor_column(values, factor), expected)


def test_zph_setup_is_reused_only_for_equal_inputs(monkeypatch) -> None:
    rng = np.random.default_rng(8)
    n = 300
    x = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 3, n)]).astype(float)
    time = rng.exponential(5.0, n).round(1)
    event = rng.random(n) < 0.7
    terms = {"a": [0], "b": [1]}
    coef = efron.efron_fit(time, event, x, ["a", "b"]).coef

    def fresh(fn, *args):
        monkeypatch.setattr(efron, "_ZPH_LAST", [])
        return fn(*args, terms)

    expected = [fresh(efron.zph_test, time, event, x, coef), fresh(efron.zph_residuals, time, event, x, coef)]
    monkeypatch.setattr(efron, "_ZPH_LAST", [])
    shared = [efron.zph_test(time, event, x, coef, terms), efron.zph_residuals(time, event, x, coef, terms)]
    assert efron._ZPH_LAST and efron._ZPH_LAST[0][1] is efron._zph_setup(time, event, x, coef)   # reused
    assert shared[0] == expected[0]
    for key in ("x", "time", "var"):
        assert np.array_equal(shared[1][key], expected[1][key])
    assert all(np.array_equal(shared[1]["y"][k], expected[1]["y"][k]) for k in terms)
    other = coef * 1.5   # same shapes, other values: a new setup, its own result
    assert efron.zph_test(time, event, x, other, terms) == fresh(efron.zph_test, time, event, x, other)


def test_logrank_groups_hashed_once_are_the_rowwise_groups() -> None:
    from analysis.stats.logrank import logrank_test, observed_expected

    rng = np.random.default_rng(9)
    n = 400
    time = rng.exponential(5.0, n).round(1)
    event = (rng.random(n) < 0.6).astype(int)
    group = rng.choice(np.array(["a", "b", "c", None, np.nan], dtype=object), n)
    levels = ["c", "a", "zz", "b"]   # an absent level; order not sorted
    test = logrank_test(time, event, group, levels=levels)
    kept = ~pd.isna(group)
    for level in levels:
        rows = kept & (group == level)
        assert test["groups"][level]["n"] == int(rows.sum())
        assert test["groups"][level]["events"] == int(event[rows].sum())
    present = [level for level in levels if (group == level).any()]
    o, e, v = observed_expected(time[kept], event[kept], group[kept], present)   # its own row-wise codes
    assert [test["groups"][level]["expected"] for level in present] == e.tolist()
    difference = (o - e)[:-1]
    assert test["chi2"] == float(difference @ np.linalg.pinv(v[:-1, :-1]) @ difference)
    assert logrank_test(time, event, group)["groups"].keys() == {"a", "b", "c"}


def test_id_codes_are_the_pandas_lookups_they_replace() -> None:
    rng = np.random.default_rng(10)
    ids = np.array(["P1", "P2", "P3", "P4", np.nan], dtype=object)
    for _ in range(60):
        a = pd.DataFrame({"id": rng.choice(ids, int(rng.integers(0, 12)))})
        a["when"] = pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 9, len(a)), unit="D")
        a.loc[rng.random(len(a)) < 0.2, "when"] = pd.NaT
        b = pd.DataFrame({"id": rng.choice(ids, int(rng.integers(0, 12)))})
        a.index = pd.Index(rng.permutation(len(a)) + 2)
        b.index = pd.Index(rng.permutation(len(b)) + 2)
        codes = schema.IdCodes({"a": a["id"], "b": b["id"]})
        assert codes.isin("b", "a").tolist() == b["id"].isin(a["id"]).tolist()
        assert codes.isin("a", "b").tolist() == a["id"].isin(b["id"]).tolist()
        first = a.drop_duplicates("id").set_index("id")["when"]
        pd.testing.assert_series_equal(codes.first_values("a", a["when"])("b", b.index), b["id"].map(first),
                                       check_names=False, check_dtype=False)
        minimum = a.groupby("id", sort=False)["when"].min()
        pd.testing.assert_series_equal(codes.group_min("a", a["when"], "b", b.index), b["id"].map(minimum),
                                       check_names=False, check_dtype=False, check_index_type=False)
