"""Fault tests: a render killed at each stage, two renders at once, a corrupted object of each cache kind.

A tiny project (one document, HTML only, a pre-render script) whose two outputs must
agree: ``stamp.txt`` (written by the pre-render step) and ``doc.html`` both show the
data value. Kills are driven by the test hook ``$ABLATION_FAULT_STAGE``
(``analysis.render.cache.fault_point``: SIGKILL at that stage), never by timing.
After every fault the output folder holds one complete, consistent set (the old
one or the new one), and the next render leaves no staging folder or old set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.render import cache as render_cache

pytestmark = pytest.mark.render

DOCUMENT = """---
title: "Fault fixture"
---

```{python}
import os
from pathlib import Path
print("VALUE:", (Path(os.environ["ABLATION_DATA_DIR"]) / "values.csv").read_text().split()[-1])
```
"""
PRE_RENDER = """import os
from pathlib import Path
value = (Path(os.environ["ABLATION_DATA_DIR"]) / "values.csv").read_text().split()[-1]
out = Path(os.environ["QUARTO_PROJECT_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
(out / "stamp.txt").write_text(value)
"""
# Runs the CLI; with NO_EXCHANGE the atomic exchange is unavailable (the two-rename fallback).
RUNNER = """import sys
from analysis.render import output_set
if sys.argv[1] == "1":
    output_set._exchange = lambda a, b: False
from analysis.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _out\n  pre-render: pre.py\n"
                                      "  render:\n    - doc.qmd\n")
    (root / "doc.qmd").write_text(DOCUMENT)
    (root / "pre.py").write_text(PRE_RENDER)
    (tmp_path / "data").mkdir()
    set_value(root, "1")
    (tmp_path / "runner.py").write_text(RUNNER)
    return root


def set_value(project: Path, value: str) -> None:
    (project.parent / "data" / "values.csv").write_text(f"a\n{value}\n")


def render(project: Path, stage: str | None = None, no_exchange: bool = False, no_cache: bool = False,
           wait: bool = True):
    env = {k: v for k, v in os.environ.items() if k not in ("ABLATION_RESULTS", render_cache.FAULT_ENV_VAR)}
    if stage:
        env[render_cache.FAULT_ENV_VAR] = stage
    argv = [sys.executable, str(project.parent / "runner.py"), "1" if no_exchange else "0", "render", str(project),
            "--to", "html", "--engine", "embedded", "--data", str(project.parent / "data")]
    if no_cache:
        argv.append("--no-cache")
    process = subprocess.Popen(argv, env=env, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not wait:
        return process
    out, _ = process.communicate()
    return process.returncode, out


def output_value(project: Path) -> str:
    """The value the output set shows; asserts that the set is complete and consistent."""
    out = project / "_out"
    record = json.loads((project / "._out.render-set.json").read_text())
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(record["files"]), "the folder holds files of another set"
    stamp = (out / "stamp.txt").read_text()
    assert f"VALUE: {stamp}" in (out / "doc.html").read_text(encoding="utf-8"), "a mixed set"
    return stamp


def leftovers(project: Path) -> list[str]:
    return sorted(p.name for p in project.iterdir() if ".staging-" in p.name or ".old-" in p.name)


RENDER_STAGES = ["locked", "pre-rendered", "rendered", "swap", "swapped", "cache-store"]


def test_a_render_killed_at_any_stage_leaves_the_old_or_the_new_set_and_the_next_run_cleans_up(project):
    """One render killed at each stage in turn (each with new data); one folder, one set after each."""
    assert render(project)[0] == 0 and output_value(project) == "1"
    shown = {"1"}
    for value, stage in enumerate(RENDER_STAGES + ["swap-between"], start=2):
        set_value(project, str(value))
        status, out = render(project, stage=stage, no_exchange=stage == "swap-between")
        assert status == -signal.SIGKILL, (stage, out)
        if (project / "_out").exists():
            now = output_value(project)
            assert now in shown | {str(value)}, stage   # the previous set or the new one, never a mix
            shown.add(now)
        else:   # killed between the two renames of the fallback: the old set is aside, put back next run
            assert stage == "swap-between" and leftovers(project)
    status, out = render(project)
    assert status == 0, out
    assert output_value(project) == str(value) and leftovers(project) == []


def test_a_restore_from_the_cache_killed_leaves_a_consistent_set(project):
    render(project)
    set_value(project, "2")
    render(project)
    set_value(project, "1")   # the first set's inputs again: a cache hit restores it
    status, out = render(project, stage="cache-restore")
    assert status == -signal.SIGKILL, out
    assert output_value(project) == "2"
    status, out = render(project)
    assert status == 0 and "cache: hit" in out and output_value(project) == "1" and leftovers(project) == []


def test_two_concurrent_renders_into_one_folder_leave_one_set(project):
    render(project)
    set_value(project, "2")
    first = render(project, wait=False)
    set_value(project, "3")   # the second render reads other data
    second = render(project, wait=False)
    outs = [p.communicate()[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert output_value(project) in ("2", "3") and leftovers(project) == []


def _objects(project: Path) -> list[Path]:
    return sorted((project / ".render-cache" / "_out" / "objects").glob("*/*"))


def test_a_corrupt_output_object_is_discarded_and_rendered_anew_and_no_cache_never_restores_it(project):
    render(project)
    html = next(o for o in _objects(project) if b"VALUE" in o.read_bytes())
    html.write_bytes(html.read_bytes()[:100])   # truncated
    status, out = render(project, no_cache=True)
    assert status == 0 and "cache: off" in out and output_value(project) == "1"
    assert b"VALUE" in html.read_bytes(), "the store kept the corrupt object"
    html.write_bytes(html.read_bytes()[:100])
    status, out = render(project)
    assert status == 0 and "does not match its SHA-256" in out and "kernel ready" in out
    assert output_value(project) == "1"
    assert "cache: hit" in render(project)[1]


def test_a_corrupt_figure_cache_entry_is_drawn_again(tmp_path):
    from analysis.figures.cache import FigureCache

    cache = FigureCache(tmp_path)
    source = tmp_path / "x.png"
    source.write_bytes(b"\x89PNG complete image")
    cache.put("k" * 64, [source])
    assert cache.get("k" * 64, ["x.png"]) is not None
    entry = cache.root / ("k" * 64)
    (entry / "x.png").write_bytes(b"\x89PNG trunc")
    assert cache.get("k" * 64, ["x.png"]) is None and not entry.exists()
    cache.put_bytes("j" * 64, "d.png", b"image")
    (cache.root / ("j" * 64) / "d.png.sha256").unlink()   # unverifiable: not used
    assert cache.get("j" * 64, ["d.png"]) is None


def test_a_cache_folder_that_is_a_file_turns_the_cache_off_with_one_line(project):
    (project / ".render-cache").write_text("not a folder")
    status, out = render(project)
    assert status == 0 and "cache: off (cache folder unusable" in out and "Traceback" not in out
    assert output_value(project) == "1"


def test_a_partial_render_leaves_no_output_of_other_inputs(project):
    render(project)
    (project / "_out" / "doc.pdf").write_bytes(b"%PDF from an earlier full render")   # as if --to pdf ran before
    (project / "._out.render-set.json").write_text(json.dumps({"files": ["doc.html", "stamp.txt", "doc.pdf"]}))
    set_value(project, "2")
    render(project)
    assert not (project / "_out" / "doc.pdf").exists() and output_value(project) == "2"


def test_a_read_only_output_parent_gives_one_line_and_exit_1(project, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    project.chmod(0o555)
    try:
        status, out = render(project)
    finally:
        project.chmod(0o755)
    assert status == 1 and "Traceback" not in out and "render error" in out
