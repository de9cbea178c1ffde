"""Quarto post-render step (``project: post-render`` in _quarto.yml).

Sizes the Word tables to their content and writes the submission copy of the
manuscript (report/manuscript-submission.docx: figures left out, legends after
the references; analysis/docx_layout.py), then prints
what a journal office checks first, against the journal profile
(journals/<name>.yml, named in report/declarations.yml): the abstract's and the
main text's word counts and headings, and every title-page or declaration item
still "to be completed". It only reports: the exit status is 0 whatever it finds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from analysis.docx_layout import fit_tables, submission_copy
    from analysis.submission import submission_report

    out_dir = Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_output"))
    # Word tables sized to their content, no break inside a number (analysis/docx_layout.py).
    for docx in sorted(out_dir.glob("report/*.docx")):
        if not docx.stem.endswith("-submission"):
            fit_tables(docx)
    # The journal's form beside the reading draft: figures left out, legends after the references.
    reading = out_dir / "report" / "manuscript.docx"
    if reading.is_file():
        submission_copy(reading, reading.with_name("manuscript-submission.docx"))
    try:
        lines = submission_report(out_dir)
    except Exception as error:  # a report step never fails the render
        lines = [f"submission checks skipped: {type(error).__name__}: {error}"]
    print("submission checks (journal profile):")
    for line in lines:
        print(f"  {line}")
    raise SystemExit(0)
