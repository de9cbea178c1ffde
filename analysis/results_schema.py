"""The shape of the results file, as pydantic models: checked when written and when read.

``Results`` is the whole object ``analysis.results.compute_results`` returns and
every command writes (``results``, ``render``, the pre-render): one shape. The
models only check; the file holds the plain dict (sorted keys, NaN -> null).

docs/results.schema.json is written from these models and docs/RESULTS.md from
that schema (``python -m analysis.results_schema`` rewrites both; a test keeps
them current).

Extending the object (e.g. the statistics stream adding Cox keys): add the field
to the model of its section below, bump nothing else. Sections that estimator
modules fill with their own keys (Cox models and terms, follow-up, Table 1 rows)
are ``Open``: unknown keys pass there, typed keys are checked. Everything else is
``Strict``: an unknown or missing key is an error, so the documents never read a
key that no command writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCHEMA_VERSION = 2
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "results.schema.json"
REFERENCE_FILE = Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A section filled by an estimator module: typed keys are checked, further keys pass."""

    model_config = ConfigDict(extra="allow")


Num = Annotated[float | None, Field(description="finite number, or null when it cannot be estimated")]
Interval = Annotated[list[Num], Field(min_length=2, max_length=2, description="[lower, upper]")]


# --------------------------------------------------------------------------- warnings


class WarningRecord(Strict):
    """A warning as a record: what kind, about what, the numbers behind it, and the sentence to print."""

    kind: Literal["data", "logrank", "cox_fit", "proportional_hazards", "low_epv", "not_entered",
                  "no_multivariable"] = Field(description="what went wrong; tables and checks select on it")
    subject: str = Field(description="what it is about, e.g. 'pfs/multivariable' or 'os/univariable/sex'")
    values: dict[str, Any] = Field(description="the numbers behind it (endpoint, model, term, p, epv...)")
    message: str = Field(description="the sentence printed to the user")


# --------------------------------------------------------------------------- shared pieces


class Proportion(Strict):
    count: int
    denominator: int
    proportion: Num
    ci: Interval
    ci_method: str
    reason: str | None = Field(None, description="why the proportion is null (denominator 0)")


class Rate(Strict):
    estimate: Num
    ci: Interval
    se: Num
    reason: str | None = Field(None, description="why the estimate is null (no patients, or past the longest follow-up)")


class NotEstimable(Strict):
    """Why a median or a limit of its CI is null (None where it is estimable)."""

    estimate: str | None
    ci: list[str | None]


class CurveSummary(Strict):
    n: int
    events: int
    median: Num
    median_ci: Interval
    median_ci_method: str
    median_by_method: dict[str, Num]
    median_ci_by_method: dict[str, Interval]
    median_not_estimable: NotEstimable | None = Field(None, description="why the median or a CI limit is null")
    rates: dict[str, Rate] = Field(description="survival at each plan landmark, keyed by time ('12')")
    at_risk: dict[str, int] = Field(description="number at risk at each plan at_risk_time, keyed by time")


class EndpointSummary(CurveSummary):
    label: str


class GroupSummary(CurveSummary):
    expected: Num = Field(description="expected events under the log-rank null")


# --------------------------------------------------------------------------- Kaplan-Meier (what the figures draw)


class KMCurve(Strict):
    """A fitted Kaplan-Meier curve, one entry per distinct observed time (``analysis.stats.km.KMResult``)."""

    time: list[float]
    n_at_risk: list[int]
    n_events: list[int]
    n_censored: list[int] = Field(description="censor marks are drawn where this is > 0")
    survival: list[Num]
    se: list[Num]
    ci_lower: list[Num] = Field(description="pointwise CI band (null where undefined)")
    ci_upper: list[Num]
    transform: str
    alpha: float
    n: int
    events: int


class KMFigureGroup(Strict):
    level: str = Field(description="legend and at-risk row label")
    n: int
    at_risk: list[int] = Field(description="number at risk at each of the figure's ticks")


class KMFigure(Strict):
    """One KM figure's panel: its ticks and the at-risk table printed under it."""

    factor: str | None
    factor_label: str | None
    ticks: list[float]
    groups: list[KMFigureGroup]
    missing: int = Field(description="patients left out for a missing factor value")


class KMEndpoint(Strict):
    overall: KMCurve
    factors: dict[str, dict[str, KMCurve]]
    figures: dict[str, KMFigure] = Field(description="'overall' and one per log-rank factor")


# --------------------------------------------------------------------------- log-rank


class Trend(Strict):
    chi2: Num
    df: int | None
    p: Num
    z: Num
    scores: list[float]
    reason: str | None = Field(None, description="why the test is null")


class LogrankTest(Strict):
    label: str
    chi2: Num
    df: int | None
    p: Num
    applicable: bool
    note: str | None
    trend: Trend | None
    groups: dict[str, GroupSummary]
    n_missing: int


# --------------------------------------------------------------------------- Cox


class FactorTest(Open):
    p: Num


class PHTest(Open):
    global_: dict[str, Any] = Field(alias="global")
    terms: dict[str, dict[str, Any]]


class CoxTerm(Open):
    factor: str
    level: str
    term: str
    hr: Num
    ci: Interval
    p: Num
    n: int
    events: int


class CoxModel(Open):
    n: int
    events: int
    references: dict[str, dict[str, Any]]
    factor_p: dict[str, FactorTest]
    converged: bool | None
    warnings: list[str]


class CoxSelection(Strict):
    rule: str
    threshold: float


class PHSmooth(Strict):
    """plot.cox.zph's smooth: natural spline (df 4) of the residuals on the transformed time, at 40 points."""

    df: int
    x: list[float] = Field(description="transformed time 1 - KM(t-) of the 40 points")
    fit: list[float]
    upper: list[float] = Field(description="fit + 2 SE (pointwise)")
    lower: list[float] = Field(description="fit - 2 SE (pointwise)")


class PHAxis(Strict):
    at: list[float] = Field(description="tick positions on the transformed time axis")
    months: list[float] = Field(description="the months each tick is labelled with (2 significant digits, as R)")


class PHResidualPanel(Strict):
    """One factor whose cox.zph P < plan alpha: what its scaled-Schoenfeld panel draws (one point per event; above 5,000 events an evenly spaced sample of 5,000 in time order, the smooth from every event)."""

    model: Literal["univariable", "multivariable"]
    factor: str
    p: float = Field(description="cox.zph P of the factor in that model")
    line: float = Field(description="the Cox coefficient (1 for a factor of several indicators, collapsed to "
                                    "its linear predictor as cox.zph does)")
    collapsed: bool = Field(description="the factor has several indicators (residual of its linear predictor)")
    time: list[float] = Field(description="event times (months), time order")
    x: list[float] = Field(description="transformed event times 1 - KM(t-) (cox.zph transform \"km\")")
    residual: list[float] = Field(description="scaled Schoenfeld residuals, cox.zph(fit)$y")
    smooth: PHSmooth | None = Field(description="null when the spline fit is singular (too few distinct times)")
    axis: PHAxis


class CoxEndpoint(Open):
    univariable: list[CoxTerm]
    univariable_models: dict[str, CoxModel]
    selected: list[str]
    selection: CoxSelection
    ties: str
    multivariable: list[CoxTerm]
    multivariable_model: CoxModel | None
    epv: Num
    ph_test: PHTest | None
    ph_residuals: list[PHResidualPanel] = Field(
        description="one panel per factor failing cox.zph (univariable models in plan order, then multivariable)")
    warnings: list[WarningRecord]


# --------------------------------------------------------------------------- decisions


class SignificantFactor(Strict):
    factor: str
    label: str
    p: float
    levels_best_first: list[str] = Field(description="levels by observed/expected events, lowest ratio first")


class SmallLevelFactor(Strict):
    factor: str
    label: str
    p: float
    level: str = Field(description="the smallest compared level")
    n: int = Field(description="its number of patients, below the plan's min_level_size")


class EndpointDecisions(Strict):
    significant_factors: list[SignificantFactor] = Field(
        description="log-rank factors with P below the plan's alpha, in plan order, whose every compared "
                    "level holds at least the plan's min_level_size patients")
    small_level_factors: list[SmallLevelFactor] = Field(
        default_factory=list,
        description="factors with P below alpha that are not claimed as associations: a compared level "
                    "holds fewer than min_level_size patients")


class Decisions(Strict):
    """Judgements made once, from the numbers, for the text and tables to print (never re-made there)."""

    alpha: float
    endpoints: dict[str, EndpointDecisions]
    factors_all_endpoints: list[str] = Field(description="factors significant for every endpoint (the conclusions)")


# --------------------------------------------------------------------------- other sections


class DataSection(Strict):
    directory: str
    files: dict[str, str] = Field(description="input file -> SHA-256")
    corrections: list[dict[str, Any]] = Field(description="applied ledger rows")
    warnings: list[str]


class FactorSpec(Strict):
    label: str
    levels: list[str]
    reference: str
    ordered: bool


class PlanSection(Strict):
    file: str
    sha256: str | None
    alpha: float
    confidence_level: float = Field(description="1 - alpha, as printed ('95%')")
    median_ci_method: str
    ci_transform: str
    ties: str
    endpoints: list[str]
    landmarks: list[float]
    at_risk_times: list[float]
    time_unit: str
    days_per_unit: float
    selection_rule: CoxSelection
    min_events_per_variable: float | None
    ph_test: str | None
    major_classes: list[str]
    minor_classes: list[str]
    derived: dict[str, Any]
    factors: dict[str, FactorSpec]
    logrank_factors: list[str]
    cox_candidates: list[str]
    monotone_likelihood: str = Field("not_estimable", description="a Cox coefficient tending to infinity: "
                                     "'not_estimable' (say so) or 'firth' (penalised likelihood)")
    min_level_size: int = Field(1, description="smallest level (patients) an association may be claimed from")


class Flow(Strict):
    screened: int
    excluded: dict[str, int]
    n_excluded: int
    included: int
    analysed: int


class Enrolment(Strict):
    first_ablation: str
    last_ablation: str


class Followup(Open):
    median: Num
    ci: Interval
    range: Interval
    method: str
    n_alive: int


class Table1(Strict):
    patient: list[dict[str, Any]]
    lesion: list[dict[str, Any]]
    n_patients: int
    n_lesions: int
    stratified: dict[str, Any]


class TypeCount(Strict):
    events: int
    patients: Proportion
    sessions: Proportion


class Complications(Strict):
    per_patient: dict[str, Proportion]
    per_session: dict[str, Proportion]
    by_type: dict[str, TypeCount]
    by_sir_class: dict[str, TypeCount]
    events: dict[str, int]
    major_classes: list[str]
    n_patients: int
    n_sessions: int


class ReproductionRow(Strict):
    id: str
    quantity: str
    published: str
    computed: str
    value: Num
    match: bool
    rule: str


class Results(BaseModel):
    """The results file (``schema_version`` 2).

    Besides the keys below, one key per plan endpoint (``pfs``, ``os``: the
    results contract of the study brief) holds that endpoint's summary; no other key is allowed.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, EndpointSummary] = Field(init=False)

    schema_version: Literal[2]
    synthetic: bool = Field(description="the data directory carries the SYNTHETIC marker")
    data: DataSection
    plan: PlanSection
    software: dict[str, str | None]
    n_patients: int
    n_lesions: int
    n_sessions: int
    flow: Flow | None
    enrolment: Enrolment
    km: dict[str, KMEndpoint]
    logrank: dict[str, dict[str, LogrankTest]]
    cox: dict[str, CoxEndpoint]
    followup: Followup
    technical: dict[str, dict[str, Proportion]]
    complications: Complications
    technical_success: Proportion
    technical_efficacy: Proportion
    major_complications: Proportion
    table1: Table1
    decisions: Decisions
    reproduction: list[ReproductionRow] = Field(description="published vs computed (published_results.yml)")
    warnings: list[WarningRecord]

    @model_validator(mode="after")
    def _one_key_per_endpoint(self):
        extra = set(self.__pydantic_extra__ or {})
        expected = set(self.plan.endpoints)
        if extra != expected:
            unknown, missing = sorted(extra - expected), sorted(expected - extra)
            raise ValueError(f"top-level endpoint keys must be the plan's endpoints {sorted(expected)}"
                             + (f"; unknown key(s) {unknown}" if unknown else "")
                             + (f"; missing {missing}" if missing else ""))
        for name in ("km", "logrank", "cox"):
            if set(getattr(self, name)) != expected:
                raise ValueError(f"{name}: keys must be the plan's endpoints {sorted(expected)}")
        return self


# --------------------------------------------------------------------------- checking, schema, reference


class ResultsShapeError(ValueError):
    """A results object that does not have the shape of ``Results`` (names the keys)."""


def check(results: dict, source: str = "results") -> dict:
    """``results`` unchanged when it has the shape of ``Results``; else ``ResultsShapeError`` naming every bad key."""
    try:
        Results.model_validate(results)
    except ValidationError as error:
        lines = [f"{source}: not a results file of schema version {SCHEMA_VERSION} "
                 f"({error.error_count()} problem(s))"]
        for item in error.errors()[:20]:
            where = ".".join(str(part) for part in item["loc"]) or "(top level)"
            lines.append(f"  {where}: {item['msg']}")
        raise ResultsShapeError("\n".join(lines)) from None
    return results


def json_schema() -> dict:
    schema = Results.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "results.schema.json"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _type_text(spec: dict, defs: dict) -> str:
    if "$ref" in spec:
        return f"[{spec['$ref'].rsplit('/', 1)[-1]}](#{spec['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in spec:
        return " or ".join(_type_text(s, defs) for s in spec["anyOf"])
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return "one of " + ", ".join(f"`{v}`" for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        inner = _type_text(spec.get("items", {}), defs)
        size = f"{spec['minItems']} x " if spec.get("minItems") and spec.get("minItems") == spec.get("maxItems") else ""
        return f"list of {size}{inner}"
    if kind == "object" and "additionalProperties" in spec and isinstance(spec["additionalProperties"], dict):
        return f"{{key: {_type_text(spec['additionalProperties'], defs)}}}"
    return {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean",
            "null": "null", "object": "object"}.get(kind, kind)


def reference_text(schema: dict | None = None) -> str:
    """docs/RESULTS.md: every section and key, drawn from the JSON Schema."""
    schema = schema or json_schema()
    defs = schema.get("$defs", {})
    lines = ["# The results file: key reference", "",
             "Generated from `docs/results.schema.json` (itself written from `analysis/results_schema.py`) by",
             "`python -m analysis.results_schema`; do not edit by hand.", "",
             f"Schema version {SCHEMA_VERSION}. Numbers are full precision; a number that cannot be estimated is",
             "`null`. *Open* sections accept further keys from the estimator modules.", ""]

    def section(name: str, spec: dict) -> None:
        open_ = spec.get("additionalProperties", True) is True
        lines.append(f"## {name}")
        lines.append("")
        if spec.get("description"):
            lines.extend([" ".join(spec["description"].split()), ""])
        if open_:
            lines.extend(["*Open section.*", ""])
        lines.extend(["| key | type | required | meaning |", "|---|---|---|---|"])
        required = set(spec.get("required", []))
        for key, prop in spec.get("properties", {}).items():
            meaning = " ".join(prop.get("description", "").split()).replace("|", "\\|")
            lines.append(f"| `{key}` | {_type_text(prop, defs).replace('|', '/')} | "
                         f"{'yes' if key in required else 'no'} | {meaning} |")
        lines.append("")

    section("Results", schema)
    for name in sorted(defs):
        section(name, defs[name])
    if schema.get("additionalProperties"):
        lines.extend(["Results also has one key per plan endpoint (`pfs`, `os`), each an "
                      "[EndpointSummary](#endpointsummary).", ""])
    return "\n".join(lines)


def write_docs() -> None:
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    REFERENCE_FILE.write_text(reference_text(), encoding="utf-8")


if __name__ == "__main__":
    write_docs()
    print(f"written {SCHEMA_FILE} and {REFERENCE_FILE}")
