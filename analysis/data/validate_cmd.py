"""``python -m analysis validate [--data DIR] [--plan FILE]``.

Validates a data directory and prints a summary (stdout, exit 0): the directory,
counts of patients, lesions, sessions, complications and screening rows, the
corrections applied (id, file, record, column, old -> new, reason), study-criteria
warnings and the SHA-256 of every input file. On bad data it prints every problem
(stderr) and exits with status 2, never with a traceback.
"""

from __future__ import annotations

import os
import sys

import yaml

from analysis import paths
from analysis.safe_text import terminal
from analysis.data.errors import DataError, Problem


SHOWN = 120  # characters of one ledger value in the summary (a 5,000-character reason stays one line)


def _short(text: object) -> str:
    text = str(text)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text) - SHOWN} more characters)"


def summary(cohort) -> str:
    """The validation summary of a loaded :class:`~analysis.data.cohort.Cohort`."""
    lines = [
        f"Data directory: {cohort.data_dir}" + ("  (synthetic)" if cohort.is_synthetic else ""),
        f"Plan: {cohort.plan.path}",
        "Data valid.",
        f"  patients:      {len(cohort.patients)}",
        f"  lesions:       {len(cohort.lesions)}",
        f"  sessions:      {len(cohort.sessions)}",
        f"  complications: {len(cohort.complications)}",
        f"  screening:     {len(cohort.screening) if cohort.screening is not None else 'no screening.csv'}"
        + (" rows" if cohort.screening is not None else ""),
        f"Corrections applied: {len(cohort.corrections)}",
    ]
    for row in cohort.corrections.itertuples(index=False):   # the ledger: small
        # ledger text reaches the terminal with its control characters (ANSI escapes) shown, not sent
        lines.append(terminal(f"  {row.correction_id}: {row.file} {row.record_id} {row.column}: "
                              f"{_short(repr(row.old_value))} -> {_short(repr(row.new_value))} "
                              f"({_short(row.reason)}; {_short(row.corrected_by)}, {row.corrected_on})"))
    lines.append(f"Warnings: {len(cohort.warnings)}")
    lines += [terminal(f"  - {w}") for w in cohort.warnings]
    lines.append("SHA-256 of input files:")
    lines += [f"  {digest}  {name}" for name, digest in sorted(cohort.provenance.items())]
    return "\n".join(lines)


def run(args) -> int:
    from analysis.data.cohort import load_cohort
    from analysis.plan import load_plan

    directory = paths.data_dir(args.data)
    hint = (" (the shipped synthetic data are written by `python -m analysis synth`)"
            if directory == paths.SHIPPED_DATA else "")
    if not directory.is_dir():
        raise DataError([Problem(str(directory), None, None, None, "data directory not found" + hint)])
    if hint and not any(directory.glob("*.csv")):
        raise DataError([Problem(str(directory), None, None, None, "data directory holds no CSV files" + hint)])
    try:
        plan = load_plan(args.plan)
    except (OSError, yaml.YAMLError) as error:
        raise DataError([Problem(str(paths.plan_file(args.plan)), None, None, None,
                                 f"analysis plan could not be read: {error}")]) from None
    try:
        cohort = load_cohort(directory, plan)
    except DataError:
        raise
    except Exception as error:  # never a traceback for a data manager; ABLATION_DEBUG=1 shows it
        if os.environ.get("ABLATION_DEBUG"):
            raise
        print(f"internal error while validating {directory} (please report; set ABLATION_DEBUG=1 "
              f"for details): {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(summary(cohort))
    return 0
