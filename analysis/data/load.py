"""Reading a data directory into typed tables (validation and corrections applied).

Raw files are only ever read; corrections are applied in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.data.contract import COLUMNS, OPTIONAL_FILES, REQUIRED_FILES
from analysis.data.errors import DataError, Problem
from analysis.plan import Plan


@dataclass
class RawTables:
    """Typed, validated, corrected tables of one data directory."""

    tables: dict[str, pd.DataFrame]
    corrections: pd.DataFrame
    provenance: dict[str, str]
    warnings: list[str] = field(default_factory=list)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    out = frame.copy()
    for column, (kind, _codes, _required) in COLUMNS[name].items():
        if column not in out:
            continue
        if kind == "date":
            out[column] = pd.to_datetime(out[column].replace("", None), format="%Y-%m-%d")
        elif kind == "float":
            out[column] = pd.to_numeric(out[column].replace("", None)).astype(float)
        elif kind == "int":
            out[column] = pd.to_numeric(out[column].replace("", None)).astype("Int64")
    return out


def read_data_dir(directory: Path, plan: Plan) -> RawTables:
    """Read every contract file in ``directory``. Minimal version: no validation yet."""
    problems: list[Problem] = []
    raw: dict[str, pd.DataFrame] = {}
    provenance: dict[str, str] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        path = directory / f"{name}.csv"
        if not path.exists():
            if name in REQUIRED_FILES:
                problems.append(Problem(f"{name}.csv", None, None, None, "required file is missing"))
            continue
        provenance[path.name] = sha256(path)
        raw[name] = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if problems:
        raise DataError(problems)
    tables = {name: _typed(frame, name) for name, frame in raw.items()}
    corrections = tables.pop("corrections", pd.DataFrame(columns=list(COLUMNS["corrections"])))
    return RawTables(tables=tables, corrections=corrections, provenance=provenance)
