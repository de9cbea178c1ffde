"""The corrections ledger (``corrections.csv``): value changes applied at load time.

A data manager does not edit an export; they add a row to the ledger::

    correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by
    C001,patients.csv,P003,progression_date,2013-04-10,2013-05-10,CT report re-read,2026-11-20,JD

At load time each correction is checked and applied **in memory** to the raw text
of the named file, before any typing or validation, so a corrected value is
validated exactly like a raw one. No file is ever written.

Refused (an error, never a silent overwrite):

- ``file`` not one of the correctable files (patients, lesions, sessions, screening,
  complications; ``.csv`` optional) or not present in the data directory;
- ``record_id`` matching no row (by the file's id column; complications.csv has none,
  so its rows are named ``<session_id>#<n>``, the n-th row of that session in the file);
- ``column`` not in the file's contract, or the id column itself;
- ``old_value`` differing from the value the cell holds (a stale correction). Several
  corrections of one cell form a chain in ledger order: each old_value must equal the
  new_value of the previous correction that applied (a stale one does not move the chain);
- a duplicated ``correction_id`` (checked by the ledger's own schema).

The applied rows are kept (``Cohort.corrections``) so every report lists them with
their reasons. Everything is vectorised over the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.contract import COLUMNS, RECORD_ID
from analysis.data.errors import MAX_PER_RULE, Problem

LEDGER = "corrections.csv"
LEDGER_COLUMNS = list(COLUMNS["corrections"])

# The column naming a file's rows. complications.csv has no id column: a row is named by
# its session and its place among that session's rows in the file (P002-S1#1, P002-S1#2),
# and a correction's old_value guards against rows that moved.
CORRECTABLE = {**RECORD_ID, "complications": "session_id"}
NUMBERED_WITHIN = {"complications"}

UNKNOWN_FILE = ("unknown file: corrections can name "
                + ", ".join(f"{name}.csv" for name in CORRECTABLE))
ABSENT_FILE = "file named by the correction is not in the data directory"
UNKNOWN_RECORD = "unknown record_id: no row of {file} has this {id_column}"
UNKNOWN_NUMBERED = ("unknown record_id: no row of {file} is this {id_column}#n "
                    "(the n-th row of that {id_column} in the file, counting from 1)")
UNKNOWN_COLUMN = "unknown column: not a column of {file} in the data contract"
ID_COLUMN = "the id column cannot be corrected (add the record under its right id instead)"
STALE = "stale correction: old_value does not match the value in {file}"


@dataclass
class CorrectionResult:
    tables: dict[str, pd.DataFrame]   # corrected copies of the raw text tables
    applied: pd.DataFrame             # the ledger rows applied (ledger columns, ledger order)
    problems: list[Problem]
    cells: pd.DataFrame               # file, line, column, correction_id of every corrected cell


def empty_ledger() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in LEDGER_COLUMNS})


def _problems(ledger: pd.DataFrame, mask: pd.Series, column: str, rule: str | pd.Series) -> list[Problem]:
    hits = ledger[mask]
    rules = rule[mask] if isinstance(rule, pd.Series) else pd.Series(rule, index=hits.index)
    out = [Problem(LEDGER, int(line), column, str(hits.at[line, column]), rules.loc[line])
           for line in hits.index[:MAX_PER_RULE]]   # bounded
    if len(hits) > MAX_PER_RULE:
        out.append(Problem(LEDGER, None, column, None, str(rules.iloc[0]), more=len(hits) - MAX_PER_RULE))
    return out


def _record_ids(name: str, frame: pd.DataFrame, id_column: str) -> pd.Series:
    """The record_id of each row of ``frame`` (raw text, index = CSV line)."""
    if name not in NUMBERED_WITHIN:
        return frame[id_column]
    place = frame.groupby(id_column, sort=False).cumcount() + 1
    return frame[id_column] + "#" + place.astype(str)


def apply_corrections(tables: dict[str, pd.DataFrame], ledger: pd.DataFrame) -> CorrectionResult:
    """Apply ``ledger`` (raw text, index = CSV line) to ``tables`` (raw text, index = CSV line).

    Rows with a blank file/record_id/column are skipped here (the ledger schema
    reports them). Returns corrected copies; the inputs are not modified.
    """
    out = dict(tables)
    problems: list[Problem] = []
    applied_lines: list[np.ndarray] = []
    cells = []
    usable = (ledger["file"] != "") & (ledger["record_id"] != "") & (ledger["column"] != "")
    target = ledger["file"].str.removesuffix(".csv")

    unknown = usable & ~target.isin(list(CORRECTABLE))
    problems += _problems(ledger, unknown, "file", UNKNOWN_FILE)
    absent = usable & target.isin(list(CORRECTABLE)) & ~target.isin([n for n in tables if tables[n] is not None])
    problems += _problems(ledger, absent, "file", ABSENT_FILE)

    for name, id_column in CORRECTABLE.items():   # loop over files, not rows
        frame = tables.get(name)
        rows = ledger[usable & (target == name)]
        if frame is None or rows.empty or id_column not in frame.columns:
            continue
        filename = f"{name}.csv"
        bad_column = ~rows["column"].isin([c for c in COLUMNS[name] if c in frame.columns])
        problems += _problems(rows, bad_column, "column", UNKNOWN_COLUMN.format(file=filename))
        is_id = rows["column"] == id_column
        problems += _problems(rows, is_id, "column", ID_COLUMN)
        # record_id -> CSV line of the record (first one if the id is duplicated: reported elsewhere)
        line_of_id = pd.Series(frame.index, index=_record_ids(name, frame, id_column).to_numpy())
        line_of_id = line_of_id[~line_of_id.index.duplicated(keep="first")]
        target_line = rows["record_id"].map(line_of_id)
        no_record = target_line.isna()
        unknown_rule = UNKNOWN_NUMBERED if name in NUMBERED_WITHIN else UNKNOWN_RECORD
        problems += _problems(rows, no_record, "record_id", unknown_rule.format(file=filename, id_column=id_column))

        ok = ~(bad_column | is_id | no_record)
        rows = rows[ok].assign(target_line=target_line[ok].astype(int))
        if rows.empty:
            continue
        values = frame.to_numpy()
        current = values[frame.index.get_indexer(rows["target_line"]), frame.columns.get_indexer(rows["column"])]
        # a chain of corrections of one cell: each must start from the value the cell holds after the
        # corrections before it that applied (a stale one changes nothing, so it does not move the chain)
        expected = pd.Series(current, index=rows.index, dtype=object)
        chained = rows.duplicated(["target_line", "column"], keep=False)
        for _, group in rows[chained].groupby(["target_line", "column"], sort=False):   # loop over chains only
            holds = expected.at[group.index[0]]
            for line, old, new in zip(group.index, group["old_value"], group["new_value"]):
                expected.at[line] = holds
                if old == holds:
                    holds = new
        stale = rows["old_value"] != expected
        stale_rule = (STALE.format(file=filename) + " (line " + rows["target_line"].astype(str)
                      + " holds " + expected.map(repr) + ")")
        problems += _problems(rows, stale, "old_value", stale_rule)

        good = rows[~stale]
        if good.empty:
            continue
        final = good.drop_duplicates(["target_line", "column"], keep="last")
        corrected = frame.copy()
        for column, group in final.groupby("column", sort=False):   # loop over columns
            corrected.loc[group["target_line"].to_numpy(), column] = group["new_value"].to_numpy()
        out[name] = corrected
        applied_lines.append(good.index.to_numpy())
        cells.append(pd.DataFrame({"file": filename, "line": final["target_line"].to_numpy(),
                                   "column": final["column"].to_numpy(),
                                   "correction_id": final["correction_id"].to_numpy()}))

    lines = np.sort(np.concatenate(applied_lines)) if applied_lines else np.array([], dtype=int)
    applied = ledger.loc[lines, LEDGER_COLUMNS].reset_index(drop=True) if len(lines) else empty_ledger()
    cell_frame = (pd.concat(cells, ignore_index=True) if cells
                  else pd.DataFrame(columns=["file", "line", "column", "correction_id"]))
    return CorrectionResult(tables=out, applied=applied, problems=problems, cells=cell_frame)
