"""The render's "compared with the outputs replaced" summary, made while the documents render.

``render_command.ChangeSummary`` begins the comparison once the pre-render step has staged the
new results file and uses that answer only when both results files still hold the bytes it was
made from; otherwise it compares again before the swap. The engine calls ``pre_rendered`` after
the pre-render step, before any cell runs. No timing is asserted.
"""

from __future__ import annotations

import threading
from pathlib import Path

from analysis import render_command
from analysis.render.command import render


def _files(tmp_path: Path, previous: bytes, staged: bytes) -> tuple[Path, Path]:
    output_dir, staging = tmp_path / "out", tmp_path / "staging"
    output_dir.mkdir()
    staging.mkdir()
    (output_dir / render_command.RESULTS_FILE).write_bytes(previous)
    (staging / render_command.RESULTS_FILE).write_bytes(staged)
    return output_dir, staging


def _counting_comparison(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def fake(previous, staged):
        calls.append((previous, staged))
        return [f"{previous!r} -> {staged!r}"]

    monkeypatch.setattr(render_command, "_what_changed", fake)
    return calls


def test_the_early_comparison_is_used_when_both_files_are_unchanged(tmp_path, monkeypatch):
    calls = _counting_comparison(monkeypatch)
    output_dir, staging = _files(tmp_path, b"old", b"new")
    summary = render_command.ChangeSummary()
    summary.start(output_dir, staging)
    summary.finish(output_dir, staging)
    assert calls == [(b"old", b"new")]          # made once, in the thread
    assert summary.lines == ["b'old' -> b'new'"]


def test_a_results_file_changed_after_the_early_comparison_is_compared_again(tmp_path, monkeypatch):
    calls = _counting_comparison(monkeypatch)
    output_dir, staging = _files(tmp_path, b"old", b"new")
    summary = render_command.ChangeSummary()
    summary.start(output_dir, staging)
    summary._thread.join()
    (staging / render_command.RESULTS_FILE).write_bytes(b"newer")    # e.g. a post-render step rewrote it
    summary.finish(output_dir, staging)
    assert summary.lines == ["b'old' -> b'newer'"] and calls[-1] == (b"old", b"newer")

    summary = render_command.ChangeSummary()
    summary.start(output_dir, staging)
    summary._thread.join()
    (output_dir / render_command.RESULTS_FILE).unlink()               # the outgoing one, this time
    summary.finish(output_dir, staging)
    assert summary.lines == ["None -> b'newer'"]


def test_without_a_pre_render_step_the_comparison_is_made_before_the_swap(tmp_path, monkeypatch):
    calls = _counting_comparison(monkeypatch)
    output_dir, staging = _files(tmp_path, b"old", b"new")
    summary = render_command.ChangeSummary()
    summary.finish(output_dir, staging)       # a cache hit: start was never called
    assert calls == [(b"old", b"new")] and summary.lines == ["b'old' -> b'new'"]


def test_the_real_comparison_reads_the_bytes_it_is_given(tmp_path):
    assert render_command._what_changed(b"{}", None) == []
    assert render_command._what_changed(None, b"not json") == []
    assert render_command._what_changed(None, b'{"schema_version": 1}') == []   # no previous set: nothing said
    line, = render_command._what_changed(b'{"schema_version": 1}', b'{"schema_version": 1}')
    assert line.startswith("compared with the outputs replaced: ")


def test_the_engine_calls_pre_rendered_after_the_pre_render_step_and_before_the_swap(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _out\n  pre-render: prerender.py\n")
    (root / "prerender.py").write_text(
        "import os, pathlib\npathlib.Path(os.environ['STAGED_VALUE']).write_text('staged by the pre-render step')\n")
    (root / "doc.qmd").write_text("---\ntitle: Doc\n---\n\nNo code here.\n")
    events: list[tuple[str, str | None]] = []

    def seen(what: str):
        def hook(output_dir: Path, staging: Path) -> None:
            value = staging / "value.txt"
            events.append((what, value.read_text() if value.is_file() else None, threading.current_thread().name))
        return hook

    status = render(str(root), to="html", engine="embedded", staged_env={"STAGED_VALUE": "value.txt"},
                    pre_rendered=seen("pre_rendered"), before_swap=seen("before_swap"), progress=lambda _m: None)
    assert status == 0
    assert [e[:2] for e in events] == [("pre_rendered", "staged by the pre-render step"),
                                       ("before_swap", "staged by the pre-render step")]


def test_a_failure_in_the_early_comparison_is_left_to_the_comparison_before_the_swap(tmp_path, monkeypatch, capsys):
    """No traceback from the thread: the comparison before the swap is made again (and reports any failure)."""
    output_dir, staging = _files(tmp_path, b"old", b"new")
    calls = []

    def failing_then_working(previous, staged):
        calls.append(staged)
        if len(calls) == 1:
            raise RuntimeError("early comparison failed")
        return ["made before the swap"]

    monkeypatch.setattr(render_command, "_what_changed", failing_then_working)
    escaped = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)   # what a thread would print as a traceback
    summary = render_command.ChangeSummary()
    summary.start(output_dir, staging)
    summary.finish(output_dir, staging)
    assert summary.lines == ["made before the swap"] and len(calls) == 2
    assert escaped == [] and "Traceback" not in capsys.readouterr().err
