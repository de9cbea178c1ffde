"""cox.zph's scaled Schoenfeld residuals and plot.cox.zph's smooth against R (survival) on the shipped cohort.

Every univariable Cox model and a two-factor model per endpoint go to ONE Rscript call
(tests/r/zph_residuals.R, CSV in and out). Compared to 1e-6 relative (1e-9 absolute for values
near zero): the transformed times ``z$x``, event times ``z$time``, per term the residuals ``z$y``,
``z$var``, the cox.zph P, the coefficient line, plot.cox.zph's curve (fit and +-2 SE band; its steps
written out in R, survival 3.5-3 has no ``plot = FALSE``) and its x-axis ticks and month labels,
the panels as ``analysis.stats.cox.ph_residual_panels`` gives them to the results file.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from analysis.stats.cox import ph_residual_panels
from analysis.stats.efron import efron_fit, zph_residuals, zph_test

R_SCRIPT = Path(__file__).parent / "r" / "zph_residuals.R"
DAYS = 30.4375


def _rscript() -> str | None:
    path = shutil.which("Rscript")
    if path is None:
        return None
    probe = subprocess.run([path, "-e", "library(survival)"], capture_output=True)
    return path if probe.returncode == 0 else None


def _models() -> dict[str, dict]:
    """name -> {time, status, codes: {factor: level places}} on complete cases."""
    from analysis import paths
    from analysis.data import load_cohort
    from analysis.plan import load_plan

    cohort = load_cohort(paths.SHIPPED_DATA, plan=load_plan(paths.PLAN_FILE))
    plan = cohort.plan
    out = {}
    for endpoint in plan.endpoints:
        days = np.rint(cohort.patients[f"{endpoint}_months"].to_numpy(dtype=float) * DAYS)
        status = cohort.patients[f"{endpoint}_event"].to_numpy(dtype=int)
        candidates = list(plan.cox_candidates)
        widest = max(candidates, key=lambda n: len(cohort.factors[n].cat.categories))  # a collapsed factor
        for names in [[c] for c in candidates] + [[candidates[0], widest]]:
            codes = {n: cohort.factors[n].cat.codes.to_numpy() for n in names}
            ok = np.all([c >= 0 for c in codes.values()], axis=0)
            out[f"{endpoint}-{'+'.join(names)}"] = {
                "time": days[ok] / DAYS, "status": status[ok], "codes": {n: c[ok] + 1 for n, c in codes.items()}}
    return out


def _design(model: dict):
    columns, terms = [], {}
    for name, codes in model["codes"].items():
        levels = sorted(set(codes.tolist()))  # R: factor(levels = sort(unique(.)))
        terms[f"f{len(terms) + 1}"] = list(range(len(columns), len(columns) + len(levels) - 1))
        columns.extend((codes == level).astype(float) for level in levels[1:])
    return np.column_stack(columns), terms


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    if _rscript() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Rscript with the survival package is missing")
        pytest.skip("Rscript with the survival package is not installed")
    models = _models()
    folder = tmp_path_factory.mktemp("zph")
    width = max(len(m["codes"]) for m in models.values())
    with open(folder / "in.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "time", "status"] + [f"f{j + 1}" for j in range(width)])
        for name, m in models.items():
            codes = list(m["codes"].values())
            for i in range(len(m["time"])):
                writer.writerow([name, repr(float(m["time"][i])), int(m["status"][i])]
                                + [int(c[i]) for c in codes] + [""] * (width - len(codes)))
    subprocess.run([_rscript(), str(R_SCRIPT), str(folder / "in.csv"), str(folder / "out.csv")],
                   check=True, capture_output=True, text=True)
    r: dict = defaultdict(lambda: defaultdict(list))
    with open(folder / "out.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            r[row["model"]][(row["stat"], row["term"])].append(float("nan") if row["value"] == "NA"
                                                                 else float(row["value"]))
    return models, r


def _close(ours, theirs) -> bool:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_scaled_schoenfeld_residuals_and_smooth_equal_r(reference):
    models, r = reference
    compared, failures = 0, []
    for name, model in models.items():
        x, terms = _design(model)
        event = model["status"].astype(bool)
        fit = efron_fit(model["time"], event, x, [f"c{j}" for j in range(x.shape[1])])
        ours = zph_residuals(model["time"], event, x, fit.coef, terms)
        ph = zph_test(model["time"], event, x, fit.coef, terms)
        # alpha above 1: every factor "fails", so the results' panel of every factor is compared
        panels = ph_residual_panels(model["time"], event, x, fit.coef, terms, ph, alpha=1.1)
        checks = [("x", "", ours["x"]), ("time", "", ours["time"])]
        for k, term in enumerate(ours["terms"]):
            panel = panels[term]
            checks += [("y", term, ours["y"][term]), ("var", term, [ours["var"][k, k]]),
                       ("x", "", panel["x"]), ("time", "", panel["time"]), ("y", term, panel["residual"]),
                       ("p", term, [panel["p"]]), ("coef", term, [panel["line"]]),
                       ("smooth_x", term, panel["smooth"]["x"]), ("fit", term, panel["smooth"]["fit"]),
                       ("upper", term, panel["smooth"]["upper"]), ("lower", term, panel["smooth"]["lower"]),
                       ("axis_at", term, panel["axis"]["at"]), ("axis_months", term, panel["axis"]["months"])]
        for stat, term, values in checks:
            compared += 1
            if not _close(values, r[name][(stat, term)]):
                failures.append(f"{name} {stat} {term}")
    print(f"zph residuals vs R: {len(models)} models, {compared} comparisons, {len(failures)} failures")
    assert compared > 50
    assert not failures, failures


# --------------------------------------------------------------------------- the results and the figure


@pytest.fixture(scope="module")
def shipped_results():
    from analysis import paths
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import compute_results

    return compute_results(load_cohort(paths.SHIPPED_DATA, plan=load_plan(paths.PLAN_FILE)))


def _failing(results) -> list[tuple[str, str, str, float]]:
    """(endpoint, model, factor, P) of every factor whose cox.zph P < alpha, read from the PH tests themselves."""
    alpha = results["plan"]["alpha"]
    out = []
    for endpoint in results["plan"]["endpoints"]:
        cox = results["cox"][endpoint]
        models = [("univariable", cox["univariable_models"][n]["ph_test"]) for n in results["plan"]["cox_candidates"]
                  if n in cox["univariable_models"]] + [("multivariable", cox["ph_test"])]
        for model, ph in models:
            for factor, test in ((ph or {}).get("terms") or {}).items():
                if test["p"] is not None and test["p"] < alpha:
                    out.append((endpoint, model, factor, test["p"]))
    return out


def test_results_hold_a_panel_for_every_failing_factor_and_no_other(shipped_results):
    failing = _failing(shipped_results)
    assert failing, "the shipped cohort has terms failing cox.zph (the figure is exercised)"
    stored = [(e, p["model"], p["factor"], p["p"]) for e in shipped_results["plan"]["endpoints"]
              for p in shipped_results["cox"][e]["ph_residuals"]]
    assert stored == failing
    for endpoint in shipped_results["plan"]["endpoints"]:
        for panel in shipped_results["cox"][endpoint]["ph_residuals"]:
            events = shipped_results["cox"][endpoint]["univariable_models"][panel["factor"]]["events"]
            assert len(panel["x"]) == len(panel["residual"]) == len(panel["time"]) == events


def test_figure_is_drawn_from_the_results_alone_one_panel_per_failing_term(shipped_results, monkeypatch):
    import copy
    import json
    import sys

    from matplotlib.text import Text

    from analysis.figures import registry, style
    from analysis.tables import theme

    results = json.loads(json.dumps(shipped_results, default=float))  # a plain results file, nothing else
    for name in [m for m in sys.modules if m.startswith("analysis.stats")]:
        monkeypatch.setitem(sys.modules, name, None)  # importing the statistics now fails
    fig = registry.draw("ph_residuals", results)
    axes = [ax for ax in fig.axes if ax.get_label().startswith("schoenfeld")]
    panels = [p for e in results["plan"]["endpoints"] for p in results["cox"][e]["ph_residuals"]]
    assert len(axes) == len(panels) == len(_failing(results))
    for ax, panel in zip(axes, panels):
        assert theme.p_text(panel["p"]) in ax.get_title(loc="left")
        offsets = ax.collections[0].get_offsets()
        assert np.allclose(offsets[:, 0], panel["x"]) and np.allclose(offsets[:, 1], panel["residual"])
        line = [ln for ln in ax.lines if np.allclose(ln.get_ydata(), panel["line"])]
        assert line, "a horizontal line at the Cox coefficient"
        assert any(np.allclose(ln.get_ydata(), panel["smooth"]["fit"]) for ln in ax.lines)
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"{m:g}" for m in panel["axis"]["months"]]
    assert style.SYNTHETIC_NOTE in {t.get_text() for t in fig.findobj(Text)}
    real = dict(results, synthetic=False)
    assert style.SYNTHETIC_NOTE not in {t.get_text() for t in registry.draw("ph_residuals", real).findobj(Text)}

    nothing = copy.deepcopy(results)
    for endpoint in nothing["plan"]["endpoints"]:
        nothing["cox"][endpoint]["ph_residuals"] = []
    empty = registry.draw("ph_residuals", nothing)
    assert not [ax for ax in empty.axes if ax.get_label().startswith("schoenfeld")]
    assert any("No term of any Cox model failed" in t.get_text() for t in empty.findobj(Text))


def test_supplement_sentence_names_the_failing_terms_or_says_none_failed(shipped_results):
    import copy

    from analysis.report_text import InlineText

    text = InlineText(shipped_results).ph_residuals_sentence
    assert f"the {len(_failing(shipped_results))} terms with P < 0.05" in text
    nothing = copy.deepcopy(shipped_results)
    for endpoint in nothing["plan"]["endpoints"]:
        nothing["cox"][endpoint]["ph_residuals"] = []
    assert InlineText(nothing).ph_residuals_sentence.startswith("No term of any Cox model failed")


def test_spline_bases_span_the_same_space():
    """The truncated-power basis (distinct knots) and the constrained B-spline basis give the same
    least-squares smooth; heavily tied x (a repeated knot) takes the B-spline basis and still fits."""
    import numpy as np

    from analysis.stats import efron

    rng = np.random.default_rng(7)
    for _ in range(50):
        x = np.sort(rng.exponential(size=int(rng.integers(5, 200))))
        values = np.r_[np.linspace(x.min(), x.max(), 40), x]
        lo, hi = values.min(), values.max()
        interior = np.quantile(values, np.linspace(0, 1, 4)[1:-1])
        power, bspline = efron.natural_spline_basis(values), efron._natural_bspline_basis(values, lo, hi, interior)
        y = rng.normal(size=len(values))
        fit_power = power @ np.linalg.lstsq(power, y, rcond=None)[0]
        fit_bspline = bspline @ np.linalg.lstsq(bspline, y, rcond=None)[0]
        assert np.allclose(fit_power, fit_bspline, atol=1e-9)
    tied = np.r_[np.full(300, 0.5), np.linspace(0, 1, 40)]   # both interior quantiles at 0.5: a repeated knot
    basis = efron.natural_spline_basis(tied)
    assert basis.shape == (340, 4) and np.all(np.isfinite(basis)) and np.linalg.matrix_rank(basis) == 4
    at_boundary = np.r_[np.zeros(200), np.linspace(0, 1, 40)]   # both interior quantiles on the lower boundary
    assert efron.natural_spline_basis(at_boundary) is None
    assert efron.zph_smooth(np.r_[np.zeros(200), np.linspace(0, 1, 40)], np.ones(240), 1.0) is None
