"""A render does what the requested formats need: no journal figure files for one format, no rewrite of unchanged files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analysis import paths
from analysis.render import command

PROJECT = Path(__file__).parent / "fixtures" / "qmd" / "project"


@pytest.mark.parametrize("asked, wanted", [(None, True), ("html", False), ("typst", False), ("docx,html", False),
                                           ("html,typst,docx", True), ("docx, typst ,html", True)])
def test_journal_figures_only_for_a_render_of_every_format(monkeypatch, asked, wanted):
    if asked is None:
        monkeypatch.delenv(paths.RENDER_FORMATS_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(paths.RENDER_FORMATS_ENV_VAR, asked)
    assert paths.journal_figures_wanted() is wanted


def test_one_format_publishes_results_and_tables_but_no_figure_files(monkeypatch, tmp_path):
    from analysis.publish import publish_results
    from analysis.tables import registry

    monkeypatch.setenv(paths.RENDER_FORMATS_ENV_VAR, "html")
    monkeypatch.delenv("ABLATION_RESULTS", raising=False)
    monkeypatch.delenv(paths.DATA_ENV_VAR, raising=False)
    assert publish_results(tmp_path) == 0
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["reproduction"]
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    names = [*registry.tables(results), "strobe"]  # the registry's tables and the STROBE checklist
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == sorted(
        f"{n}.{ext}" for n in names for ext in ("csv", "md"))
    assert not (tmp_path / "figures").exists()


def test_the_render_command_tells_the_pre_render_which_formats(monkeypatch, tmp_path):
    seen = {}

    def fake_render(project, documents, project_mode, render_all, formats, staging, env, timings, progress, reuse=None,
                    pre_rendered=None):
        seen["formats"] = env[paths.RENDER_FORMATS_ENV_VAR]
        (staging / "second.html").write_text("x", encoding="utf-8")

    from analysis import render_command

    monkeypatch.setattr(command, "_render_embedded", fake_render)
    assert render_command.render(str(PROJECT), to="pdf", engine="embedded", out=str(tmp_path), no_cache=True,
                                 progress=lambda _m: None) == 0
    assert seen["formats"] == "typst"


@pytest.mark.parametrize("whole", [True, False])
def test_a_file_with_the_same_bytes_is_not_rewritten(tmp_path, whole):
    """Per file (a shared output folder) or by the whole-set exchange (a hard link to the old file)."""
    from analysis.render import output_set

    staging, out = tmp_path / "staging", tmp_path / "out"
    (staging / "figures").mkdir(parents=True)
    (out / "figures").mkdir(parents=True)
    for name, old, new in (("same.pdf", b"unchanged", b"unchanged"), ("changed.pdf", b"old", b"new!")):
        (out / "figures" / name).write_bytes(old)
        (staging / "figures" / name).write_bytes(new)
    (staging / "figures" / "new.pdf").write_bytes(b"first")
    same = out / "figures" / "same.pdf"
    os.utime(same, ns=(1_000_000_000, 1_000_000_000))
    before = same.stat()
    written = output_set.swap_in(staging, out, whole, {})
    assert sorted(p.name for p in written) == ["changed.pdf", "new.pdf", "same.pdf"]
    after = same.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert (out / "figures" / "changed.pdf").read_bytes() == b"new!"
    assert (out / "figures" / "new.pdf").read_bytes() == b"first"
