"""The analysis plan (``analysis_plan.yml``): read once, handed to every step.

The plan is plain data. Accessors here only look things up; no rule of the
analysis is written in code that the plan could state instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from analysis import paths
from analysis.yaml_files import SAFE_LOADER


@dataclass(frozen=True)
class Factor:
    """A plan factor: a cohort column recoded into ordered, labelled levels."""

    name: str
    label: str
    source: str
    levels: tuple[str, ...]
    mapping: dict[Any, str] | None = None
    cut: float | None = None
    ordered: bool = False

    @property
    def reference(self) -> str:
        return self.levels[0]


@dataclass(frozen=True)
class Plan:
    raw: dict
    path: Path

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    @property
    def days_per_unit(self) -> float:
        return float(self.raw["time"]["days_per_unit"])

    @property
    def landmarks(self) -> list[float]:
        return list(self.raw["time"]["landmarks"])

    @property
    def at_risk_times(self) -> list[float]:
        return list(self.raw["time"]["at_risk_times"])

    @property
    def endpoints(self) -> dict[str, dict]:
        return self.raw["endpoints"]

    @property
    def alpha(self) -> float:
        return float(self.raw["survival"]["alpha"])

    @property
    def median_ci_method(self) -> str:
        return self.raw["survival"]["median_ci_method"]

    @property
    def min_level_size(self) -> int:
        """Smallest factor level (patients) an association may be claimed from (default 1: any)."""
        return int(self.raw["survival"].get("min_level_size", 1))

    @property
    def ci_transform(self) -> str:
        return self.raw["survival"]["ci_transform"]

    @property
    def major_classes(self) -> list[str]:
        return list(self.raw["complications"]["major_classes"])

    @cached_property
    def factors(self) -> dict[str, Factor]:
        out = {}
        for name, spec in self.raw["factors"].items():
            mapping = spec.get("map")
            out[name] = Factor(
                name=name,
                label=spec["label"],
                source=spec["source"],
                levels=tuple(str(level) for level in spec["levels"]),
                mapping={k: str(v) for k, v in mapping.items()} if mapping else None,
                cut=spec.get("cut"),
                ordered=bool(spec.get("ordered", False)),
            )
        return out

    @property
    def logrank_factors(self) -> list[str]:
        return list(self.raw["logrank_factors"])

    @property
    def cox_candidates(self) -> list[str]:
        return list(self.raw["cox"]["candidates"])


def load_plan(path: str | Path | None = None) -> Plan:
    """Read the analysis plan (default: the project's ``analysis_plan.yml`` or $ABLATION_PLAN), checked
    against its schema (``analysis.plan_schema``). A bad plan raises ``DataError``: each problem names
    the key and its line."""
    from analysis.data.errors import DataError, Problem
    from analysis.plan_schema import validate

    plan_path = paths.plan_file(path)
    with open(plan_path, encoding="utf-8") as handle:
        text = handle.read()
    name = Path(plan_path).name
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise DataError([Problem(name, mark.line + 1 if mark else None, None, None,
                                 f"not valid YAML: {getattr(error, 'problem', None) or error}")]) from None
    if not isinstance(raw, dict):
        raise DataError([Problem(name, None, None, None, "the plan must be a mapping of sections (study, time, ...)")])
    problems, seen = [], set()
    errors = validate(raw)
    # the lines of the keys, only to name where a problem is (composing the plan again costs 0.1 s)
    lines = _key_lines(yaml.compose(text, Loader=SAFE_LOADER)) if errors else {}
    for location, message, value in reversed(errors):   # a union's last member says most ("a valid number")
        location = _plan_location(location)
        if location in seen:
            continue
        seen.add(location)
        message = MESSAGES.get(message, message).removeprefix("Value error, ")
        key = ".".join(str(part) for part in location) or "(plan)"
        where = location + ("map",) if message.startswith("map value") else location   # the line of the map
        line = next((lines[where[:n]] for n in range(len(where), 0, -1) if where[:n] in lines), None)
        shown = None if isinstance(value, (dict, list)) or message.startswith("Field required") else str(value)
        problems.append(Problem(name, line, None, shown, f"key {key}: {message.removeprefix('Value error, ')}"))
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.line or 0))
    return Plan(raw=raw, path=plan_path)


MESSAGES = {"Extra inputs are not permitted": "unknown key (misspelt? keys are case-sensitive)",
            "Field required": "required key is missing"}


def _plan_location(location: tuple) -> tuple:
    """A pydantic error location as plan keys (type names of union members dropped)."""
    keep = []
    for part in location:
        if isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool", "date",
                                                              "tuple", "list", "dict")):
            continue
        keep.append(part)
    return tuple(keep)


def _key_lines(node, prefix: tuple = ()) -> dict[tuple, int]:
    """{key path: 1-based line} of every mapping key and sequence item in a composed YAML node."""
    out: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node)) if key_node.tag != "tag:yaml.org,2002:str" else key_node.value
            path = prefix + (key,)
            out[path] = key_node.start_mark.line + 1
            out.update(_key_lines(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[prefix + (index,)] = item.start_mark.line + 1
            out.update(_key_lines(item, prefix + (index,)))
    return out
