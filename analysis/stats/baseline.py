"""Descriptive baseline table ("Table 1") with tableone.

Each variable of the plan's ``table1`` section is summarised by tableone's
``TableOne`` (Pollard et al., JAMIA Open 2018):

* continuous, ``summary: mean_sd``: mean and sample SD (ddof = 1);
* continuous, ``summary: median_iqr``: median with quartiles Q1-Q3
  (linear interpolation, pandas/numpy default; R type 7);
* categorical: n and proportion of the patients with a known value
  (tableone ``include_null=False``), levels ordered as the plan's ``map``
  lists them (otherwise in natural order);
* the number of missing values for every variable.

Optionally stratified by a plan factor, with tableone's P-values (categorical:
chi-squared, or Fisher's exact test when an expected count is below 5 in a
2x2 table; continuous mean_sd: Welch's t-test (two groups) / one-way ANOVA;
median_iqr: Kruskal-Wallis) and standardized mean differences (SMD) between
each pair of groups.

The summaries themselves (counts, mean, SD, quartiles) are plain pandas
computations on the same recoded frame; tests check them against tableone's
own ``cont_describe`` / ``cat_describe``. Numbers are stored raw (proportions as fractions 0-1); formatting belongs to
``analysis.tables.theme``.
"""

from __future__ import annotations

import warnings as _warnings

import numpy as np
import pandas as pd

GROUP_COLUMN = "_group"


def _map_distinct(series: pd.Series, func) -> pd.Series:
    """``series.map(func)`` with ``func`` called once per distinct value (missing -> NaN).

    Exact where every value has one type: a typed column, or an object column of
    strings (pandas' factorize would merge 1 and True in a mixed object column,
    which therefore takes the element-wise path).
    """
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
        return series.map(lambda v: v if v is None or (isinstance(v, float) and np.isnan(v)) else func(v))
    codes, _ = pd.factorize(series)
    present = codes >= 0
    out = np.full(len(series), np.nan, dtype=object)
    if present.any():
        # the first row of each code (a hash pass: no sort of 10^6 codes)
        firsts = pd.Series(codes[present]).drop_duplicates(keep="first")
        distinct = firsts.to_numpy()
        representatives = series.iloc[np.flatnonzero(present)[firsts.index.to_numpy()]].astype(object).tolist()
        table = np.empty(distinct.max() + 1, dtype=object)
        table[distinct] = [func(v) for v in representatives]
        out[present] = table[codes[present]]
    return pd.Series(out, index=series.index)


def _recode(series: pd.Series, mapping: dict | None) -> pd.Series:
    """Codes -> labels as strings (missing stays missing); keys compared as text ("true", "1")."""
    known = series.notna()
    text = _map_distinct(series.where(known) if series.dtype == object else series, lambda v: (
        str(int(v)) if isinstance(v, (float, np.floating)) and float(v).is_integer() else str(v)))
    if mapping:
        by_text = {str(k).lower(): str(v) for k, v in mapping.items()}
        text = _map_distinct(text, lambda v: by_text.get(str(v).lower(), v) if isinstance(v, str) else v)
    return text.where(known)


def _level_order(values: pd.Series, mapping: dict | None) -> list[str]:
    present = [v for v in values.dropna().unique()]
    if mapping:
        ordered = list(dict.fromkeys(str(v) for v in mapping.values()))
        return ordered + sorted(v for v in present if v not in ordered)

    def natural(v):
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    return sorted(present, key=natural)


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def describe(data: pd.DataFrame, spec: list[dict], groupby: pd.Series | None = None, group_levels=None) -> list[dict]:
    """Rows of a baseline table for the variables in ``spec`` (the plan's table1 entries).

    ``groupby``: optional Series (same index as ``data``) of group labels; rows
    then carry per-group summaries, ``p``, ``test`` and ``smd``.
    """
    frame = pd.DataFrame(index=data.index)
    categorical, continuous, nonnormal, order = [], [], [], {}
    for item in spec:
        column = item["column"]
        if column not in data.columns:
            raise KeyError(f"table1 variable {column!r} is not a cohort column")
        if item["type"] == "categorical":
            frame[column] = _recode(data[column], item.get("map"))
            order[column] = _level_order(frame[column], item.get("map"))
            categorical.append(column)
        else:
            frame[column] = pd.to_numeric(data[column], errors="coerce").astype(float)
            continuous.append(column)
            if item.get("summary") == "median_iqr":
                nonnormal.append(column)
    columns = [item["column"] for item in spec]
    stratified = groupby is not None
    if stratified:
        frame[GROUP_COLUMN] = groupby.astype(object).where(groupby.notna()).map(lambda v: v if v is None else str(v))
        frame = frame[frame[GROUP_COLUMN].notna()]
        if group_levels is None:
            group_levels = sorted(frame[GROUP_COLUMN].unique())
        group_levels = [str(g) for g in group_levels if (frame[GROUP_COLUMN] == str(g)).any()]
        stratified = len(group_levels) >= 2
    if stratified:
        from tableone import TableOne
    table = None
    if stratified:  # tableone is needed for the tests and SMDs only (~50 ms a call)
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # tableone's pandas FutureWarnings and its own remarks
            table = TableOne(
                frame,
                columns=columns,
                categorical=categorical,
                continuous=continuous,
                nonnormal=nonnormal,
                # tableone edits ``order`` in place and rejects absent levels: hand it a filtered copy
                order={c: [v for v in levels if (frame[c] == v).any()] for c, levels in order.items()},
                groupby=GROUP_COLUMN,
                pval=True,
                smd=True,
                missing=True,
                include_null=False,
                decimals=3,
            )

    def cont_summary(values: pd.Series) -> dict:
        values = values.dropna()
        return {
            "n": int(values.size),
            "mean": _num(values.mean()),
            "sd": _num(values.std(ddof=1)) if values.size > 1 else None,
            "median": _num(values.median()),
            "q1": _num(values.quantile(0.25)),
            "q3": _num(values.quantile(0.75)),
            "min": _num(values.min()),
            "max": _num(values.max()),
        }

    def cat_summary(values: pd.Series, levels: list[str]) -> dict:
        # one counting pass, not one comparison of every row per level (the values are labels: str);
        # the non-missing values are what the counts add up to
        counts = values.value_counts(sort=False, dropna=True)
        known = int(counts.sum())
        return {
            "n": known,
            "levels": [
                {
                    "level": level,
                    "count": int(counts.get(level, 0)),
                    "proportion": (float(counts.get(level, 0)) / known) if known else None,
                }
                for level in levels
            ],
        }

    rows = []
    for item in spec:
        column = item["column"]
        values = frame[column]
        row = {
            "variable": column,
            "label": item.get("label", column),
            "type": item["type"],
            "missing": int(values.isna().sum()),
        }
        if item["type"] == "categorical":
            row.update(cat_summary(values, order[column]))
        else:
            row["summary"] = item.get("summary", "mean_sd")
            row.update(cont_summary(values))
        if stratified:
            groups = {}
            for level in group_levels:
                part = values[frame[GROUP_COLUMN] == level]
                summary = cat_summary(part, order[column]) if item["type"] == "categorical" else cont_summary(part)
                summary["missing"] = int(part.isna().sum())
                groups[level] = summary
            row["groups"] = groups
            htest = table.htest_table
            row["p"] = _num(htest.loc[column, "P-Value"]) if column in htest.index else None
            row["test"] = str(htest.loc[column, "Test"]) if column in htest.index else None
            smd = {}
            for name in table.smd_table.columns:
                pair = str(name).removeprefix("SMD (").removesuffix(")")
                smd[pair] = _num(table.smd_table.loc[column, name]) if column in table.smd_table.index else None
            row["smd"] = smd
        rows.append(row)
    return rows


def group_sizes(groupby: pd.Series, group_levels) -> dict:
    """{level: n} of a stratifying factor (missing left out)."""
    return {str(level): int((groupby.astype(object) == level).sum()) for level in group_levels}
