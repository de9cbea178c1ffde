"""``python -m analysis preview``: a real server on loopback, a real HTTP client, real file edits.

One preview process serves a small project (one document that prints Table 1 from
``analysis.report``) on a copy of the shipped data; the test edits the text, corrects a
value in the ledger, breaks and fixes the data, and stops the server with Ctrl-C
(SIGINT). Every wait is bounded; nothing is timed.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import paths
from analysis.preview import Change, Watcher, _inject

DOC = """---
title: "Preview fixture"
---

```{python}
#| include: false
from analysis import report

R = report.load()
```

Intro sentence number one.

There are `{python} R.t.n_patients` patients.

```{python}
#| output: asis
print(R.table_markdown("baseline"))
```
"""

WAIT_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8")
    finally:
        connection.close()


def _status(port: int) -> dict:
    return json.loads(_get(port, "/__preview/status")[1])


def _wait(condition, what: str, process: subprocess.Popen, timeout: float = WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"preview exited ({process.returncode}) while waiting for {what}")
        try:
            value = condition()
        except (OSError, http.client.HTTPException, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _add_correction(data: Path) -> None:
    with open(data / "patients.csv", newline="", encoding="utf-8") as handle:
        patient = next(csv.DictReader(handle))
    old = patient["ecog"]
    new = "0" if old != "0" else "1"
    ledger = data / "corrections.csv"
    text = ledger.read_text(encoding="utf-8") if ledger.exists() else \
        "correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"
    text += f"T001,patients.csv,{patient['patient_id']},ecog,{old},{new},preview test,2026-12-01,TEST\n"
    ledger.write_text(text, encoding="utf-8")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "report").mkdir(parents=True)
    (root / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _output\n  render:\n    - report/doc.qmd\n",
                                      encoding="utf-8")
    (root / "report" / "doc.qmd").write_text(DOC, encoding="utf-8")
    shutil.copytree(paths.SHIPPED_DATA, root / "data")
    return root


def test_preview_serves_reloads_and_rerenders_only_what_changed(project: Path):
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)
    process = subprocess.Popen([sys.executable, "-m", "analysis", "preview", str(project), "--port", str(port),
                                "--no-browser", "--data", str(project / "data")],
                               cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = _wait(lambda: (s := _status(port))["ready"] and s, "the first render", process)
        assert ready["versions"] == {"/report/doc.html": 1} and ready["error"] is None
        assert ready["busy"] is False   # the benchmark times each edit from an idle preview

        # Served page: the document, and the reload script added at serve time (never to the file).
        status, page = _get(port, "/report/doc.html")
        assert status == 200 and "Intro sentence number one." in page
        assert "/__preview/events" in page
        written = (project / ".preview" / "_output" / "report" / "doc.html").read_text(encoding="utf-8")
        assert "/__preview/events" not in written
        assert _get(port, "/../../etc/passwd")[0] == 404
        table_before = page[page.index("<table"):page.index("</table>")]

        # The page's event stream says its version now and again after a change.
        events = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
        events.request("GET", "/__preview/events?doc=/report/doc.html&v=1")
        stream = events.getresponse()
        assert stream.getheader("Content-Type") == "text/event-stream"
        assert json.loads(stream.readline().decode().removeprefix("data: "))["version"] == 1

        # A text edit: the new text is served; the cells did not run again.
        qmd = project / "report" / "doc.qmd"
        qmd.write_text(DOC.replace("number one", "number two"), encoding="utf-8")
        line = b""
        while not line.startswith(b"data:"):
            line = stream.readline()
        assert json.loads(line.decode().removeprefix("data: "))["version"] == 2
        events.close()
        assert "Intro sentence number two." in _get(port, "/report/doc.html")[1]
        after_text = _status(port)
        assert after_text["kernels"]["/report/doc.html"] == {"runs": 1, "reuses": 1}
        assert after_text["results_version"] == 1

        # A correction in the ledger: results computed again, the cells run again, Table 1 follows.
        _add_correction(project / "data")
        _wait(lambda: _status(port)["versions"]["/report/doc.html"] == 3, "the corrected render", process)
        after_fix = _status(port)
        assert after_fix["results_version"] == 2 and after_fix["kernels"]["/report/doc.html"]["runs"] == 2
        page = _get(port, "/report/doc.html")[1]
        assert page[page.index("<table"):page.index("</table>")] != table_before

        # Bad data: the error is reported, the last good page stays; fixing it renders again.
        patients = project / "data" / "patients.csv"
        good = patients.read_bytes()
        patients.write_bytes(good.replace(b"\n", b"\nnot,a,valid,row\n", 1))
        error = _wait(lambda: _status(port)["error"], "the data error", process)
        assert "patients.csv" in error
        assert "Intro sentence number two." in _get(port, "/report/doc.html")[1]
        patients.write_bytes(good)
        _wait(lambda: (s := _status(port))["versions"]["/report/doc.html"] == 4 and s["error"] is None,
              "the render after the fix", process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    assert f"Browse at http://127.0.0.1:{port}/" in output
    assert "Traceback" not in output


def test_watcher_tells_a_text_edit_from_a_data_change(tmp_path: Path):
    report, data = tmp_path / "report", tmp_path / "data"
    report.mkdir()
    data.mkdir()
    doc, other, plan = report / "a.qmd", report / "b.qmd", tmp_path / "plan.yml"
    for path in (doc, other, report / "refs.bib", data / "patients.csv", plan):
        path.write_text("x", encoding="utf-8")
    watcher = Watcher([doc, other], data, plan)
    assert not watcher.poll()
    doc.write_text("xy", encoding="utf-8")
    change = watcher.poll()
    assert change.documents == {doc.resolve()} and not change.results and not change.resources
    (data / "corrections.csv").write_text("new ledger", encoding="utf-8")
    assert watcher.poll().results
    plan.write_text("changed", encoding="utf-8")
    assert watcher.poll().results
    (report / "refs.bib").write_text("changed", encoding="utf-8")
    change = watcher.poll()
    assert change.resources and not change.documents
    (report / "a.qmd~").write_text("editor backup", encoding="utf-8")
    assert not watcher.poll()


def test_reload_script_goes_before_the_end_of_the_body():
    page = _inject(b"<html><body><p>x</p></body></html>", "/report/a.html", 3)
    assert page.startswith(b"<html><body><p>x</p><script>") and page.endswith(b"</script>\n</body></html>")
    assert b'"/report/a.html"' in page and b"version = 3" in page
    assert not Change()




def _two_document_session(tmp_path: Path):
    """A preview session over report/a.qmd and report/b.qmd (nothing started)."""
    from analysis.preview import PreviewSession
    from analysis.render.project import load_project

    root = tmp_path / "project"
    (root / "report").mkdir(parents=True)
    (root / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _output\n  render:\n"
                                      "    - report/a.qmd\n    - report/b.qmd\n", encoding="utf-8")
    for name in ("a", "b"):
        (root / "report" / f"{name}.qmd").write_text("---\ntitle: x\n---\n\nText.\n", encoding="utf-8")
    project = load_project(root)
    documents = [root / "report" / "a.qmd", root / "report" / "b.qmd"]
    session = PreviewSession(project, documents, data=str(paths.SHIPPED_DATA), progress=lambda message: None)
    return session


def test_a_change_renders_the_pages_open_in_a_browser_first(tmp_path: Path, monkeypatch):
    """On few cores the unseen document would slow the page looked at: viewed pages are rendered, and
    their new version published, before the other documents start."""
    session = _two_document_session(tmp_path)
    events: list[str] = []
    monkeypatch.setattr(session, "_compute_results", lambda: True)
    monkeypatch.setattr(session, "_render_html", lambda doc, start: events.append(f"render {doc.stem}"))
    original_set = session._set
    monkeypatch.setattr(session, "_set", lambda page, error=None, bump=False: (
        events.append(f"published {page}") if bump else None, original_set(page, error, bump)))
    session.results_path.parent.mkdir(parents=True, exist_ok=True)
    session.results_path.write_text("{}", encoding="utf-8")
    try:
        session.viewing("/report/b.html", +1)       # b is open in a browser
        session.rebuild(Change(results=True))
        assert events == ["render b", "published /report/b.html", "render a", "published /report/a.html"]
        events.clear()
        session.viewing("/report/b.html", -1)       # nobody looks: both at once, in document order
        session.rebuild(Change(results=True))
        # side by side (each document has its own worker), published in document order: b's render
        # may start before or after a is published, so only these orders are certain
        assert sorted(events) == ["published /report/a.html", "published /report/b.html", "render a", "render b"]
        assert [e for e in events if e.startswith("published")] == ["published /report/a.html", "published /report/b.html"]
        assert events.index("render a") < events.index("published /report/a.html")
        assert events.index("render b") < events.index("published /report/b.html")
    finally:
        for pool in session._pools.values():
            pool.shutdown(wait=True)


def test_a_save_during_a_change_leaves_the_unseen_documents_to_the_next_round(tmp_path: Path, monkeypatch):
    """A second save while the page in view is rendered: the other documents are not rendered for the
    first change (that render would be stale and hold up the second), but in the next round."""
    session = _two_document_session(tmp_path)
    root = session.project.root
    events: list[str] = []

    def render(doc, start):
        events.append(f"render {doc.stem}")
        if doc.stem == "b" and len(events) == 1:   # the author saves a.qmd while b (in view) renders
            (root / "report" / "a.qmd").write_text("---\ntitle: x\n---\n\nText, edited.\n", encoding="utf-8")

    monkeypatch.setattr(session, "_compute_results", lambda: True)
    monkeypatch.setattr(session, "_render_html", render)
    session.results_path.parent.mkdir(parents=True, exist_ok=True)
    session.results_path.write_text("{}", encoding="utf-8")
    try:
        session.viewing("/report/b.html", +1)
        session.rebuild(Change(results=True))
        assert events == ["render b"]                # a: left to the next round
        session.step()
        assert events == ["render b", "render a"]    # the next round: a, with its edit (b is not touched)
        assert not session.step()                    # nothing left over
        assert session.versions == {"/report/b.html": 1, "/report/a.html": 1}
    finally:
        for pool in session._pools.values():
            pool.shutdown(wait=True)
