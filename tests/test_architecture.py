"""Data flow one way: no module of ``analysis/`` imports from a later stage (read with ``ast``).

    foundation (paths, plan, source_digest)
      <- data <- stats <- results <- tables / figures <- report <- commands (render, cli, synth, diff)

Every ``import``, including those inside functions, counts. ``synth`` sits with the
commands: its calibration computes results from the cohorts it writes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ANALYSIS = Path(__file__).resolve().parents[1] / "analysis"

# module name prefix -> stage; the longest matching prefix wins
STAGES = {
    "analysis": 0, "analysis.paths": 0, "analysis.plan": 0, "analysis.plan_schema": 0, "analysis.source_digest": 0,
    "analysis.safe_text": 0, "analysis.yaml_files": 0,
    # the data problem records (no imports): the plan's own errors are reported in the same form
    "analysis.data.errors": 0,
    "analysis.data": 1,
    "analysis.stats": 2,
    "analysis.results": 3, "analysis.results_file": 3, "analysis.results_schema": 3, "analysis.reproduction": 3,
    "analysis.tables": 4, "analysis.figures": 4,
    "analysis.report": 5, "analysis.report_text": 5, "analysis.publish": 5, "analysis.prerender": 5,
    "analysis.submission": 5, "analysis.strobe": 5, "analysis.docx_layout": 5, "analysis.postrender": 5,
    "analysis.render": 6, "analysis.render_command": 6, "analysis.cli": 6, "analysis.__main__": 6,
    "analysis.synth": 6, "analysis.diff": 6, "analysis.preview": 6,
}
STAGE_NAMES = ["foundation", "data", "stats", "results", "tables/figures", "report", "commands"]


def stage(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in STAGES:
            return STAGES[prefix]
    raise KeyError(module)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every ``analysis`` module ``path`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == root.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != root.name:
                continue
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                as_path = root.parent.joinpath(*candidate.split("."))
                found.add(candidate if as_path.with_suffix(".py").is_file() or as_path.is_dir() else module)
    return found


def upward_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        for target in sorted(imported_modules(path, root)):
            if stage(target) > stage(name):
                problems.append(f"{path.relative_to(root.parent)}: {name} ({STAGE_NAMES[stage(name)]}) imports "
                                f"{target} ({STAGE_NAMES[stage(target)]})")
    return problems


def test_every_module_has_a_stage():
    for path in ANALYSIS.rglob("*.py"):
        stage(module_name(path, ANALYSIS))  # KeyError names a module missing from STAGES


def test_no_module_imports_upward():
    assert upward_imports(ANALYSIS) == []


def test_the_check_finds_an_upward_import(tmp_path):
    """The checker itself: a stats module importing the report, directly or lazily, is found."""
    root = tmp_path / "analysis"
    (root / "stats").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "stats" / "__init__.py").write_text("")
    (root / "report.py").write_text("")
    (root / "stats" / "km.py").write_text("def f():\n    from analysis import report\n")
    (root / "stats" / "cox.py").write_text("from .. import report\nimport analysis.results\n")
    (root / "results.py").write_text("from analysis.stats import km\n")  # downward: fine
    found = upward_imports(root)
    assert len(found) == 3, found
    assert any("analysis.stats.km (stats) imports analysis.report (report)" in line for line in found)


@pytest.mark.parametrize("module, forbidden", [("analysis/figures/km.py", "analysis.stats"),
                                               ("analysis/report.py", "analysis.stats")])
def test_figures_and_report_read_results_not_statistics(module, forbidden):
    """The KM figures used to re-fit their curves (issue 16): they read the stored ones now."""
    path = ANALYSIS.parent / module
    assert not [m for m in imported_modules(path, ANALYSIS) if m.startswith(forbidden)]


def test_architecture_document_places_every_module_in_its_stage():
    """docs/ARCHITECTURE.md names every module of analysis/ under the heading of its stage."""
    import re

    text = (ANALYSIS.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    sections = re.split(r"^## (\d)\. ", text, flags=re.M)
    by_stage = {int(sections[i]): sections[i + 1] for i in range(1, len(sections) - 1, 2)}
    from analysis.figures.registry import FIGURES

    # a figure's drawing module is placed by its registry entry (the document describes the pattern)
    drawing = {entry.draw.partition(":")[0] for entry in FIGURES}
    assert "`analysis/figures/<kind>.py`" in by_stage[4]
    missing = []
    for path in sorted(ANALYSIS.rglob("*.py")):
        name = module_name(path, ANALYSIS)
        if name in drawing:
            continue
        section = by_stage.get(stage(name), "")
        relative = path.relative_to(ANALYSIS.parent).as_posix()
        if f"`{relative}`" not in section and f" `{path.name}`" not in section and f"{path.name}`," not in section:
            missing.append(f"{relative} (stage {STAGE_NAMES[stage(name)]})")
    assert missing == []
