"""The shipped synthetic cohort reproduces the published results through the real pipeline.

Every number of published_results.yml (STUDY.md's table) is computed from
data/synthetic by analysis.data.load_cohort + analysis.results.compute_results
and compared at the printed precision; the significance pattern (log-rank for
every plan factor, multivariable Cox for the named ones, the univariable
selection) likewise. No quantity is xfailed: all of them hold (docs/SYNTHETIC.md).
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from analysis import paths
from analysis.data import load_cohort
from analysis.reproduction import (EXTRACTORS, load_published, reproduction_rows, reproduction_table,
                                   round_half_up)
from analysis.results import compute_results

PUBLISHED = load_published()


@pytest.fixture(scope="module")
def results() -> dict:
    return compute_results(load_cohort(paths.SHIPPED_DATA))


@pytest.fixture(scope="module")
def rows(results):
    return {row.id: row for row in reproduction_rows(results, PUBLISHED)}


@pytest.mark.parametrize("quantity", [q["id"] for q in PUBLISHED["quantities"]])
def test_published_number_reproduced(rows, quantity):
    row = rows[quantity]
    assert row.match, f"{row.quantity}: published {row.published}, computed {row.computed} ({row.value})"


def _significance_ids():
    plan_factors = __import__("analysis.plan", fromlist=["load_plan"]).load_plan().logrank_factors
    ids = []
    for endpoint, named in PUBLISHED["significance"].items():
        ids += [f"logrank_{endpoint}_{factor}" for factor in plan_factors]
        ids += [f"cox_{endpoint}_{factor}" for factor in named]
        ids.append(f"cox_{endpoint}_selected")
    return ids


@pytest.mark.parametrize("row_id", _significance_ids())
def test_significance_pattern_reproduced(rows, row_id):
    row = rows[row_id]
    assert row.match, f"{row.quantity}: published {row.published}, computed {row.computed}"


def test_results_are_marked_synthetic(results):
    assert results["synthetic"] is True


def test_table_has_one_row_per_published_item_and_the_four_columns(results):
    table = reproduction_table(results, PUBLISHED)
    assert list(table.columns[:4]) == ["quantity", "published", "computed", "match"]
    assert len(table) == len(PUBLISHED["quantities"]) + len(_significance_ids())
    assert table["match"].all()


def test_every_published_quantity_has_an_extractor():
    assert {q["id"] for q in PUBLISHED["quantities"]} == set(EXTRACTORS)


# ---------------------------------------------------------------- the match rules can fail
@pytest.mark.parametrize("value, decimals, expected", [
    (2.25, 1, "2.3"), (2.249, 1, "2.2"), (10.05, 1, "10.1"), (12.75, 1, "12.8"),
    (96.77419, 1, "96.8"), (20.967, 0, "21"), (0.5, 0, "1"), (29.96, 0, "30"),
])
def test_round_half_up_as_printed(value, decimals, expected):
    assert round_half_up(value, decimals) == Decimal(expected)


def test_a_number_off_by_one_rounding_unit_does_not_match(results):
    changed = copy.deepcopy(results)
    changed["pfs"]["median"] = 11.46  # prints 11.5, not the published 11.4
    changed["os"]["rates"]["36"]["estimate"] = 0.4375  # prints 43.8
    bad = {row.id for row in reproduction_rows(changed, PUBLISHED) if not row.match}
    assert bad == {"pfs_median", "os_rate_36"}


def test_significance_rules_fail_when_broken(results):
    changed = copy.deepcopy(results)
    changed["logrank"]["pfs"]["radical_treatment"]["p"] = 0.02  # published P < 0.01
    changed["logrank"]["os"]["po_timing"]["p"] = 0.049  # published not significant
    changed["cox"]["os"]["selected"] = ["bclc_group", "po_timing", "radical_treatment"]
    bad = {row.id for row in reproduction_rows(changed, PUBLISHED) if not row.match}
    assert bad == {"logrank_pfs_radical_treatment", "logrank_os_po_timing", "cox_os_selected"}


def test_missing_value_is_reported_not_matched(results):
    changed = copy.deepcopy(results)
    changed["pfs"]["median_ci"] = [None, None]
    row = {r.id: r for r in reproduction_rows(changed, PUBLISHED)}["pfs_median_ci_lo"]
    assert not row.match and row.computed == "NA"


def test_multivariable_cox_models_pass_the_ph_test(results):
    """docs/SYNTHETIC.md: the score ranking is PH by construction; the reported models show it."""
    for endpoint in ("pfs", "os"):
        assert results["cox"][endpoint]["ph_test"]["global"]["p"] >= 0.05
    assert not [w for w in results["warnings"]
                if w["kind"] == "proportional_hazards" and w["values"]["model"] == "multivariable"]


def test_rows_in_plan_order_when_results_keys_are_sorted(results):
    """The results file is written with sorted keys; its rows still follow the plan (issue 12 item 9)."""
    import json

    from analysis.results import to_jsonable

    from_file = json.loads(json.dumps(to_jsonable(results), sort_keys=True))
    plan = from_file["plan"]["logrank_factors"]
    assert plan != sorted(plan)  # else this test shows nothing
    for endpoint, label in (("pfs", "PFS"), ("os", "OS")):
        ids = [row.id for row in reproduction_rows(from_file, PUBLISHED) if row.id.startswith(f"logrank_{endpoint}_")]
        assert ids == [f"logrank_{endpoint}_{factor}" for factor in plan if factor in from_file["logrank"][endpoint]]
