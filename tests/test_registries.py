"""The figure and table registries: one list each, checked at import; CSV tables hold plain values."""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.data import load_cohort
from analysis.figures import registry as figure_registry
from analysis.results import compute_results, dumps
from analysis.tables import registry as table_registry

EXAMPLE = Path(__file__).parent / "fixtures" / "example_data"


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(dumps(compute_results(load_cohort(EXAMPLE))))


def test_csv_cells_are_plain_values_and_markdown_keeps_its_markup(results):
    """tables/*.csv are for spreadsheets: a digest is the digest, 'no' is 'no' (issue 16)."""
    failing = copy.deepcopy(results)
    failing["reproduction"][0]["match"] = False
    for name in table_registry.tables(results):
        table = table_registry.table(name, failing)
        for row in csv.reader(io.StringIO(table.to_csv())):
            for cell in row:
                assert "`" not in cell and "**" not in cell and "\\|" not in cell, (name, cell)
    provenance = table_registry.table("provenance", results)
    digest = next(iter(results["data"]["files"].values()))
    assert f",{digest}\n" in provenance.to_csv()
    assert f"`{digest}`" in provenance.to_markdown()
    reproduction = table_registry.table("reproduction", failing)
    assert "| **no** |" in reproduction.to_markdown().replace("  ", " ")
    assert ",no\n" in reproduction.to_csv()


def test_every_table_has_its_registry_name(results):
    names = list(table_registry.tables(results))
    assert names == ["baseline", "lesions", "technical", "cox_pfs", "cox_os", "logrank_pfs", "logrank_os",
                     "provenance", "corrections", "reproduction", "median_ci", "ph", "software"]
    for name in names:
        assert table_registry.table(name, results).name == name
    with pytest.raises(KeyError, match="no table called 'nope'; known: baseline"):
        table_registry.table("nope", results)


def test_tables_and_figures_follow_the_plan_endpoints(results):
    one = copy.deepcopy(results)
    one["plan"]["endpoints"] = ["os"]
    assert [n for n in table_registry.tables(one) if n.startswith("cox_")] == ["cox_os"]
    assert not [n for n in figure_registry.figures(one) if "pfs" in n]


def test_figure_names_come_from_the_registry(results):
    names = list(figure_registry.figures(results))
    endpoints, factors = results["plan"]["endpoints"], results["plan"]["logrank_factors"]
    # km per endpoint x (overall + factors), forest per endpoint, one PH-residual figure, flow
    assert len(names) == len(endpoints) * (1 + len(factors)) + len(endpoints) + 1 + 1
    assert names[0] == "km_pfs_overall" and names[-1] == "flow"
    assert figure_registry.figure("km_pfs", results).name == "km_pfs_overall"
    with pytest.raises(KeyError, match="no figure called 'km_xyz'"):
        figure_registry.figure("km_xyz", results)


def test_a_registry_entry_without_its_drawing_module_fails_at_import_with_its_name():
    broken = replace(figure_registry.FIGURES[0], kind="waterfall", draw="analysis.figures.waterfall:waterfall_figure")
    with pytest.raises(figure_registry.RegistryError, match="'waterfall'.*analysis.figures.waterfall"):
        figure_registry._check((*figure_registry.FIGURES, broken))
    twice = (*figure_registry.FIGURES, figure_registry.FIGURES[0])
    with pytest.raises(figure_registry.RegistryError, match="listed twice"):
        figure_registry._check(twice)
    bad_table = replace(table_registry.TABLES[0], name="extra", variant="appendix")
    with pytest.raises(table_registry.RegistryError, match="'extra'.*appendix"):
        table_registry._check((*table_registry.TABLES, bad_table))


def test_every_figure_entry_prints_and_reads(results):
    for name, spec in figure_registry.figures(results).items():
        assert spec.entry.reads(results, **spec.kwargs) is not None, name
        assert spec.entry.prints is None or spec.entry.prints(results, **spec.kwargs), name


def test_the_confidence_level_printed_is_the_plans(results):
    """alpha 0.10 prints '90% CI' in every table header, the text and the figures' labels."""
    from analysis.figures.km import km_figure
    from analysis.report_text import InlineText
    from matplotlib.text import Text

    ninety = copy.deepcopy(results)
    ninety["plan"]["alpha"] = 0.10
    # (the reproduction table quotes the publication's labels, which are 95% CIs)
    markdown = "\n".join(table_registry.table(n, ninety).to_markdown() for n in table_registry.tables(ninety)
                         if n != "reproduction")
    assert "95%" not in markdown and "90% CI" in markdown
    assert "90% CI" in InlineText(ninety).pfs_median and "95%" not in InlineText(ninety).statistical_methods
    legend = {t.get_text() for t in km_figure(ninety, "pfs").findobj(Text)}
    assert "90% CI" in legend and "95% CI" not in legend
