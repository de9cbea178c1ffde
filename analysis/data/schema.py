"""Validation rules, built from the data contract, checked by pandera where a table breaks one.

Two layers, both run with ``lazy=True`` so every failure is collected:

1. :func:`file_schema` checks one file's raw text cells (every cell a string,
   index = CSV line): required values, codes, ISO dates, numbers and their ranges,
   unique ids, duplicated rows. It is built from ``contract.COLUMNS``/``RANGES``.
2. :func:`cross_file_schemas` checks typed tables against each other: every
   reference resolves (lesion -> patient and session, complication -> session,
   session -> patient), a lesion's patient and modality are its session's, the
   date order (HCC diagnosis <= PO diagnosis <= first ablation = earliest session
   <= progression <= death <= last follow-up; every date <= last follow-up).

:func:`problems_from` turns pandera's failure cases into
:class:`~analysis.data.errors.Problem` objects (file, CSV line, column, raw value,
rule), at most ``MAX_PER_RULE`` per rule plus a count of the rest.

Study criteria that real data may break (more than 4 POs, enrolment outside the
plan's window) are not here: they are warnings (:func:`study_warnings`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data.contract import COLUMNS, RANGES, UNIQUE_ID
from analysis.data.errors import MAX_PER_RULE, Problem

# Rule texts (tests match on them; keep them stable).
REQUIRED = "required value is missing"
NOT_DATE = "not a valid date in ISO format YYYY-MM-DD"
NOT_NUMBER = "not a number"
NOT_CODE = "not one of the allowed codes: {codes} (case-sensitive)"
DUPLICATE_ID = "duplicate id: must be unique"
DUPLICATE_ROW = "duplicated row: identical to an earlier row"
PANDERA_NAMES = {"field_uniqueness": DUPLICATE_ID}


def _pandera():
    """pandera's pandas API, imported when a table breaks a rule (``problems_from``)."""
    try:   # pandera >= 0.24 names its pandas API explicitly; older releases export it at the top
        import pandera.pandas as pa
    except ImportError:  # pragma: no cover
        import pandera as pa
    return pa


# The rules are described here and become pandera objects (``pandera_schema``) only for a table that
# breaks one: importing pandera (with typeguard and its engines' 100 dataclasses) and running its
# validation cost 0.52 G of a 62-patient ``results`` run's 3.59 G instructions (cachegrind), and
# valid data need neither. A table
# passes when every check function returns an all-True boolean Series, each unique column has no
# repeat and every column is present: what pandera's validation requires of these schemas (no
# dtypes, nullable columns, no coercion); anything else (a False, a check that raises, another
# kind of result) hands the table to pandera, which reports it as before.


class Check:
    """A rule: ``fn(column or table) -> boolean Series`` (True = passes) and its message; pandera's
    ``Check(fn, error=error, ignore_na=False)`` when reported."""

    def __init__(self, fn, error: str):
        self._check_fn = fn
        self.error = error

    def to_pandera(self, pa):
        return pa.Check(self._check_fn, error=self.error, ignore_na=False)


class Column:
    """A column's checks (pandera ``Column(checks, unique, nullable=True)``: text cells are never null,
    and nullable spares pandera a null scan per check)."""

    def __init__(self, checks: list[Check], unique: bool = False):
        self.checks = checks
        self.unique = unique

    def to_pandera(self, pa):
        return pa.Column(checks=[c.to_pandera(pa) for c in self.checks], unique=self.unique, nullable=True)


class TableSchema:
    """The rules of one table: its columns' and the whole table's (pandera ``DataFrameSchema``, not strict)."""

    def __init__(self, columns: dict[str, Column], name: str, checks: list[Check] | None = None):
        self.columns = columns
        self.name = name
        self.checks = checks or []

    def to_pandera(self):
        pa = _pandera()
        return pa.DataFrameSchema({name: column.to_pandera(pa) for name, column in self.columns.items()},
                                  strict=False, name=self.name, checks=[c.to_pandera(pa) for c in self.checks])

    def passes(self, frame: pd.DataFrame) -> bool:
        """True when pandera would find nothing (see above); False when it may find something."""
        def holds(check: Check, obj) -> bool:
            try:
                out = check._check_fn(obj)
            except Exception:   # pandera records it, and problems_from reports it as a bug
                return False
            return isinstance(out, pd.Series) and out.dtype == bool and bool(out.all())

        for name, column in self.columns.items():
            if name not in frame.columns:
                return False
            values = frame[name]
            if column.unique and values.duplicated().any():
                return False
            if not all(holds(check, values) for check in column.checks):
                return False
        return all(holds(check, frame) for check in self.checks)


def _range_text(low: float, low_inclusive: bool, high: float | None) -> str:
    text = f"must be {'>=' if low_inclusive else '>'} {low:g}"
    return text + (f" and <= {high:g}" if high is not None else "")


def is_iso_date(values: pd.Series) -> pd.Series:
    """True where ``values`` is a real calendar date written YYYY-MM-DD.

    pandas' ``%Y-%m-%d`` parser also takes unpadded months and days (2017-7-5);
    requiring ten characters on top of a successful parse leaves only the ISO form.
    """
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    return parsed.notna() & (values.str.len() == 10)


def as_number(values: pd.Series) -> pd.Series:
    """Numbers as float; anything else (text, blank, inf, nan) is NaN."""
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.where(np.isfinite(numbers))


class ParsedText:
    """One text table's columns parsed once, for its file checks and for typing it (``load.typed_table``).

    At 10^6 rows every parse costs about a second per column and the blank test a tenth: the
    checks of a column (required, code, date, number, range) and its typed version all read
    the same parse. Parsed lazily, per column, from ``frame`` (raw text, index = CSV line).
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._cache: dict[tuple[str, str], object] = {}

    def _memo(self, what: str, column: str, parse):
        key = (what, column)
        if key not in self._cache:
            self._cache[key] = parse(self.frame[column])
        return self._cache[key]

    def _distinct(self, column: str) -> tuple[np.ndarray, pd.Series]:
        """(code of each cell, the column's distinct values): a coded, date or number column holds a
        few thousand distinct texts repeated 10^6 times, so each parse runs on the distinct values
        once and is spread to the cells by their codes (the same values: every parse is elementwise)."""
        def factorize(s: pd.Series):
            codes, distinct = pd.factorize(s.to_numpy(dtype=object))
            # a coded column has a few thousand distinct values: 4-byte codes halve what the parse holds
            return codes.astype(np.int32) if len(distinct) < 2**31 else codes, pd.Series(distinct, dtype=object)
        return self._memo("distinct", column, factorize)

    def _spread(self, column: str, parse) -> pd.Series:
        """``parse`` (elementwise, Series -> Series) of the column, computed on its distinct values."""
        codes, distinct = self._distinct(column)
        values = parse(distinct).to_numpy()
        return pd.Series(values.take(codes), index=self.frame.index, name=column)

    def blank(self, column: str) -> np.ndarray:
        """True where the cell is empty."""
        return self._memo("blank", column, lambda s: s.to_numpy(dtype=object) == "")

    def in_codes(self, column: str, allowed: list[str]) -> np.ndarray:
        """True where the cell is one of ``allowed`` (the column's codes as text)."""
        return self._memo("codes", column,
                          lambda s: self._spread(column, lambda d: d.isin(allowed)).to_numpy(dtype=bool))

    def numbers(self, column: str) -> pd.Series:
        """:func:`as_number` of the column."""
        return self._memo("numbers", column, lambda s: self._spread(column, as_number))

    def dates(self, column: str) -> pd.Series:
        """The column parsed with ``%Y-%m-%d`` (pandas also takes 2017-7-5; blank and invalid: NaT)."""
        return self._memo("dates", column, lambda s: self._spread(
            column, lambda d: pd.to_datetime(d, format="%Y-%m-%d", errors="coerce")))

    def iso_dates(self, column: str) -> np.ndarray:
        """:func:`is_iso_date` of the column, from the one parse."""
        def iso(s: pd.Series) -> np.ndarray:
            lengths = self._spread(column, lambda d: d.str.len()).to_numpy()
            return self.dates(column).notna().to_numpy() & (lengths == 10)
        return self._memo("iso", column, iso)

    def mask(self, column: str, s: pd.Series, values) -> pd.Series:
        """``values`` (computed from the whole column) as the check result for ``s``; a check called on
        anything but the column this was parsed from gets None (the caller then computes from ``s``)."""
        frame_column = self.frame[column] if column in self.frame.columns else None
        if frame_column is None or len(s) != len(frame_column) or not s.index.equals(frame_column.index):
            return None
        return pd.Series(values, index=s.index)


def column_checks(kind: str, codes: tuple | None, required: bool,
                  bounds: tuple[float, bool, float | None] | None,
                  column: str | None = None, parsed: ParsedText | None = None) -> list[Check]:
    """The checks for one text column of the contract (blank cells pass all but 'required').

    With ``parsed`` (the table the column belongs to), the checks read its one parse of ``column``.
    ``ignore_na=False``: text cells are never null ("" is a blank), and pandera would otherwise scan
    the column for nulls before every check.
    """
    def shared(fresh, from_parsed):
        """A check function: the shared parse when it is of this very column, else ``fresh(s)``."""
        if parsed is None or column is None:
            return fresh

        def check(s: pd.Series) -> pd.Series:
            result = parsed.mask(column, s, from_parsed()) if column in parsed.frame.columns else None
            return fresh(s) if result is None else result
        return check

    def blank():
        return parsed.blank(column)

    checks = []
    if required:
        checks.append(Check(shared(lambda s: s != "", lambda: ~blank()), error=REQUIRED))
    if codes is not None:
        allowed = [str(code) for code in codes]
        checks.append(Check(
            shared(lambda s: (s == "") | s.isin(allowed),
                   lambda: blank() | parsed.in_codes(column, allowed)),
            error=NOT_CODE.format(codes=", ".join(allowed))))
    elif kind == "date":
        checks.append(Check(shared(lambda s: (s == "") | is_iso_date(s),
                                   lambda: blank() | parsed.iso_dates(column)),
                            error=NOT_DATE))
    elif kind in ("float", "int"):
        checks.append(Check(shared(lambda s: (s == "") | as_number(s).notna(),
                                   lambda: blank() | parsed.numbers(column).notna().to_numpy()),
                            error=NOT_NUMBER))
    if bounds is not None:
        low, low_inclusive, high = bounds

        def ok_numbers(x: pd.Series) -> pd.Series:
            ok = (x >= low) if low_inclusive else (x > low)
            if high is not None:
                ok &= x <= high
            return ok | x.isna()   # blanks and non-numbers are reported by the other checks

        # (not named ``in_range``: pandera dispatches a check function named like one
        # of its built-in checks to the built-in, which then fails to run)
        def within_bounds(s: pd.Series) -> pd.Series:
            return ok_numbers(as_number(s))

        checks.append(Check(shared(within_bounds, lambda: ok_numbers(parsed.numbers(column)).to_numpy()),
                            error=_range_text(low, low_inclusive, high)))
    return checks


def file_schema(name: str, frame: pd.DataFrame, complete: bool = True,
                parsed: ParsedText | None = None) -> TableSchema:
    """Schema for the raw text of contract file ``name`` (only the contract columns present).

    ``complete``: the header has every contract column; otherwise rows are not
    compared for duplicates (they do not hold the whole record). ``parsed``: the one
    parse of ``frame`` the checks share (made here when not given).
    """
    parsed = parsed if parsed is not None and parsed.frame is frame else ParsedText(frame)
    columns = {}
    for column, (kind, codes, required) in COLUMNS[name].items():
        if column not in frame.columns:
            continue
        checks = column_checks(kind, codes, required, RANGES.get(name, {}).get(column), column, parsed)
        columns[column] = Column(checks, unique=UNIQUE_ID.get(name) == column)
    if name == "screening" and {"included", "patient_id", "exclusion_reason"} <= set(frame.columns):
        included = frame["included"]
        columns["patient_id"].checks.append(Check(
            lambda s: (s != "") | (included != "yes"), error="an included patient needs a patient_id"))
        columns["patient_id"].checks.append(Check(
            lambda s: (s == "") | ~s.duplicated(keep=False),
            error="patient_id listed more than once in screening.csv"))
        columns["exclusion_reason"].checks.append(Check(
            lambda s: (s != "") | (included != "no"), error="an excluded patient needs an exclusion_reason"))
    key = next((c for c, (kind, _, _) in COLUMNS[name].items() if kind == "id" and c in frame.columns), None)
    # ignore_na=False: text cells are never null, and pandera would scan the whole table for them
    checks = [Check(lambda d: ~duplicated_rows(d, key), error=DUPLICATE_ROW)] if complete else []
    return TableSchema(columns, name=name, checks=checks)


def duplicated_rows(frame: pd.DataFrame, key: str | None) -> pd.Series:
    """``frame.duplicated(keep="first")``, comparing whole rows only where the ``key`` column repeats.

    Identical rows agree on every column, so only rows whose key value occurs more than once can
    be duplicates: one pass over the key instead of factorizing every column (10^6 rows: seconds).
    """
    if key is None or key not in frame.columns:
        return frame.duplicated(keep="first")
    out = np.zeros(len(frame), dtype=bool)
    if frame[key].is_unique:   # valid data: one pass that finds no repeat (cheaper than marking repeats)
        return pd.Series(out, index=frame.index)
    candidates = frame[key].duplicated(keep=False).to_numpy()
    if candidates.any():
        out[candidates] = frame[candidates].duplicated(keep="first").to_numpy()
    return pd.Series(out, index=frame.index)


class IdCodes:
    """The ids of one kind (patient or session) in several tables, hashed once into integer codes.

    ``pd.factorize(..., use_na_sentinel=False)`` over all the tables' columns together: equal ids
    get one code, and a missing id is a code of its own, as pandas' ``isin``, ``map`` and
    ``drop_duplicates`` treat NaN (equal to NaN). ``codes[name]``: the code of each row of table ``name``.
    """

    def __init__(self, columns: dict[str, pd.Series], frames: dict[str, pd.DataFrame] | None = None):
        self.frames = frames or {}   # the tables the columns are of (to know when codes can be reused)
        arrays = [column.to_numpy(dtype=object) for column in columns.values()]
        codes, distinct = pd.factorize(np.concatenate(arrays) if arrays else np.empty(0, dtype=object),
                                       use_na_sentinel=False)
        self.size = len(distinct)
        self.missing = np.flatnonzero(pd.isna(distinct))   # the code of a missing id (if any)
        bounds = np.cumsum([0] + [len(a) for a in arrays])
        self.codes = {name: codes[bounds[i]:bounds[i + 1]] for i, name in enumerate(columns)}

    def of(self, tables: dict[str, pd.DataFrame | None]) -> bool:
        """True when these codes were made from exactly these tables (the same objects)."""
        return all(name in self.frames and self.frames[name] is frame for name, frame in tables.items())

    def isin(self, name: str, other: str) -> np.ndarray:
        """``typed[name][col].isin(typed[other][col])``."""
        table = np.zeros(self.size, dtype=bool)
        table[self.codes[other]] = True
        return table[self.codes[name]]

    def first_rows(self, name: str) -> np.ndarray:
        """Per code, the position of the first row of ``name`` holding it (-1: none)."""
        rows = np.full(self.size, -1, dtype=np.intp)
        distinct, first = np.unique(self.codes[name], return_index=True)
        rows[distinct] = first
        return rows

    def first_values(self, name: str, values: pd.Series):
        """``lookup(other, index)``: ``typed[other][col].map(<values of name's first row of each id>)``."""
        rows = self.first_rows(name)
        by_code = values.reset_index(drop=True)

        def lookup(other: str, index: pd.Index) -> pd.Series:
            return by_code.reindex(rows.take(self.codes[other])).set_axis(index)
        return lookup

    def group_min(self, name: str, values: pd.Series, other: str, index: pd.Index) -> pd.Series:
        """``typed[other][col].map(values.groupby(typed[name][col]).min())`` (missing ids form no group)."""
        codes = self.codes[name]
        grouped = ~np.isin(codes, self.missing)
        minimum = pd.Series(values.to_numpy()[grouped]).groupby(codes[grouped]).min()
        return minimum.reindex(self.codes[other]).set_axis(index)


PATIENT_ID_TABLES = ("patients", "sessions", "lesions", "screening")
SESSION_ID_TABLES = ("sessions", "lesions", "complications")


def id_codes(typed: dict[str, pd.DataFrame]) -> tuple[IdCodes, IdCodes]:
    """(patient ids, session ids) of the typed tables, each kind hashed once across them."""
    def of(column: str, names: tuple[str, ...]) -> IdCodes:
        frames = {name: typed[name] for name in names if name in typed}
        return IdCodes({name: frame[column] for name, frame in frames.items()}, frames)
    return of("patient_id", PATIENT_ID_TABLES), of("session_id", SESSION_ID_TABLES)


def cross_file_schemas(typed: dict[str, pd.DataFrame],
                       ids: tuple[IdCodes, IdCodes] | None = None) -> dict[str, TableSchema]:
    """Schemas for the typed tables that look across files (references, agreement, date order).

    ``typed`` maps file name to its typed table (index = CSV line; a value that failed
    its file check is missing here, so it is not reported twice). Checks on a missing
    date pass: a blank optional date has no order to break.
    """
    p, lesions, sessions, c = (typed.get(n) for n in ("patients", "lesions", "sessions", "complications"))
    screening = typed.get("screening")
    out: dict[str, dict[str, list[Check]]] = {}

    def add(file: str, column: str, check: Check) -> None:
        out.setdefault(file, {}).setdefault(column, []).append(check)

    def rule(fn, error: str) -> Check:
        # ignore_na=False: pandera would otherwise drop the missing values from the
        # checked column before the call, misaligning it with the other columns the
        # rule reads (every rule here is written to pass on a missing date itself)
        return Check(fn, error=error)

    def not_before(later: pd.Series, earlier: pd.Series) -> pd.Series:
        return ~(later < earlier)   # NaT on either side compares False: passes

    if p is not None:
        order = [("po_diagnosis_date", "hcc_diagnosis_date"), ("first_ablation_date", "po_diagnosis_date"),
                 ("progression_date", "first_ablation_date"), ("death_date", "first_ablation_date"),
                 ("death_date", "progression_date"), ("last_followup_date", "first_ablation_date"),
                 ("last_followup_date", "progression_date"), ("last_followup_date", "death_date")]
        for later, earlier in order:
            add("patients", later, rule(
                lambda x, e=earlier: not_before(x, p[e]),
                error=f"date order: {later} is before {earlier}"))

    # the ids of each kind hashed once across the tables (10^6 patients: a dozen isin/map/groupby passes
    # over text ids become lookups of integer codes)
    patient_ids, session_ids = ids if ids is not None else id_codes(typed)

    def found(name: str, column: str, codes: IdCodes, table: str, fallback) -> Check:
        """``x.isin(typed[table][column])`` for ``x`` = ``typed[name][column]``, from the codes."""
        index = typed[name].index
        mask = codes.isin(name, table)
        return lambda x: pd.Series(mask, index=index) if x.index.equals(index) else fallback(x)

    if p is not None:
        # p.drop_duplicates("patient_id").set_index("patient_id")["last_followup_date"], as a lookup by code
        last_followup = patient_ids.first_values("patients", p["last_followup_date"])

    if p is not None and sessions is not None:
        # sessions.groupby("patient_id")["session_date"].min() (a missing id is no group), mapped to patients
        earliest = patient_ids.group_min("sessions", sessions["session_date"], "patients", p.index)
        add("patients", "first_ablation_date", rule(
            lambda x: earliest.isna() | x.isna() | (x == earliest),   # no session: reported below
            error="first_ablation_date differs from the patient's earliest session_date in sessions.csv"))
        add("patients", "patient_id", rule(
            found("patients", "patient_id", patient_ids, "sessions", lambda x: x.isin(sessions["patient_id"])),
            error="patient has no session in sessions.csv"))
        add("sessions", "patient_id", rule(
            found("sessions", "patient_id", patient_ids, "patients", lambda x: x.isin(p["patient_id"])),
            error="patient_id not found in patients.csv"))
        session_last_fu = last_followup("sessions", sessions.index)
        add("sessions", "session_date", rule(
            lambda x: not_before(session_last_fu, x),
            error="date order: session_date is after the patient's last_followup_date"))

    if p is not None and lesions is not None:
        add("patients", "patient_id", rule(
            found("patients", "patient_id", patient_ids, "lesions", lambda x: x.isin(lesions["patient_id"])),
            error="patient has no lesion in lesions.csv"))
        add("lesions", "patient_id", rule(
            found("lesions", "patient_id", patient_ids, "patients", lambda x: x.isin(p["patient_id"])),
            error="patient_id not found in patients.csv"))
        lesion_last_fu = last_followup("lesions", lesions.index)
        add("lesions", "local_progression_date", rule(
            lambda x: not_before(lesion_last_fu, x),
            error="date order: local_progression_date is after the patient's last_followup_date"))

    if lesions is not None and sessions is not None:
        # each lesion's session row (the first with its session_id, as drop_duplicates keeps), or -1
        lesion_session = session_ids.first_rows("sessions").take(session_ids.codes["lesions"])
        session_found = pd.Series(lesion_session >= 0, index=lesions.index)

        def of_session(column: str) -> pd.Series:
            """``lesions["session_id"].map(by_session[column])``, from the one lookup."""
            values = sessions[column].reset_index(drop=True).reindex(lesion_session)
            values.index = lesions.index
            return values

        add("lesions", "session_id", rule(
            lambda x: session_found if x.index.equals(session_found.index) else x.isin(sessions["session_id"]),
            error="session_id not found in sessions.csv"))
        session_patient = of_session("patient_id")
        add("lesions", "patient_id", rule(
            lambda x: session_patient.isna() | (x == session_patient),
            error="patient_id differs from its session's patient_id in sessions.csv"))
        session_modality = of_session("modality")
        add("lesions", "modality", rule(
            lambda x: session_modality.isna() | x.isna() | (x == session_modality),
            error="modality differs from its session's modality in sessions.csv"))
        session_date = of_session("session_date")
        add("lesions", "local_progression_date", rule(
            lambda x: not_before(x, session_date),
            error="date order: local_progression_date is before its session_date"))

    if c is not None and sessions is not None:
        add("complications", "session_id", rule(
            found("complications", "session_id", session_ids, "sessions", lambda x: x.isin(sessions["session_id"])),
            error="session_id not found in sessions.csv"))

    if screening is not None and p is not None:
        included = screening["included"] == "yes"
        add("screening", "patient_id", rule(
            lambda x, known=found("screening", "patient_id", patient_ids, "patients",
                                  lambda x: x.isin(p["patient_id"])): ~included | x.isna() | (x == "") | known(x),
            error="included patient's patient_id not found in patients.csv"))

    return {file: TableSchema({col: Column(checks) for col, checks in columns.items()}, name=file)
            for file, columns in out.items()}


def problems_from(schema: TableSchema, checked: pd.DataFrame, raw: pd.DataFrame,
                  filename: str) -> list[Problem]:
    """Run ``schema`` on ``checked`` (index = CSV line) and return its failures as Problems.

    Values are quoted from ``raw`` (the text as read, after corrections), so a
    problem shows exactly what is in the file. At most MAX_PER_RULE problems per
    (column, rule), then one summary problem counting the rest.
    """
    if schema.passes(checked):   # valid data: no pandera (see TableSchema)
        return []
    from pandera.errors import SchemaErrors

    try:
        # inplace on a shallow copy: no copy of the data (the schemas coerce nothing, so nothing is
        # written), and pandera's registry ties the schema, whose checks hold the parses, to that copy
        # only (it lets go when the copy does; on ``checked``, kept for the analysis, it would not)
        schema.to_pandera().validate(checked.copy(deep=False), lazy=True, inplace=True)
        return []
    except SchemaErrors as error:
        cases = error.failure_cases
    broken = cases[cases["index"].isna()]
    if not broken.empty:   # a rule that raised (pandera records it without a row): a bug, never hide it
        first = broken.iloc[0]
        raise RuntimeError(f"validation rule {first['check']!r} on {filename} column {first['column']!r} "
                           f"could not run: {first['failure_case']}")
    cases = cases.copy()
    cases["rule"] = cases["check"].astype(str).replace(PANDERA_NAMES)
    frame_level = cases["schema_context"] == "DataFrameSchema"
    cases.loc[frame_level, "column"] = None
    cases = cases.drop_duplicates(["column", "rule", "index"])
    cases["line"] = cases["index"].astype(int)
    cases = cases.sort_values(["line"], kind="stable")
    groups = cases.groupby(["column", "rule"], dropna=False, sort=False)
    shown = groups.head(MAX_PER_RULE)
    counts = groups.size()

    problems = []
    for row in shown.itertuples(index=False):   # bounded: MAX_PER_RULE per rule
        column = row.column if isinstance(row.column, str) else None
        if column is None:
            value = ",".join(raw.loc[row.line].astype(str))[:80]
        else:
            value = str(raw.at[row.line, column]) if column in raw.columns else str(row.failure_case)
        problems.append(Problem(filename, row.line, column, value, row.rule))
    for (column, rule), n in counts.items():
        if n > MAX_PER_RULE:
            problems.append(Problem(filename, None, column if isinstance(column, str) else None,
                                    None, rule, more=int(n - MAX_PER_RULE)))
    return problems


def capped_messages(filename: str, frame: pd.DataFrame, mask: pd.Series, column: str,
                    text: str, values: pd.Series | None = None) -> list[str]:
    """Human-readable lines for rows where ``mask`` holds (first MAX_PER_RULE, then a count)."""
    hits = frame.index[mask.to_numpy()]
    shown = values if values is not None else frame[column].astype(str)
    lines = [f"{filename}:{line} column '{column}' value {str(shown.loc[line])!r}: {text}"
             for line in hits[:MAX_PER_RULE]]
    if len(hits) > MAX_PER_RULE:
        lines.append(f"{filename} column '{column}': ... and {len(hits) - MAX_PER_RULE} more line(s): {text}")
    return lines


def study_warnings(typed: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame], plan,
                   ids: tuple[IdCodes, IdCodes] | None = None) -> list[str]:
    """Study criteria that valid data may break: reported, not refused.

    ``ids``: the id codes the cross-file checks made (``id_codes``); used where they are of these tables.
    """
    warnings: list[str] = []
    patients, lesions = typed.get("patients"), typed.get("lesions")
    sessions, screening = typed.get("sessions"), typed.get("screening")
    study = plan["study"]
    if patients is not None and lesions is not None:
        limit = study["criteria"]["max_pos_per_patient"]
        patient_ids = ids[0] if ids is not None else None
        if patient_ids is not None and patient_ids.of({"patients": patients, "lesions": lesions}):
            # lesions.groupby("patient_id").size() mapped to the patients (0 without one), from the codes
            per_id = np.bincount(patient_ids.codes["lesions"], minlength=patient_ids.size)
            per_id[patient_ids.missing] = 0   # a missing id is no group
            n_pos = pd.Series(per_id[patient_ids.codes["patients"]], index=patients.index)
        else:
            n_pos = patients["patient_id"].map(lesions.groupby("patient_id", sort=False).size()).fillna(0).astype(int)
        warnings += capped_messages(
            "patients.csv", patients, n_pos > limit, "patient_id",
            f"more than {limit} POs in lesions.csv (study criterion: at most {limit}; warning)")
    if patients is not None and study.get("enrolment"):
        start, end = (pd.Timestamp(str(d)) for d in study["enrolment"])
        first = patients["first_ablation_date"]
        outside = (first < start) | (first > end)
        warnings += capped_messages(
            "patients.csv", patients, outside, "first_ablation_date",
            f"first ablation outside the study's enrolment window {start.date()} to {end.date()} (warning)",
            values=raw["patients"]["first_ablation_date"])
    if sessions is not None and lesions is not None:
        warnings += capped_messages(
            "sessions.csv", sessions,
            pd.Series(~ids[1].isin("sessions", "lesions"), index=sessions.index)
            if ids is not None and ids[1].of({"sessions": sessions, "lesions": lesions})
            else ~sessions["session_id"].isin(lesions["session_id"]),
            "session_id",
            "session has no lesion in lesions.csv (warning)")
    if screening is not None and patients is not None:
        included = screening.loc[screening["included"] == "yes", "patient_id"]
        warnings += capped_messages(
            "patients.csv", patients, ~patients["patient_id"].isin(included), "patient_id",
            "patient not listed as included in screening.csv (warning: the flow diagram will not add up)")
    return warnings + plausibility_warnings(typed, raw, plan)


def plausibility_warnings(typed: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame], plan) -> list[str]:
    """Values the contract allows but the plan's ``plausibility`` limits call absurd (a diameter in mm,
    an AFP of 1e300, a diagnosis in 1900, a follow-up in 2099): warnings naming file, line, column, value."""
    limits = plan.raw.get("plausibility") or {}
    warnings: list[str] = []
    for key, (low, high) in (limits.get("ranges") or {}).items():
        name, _, column = key.partition(".")
        frame = typed.get(name)
        if frame is None or column not in frame.columns:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        warnings += capped_messages(
            f"{name}.csv", frame, (values < low) | (values > high), column,
            f"implausible: outside the plan's plausibility limits {low:g} to {high:g} "
            "(a unit error? warning)", values=raw[name][column])
    window = limits.get("dates")
    if window:
        start, end = (pd.Timestamp(str(d)) for d in window)
        for name, frame in typed.items():
            if name == "corrections":
                continue
            for column in (c for c, spec in COLUMNS.get(name, {}).items() if spec[0] == "date" and c in frame.columns):
                dates = frame[column]
                warnings += capped_messages(
                    f"{name}.csv", frame, (dates < start) | (dates > end), column,
                    f"implausible date: outside the plan's plausibility window {start.date()} to {end.date()} "
                    "(warning)", values=raw[name][column])
    return warnings
