"""Quarto pre-render step (``project: pre-render`` in _quarto.yml).

Computes the results file and the journal figure files into the project's output
directory before any document runs, so ``quarto render`` and the embedded engine
leave the same set of files behind. The data directory comes from
$ABLATION_DATA_DIR (default: the shipped synthetic data).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

def main() -> int:
    import gc

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from analysis.paths import command_process

        command_process()   # as python -m analysis does, when Quarto runs this step itself
        from analysis.publish import publish_results

        status = publish_results(Path(os.environ.get("QUARTO_PROJECT_OUTPUT_DIR", "_output")))
    except KeyboardInterrupt:   # Ctrl-C reaches this child too: the render command reports it, once
        return 130
    except OSError as error:   # a full or read-only disk: one line, no traceback
        print(f"pre-render: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 1
    gc.freeze()  # no collection at shutdown of what lives to the end (0.2-0.4 s): the render waits for this process
    return status


if __name__ == "__main__":
    raise SystemExit(main())
