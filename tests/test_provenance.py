"""Synthetic data are recognised from the CSV files themselves; patient data without any marker stay patient data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis import paths
from analysis.data import load_cohort
from analysis.data.errors import DataError
from analysis.data.provenance import FINGERPRINT, MANIFEST

FIXTURE = Path(__file__).parent / "fixtures" / "example_data"   # a hand-written export: no marker of any kind


def _csv_copy(source: Path, target: Path) -> Path:
    target.mkdir()
    for csv in source.glob("*.csv"):
        shutil.copyfile(csv, target / csv.name)
    return target


def test_a_copy_of_the_generated_csv_files_alone_is_still_synthetic(tmp_path: Path) -> None:
    data = _csv_copy(paths.SHIPPED_DATA, tmp_path / "N")
    assert not any(p.name.upper().startswith("SYNTHETIC") for p in data.iterdir())
    cohort = load_cohort(data)
    assert cohort.is_synthetic and any(FINGERPRINT in e for e in cohort.synthetic_evidence)


def test_shipped_ids_carry_the_fingerprint() -> None:
    cohort = load_cohort(paths.SHIPPED_DATA)
    assert cohort.patients["patient_id"].str.startswith(FINGERPRINT).all()


@pytest.mark.parametrize("marker", ["SYNTHETIC", "synthetic", "SYNTHETIC.txt", "Synthetic.md"])
def test_marker_file_variants_are_recognised(tmp_path: Path, marker: str) -> None:
    data = _csv_copy(FIXTURE, tmp_path / "d")
    assert not load_cohort(data).is_synthetic
    (data / marker).write_text("generated\n")
    assert load_cohort(data).is_synthetic


def test_manifest_marks_synthetic_and_cannot_outvote_the_fingerprint(tmp_path: Path) -> None:
    data = _csv_copy(FIXTURE, tmp_path / "d")
    (data / MANIFEST).write_text("synthetic: true\nsource: test\n")
    assert load_cohort(data).is_synthetic
    generated = _csv_copy(paths.SHIPPED_DATA, tmp_path / "g")
    (generated / MANIFEST).write_text("synthetic: false\n")
    assert load_cohort(generated).is_synthetic


def test_a_bad_manifest_is_an_error_naming_the_key(tmp_path: Path) -> None:
    data = _csv_copy(FIXTURE, tmp_path / "d")
    (data / MANIFEST).write_text("synthetic: 'yes'\nsynthtic: true\n")
    with pytest.raises(DataError) as error:
        load_cohort(data)
    report = error.value.report()
    assert "synthtic" in report and "'synthetic'" in report and "must be bool" in report


def test_a_real_export_without_any_marker_is_patient_data(tmp_path: Path) -> None:
    assert not load_cohort(_csv_copy(FIXTURE, tmp_path / "d")).is_synthetic


@pytest.mark.parametrize("kind", ["symlink", "folder", "fifo"])
def test_an_input_that_is_not_a_regular_file_is_refused_and_named(tmp_path: Path, kind: str) -> None:
    data = _csv_copy(FIXTURE, tmp_path / "d")
    target = data / "patients.csv"
    secret = tmp_path / "secret.csv"
    shutil.move(target, secret)
    if kind == "symlink":
        target.symlink_to(secret)
    elif kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(DataError) as error:
        load_cohort(data)
    report = error.value.report()
    expected = {"symlink": "symbolic link", "folder": "a folder", "fifo": "FIFO"}[kind]
    assert f"patients.csv: is " in report and expected in report and "missing" not in report
