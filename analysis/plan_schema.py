"""The schema of the analysis plan (pydantic 2), checked when the plan loads.

Wrong types, unknown keys (a typo such as ``levles``), a map value outside its
factor's levels (``Non-Radical`` for ``Non-radical``), a factor named in
``logrank_factors`` or ``cox.candidates`` that no factor defines: each is an error
naming the key and its line in the YAML file (``analysis.plan.load_plan`` turns
them into ``DataError`` problems, exit status 2), never silent missingness.

To add a plan key, add a field to the section's model (as ``Cox.monotone_likelihood``:
``Literal["not_estimable", "firth"]``); every model refuses
keys it does not declare (``extra="forbid"``), so a key must be declared here
before the plan can use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

Number = StrictInt | StrictFloat
Level = StrictStr | StrictInt | StrictFloat   # levels are compared as text ("1", "3-4")
DatePair = Annotated[list[dt.date], Field(min_length=2, max_length=2)]
NumberPair = Annotated[list[Number], Field(min_length=2, max_length=2)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Criteria(Section):
    max_pos_per_patient: StrictInt = Field(gt=0)


class Study(Section):
    title: StrictStr
    short_title: StrictStr
    design: StrictStr
    enrolment: DatePair | None = None
    criteria: Criteria


class Plausibility(Section):
    ranges: dict[StrictStr, NumberPair] = {}
    dates: DatePair | None = None


class Time(Section):
    unit: StrictStr
    days_per_unit: Number = Field(gt=0)
    landmarks: list[Number]
    at_risk_times: list[Number]


class Endpoint(Section):
    label: StrictStr
    abbreviation: StrictStr
    time_zero: StrictStr
    event_dates: list[StrictStr] = Field(min_length=1)


class Followup(Section):
    method: StrictStr
    also_report: StrictStr | None = None


class Survival(Section):
    alpha: Number = Field(gt=0, lt=1)
    ci_transform: StrictStr
    median_ci_method: StrictStr
    ties: StrictStr = "efron"
    # smallest factor level (patients) from which the text claims an association (submission stream)
    min_level_size: StrictInt | None = Field(default=None, ge=1)


class RadicalRule(Section):
    source: StrictStr
    radical: list[StrictStr]


class TimingRule(Section):
    interval_from: StrictStr
    interval_to: StrictStr
    metachronous_after_months: Number


class Derived(Section):
    radical_treatment: RadicalRule
    po_timing: TimingRule


class Complications(Section):
    grading: StrictStr
    major_classes: list[StrictStr]
    minor_classes: list[StrictStr]


class Factor(Section):
    label: StrictStr
    source: StrictStr
    levels: list[Level] = Field(min_length=2)
    map: dict[StrictStr | StrictInt | StrictBool, Level] | None = None
    cut: Number | None = None
    ordered: StrictBool = False

    @model_validator(mode="after")
    def _levels(self) -> "Factor":
        levels = [str(level) for level in self.levels]
        if len(set(levels)) != len(levels):
            raise ValueError(f"levels must be distinct: {levels}")
        if self.map is not None:
            outside = sorted({str(v) for v in self.map.values()} - set(levels))
            if outside:
                raise ValueError(f"map value(s) {', '.join(map(repr, outside))} not among the levels "
                                 f"{', '.join(map(repr, levels))} (spelling and case matter)")
        if self.cut is not None and len(levels) != 2:
            raise ValueError("a factor with 'cut' has exactly two levels")
        return self


class Selection(Section):
    rule: StrictStr
    threshold: Number = Field(gt=0, le=1)


class Cox(Section):
    candidates: list[StrictStr]
    selection: Selection
    min_events_per_variable: Number = 10
    ph_test: StrictStr = "scaled_schoenfeld"
    # an infinite coefficient (monotone likelihood): reported as not estimable, or Firth's penalty (stats stream)
    monotone_likelihood: Literal["not_estimable", "firth"] = "not_estimable"


class Table1Row(Section):
    column: StrictStr
    label: StrictStr
    type: Literal["continuous", "categorical"]
    summary: Literal["mean_sd", "median_iqr"] | None = None
    map: dict[StrictStr | StrictInt | StrictBool, StrictStr] | None = None


class Table1(Section):
    patient: list[Table1Row]
    lesion: list[Table1Row]


class PlanSchema(Section):
    study: Study
    plausibility: Plausibility | None = None
    time: Time
    endpoints: dict[StrictStr, Endpoint] = Field(min_length=1)
    followup: Followup
    survival: Survival
    derived: Derived
    complications: Complications
    factors: dict[StrictStr, Factor]
    logrank_factors: list[StrictStr]
    cox: Cox
    table1: Table1


def validate(raw: Any) -> list[tuple[tuple, str, Any]]:
    """[(location, message, offending input)] of every schema error in ``raw`` (empty: valid)."""
    from pydantic import ValidationError

    errors: dict[tuple, tuple[str, Any]] = {}
    try:
        PlanSchema.model_validate(raw)
    except ValidationError as error:
        for e in error.errors():   # one line per key: a union's members (int | float) give one error each
            errors[tuple(e["loc"])] = (e["msg"], e.get("input"))
    out = [(location, message, value) for location, message, value in
           ((loc, msg, value) for loc, (msg, value) in errors.items())]
    factors = raw.get("factors") if isinstance(raw, dict) else None
    cox = raw.get("cox") if isinstance(raw, dict) else None
    lists = (("logrank_factors",), raw.get("logrank_factors") if isinstance(raw, dict) else None), \
        (("cox", "candidates"), cox.get("candidates") if isinstance(cox, dict) else None)
    if isinstance(factors, dict):
        for key, names in lists:
            for index, name in enumerate(names if isinstance(names, list) else []):
                if isinstance(name, str) and name not in factors:
                    out.append((key + (index,), f"{name!r} is not a factor defined under 'factors'", name))
    return out
