"""Every validation rule: a file that breaks it -> exit 2, a message naming file, line, column and rule.

Each case copies the valid example dataset, breaks one thing, runs
``python -m analysis validate`` in-process and looks for one message line that
names the file and CSV line (``file:line``), the column and the rule.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"
ROOT = Path(__file__).resolve().parents[1]
LEDGER_HEADER = "correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"


# --- editing a copy of the example data (test code: loops are fine here) ---------------------

def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def set_cell(d: Path, file: str, line: int, column: str, value: str) -> None:
    """Set the cell at CSV ``line`` (header = 1) and ``column`` of ``file``."""
    rows = read_rows(d / file)
    rows[line - 1][rows[0].index(column)] = value
    write_rows(d / file, rows)


def cell(d: Path, file: str, line: int, column: str) -> str:
    rows = read_rows(d / file)
    return rows[line - 1][rows[0].index(column)]


def drop_rows(d: Path, file: str, column: str, values: set[str]) -> None:
    rows = read_rows(d / file)
    i = rows[0].index(column)
    write_rows(d / file, [rows[0]] + [r for r in rows[1:] if r[i] not in values])


def append_line(d: Path, file: str, text: str) -> None:
    with open(d / file, "a", encoding="utf-8", newline="") as handle:
        handle.write(text + "\n")


def write_ledger(d: Path, *rows: str) -> None:
    (d / "corrections.csv").write_text(LEDGER_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(EXAMPLE, target)
    return target


def validate(d: Path, capsys) -> tuple[int, str, str]:
    code = main(["validate", "--data", str(d)])
    out, err = capsys.readouterr()
    return code, out, err


def message_lines(err: str, file: str, line: int | None, column: str | None, rule: str) -> list[str]:
    hits = []
    for text in err.splitlines():
        if rule not in text:
            continue
        if line is not None and f"{file}:{line} " not in text and f"{file}:{line}:" not in text:
            continue
        if line is None and file not in text:
            continue
        if column is not None and f"column '{column}'" not in text:
            continue
        hits.append(text)
    return hits


# --- the rules -----------------------------------------------------------------------------------
# (id, edit(d), file, line, column, rule text)

P, L, S, C = "patients.csv", "lesions.csv", "sessions.csv", "complications.csv"

CASES = [
    # file structure
    ("missing required file", lambda d: (d / L).unlink(), L, None, None, "required file is missing"),
    ("empty file", lambda d: (d / S).write_bytes(b""), S, None, None, "file is empty"),
    ("no patients", lambda d: write_rows(d / P, read_rows(d / P)[:1]), P, None, None,
     "header but no data rows"),
    ("UTF-16 without byte-order mark", lambda d: (d / L).write_bytes((d / L).read_text(encoding="utf-8").encode("utf-16-le")),
     L, 1, None, "NUL bytes"),
    ("empty column name", lambda d: write_rows(d / C, [r + ([""] if i == 0 else ["x"]) for i, r in enumerate(read_rows(d / C))]),
     C, 1, None, "header has an empty column name"),
    ("missing column", lambda d: write_rows(d / C, [r[:-1] for r in read_rows(d / C)]),
     C, 1, "treatment", "required column is missing from the header"),
    ("unknown column", lambda d: write_rows(d / S, [r + (["x"] if i else ["Anesthesia2"])
                                                    for i, r in enumerate(read_rows(d / S))]),
     S, 1, "Anesthesia2", "column is not in the data contract"),
    ("duplicated header name", lambda d: write_rows(d / C, [r + [r[-1]] for r in read_rows(d / C)]),
     C, 1, "treatment", "column name appears more than once"),
    ("truncated row", lambda d: (d / P).write_bytes((d / P).read_bytes()[:-40]),
     P, 21, None, "row has"),
    ("row with an extra field", lambda d: (d / S).write_bytes((d / S).read_bytes().replace(
        b"P002-S2,P002,2017-03-06,MWA,general", b"P002-S2,P002,2017-03-06,MWA,general,extra")),
     S, 4, None, "row has 6 fields, the header has 5"),
    ("unterminated quote", lambda d: (d / L).write_bytes((d / L).read_bytes() + b'X9,"P001,unclosed\n'),
     L, 44, None, "unterminated quoted field"),
    ("latin-1 byte", lambda d: (d / C).write_bytes((d / C).read_bytes().replace(b"chest tube", "drain pos\xe9".encode("latin-1"), 1)),
     C, 2, None, "not valid UTF-8"),
    ("UTF-16 file", lambda d: (d / S).write_bytes((d / S).read_text(encoding="utf-8").encode("utf-16")),
     S, 1, None, "UTF-16"),
    # values of one file
    ("blank required cell", lambda d: set_cell(d, P, 3, "sex", ""), P, 3, "sex", "required value is missing"),
    ("unknown code", lambda d: set_cell(d, P, 4, "sex", "m"), P, 4, "sex", "not one of the allowed codes: M, F"),
    ("code of a lesion", lambda d: set_cell(d, L, 5, "lobe", "RLM"), L, 5, "lobe", "not one of the allowed codes"),
    ("ecog out of codes", lambda d: set_cell(d, P, 2, "ecog", "5"), P, 2, "ecog", "not one of the allowed codes: 0, 1, 2, 3, 4"),
    ("sir class", lambda d: set_cell(d, C, 3, "sir_class", "G"), C, 3, "sir_class", "not one of the allowed codes: A, B"),
    ("yes/no code", lambda d: set_cell(d, L, 2, "complete_ablation", "Yes"), L, 2, "complete_ablation", "allowed codes: yes, no"),
    ("impossible date", lambda d: set_cell(d, P, 5, "progression_date", "2013-02-30"), P, 5, "progression_date", "not a valid date"),
    ("non-ISO date", lambda d: set_cell(d, S, 3, "session_date", "04/02/2017"), S, 3, "session_date", "not a valid date"),
    ("not a number", lambda d: set_cell(d, P, 6, "age", "sixty"), P, 6, "age", "not a number"),
    ("decimal comma", lambda d: set_cell(d, L, 3, "diameter_cm", "2,5"), L, 3, "diameter_cm", "not a number"),
    ("infinite number", lambda d: set_cell(d, P, 6, "afp_ng_ml", "inf"), P, 6, "afp_ng_ml", "not a number"),
    ("negative age", lambda d: set_cell(d, P, 7, "age", "-1"), P, 7, "age", "must be >= 0 and <= 120"),
    ("age too high", lambda d: set_cell(d, P, 7, "age", "130"), P, 7, "age", "must be >= 0 and <= 120"),
    ("negative AFP", lambda d: set_cell(d, P, 8, "afp_ng_ml", "-3"), P, 8, "afp_ng_ml", "must be >= 0"),
    ("zero diameter", lambda d: set_cell(d, L, 6, "diameter_cm", "0"), L, 6, "diameter_cm", "must be > 0"),
    ("duplicate patient id", lambda d: set_cell(d, P, 3, "patient_id", "P001"), P, 3, "patient_id", "duplicate id: must be unique"),
    ("duplicate lesion id", lambda d: set_cell(d, L, 3, "lesion_id", "P001-S1-L1"), L, 3, "lesion_id", "duplicate id"),
    ("duplicate session id", lambda d: append_line(d, S, "P001-S1,P001,2017-07-26,RFA,general"), S, 32, "session_id", "duplicate id"),
    ("duplicate screening id", lambda d: set_cell(d, "screening.csv", 5, "screening_id", "S001"),
     "screening.csv", 5, "screening_id", "duplicate id"),
    ("screening: patient listed twice", lambda d: set_cell(d, "screening.csv", 22, "patient_id", "P001"),
     "screening.csv", 22, "patient_id", "listed more than once"),
    ("duplicated row", lambda d: append_line(d, C, "P003-S1,pneumothorax,B,"), C, 11, None, "duplicated row"),
    ("screening: included without patient", lambda d: set_cell(d, "screening.csv", 2, "patient_id", ""),
     "screening.csv", 2, "patient_id", "an included patient needs a patient_id"),
    ("screening: excluded without reason", lambda d: set_cell(d, "screening.csv", 22, "exclusion_reason", ""),
     "screening.csv", 22, "exclusion_reason", "an excluded patient needs an exclusion_reason"),
    ("screening: unknown patient", lambda d: set_cell(d, "screening.csv", 3, "patient_id", "P999"),
     "screening.csv", 3, "patient_id", "not found in patients.csv"),
    # references across files
    ("lesion -> patient", lambda d: set_cell(d, L, 2, "patient_id", "P999"), L, 2, "patient_id", "patient_id not found in patients.csv"),
    ("lesion -> session", lambda d: set_cell(d, L, 3, "session_id", "P001-S9"), L, 3, "session_id", "session_id not found in sessions.csv"),
    ("complication -> session", lambda d: set_cell(d, C, 2, "session_id", "P404-S1"), C, 2, "session_id", "session_id not found in sessions.csv"),
    ("session -> patient", lambda d: set_cell(d, S, 5, "patient_id", "P999"), S, 5, "patient_id", "patient_id not found in patients.csv"),
    ("lesion's patient is its session's", lambda d: set_cell(d, L, 2, "patient_id", "P002"),
     L, 2, "patient_id", "differs from its session's patient_id"),
    ("lesion's modality is its session's", lambda d: set_cell(d, L, 2, "modality", "MWA"),
     L, 2, "modality", "modality differs from its session's modality"),
    ("patient without session or lesion", lambda d: (drop_rows(d, S, "patient_id", {"P003"}),
                                                    drop_rows(d, L, "patient_id", {"P003"}),
                                                    drop_rows(d, C, "session_id", {"P003-S1"})),
     P, 4, "patient_id", "patient has no session in sessions.csv"),
    ("patient without lesion", lambda d: drop_rows(d, L, "patient_id", {"P003"}),
     P, 4, "patient_id", "patient has no lesion in lesions.csv"),
    # date order (patient P001 on line 2: HCC 2015-11-18, PO 2017-06-13, ablation 2017-07-26,
    # progression 2018-12-18, death = last follow-up 2021-05-02)
    ("PO before HCC", lambda d: set_cell(d, P, 2, "po_diagnosis_date", "2015-01-01"),
     P, 2, "po_diagnosis_date", "date order: po_diagnosis_date is before hcc_diagnosis_date"),
    ("ablation before PO", lambda d: set_cell(d, P, 2, "po_diagnosis_date", "2017-08-01"),
     P, 2, "first_ablation_date", "date order: first_ablation_date is before po_diagnosis_date"),
    ("first ablation is not the earliest session", lambda d: set_cell(d, P, 2, "first_ablation_date", "2017-07-20"),
     P, 2, "first_ablation_date", "differs from the patient's earliest session_date"),
    ("progression before ablation", lambda d: set_cell(d, P, 2, "progression_date", "2017-07-01"),
     P, 2, "progression_date", "date order: progression_date is before first_ablation_date"),
    ("death before ablation", lambda d: set_cell(d, P, 2, "death_date", "2017-07-01"),
     P, 2, "death_date", "date order: death_date is before first_ablation_date"),
    ("death before progression", lambda d: set_cell(d, P, 2, "death_date", "2018-01-01"),
     P, 2, "death_date", "date order: death_date is before progression_date"),
    ("follow-up before death", lambda d: set_cell(d, P, 2, "last_followup_date", "2021-05-01"),
     P, 2, "last_followup_date", "date order: last_followup_date is before death_date"),
    ("follow-up before progression", lambda d: set_cell(d, P, 4, "last_followup_date", "2013-01-01"),
     P, 4, "last_followup_date", "date order: last_followup_date is before progression_date"),
    ("follow-up before ablation", lambda d: set_cell(d, P, 4, "last_followup_date", "2012-10-01"),
     P, 4, "last_followup_date", "date order: last_followup_date is before first_ablation_date"),
    ("session after follow-up", lambda d: set_cell(d, S, 4, "session_date", "2018-02-01"),
     S, 4, "session_date", "session_date is after the patient's last_followup_date"),
    ("local progression before its session", lambda d: set_cell(d, L, 2, "local_progression_date", "2017-07-01"),
     L, 2, "local_progression_date", "local_progression_date is before its session_date"),
    ("local progression after follow-up", lambda d: set_cell(d, L, 2, "local_progression_date", "2022-01-01"),
     L, 2, "local_progression_date", "after the patient's last_followup_date"),
    # the corrections ledger
    ("ledger: unknown file", lambda d: write_ledger(d, "C1,patient.csv,P001,sex,M,F,typo,2026-11-20,JD"),
     "corrections.csv", 2, "file", "unknown file"),
    ("ledger: file not in the directory", lambda d: ((d / "screening.csv").unlink(),
                                                     write_ledger(d, "C1,screening.csv,S001,included,yes,no,x,2026-11-20,JD")),
     "corrections.csv", 2, "file", "not in the data directory"),
    ("ledger: unknown record", lambda d: write_ledger(d, "C1,patients.csv,P404,sex,M,F,x,2026-11-20,JD"),
     "corrections.csv", 2, "record_id", "unknown record_id"),
    ("ledger: unknown column", lambda d: write_ledger(d, "C1,patients.csv,P001,gender,M,F,x,2026-11-20,JD"),
     "corrections.csv", 2, "column", "unknown column"),
    ("ledger: id column", lambda d: write_ledger(d, "C1,lesions.csv,P001-S1-L1,lesion_id,P001-S1-L1,P001-S1-L9,x,2026-11-20,JD"),
     "corrections.csv", 2, "column", "the id column cannot be corrected"),
    ("ledger: stale old_value", lambda d: write_ledger(d, "C1,patients.csv,P001,sex,F,M,x,2026-11-20,JD"),
     "corrections.csv", 2, "old_value", "stale correction"),
    ("ledger: duplicate correction_id", lambda d: write_ledger(d, "C1,patients.csv,P001,age,51.1,52,x,2026-11-20,JD",
                                                              "C1,patients.csv,P002,age,55.2,56,x,2026-11-20,JD"),
     "corrections.csv", 3, "correction_id", "duplicate id"),
    ("ledger: missing reason", lambda d: write_ledger(d, "C1,patients.csv,P001,age,51.1,52,,2026-11-20,JD"),
     "corrections.csv", 2, "reason", "required value is missing"),
    ("ledger: corrected_on not a date", lambda d: write_ledger(d, "C1,patients.csv,P001,age,51.1,52,x,20/11/2026,JD"),
     "corrections.csv", 2, "corrected_on", "not a valid date"),
    ("ledger: corrected value is validated", lambda d: write_ledger(d, "C7,patients.csv,P001,sex,M,male,x,2026-11-20,JD"),
     P, 2, "sex", "(value set by correction C7 in corrections.csv)"),
]


@pytest.mark.parametrize("edit, file, line, column, rule", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_is_enforced(data, capsys, edit, file, line, column, rule):
    edit(data)
    code, out, err = validate(data, capsys)
    assert code == 2, out
    assert "Traceback" not in err
    hits = message_lines(err, file, line, column, rule)
    assert hits, f"no message naming {file}:{line} column {column!r} rule {rule!r} in:\n{err}"


def test_value_is_quoted(data, capsys):
    set_cell(data, P, 4, "sex", "m")
    _, _, err = validate(data, capsys)
    assert "patients.csv:4 column 'sex' value 'm': not one of the allowed codes: M, F" in err


def test_valid_example_passes(data, capsys):
    code, out, err = validate(data, capsys)
    assert code == 0, err
    assert "patients:      20" in out and "lesions:       42" in out and "sessions:      30" in out
    assert "complications: 9" in out and "screening:     25 rows" in out


def test_all_problems_reported_together(data, capsys):
    set_cell(data, P, 3, "sex", "X")
    set_cell(data, L, 5, "lobe", "ABC")
    set_cell(data, S, 6, "patient_id", "P999")
    append_line(data, C, "P003-S1,pneumothorax,B,")
    code, _, err = validate(data, capsys)
    assert code == 2
    for where in ("patients.csv:3 ", "lesions.csv:5 ", "sessions.csv:6 ", "complications.csv:11 "):
        assert where in err


def test_many_failures_are_capped_per_rule(data, capsys):
    rows = read_rows(data / L)
    i = rows[0].index("lobe")
    for row in rows[1:]:
        row[i] = "XXX"
    write_rows(data / L, rows)
    code, _, err = validate(data, capsys)
    assert code == 2
    assert len([x for x in err.splitlines() if "column 'lobe' value 'XXX'" in x]) == 20
    assert "... and 22 more line(s) breaking the rule: not one of the allowed codes" in err
    assert err.startswith("42 data problem(s) found")


def test_every_line_that_is_not_utf8_is_named_then_counted(data, capsys):
    """A Latin-1 export: each such line is named (file, line, its text, the byte and its offset
    in the file), the first 20 of a file, then a count; other files' problems are still reported."""
    lines = (data / L).read_bytes().split(b"\n")
    offsets = {}
    for n in (3, 7, 8):   # 1-based line numbers; the byte goes at the end of the line
        lines[n - 1] += b"\xe9"
        offsets[n] = sum(len(x) + 1 for x in lines[: n - 1]) + len(lines[n - 1]) - 1
    (data / L).write_bytes(b"\n".join(lines))
    set_cell(data, P, 3, "sex", "X")
    code, _, err = validate(data, capsys)
    assert code == 2
    for n, offset in offsets.items():
        hit = message_lines(err, L, n, None, "not valid UTF-8")
        assert len(hit) == 1 and f"byte e9 at byte offset {offset};" in hit[0], (n, err)
    assert len(message_lines(err, L, None, None, "not valid UTF-8")) == 3
    assert message_lines(err, P, 3, "sex", "not one of the allowed codes")

    data_lines = [line for line in lines[1:] if line]
    (data / L).write_bytes(b"\n".join([lines[0]] + [line + b"\xfc" for line in data_lines]) + b"\n")
    code, _, err = validate(data, capsys)
    assert code == 2
    assert len([x for x in err.splitlines() if f" {L}:" in x and "not valid UTF-8 (byte" in x]) == 20
    assert f"{L}: ... and {len(data_lines) - 20} more line(s) breaking the rule: not valid UTF-8" in err


def test_line_numbers_survive_blank_lines_crlf_and_quoted_newlines(data, capsys):
    rows = read_rows(data / C)
    rows[1][3] = "drain,\nthen removed"    # a quoted comma and newline inside a value
    rows[3][2] = "Z"                        # third data row: bad code
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows[:2])
    text.write("\r\n")                     # a blank line
    csv.writer(text, lineterminator="\r\n").writerows(rows[2:])
    (data / C).write_bytes(text.getvalue().encode("utf-8"))
    code, _, err = validate(data, capsys)
    assert code == 2
    # header 1, row 1 spans lines 2-3, blank line 4, row 2 line 5, row 3 line 6
    assert "complications.csv:6 column 'sir_class' value 'Z'" in err


def test_utf8_bom_is_tolerated(data, capsys):
    (data / P).write_bytes(b"\xef\xbb\xbf" + (data / P).read_bytes())
    code, out, err = validate(data, capsys)
    assert code == 0, err


def test_missing_data_directory(tmp_path, capsys):
    code, _, err = validate(tmp_path / "nowhere", capsys)
    assert code == 2
    assert "data directory not found" in err


def test_an_unknown_code_is_not_reported_again_across_files(data, capsys):
    set_cell(data, S, 2, "modality", "XFA")   # P001-S1; its lesions say RFA
    code, _, err = validate(data, capsys)
    assert code == 2
    assert "sessions.csv:2 column 'modality' value 'XFA'" in err
    assert "modality differs" not in err


def test_missing_plan_is_a_clean_error(data, capsys, tmp_path):
    code = main(["validate", "--data", str(data), "--plan", str(tmp_path / "nope.yml")])
    _, err = capsys.readouterr()
    assert code == 2 and "analysis plan could not be read" in err


# --- warnings: study criteria that valid data may break ------------------------------------------

def test_more_than_four_pos_is_a_warning(data, capsys):
    for k in range(3, 6):
        append_line(data, L, f"P001-S1-L{k},P001,P001-S1,left,LUL,1.0,RFA,yes,yes,")
    code, out, err = validate(data, capsys)
    assert code == 0, err
    assert "patients.csv:2 column 'patient_id' value 'P001': more than 4 POs" in out


def test_enrolment_outside_window_is_a_warning(data, capsys):
    # P003 (line 4): first ablation 2012-10-11, window opens 2012-10-01: move the whole patient earlier
    set_cell(data, P, 4, "first_ablation_date", "2012-09-11")
    set_cell(data, S, 5, "session_date", "2012-09-11")
    code, out, err = validate(data, capsys)
    assert code == 0, err
    assert "patients.csv:4 column 'first_ablation_date' value '2012-09-11': first ablation outside" in out


def test_session_without_lesion_is_a_warning(data, capsys):
    append_line(data, S, "P001-S2,P001,2017-08-26,RFA,local")
    code, out, err = validate(data, capsys)
    assert code == 0, err
    assert "sessions.csv:32 column 'session_id' value 'P001-S2': session has no lesion" in out


def test_patient_missing_from_screening_is_a_warning(data, capsys):
    drop_rows(data, "screening.csv", "patient_id", {"P004"})
    code, out, err = validate(data, capsys)
    assert code == 0, err
    assert "patients.csv:5 column 'patient_id' value 'P004': patient not listed as included" in out


# --- real subprocesses: the command as a user types it -----------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", "validate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_subprocess_bad_data_exit_2_without_traceback(data):
    set_cell(data, P, 2, "age", "old")
    (data / S).write_bytes((data / S).read_bytes()[:-7])
    result = run_cli("--data", str(data))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert "patients.csv:2 column 'age' value 'old': not a number" in result.stderr


def test_subprocess_valid_data_prints_summary_with_hashes(data):
    result = run_cli("--data", str(data))
    assert result.returncode == 0, result.stderr
    import hashlib
    digest = hashlib.sha256((data / P).read_bytes()).hexdigest()
    assert f"{digest}  patients.csv" in result.stdout
