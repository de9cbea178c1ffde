"""Derived analysis variables, computed from validated tables by the plan's rules.

Nothing here is typed in by hand: survival times, event flags, radical treatment,
PO timing, PO counts and sizes, complications and the plan factors all come from
the raw columns and ``analysis_plan.yml``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.data.load import RawTables
from analysis.plan import Factor, Plan


def months_between(start: pd.Series, end: pd.Series, plan: Plan) -> pd.Series:
    """Elapsed time in the plan's unit: days / days_per_unit (30.4375 for months)."""
    return (end - start).dt.days / plan.days_per_unit


def endpoint_times(patients: pd.DataFrame, spec: dict, plan: Plan) -> tuple[pd.Series, pd.Series]:
    """Time from time zero to the earliest event date, else to last follow-up; event flag 1/0."""
    event_date = patients[spec["event_dates"]].min(axis=1)  # NaT-aware: earliest present date
    has_event = event_date.notna()
    end = event_date.where(has_event, patients["last_followup_date"])
    time = months_between(patients[spec["time_zero"]], end, plan)
    return time, has_event.astype(int)


def _recode(values: pd.Series, factor: Factor) -> pd.Categorical:
    """The factor's levels of ``values`` (elementwise; missing stays missing)."""
    if factor.cut is not None:
        numeric = pd.to_numeric(values, errors="coerce")
        coded = pd.Series(np.where(numeric < factor.cut, factor.levels[0], factor.levels[1]),
                          index=values.index, dtype=object)
        coded[numeric.isna()] = None
    elif factor.mapping is not None:
        # vectorised lookup; YAML keys may be str, int or bool (true/false), like the column
        coded = values.map(factor.mapping)
    else:
        coded = values.astype(object)
    return pd.Categorical(coded, categories=list(factor.levels), ordered=factor.ordered)


def factor_column(values: pd.Series, factor: Factor) -> pd.Series:
    """Recode ``values`` into the factor's ordered levels (missing stays missing).

    The recoding is elementwise, so it runs on the column's distinct values (a handful, missing
    ones included) and is spread to the rows by their codes: 10^6 rows are hashed once, not three times.
    """
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    levels = _recode(pd.Series(distinct), factor)
    categorical = pd.Categorical.from_codes(levels.codes.take(codes), dtype=levels.dtype)
    return pd.Series(categorical, index=values.index, name=factor.name)


def join_on_key(left: pd.DataFrame, key: str, right: pd.DataFrame) -> pd.DataFrame:
    """``left.merge(right, how="left", left_on=key, right_index=True)`` for a ``right`` with a unique index.

    One lookup of ``left[key]`` in ``right``'s index instead of a merge that factorizes the keys of
    both sides (10^6 patients: about a second a join). Same rows, columns, index and dtypes (a
    key without a match gets missing values, which makes int columns float and bool ones object,
    as the merge does).
    """
    if not right.index.is_unique or set(left.columns) & set(right.columns):
        return left.merge(right, how="left", left_on=key, right_index=True)
    positions = right.index.get_indexer(left[key])
    joined = {name: right[name].reset_index(drop=True).reindex(positions).set_axis(left.index)
              for name in right.columns}
    return pd.concat([left, pd.DataFrame(joined, index=left.index)], axis=1)


def _in_order(frame: pd.DataFrame, keys: list[str]) -> bool:
    """True when every row's ``keys`` are >= the previous row's (lexicographically; no missing key)."""
    if len(frame) < 2:
        return True
    ordered = np.zeros(len(frame) - 1, dtype=bool)   # rows already known to be after the one before
    tied = np.ones(len(frame) - 1, dtype=bool)       # ... and rows equal to the previous one so far
    for key in keys:
        values = frame[key].to_numpy()
        if pd.isna(values).any():
            return False
        previous, current = values[:-1], values[1:]
        ordered |= tied & (current > previous)
        tied &= current == previous
    return bool((ordered | tied).all())


def sort_stable(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame.sort_values(keys, kind="stable")``; a frame already in that order is returned as it is.

    A stable sort of rows already in order is the identity, and exports usually come sorted: one
    comparison of each row with the one before instead of sorting 10^6 text ids (seconds).
    """
    if _in_order(frame, keys):
        return frame
    return frame.sort_values(keys, kind="stable")


def derive_cohort(raw: RawTables, plan: Plan, data_dir: Path) -> Cohort:
    patients = raw.tables["patients"].copy()
    lesions = raw.tables["lesions"].copy()
    sessions = raw.tables["sessions"].copy()
    complications = raw.tables["complications"].copy()

    for name, spec in plan.endpoints.items():
        patients[f"{name}_months"], patients[f"{name}_event"] = endpoint_times(patients, spec, plan)

    rules = plan["derived"]
    patients["radical_treatment"] = patients[rules["radical_treatment"]["source"]].isin(
        rules["radical_treatment"]["radical"])
    timing = rules["po_timing"]
    patients["hcc_to_po_months"] = months_between(
        patients[timing["interval_from"]], patients[timing["interval_to"]], plan)
    patients["po_timing"] = np.where(
        patients["hcc_to_po_months"] > timing["metachronous_after_months"], "metachronous", "synchronous")

    major = set(plan.major_classes)
    complications["major"] = complications["sir_class"].isin(major)
    per_session = complications.groupby("session_id", sort=False).agg(
        n_complications=("sir_class", "size"), major_complication=("major", "any"))
    sessions = join_on_key(sessions, "session_id", per_session)
    sessions["n_complications"] = sessions["n_complications"].fillna(0).astype(int)
    sessions["major_complication"] = sessions["major_complication"].astype("boolean").fillna(False).astype(bool)
    sessions = sort_stable(sessions, ["patient_id", "session_date", "session_id"])

    # (session ids are unique in validated data; a merge ``on`` gives a fresh RangeIndex)
    lesions = join_on_key(lesions, "session_id", sessions.set_index("session_id")[["session_date"]]).reset_index(drop=True)
    # built-in groupby reductions only (no Python call per group: stays fast at 10^6 patients)
    by_patient = lesions.assign(
        _success=lesions["technical_success"] == "yes",
        _complete=lesions["complete_ablation"] == "yes",
    ).groupby("patient_id", sort=False).agg(
        n_pos=("lesion_id", "size"),
        largest_po_cm=("diameter_cm", "max"),
        mean_po_cm=("diameter_cm", "mean"),
        technical_success=("_success", "all"),
        technical_efficacy=("_complete", "all"),
    )
    session_summary = sessions.assign(_any=sessions["n_complications"] > 0).groupby("patient_id", sort=False).agg(
        n_sessions=("session_id", "size"),
        modality_first=("modality", "first"),   # sessions are sorted by date: the first session's
        any_complication=("_any", "any"),
        major_complication=("major_complication", "any"),
    )
    patients = join_on_key(patients, "patient_id", by_patient)
    patients = join_on_key(patients, "patient_id", session_summary)
    patients["n_pos"] = patients["n_pos"].fillna(0).astype(int)
    patients["alive"] = patients["death_date"].isna()
    # follow-up ends at death for those who died (the contract lets last_followup_date fall after it)
    patients["followup_months"] = months_between(
        patients["first_ablation_date"], patients["death_date"].fillna(patients["last_followup_date"]), plan)
    patients = patients.reset_index(drop=True)

    factors = pd.DataFrame({name: factor_column(patients[f.source], f)
                            for name, f in plan.factors.items()}, index=patients.index)

    warnings = list(raw.warnings)   # study criteria, checked in analysis.data.schema.study_warnings

    return Cohort(
        patients=patients, lesions=lesions, sessions=sessions, complications=complications,
        factors=factors, screening=raw.tables.get("screening"), corrections=raw.corrections,
        provenance=raw.provenance, data_dir=data_dir, plan=plan, warnings=warnings,
        synthetic_evidence=raw.synthetic,
    )
