"""The seed search behind ``SHIPPED_SEED`` (a development tool, not run by ``synth``).

The survival design already fixes every marginal number (medians, CIs, rates,
follow-up), and the exact-count covariates fix the descriptive ones; what a
seed decides is which patient carries which (PFS, OS) pair, hence the
significance pattern. ``search_seed`` tries seeds 0, 1, 2, ... and returns the
first whose 62-patient cohort, written to a temporary directory and analysed by
the real pipeline (``analysis.data.load_cohort`` + ``analysis.results.compute_results``),
matches every row of the reproduction table (``analysis.reproduction``) and,
with ``require_ph=True``, raises no proportional-hazards warning for the
multivariable Cox models that the manuscript reports.

    .venv/bin/python -m analysis.synth.calibrate        # prints the seed found

It imports the later stages (results, reproduction) on purpose and only here:
the generator itself (``analysis.synth.generate``) never does.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def evaluate_seed(seed: int, n: int = 62) -> tuple[bool, bool, dict]:
    """(all reproduction rows match, no PH warning, results) for the cohort of ``seed``."""
    from analysis.data import load_cohort
    from analysis.reproduction import all_match
    from analysis.results import compute_results
    from analysis.synth import generate
    from analysis.synth.writer import write_tables

    with tempfile.TemporaryDirectory() as tmp:
        write_tables(generate(seed, n), tmp)
        results = compute_results(load_cohort(Path(tmp)))
    # the multivariable models are the ones the manuscript reports (univariable PH tests,
    # 26 of them, flag some model by chance even under exact proportional hazards)
    ph_ok = not any(w["kind"] == "proportional_hazards" and w["values"].get("model") == "multivariable"
                    for w in results["warnings"])
    return all_match(results), ph_ok, results


def search_seed(start: int = 0, tries: int = 200, require_ph: bool = True, verbose: bool = False) -> int:
    for seed in range(start, start + tries):
        matches, ph_ok, _ = evaluate_seed(seed)
        if verbose:
            print(f"seed {seed}: reproduction {'ok' if matches else 'fails'}, PH {'ok' if ph_ok else 'warned'}",
                  file=sys.stderr)
        if matches and (ph_ok or not require_ph):
            return seed
    raise RuntimeError(f"no seed in [{start}, {start + tries}) reproduces the published pattern")


if __name__ == "__main__":
    print(search_seed(verbose=True))
