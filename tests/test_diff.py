"""``python -m analysis diff``: exactly the printed numbers a ledger correction changed.

The expected list is built here from the two results files by another road than
the diff's own: table cells aligned by position (``Table.rows``), the numbers at
risk as the KM drawing module reads them (``figures.km.km_at_risk_table``), the
forest rows as the forest module reads them, and every inline-text property.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis import diff
from analysis.cli import main
from analysis.data import load_cohort
from analysis.figures import registry as figure_registry
from analysis.figures.forest import forest_rows, hr_text
from analysis.figures.km import _logrank_text, km_at_risk_table
from analysis.report_text import InlineText
from analysis.results import compute_results, read_results, write_results
from analysis.tables import registry as table_registry
from analysis.tables import theme

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"
HEADER = "correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"
# P003: progression 2013-04-10 in the raw file, re-read as two months later
CORRECTION = "C001,patients.csv,P003,progression_date,2013-04-10,2013-06-10,CT re-read by radiologist,2026-11-20,JD\n"


@pytest.fixture(scope="module")
def two_results(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("diff")
    paths = []
    for name, ledger in (("before", HEADER), ("after", HEADER + CORRECTION)):
        data = root / name
        shutil.copytree(EXAMPLE, data)
        (data / "corrections.csv").write_text(ledger, encoding="utf-8")
        paths.append(write_results(compute_results(load_cohort(data)), root / f"{name}.json"))
    return paths[0], paths[1]


def expected_changes(old: dict, new: dict) -> tuple[set, set]:
    """(set of (kind, where, old text, new text), names of tables whose shape changed)."""
    expected, reshaped = set(), set()
    for name in table_registry.tables(old):
        a, b = table_registry.table(name, old), table_registry.table(name, new)
        if [r.cells[0] for r in a.rows] != [r.cells[0] for r in b.rows] or a.header != b.header:
            reshaped.add(name)  # rows added, removed or renamed: compared as a whole below
            continue
        for row_a, row_b in zip(a.rows, b.rows):
            for cell_a, cell_b in zip(row_a.cells, row_b.cells):
                if cell_a != cell_b:
                    expected.add(("table", name, cell_a or None, cell_b or None))
        notes_a, notes_b = a.footnotes, b.footnotes
        for index in range(max(len(notes_a), len(notes_b))):
            note_a = notes_a[index] if index < len(notes_a) else None
            note_b = notes_b[index] if index < len(notes_b) else None
            if note_a != note_b:
                expected.add(("table", name, note_a, note_b))
    for name, spec in figure_registry.figures(old).items():
        if spec.entry.kind == "km":
            a = km_at_risk_table(old, **spec.kwargs)
            b = km_at_risk_table(new, **spec.kwargs)
            assert a.shape == b.shape, name
            for (_, row_a), (_, row_b) in zip(a.iterrows(), b.iterrows()):
                expected |= {("figure", name, str(x), str(y)) for x, y in zip(row_a, row_b) if x != y}
            factor = spec.kwargs.get("factor")
            if factor:  # the legend title's P lines, as the KM module writes them
                lines_a, lines_b = (_logrank_text(r, spec.kwargs["endpoint"], factor).split("\n") for r in (old, new))
                for line_a, line_b in zip(lines_a, lines_b):
                    if line_a != line_b:
                        expected.add(("figure", name, line_a.split(" ", 1)[1], line_b.split(" ", 1)[1]))
        elif spec.entry.kind == "forest":
            rows_a = [r for r in forest_rows(old, **spec.kwargs) if r["kind"] == "level"]
            rows_b = [r for r in forest_rows(new, **spec.kwargs) if r["kind"] == "level"]
            for ra, rb in zip(rows_a, rows_b):
                if hr_text(ra["hr"], ra["ci"]) != hr_text(rb["hr"], rb["ci"]):
                    expected.add(("figure", name, hr_text(ra["hr"], ra["ci"]), hr_text(rb["hr"], rb["ci"])))
        elif spec.entry.kind == "ph_residuals":  # the cox.zph P in the title of each failing term's panel
            panels_a, panels_b = ({(e, p["model"], p["factor"]): theme.p_text(p["p"]) for e in r["plan"]["endpoints"]
                                   for p in r["cox"][e]["ph_residuals"]} for r in (old, new))
            for key in panels_a.keys() & panels_b.keys():
                if panels_a[key] != panels_b[key]:
                    expected.add(("figure", name, panels_a[key], panels_b[key]))
    a, b = InlineText(old), InlineText(new)
    for name in sorted(set(a.names()) | set(b.names())):
        if getattr(a, name) != getattr(b, name):
            expected.add(("sentence", name, getattr(a, name), getattr(b, name)))
    return expected, reshaped


def test_diff_lists_exactly_the_numbers_the_correction_changed(two_results):
    old_path, new_path = two_results
    old, new = read_results(old_path), read_results(new_path)
    expected, reshaped = expected_changes(old, new)
    result = diff.diff_paths(old_path, new_path)
    found = {(c.kind, c.where, c.old, c.new) for c in result.changes}
    comparable = {f for f in found if not (f[0] == "table" and f[1] in reshaped)}
    # figures: the diff's extra labels (group sizes, trend P) did not change here
    assert {f for f in comparable if f[0] == "figure"} == {e for e in expected if e[0] == "figure"}
    assert {f for f in comparable if f[0] == "sentence"} == {e for e in expected if e[0] == "sentence"}
    assert {f for f in comparable if f[0] == "table"} == {e for e in expected if e[0] == "table"}
    # the correction is one PFS date: it shows in PFS numbers, the ledger and the input files
    assert reshaped == {"corrections"}
    assert {f[1] for f in found if f[0] == "table" and f[1] in reshaped} == reshaped
    changed_figures = {c.where for c in result.changes if c.kind == "figure"}
    # (ph_residuals: the PFS panel's cox.zph P)
    assert changed_figures and all(name.startswith(("km_pfs", "forest_pfs", "ph_residuals")) for name in changed_figures)
    assert ("sentence", "corrections_summary") in {(c.kind, c.where) for c in result.changes}
    assert not [c for c in result.changes if c.kind == "figure" and c.where.startswith("km_os")]
    assert "printed value(s) changed" in result.summary()


def test_identical_results_say_so(two_results, capsys):
    old_path, _ = two_results
    assert main(["diff", str(old_path), str(old_path)]) == 0
    out = capsys.readouterr().out
    assert "13 of 13 tables identical" in out and "every printed number identical" in out
    n_figures = len(figure_registry.figures(read_results(old_path)))
    assert f"{n_figures} of {n_figures} figures identical" in out


def test_command_exit_status_and_folders(two_results, tmp_path, capsys):
    old_path, new_path = two_results
    for name, path in (("old", old_path), ("new", new_path)):
        (tmp_path / name / "figures").mkdir(parents=True)
        shutil.copyfile(path, tmp_path / name / "results.json")
        (tmp_path / name / "figures" / "km_pfs_overall.png").write_bytes(name.encode())
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert "0 of 1 figure files identical" in out
    assert "figure km_pfs_overall, All patients: at risk at " in out


def test_not_a_results_file_exits_2(tmp_path, capsys):
    (tmp_path / "x.json").write_text(json.dumps({"schema_version": 1}), encoding="utf-8")
    assert main(["diff", str(tmp_path / "x.json"), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "x.json" in err and "Traceback" not in err


def test_figure_prints_are_what_the_figure_prints(two_results):
    """The registry's ``prints`` for a KM figure are the numbers the drawn figure shows."""
    from matplotlib.text import Text

    results = read_results(two_results[0])
    fig = figure_registry.draw("km_pfs_radical_treatment", results)
    shown = {t.get_text() for t in fig.findobj(Text)}
    printed = diff.figure_numbers(results)["km_pfs_radical_treatment"]
    at_risk = [v for k, v in printed.items() if ": at risk at " in k]
    assert at_risk and set(at_risk) <= shown
    assert any(printed["log-rank P"] in text for text in shown)


def test_the_render_summary_after_replacing_a_previous_set(two_results):
    """What the render prints after swapping in a new set: nothing without a previous set, the diff's
    report with one, and a sentence (never a traceback) for a previous set of another shape."""
    old, new = (read_results(p) for p in two_results)
    assert diff.summary_after_render(None, new) is None
    text = diff.summary_after_render(old, new)
    assert text.splitlines()[0] == diff.compare(old, new).summary()
    assert len(text.splitlines()) == 1 + len(diff.compare(old, new).changes)
    assert diff.summary_after_render({"schema_version": 1}, new).startswith("(not compared with the previous")


def test_figure_inputs_change_exactly_with_what_each_figure_draws(two_results):
    """A figure's digest changes when what it draws changes (its own reads, or the plan and the synthetic
    flag every figure shows), and only then; the same values as numpy scalars or NaN give the digests of
    their JSON form (the file's)."""
    import copy

    import numpy as np

    results = read_results(two_results[0])
    base = diff.figure_inputs(results)
    assert len(set(base.values())) == len(base)   # every figure's inputs are its own

    flow = copy.deepcopy(results)
    flow["flow"] = dict(flow["flow"], **{next(iter(flow["flow"])): "changed"})
    changed = {n for n, d in diff.figure_inputs(flow).items() if d != base[n]}
    drawn_from_flow = {n for n in base if "flow" in n}
    assert changed and changed == drawn_from_flow

    for key, value in (("plan", dict(results["plan"], note="changed")), ("synthetic", not results.get("synthetic"))):
        other = dict(results, **{key: value})
        assert all(d != base[n] for n, d in diff.figure_inputs(other).items()), key

    as_numpy = dict(results, n_patients=np.int64(results["n_patients"]))
    assert diff.figure_inputs(as_numpy) == base
    with_nan, with_null = copy.deepcopy(results), copy.deepcopy(results)
    with_nan["flow"] = dict(with_nan["flow"], nan_value=float("nan"))
    with_null["flow"] = dict(with_null["flow"], nan_value=None)
    assert diff.figure_inputs(with_nan) == diff.figure_inputs(with_null) != base
