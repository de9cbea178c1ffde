"""Property: any corruption of a valid dataset ends in exit 2 with a message, never a traceback,
and the raw files are left byte-identical.

Hypothesis picks one to three corruptions among: a wrong type, a blank required
cell, an unknown code, a dangling id, shuffled dates, a duplicated row, a truncated
file and a wrong encoding (Latin-1 / Windows-1252 bytes, UTF-16 with or without BOM).
Each corruption is built so that it always breaks a rule of the contract.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.cli import main
from analysis.data.contract import COLUMNS

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"
FILES = ["patients", "lesions", "sessions", "complications"]


def rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def to_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def columns_of(file: str, kinds: set[str] | None = None, required: bool | None = None,
               coded: bool | None = None) -> list[str]:
    return [c for c, (kind, codes, req) in COLUMNS[file].items()
            if (kinds is None or kind in kinds) and (required is None or req == required)
            and (coded is None or (codes is not None) == coded)]


LETTERS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzXYZ ", min_size=1, max_size=8).filter(
    lambda s: s.strip() and s.strip().lower() not in {"nan", "inf", "infinity", "e"})


@st.composite
def corruption(draw):
    """(description, function(data_dir) -> None) that surely breaks the dataset."""
    kind = draw(st.sampled_from(["wrong_type", "blank", "unknown_code", "dangling_id",
                                 "shuffled_dates", "duplicated_row", "truncated", "encoding"]))
    file = draw(st.sampled_from(FILES))
    row = draw(st.integers(min_value=1, max_value=9))   # every file has at least 9 data rows

    def edit_cell(column: str, value: str):
        def apply(d: Path):
            rows = rows_of(d / f"{file}.csv")
            rows[row][rows[0].index(column)] = value
            (d / f"{file}.csv").write_bytes(to_bytes(rows))
        return apply

    if kind == "wrong_type":
        typed = columns_of(file, {"date", "float", "int"}) or ["sir_class"]   # complications: no typed column
        column = draw(st.sampled_from(typed))
        value = draw(LETTERS)
        return f"{kind} {file}:{row + 1} {column}={value!r}", edit_cell(column, value)
    if kind == "blank":
        column = draw(st.sampled_from(columns_of(file, required=True)))
        return f"{kind} {file}:{row + 1} {column}", edit_cell(column, "")
    if kind == "unknown_code":
        column = draw(st.sampled_from(columns_of(file, coded=True)))
        allowed = {str(c) for c in COLUMNS[file][column][1]}
        value = draw(LETTERS.filter(lambda v: v not in allowed))
        return f"{kind} {file}:{row + 1} {column}={value!r}", edit_cell(column, value)
    if kind == "dangling_id":
        file = draw(st.sampled_from(["lesions", "sessions", "complications"]))
        column = draw(st.sampled_from([c for c in ("patient_id", "session_id") if c in COLUMNS[file]]))
        value = "X" + draw(st.text(alphabet="0123456789", min_size=1, max_size=4))
        return f"{kind} {file}:{row + 1} {column}={value!r}", edit_cell(column, value)
    if kind == "shuffled_dates":
        # a later date moved into an earlier slot (idempotent, so two draws cannot cancel out)
        source, target = draw(st.sampled_from([
            ("last_followup_date", "po_diagnosis_date"), ("last_followup_date", "hcc_diagnosis_date"),
            ("last_followup_date", "first_ablation_date"), ("first_ablation_date", "hcc_diagnosis_date")]))
        def apply(d: Path):
            rows = rows_of(d / "patients.csv")
            rows[row][rows[0].index(target)] = rows[row][rows[0].index(source)]
            (d / "patients.csv").write_bytes(to_bytes(rows))
        return f"{kind} patients:{row + 1} {target}:={source}", apply
    if kind == "duplicated_row":
        # a repeated id (patients, lesions, sessions) or a repeated complication row
        position = draw(st.integers(min_value=1, max_value=10))
        def apply(d: Path):
            rows = rows_of(d / f"{file}.csv")
            rows.insert(position, rows[row])
            (d / f"{file}.csv").write_bytes(to_bytes(rows))
        return f"{kind} {file}:{row + 1} at {position}", apply
    if kind == "truncated":
        fraction = draw(st.floats(min_value=0.0, max_value=0.999))
        def apply(d: Path):
            data = (d / f"{file}.csv").read_bytes()
            lines = data.split(b"\n")
            k = int(fraction * (len(lines) - 1))          # a line with content (header included)
            line = lines[k]
            last_comma = line.rfind(b",")
            cut = 1 + int(fraction * 1000) % max(last_comma, 1)   # 1 .. last_comma: keeps a partial row
            start = sum(len(x) + 1 for x in lines[:k])
            (d / f"{file}.csv").write_bytes(data[: start + cut])
        return f"{kind} {file} at {fraction:.3f}", apply
    # wrong encodings
    codec = draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be"]))
    def apply(d: Path):
        try:
            text = (d / f"{file}.csv").read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return   # already re-encoded by another draw: broken either way
        if codec in ("latin-1", "cp1252"):
            lines = text.split("\n")
            k = min(row, len(lines) - 1)
            lines[k] += "é"   # one non-ASCII letter: its Latin-1 byte is not UTF-8
            text = "\n".join(lines)
        (d / f"{file}.csv").write_bytes(text.encode(codec))
    return f"encoding {file} {codec}", apply


def digests(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


# Deterministic in CI (derandomize); DATA_PROPERTY_EXAMPLES=400 runs a longer random search.
@settings(max_examples=int(os.environ.get("DATA_PROPERTY_EXAMPLES", 60)), deadline=None,
          derandomize=not os.environ.get("DATA_PROPERTY_EXAMPLES"),
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(corruption(), min_size=1, max_size=3))
def test_any_corruption_is_reported_cleanly(corruptions):
    import contextlib

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "data"
        shutil.copytree(EXAMPLE, d)
        # byte-level corruptions (truncation, encoding) last: cell edits need a readable file
        for _, apply in sorted(corruptions, key=lambda c: c[0].startswith(("truncated", "encoding"))):
            apply(d)
        before = digests(d)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", "--data", str(d)])
        described = [name for name, _ in corruptions]
        assert code == 2, (described, out.getvalue())
        message = err.getvalue()
        assert "data problem(s) found" in message, (described, message)
        assert "Traceback" not in message and "internal error" not in message, (described, message)
        assert digests(d) == before, described


@settings(max_examples=int(os.environ.get("DATA_PROPERTY_EXAMPLES", 60)), deadline=None,
          derandomize=not os.environ.get("DATA_PROPERTY_EXAMPLES"),
          suppress_health_check=[HealthCheck.too_slow])
@given(file=st.sampled_from(FILES + ["screening"]), where=st.floats(min_value=0, max_value=1),
       garbage=st.binary(min_size=1, max_size=12), cut=st.booleans())
def test_arbitrary_bytes_never_crash(file, where, garbage, cut):
    """Random bytes spliced in (or the file cut there): valid or not, the answer is 0 or 2, never a crash."""
    import contextlib

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "data"
        shutil.copytree(EXAMPLE, d)
        data = (d / f"{file}.csv").read_bytes()
        at = int(where * len(data))
        (d / f"{file}.csv").write_bytes(data[:at] + garbage + (b"" if cut else data[at:]))
        before = digests(d)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", "--data", str(d)])
        assert code in (0, 2)
        assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue(), err.getvalue()
        assert (code == 0) == (err.getvalue() == "")
        assert digests(d) == before
