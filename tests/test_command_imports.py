"""The commands import only what they use (issue 17: `results` starts fast).

A module named here is one an earlier version imported on the way and no longer needs (measured
costs in benchmarks/README.md); the command runs as ``python -m analysis`` does, and the modules
loaded when it ends are listed. No timing is asserted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Never needed by `results` (the cuts: analysis/stats/distributions.py, analysis/results_file.py,
# analysis/paths.py command_process).
# scipy.special's package __init__ and scipy's array-API layer it imports: the ufuncs are reached without them.
# pandera (and typeguard, which it imports): valid data pass the rules without it (analysis/data/schema.py).
NOT_IMPORTED_BY_RESULTS = ("hypothesis", "scipy.stats", "statsmodels", "matplotlib", "IPython",
                           "jsonschema", "rfc3987_syntax", "lifelines",
                           "scipy.special._support_alternative_backends", "scipy._lib._array_api", "numpy.f2py",
                           "pandera", "typeguard")

# Runs `python -m analysis ARGS` and writes the names of the modules loaded at exit to a file.
DRIVER = """
import atexit, json, runpy, sys
listing = sys.argv.pop(1)
atexit.register(lambda: open(listing, "w").write(json.dumps(sorted(
    name for name, module in sys.modules.items() if module is not None))))
sys.argv[0] = "analysis"
runpy.run_module("analysis", run_name="__main__", alter_sys=True)
"""


def loaded_modules(args: list[str], tmp_path: Path) -> set[str]:
    listing = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABLATION_")}
    done = subprocess.run([sys.executable, "-c", DRIVER, str(listing), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(listing.read_text()))


def test_results_command_loads_no_unneeded_module(tmp_path):
    modules = loaded_modules(["results", "--data", str(ROOT / "data" / "synthetic"),
                              "--out", str(tmp_path / "results.json")], tmp_path)
    assert {"analysis.results", "analysis.data.schema", "pandas", "scipy.special._ufuncs"} <= modules  # a real listing
    unneeded = sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_IMPORTED_BY_RESULTS))
    assert unneeded == []
