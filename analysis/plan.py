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
    """Read the analysis plan (default: the project's ``analysis_plan.yml`` or $ABLATION_PLAN)."""
    plan_path = paths.plan_file(path)
    with open(plan_path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return Plan(raw=raw, path=plan_path)
