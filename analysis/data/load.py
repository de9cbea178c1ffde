"""Reading a data directory into typed, validated, corrected tables.

Order of work (all problems of all steps are collected, then raised together):

1. read every contract file as text (``rawcsv``): encoding, empty file, field counts;
2. check each header against the contract: missing and unknown columns;
3. apply the corrections ledger to the raw text (``corrections``), in memory;
4. validate each file's text (``schema.file_schema``);
5. type the tables (dates, numbers) and validate across files
   (``schema.cross_file_schemas``);
6. study-criteria warnings (``schema.study_warnings``).

Raw files are only ever read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.data import provenance as provenance_rules
from analysis.data import schema
from analysis.data.contract import COLUMNS, OPTIONAL_FILES, REQUIRED_FILES
from analysis.data.corrections import apply_corrections, empty_ledger
from analysis.data.errors import MAX_PER_RULE, DataError, Problem
from analysis.data.rawcsv import read_raw_csv
from analysis.plan import Plan

FILES = REQUIRED_FILES + OPTIONAL_FILES


@dataclass
class RawTables:
    """Typed, validated, corrected tables of one data directory."""

    tables: dict[str, pd.DataFrame]
    corrections: pd.DataFrame
    provenance: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    synthetic: tuple[str, ...] = ()   # why the data are synthetic (analysis.data.provenance); empty: patient data


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def typed_table(name: str, text: pd.DataFrame, parsed: schema.ParsedText | None = None) -> pd.DataFrame:
    """Contract types: dates datetime64, numbers float (ecog int), text str; blank = missing.

    Values that are not valid become missing here; validation reports them. ``parsed``:
    the parse the file checks made of ``text`` (dates and numbers are not parsed twice).
    """
    parsed = parsed if parsed is not None and parsed.frame is text else schema.ParsedText(text)
    out = {}
    for column in text.columns:
        values = text[column]
        kind, codes = COLUMNS[name].get(column, ("str", None, False))[:2]
        if kind == "code":   # an unknown code is reported once, by the file check, not again across files
            out[column] = values.where(parsed.in_codes(column, [str(c) for c in codes]))
        elif kind == "date":
            out[column] = parsed.dates(column)   # a blank is NaT
        elif kind == "float":
            out[column] = parsed.numbers(column).astype(float)
        elif kind == "int":
            numbers = parsed.numbers(column)
            whole = numbers.notna().all() and (numbers == numbers.round()).all()
            out[column] = numbers.astype("int64") if whole else numbers
        else:
            out[column] = values.where(~parsed.blank(column))
    return pd.DataFrame(out, index=text.index)


def _header_problems(name: str, header: list[str]) -> list[Problem]:
    filename = f"{name}.csv"
    contract = COLUMNS[name]
    problems = [Problem(filename, 1, column, None, "required column is missing from the header")
                for column in contract if column not in header]
    unknown = [column for column in header if column not in contract]
    rule = "column is not in the data contract (misspelt? columns are case-sensitive)"
    problems += [Problem(filename, 1, column, None, rule) for column in unknown[:MAX_PER_RULE]]  # bounded
    if len(unknown) > MAX_PER_RULE:
        problems.append(Problem(filename, None, None, None, rule, more=len(unknown) - MAX_PER_RULE))
    return problems


def _annotate(problems: list[Problem], cells: pd.DataFrame) -> list[Problem]:
    """Say which correction put a refused value there (bounded loop over problems)."""
    if cells.empty:
        return problems
    source = {(f, int(l), c): cid for f, l, c, cid in cells.itertuples(index=False)}
    out = []
    for p in problems:
        cid = source.get((p.file, p.line, p.column))
        out.append(p if cid is None else Problem(p.file, p.line, p.column, p.value,
                                                 f"{p.rule} (value set by correction {cid} in corrections.csv)",
                                                 p.more))
    return out


def _order(problem: Problem) -> tuple:
    stem = problem.file.removesuffix(".csv")
    rank = FILES.index(stem) if stem in FILES else -1
    return (rank, problem.more > 0, problem.line if problem.line is not None else 0)


def read_data_dir(directory: Path, plan: Plan) -> RawTables:
    """Read, check, correct and type every contract file in ``directory``.

    Raises :class:`DataError` with every problem found.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError([Problem(str(directory), None, None, None,
                                 "data directory not found" + (" (it is a file)" if directory.exists() else ""))])
    problems: list[Problem] = []
    text: dict[str, pd.DataFrame | None] = {}
    full_header: set[str] = set()   # files whose header has every contract column
    complete: set[str] = set()      # ... and every row well-formed: ready for cross-file checks
    provenance: dict[str, str] = {}
    for name in FILES:
        path = directory / f"{name}.csv"
        kind = _file_kind(path)
        if kind == "missing":
            if name in REQUIRED_FILES:
                problems.append(Problem(path.name, None, None, None, "required file is missing"))
            continue
        if kind != "file":   # never followed or opened: a link may point anywhere (/etc/passwd)
            problems.append(Problem(path.name, None, None, None,
                                    f"is {kind}; input files must be regular files inside the data folder"))
            continue
        try:
            raw = read_raw_csv(path)
        except OSError as error:   # unreadable (permissions, a broken network drive...)
            problems.append(Problem(path.name, None, None, None, f"file could not be read: {error}"))
            continue
        provenance[path.name] = raw.sha256
        problems += raw.problems
        if raw.frame is None:
            continue
        if name == "patients" and raw.frame.empty and not raw.problems:
            problems.append(Problem(path.name, None, None, None,
                                    "file has a header but no data rows (at least one patient is required)"))
        header_problems = _header_problems(name, raw.header)
        problems += header_problems
        # Columns outside the contract are reported above and read no further (100,000 of them
        # would otherwise go through every check).
        known = [column for column in raw.frame.columns if column in COLUMNS[name]]
        text[name] = raw.frame if len(known) == len(raw.frame.columns) else raw.frame[known]
        if not any(p.rule.startswith("required column") for p in header_problems):
            full_header.add(name)
            if not raw.problems:
                complete.add(name)

    # The ledger: its own schema, then applied to the raw text before anything else is checked.
    ledger = text.pop("corrections", None)
    applied = empty_ledger()
    cells = pd.DataFrame(columns=["file", "line", "column", "correction_id"])
    if ledger is not None:
        problems += schema.problems_from(schema.file_schema("corrections", ledger, "corrections" in full_header),
                                         ledger, ledger, "corrections.csv")
        if "corrections" in complete:
            result = apply_corrections(text, ledger)
            text, applied, cells = result.tables, result.applied, result.cells
            problems += result.problems

    typed = {}
    for name, frame in text.items():
        # one parse of each file for its checks and its types, dropped before the next file is parsed
        # (10^6 rows: the parses of all files at once would hold about a gigabyte)
        parsed = schema.ParsedText(frame)
        problems += schema.problems_from(schema.file_schema(name, frame, name in full_header, parsed),
                                         frame, frame, f"{name}.csv")
        typed[name] = typed_table(name, frame, parsed)
        del parsed
    cross_ready = {name: typed[name] for name in complete if name in typed}
    ids = schema.id_codes(cross_ready)   # each kind of id hashed once: cross-file checks and warnings
    for name, file_schema in schema.cross_file_schemas(cross_ready, ids).items():
        problems += schema.problems_from(file_schema, cross_ready[name], text[name], f"{name}.csv")

    manifest, manifest_problems = provenance_rules.read_manifest(directory)
    problems += manifest_problems

    if problems:
        raise DataError(sorted(_annotate(problems, cells), key=_order))

    warnings = schema.study_warnings(typed, text, plan, ids)
    del ids
    tables = {name: frame.reset_index(drop=True) for name, frame in typed.items()}
    synthetic = provenance_rules.synthetic_evidence(directory, text.get("patients"), manifest)
    return RawTables(tables=tables, corrections=applied, provenance=provenance, warnings=warnings,
                     synthetic=synthetic)


def _file_kind(path: Path) -> str:
    """'file', 'missing', or what else the name is (a link, a folder, a FIFO...), without following links."""
    import stat

    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"not accessible ({error.strerror})"
    if stat.S_ISREG(mode):
        return "file"
    return {stat.S_IFLNK: "a symbolic link", stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO (named pipe)",
            stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device"}.get(stat.S_IFMT(mode), "not a regular file")
