"""The analysis plan is checked by its schema when it loads; plausibility limits give warnings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.data import load_cohort
from analysis.data.errors import DataError
from analysis.paths import PLAN_FILE
from analysis.plan import load_plan

FIXTURE = Path(__file__).parent / "fixtures" / "example_data"


def edited_plan(tmp_path: Path, old: str, new: str) -> Path:
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "plan.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


# (edit: old -> new, key the error must name, fragment of the line it must point at)
CASES = [
    (("false: Non-radical}", "false: Non-Radical}"), "factors.radical_treatment", "false: Non-Radical"),
    (("    label: Sex\n", "    label: Sex\n    levles: [x, y]\n"), "factors.sex.levles", "levles"),
    (("alpha: 0.05", "alpha: \"0.05\""), "survival.alpha", "alpha:"),
    (("days_per_unit: 30.4375", "days_per_unit: [30]"), "time.days_per_unit", "days_per_unit"),
    (("logrank_factors: [sex,", "logrank_factors: [sexx,"), "logrank_factors.0", "logrank_factors"),
    (("  ties: efron\n", "  ties: efron\n  tie_method: efron\n"), "survival.tie_method", "tie_method"),
    (("  monotone_likelihood: not_estimable", "  monotone_likelihood: frith"),
     "cox.monotone_likelihood", "monotone_likelihood"),
]


@pytest.mark.parametrize("edit, key, fragment", CASES)
def test_a_bad_plan_is_an_error_naming_the_key_and_its_line(tmp_path, edit, key, fragment, capsys) -> None:
    path = edited_plan(tmp_path, *edit)
    with pytest.raises(DataError) as error:
        load_plan(path)
    expected_line = line_of(path, fragment.split("\n")[0])
    assert any(f"key {key}:" in p.rule and p.line == expected_line for p in error.value.problems), \
        error.value.report()
    assert main(["validate", "--data", str(FIXTURE), "--plan", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_shipped_plan_is_valid() -> None:
    assert load_plan().factors


def test_absurd_values_give_plausibility_warnings_naming_file_line_column_value(tmp_path) -> None:
    data = tmp_path / "d"
    shutil.copytree(FIXTURE, data)
    lesions = (data / "lesions.csv").read_text().splitlines()
    header = lesions[0].split(",")
    column = header.index("diameter_cm")
    cells = lesions[1].split(",")
    cells[column] = "50"   # cm: 500 mm
    lesions[1] = ",".join(cells)
    (data / "lesions.csv").write_text("\n".join(lesions) + "\n")
    patients = (data / "patients.csv").read_text().splitlines()
    header = patients[0].split(",")
    cells = patients[2].split(",")
    cells[header.index("afp_ng_ml")] = "1e300"
    cells[header.index("hcc_diagnosis_date")] = "1900-01-01"
    patients[2] = ",".join(cells)
    (data / "patients.csv").write_text("\n".join(patients) + "\n")
    warnings = load_cohort(data).warnings
    assert any(w.startswith("lesions.csv:2 column 'diameter_cm' value '50': implausible") for w in warnings), warnings
    assert any(w.startswith("patients.csv:3 column 'afp_ng_ml' value '1e300': implausible") for w in warnings)
    assert any(w.startswith("patients.csv:3 column 'hcc_diagnosis_date' value '1900-01-01': implausible date")
               for w in warnings)
    assert not any("implausible" in w for w in load_cohort(FIXTURE).warnings)
