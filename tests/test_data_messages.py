"""Bounded, exact messages for hostile or unlucky input; no traceback, no control character sent."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from analysis.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture
def data(tmp_path: Path) -> Path:
    target = tmp_path / "d"
    shutil.copytree(FIXTURE, target)
    return target


def test_thousands_of_extra_columns_give_a_bounded_report(data, capsys) -> None:
    path = data / "patients.csv"
    lines = path.read_text().splitlines()
    extra = 5000
    lines = [lines[0] + "".join(f",x{i}" for i in range(extra))] + [line + "," * extra for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    assert main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) <= 25 and f"and {extra - 20} more" in err


def test_a_stray_quote_is_reported_with_its_line(data, capsys) -> None:
    path = data / "patients.csv"
    lines = path.read_text().splitlines()
    for index in (3, 6):   # the sex of two patients gets a stray quote: M" (lines 4 and 7 of the file)
        cells = lines[index].split(",")
        cells[1] += '"'
        lines[index] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    assert main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "patients.csv:4 " in err and "patients.csv:7 " in err and "stray '\"'" in err


def test_ansi_escapes_in_the_ledger_never_reach_the_terminal(data, capsys) -> None:
    with open(data / "patients.csv", encoding="utf-8", newline="") as handle:
        first = next(csv.DictReader(handle))
    with open(data / "corrections.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["correction_id", "file", "record_id", "column", "old_value", "new_value", "reason",
                         "corrected_on", "corrected_by"])
        writer.writerow(["C1", "patients", first["patient_id"], "sex", first["sex"], "F" if first["sex"] == "M" else "M",
                         "\x1b[2J\x1b[31mred\x07 " + "y" * 500, "2026-11-20", "\x1b]0;title\x07DM"])
    assert main(["validate", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[31mred" in out and "more characters" in out


def test_results_out_on_a_folder_is_one_line_exit_1(data, tmp_path, capsys) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    assert main(["results", "--data", str(data), "--out", str(folder)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "Is a directory" in err[-1] and "Traceback" not in "\n".join(err)
