"""Benchmarks: the project beside what a user would use instead, in one run on one machine.

    .venv/bin/python benchmarks/run.py                 # everything (about 25 minutes on 2 CPUs)
    .venv/bin/python benchmarks/run.py --quick         # one run of each, small sizes, 3 preview edits
    .venv/bin/python benchmarks/run.py --sizes 62 --repeats 1 --skip-render --skip-preview   # seconds

Parts (each number the median of ``--repeats`` runs, runs of the project and of the
peer interleaved; CPU = user + system seconds of the command and every process it
waited for, from ``wait4``):

  formats     cold one-format renders (``render --no-cache --to F``, fresh process) of
              both documents and of the manuscript alone, beside the R Markdown peer
              (``../shared/anchors/rmarkdown-peer.Rmd``, R Markdown knits once per
              format) rendering the same format; all three formats too.
  results     ``python -m analysis results`` beside the peer's computation alone
              (``Rscript rmarkdown-peer-compute.R DATA``).
  correction  every format again after one line is added to corrections.csv (an
              ECOG value) of data rendered before, against the project's own cold render.
  preview     ``python -m analysis preview`` driven through headless Chromium (Chrome
              DevTools Protocol over its websocket): from the file saved to the page's
              load event after the reload, for text edits of the manuscript and for
              corrections added to the ledger; the page's text is checked each time.
  scale       ``synth --patients N`` data; the stages of ``results`` in a fresh process
              per size (load + validate + derive, Table 1, Kaplan-Meier, log-rank,
              Cox; peak memory = maximum resident set size), R survival's survfit,
              survdiff and coxph on the same analysis data; at the largest size the
              whole ``results`` command beside R doing the same from the CSV files
              (the peer's computation: read, derive, survfit, survdiff, coxph).

R, the peer's packages and a LaTeX for its PDF are optional: a part or a column whose
tool is missing is skipped with a note. No timing is asserted in the tests
(``tests/test_benchmarks_smoke.py`` runs the quickest form).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT_DIR = ROOT / "benchmarks" / "_out"
DEFAULT_PEER = Path(os.environ.get("ABLATION_PEER_DIR") or ROOT.parent / "shared" / "anchors")
FULL_SIZES = [62, 10_000, 100_000, 1_000_000]
QUICK_SIZES = [62, 1_000]
FORMATS = ["html", "pdf", "docx"]
PEER_FORMAT = {"html": "html_document", "pdf": "pdf_document", "docx": "word_document", "all": "all"}
STAGES = ["load", "table1", "km", "logrank", "cox"]
STAGE_TITLES = {"load": "load+validate", "table1": "Table 1", "km": "Kaplan-Meier", "logrank": "log-rank", "cox": "Cox"}
GIB = 1024 ** 3
R_SCALE_TIMEOUT = 1500.0  # seconds: R on the largest cohort is stopped after this (reported as a bound)

# The targets (floors): ratio name -> largest ratio that meets it
TARGETS = {
    "one format / peer (CPU)": 0.5,
    "results / peer (CPU)": 0.5,
    "after a correction / cold (wall)": 0.3,
    "after a correction / cold (CPU)": 0.3,
    "preview text edit / cold (wall)": 0.05,
    "preview correction / cold (wall)": 0.15,
    "results at the largest size / R (wall)": 0.25,
}


# ------------------------------------------------------------------ helpers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Run(NamedTuple):
    wall: float
    cpu: float       # user + system of the process and its waited-for descendants
    peak: int        # maximum resident set size (bytes) of the process (and descendants)
    stdout: str


def timed_run(argv: list[str], env: dict | None = None, cwd: Path = ROOT, check: bool = True,
              timeout: float | None = None) -> Run:
    """One command, its wall time and (from ``wait4``) its own CPU time and peak memory.

    With ``timeout``, a command still running then is killed and ``TimeoutError`` raised.
    """
    import threading

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        timer = threading.Timer(timeout, process.kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if timer:
            timer.cancel()
            if wall >= timeout:
                raise TimeoutError(f"{' '.join(map(str, argv))} killed after {timeout:.0f} s")
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({process.returncode}):\n{stderr[-3000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, stdout)


def as_installed(project: Path) -> str:
    """Run the timed processes as an installed project runs: its modules byte-compiled.

    pip byte-compiles what it installs, and Python writes the bytecode of an editable project
    on its first import, except where PYTHONDONTWRITEBYTECODE is set (as on some build
    machines): there every process would compile the project's ~100 modules from source again
    (about 0.07 s each process). The setting is dropped for the timed processes, and the
    modules are compiled once beforehand, so the first timed run does not pay for it either.
    """
    import compileall

    had_setting = os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None
    for package in dict.fromkeys([ROOT / "analysis", project / "analysis"]):
        if package.is_dir():
            compileall.compile_dir(str(package), quiet=1)
    return "byte-compiled beforehand" + (" (PYTHONDONTWRITEBYTECODE dropped for the timed runs)" if had_setting else "")


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 ** 2:.0f} GiB RAM"
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def versions() -> str:
    from importlib.metadata import version

    out = []
    for name in ["pandas", "numpy", "pandera", "lifelines", "matplotlib", "pypandoc-binary", "typst"]:
        try:
            out.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            out.append(f"{name} ?")
    return ", ".join(out)


def add_correction(data: Path, serial: int) -> str:
    """Append one ledger row changing patient number ``serial``'s ECOG (a Table 1 variable); returns its id."""
    with open(data / "patients.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    patient = rows[serial % len(rows)]
    old = patient["ecog"]
    new = "0" if old != "0" else "1"
    ledger = data / "corrections.csv"
    header = "correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"
    text = ledger.read_text(encoding="utf-8") if ledger.exists() else header
    correction_id = f"B{serial:03d}"
    text += f"{correction_id},patients.csv,{patient['patient_id']},ecog,{old},{new},benchmark re-read,2026-11-26,BENCH\n"
    ledger.write_text(text, encoding="utf-8")
    return correction_id


# ------------------------------------------------------------------ the R Markdown peer


def r_available() -> tuple[bool, str]:
    rscript = shutil.which("Rscript")
    if not rscript:
        return False, "Rscript not found"
    check = subprocess.run([rscript, "-e", "suppressMessages(library(survival)); cat(as.character(packageVersion('survival')))"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        return False, "R found, survival package not installed"
    version = subprocess.run([rscript, "-e", "cat(R.version.string)"], capture_output=True, text=True).stdout.strip()
    return True, f"{version}, survival {check.stdout.strip()}"


# What the peer's pdf_document (rmarkdown's default LaTeX template) loads beyond xelatex itself.
PEER_PDF_STYLES = ("lmodern.sty",)


class Peer:
    """The R Markdown peer report, copied into a work folder (knitr writes beside the .Rmd)."""

    PACKAGES = ["rmarkdown", "knitr", "survival", "survminer", "flextable", "officer", "dplyr", "arsenal"]

    def __init__(self, source: Path, work: Path):
        self.source = source
        self.work = work
        self.note = ""
        self.formats: list[str] = []
        self.compute = False
        if not (source / "rmarkdown-peer.Rmd").is_file():
            self.note = f"peer not found in {source}"
            return
        if not shutil.which("Rscript"):
            self.note = "Rscript not found: peer skipped"
            return
        work.mkdir(parents=True, exist_ok=True)
        for name in ("rmarkdown-peer.Rmd", "rmarkdown-peer-compute.R"):
            shutil.copy(source / name, work / name)
        probe = "for (p in c(%s)) if (!requireNamespace(p, quietly = TRUE)) cat(p, '')" % ", ".join(
            f"'{p}'" for p in self.PACKAGES)
        missing = subprocess.run(["Rscript", "-e", probe], capture_output=True, text=True).stdout.split()
        if missing:
            self.note = f"R packages missing ({', '.join(missing)}): peer skipped (see shared/anchors/README.md)"
            return
        self.compute = True
        self.formats = ["html", "docx"]
        # R Markdown's pdf_document needs LaTeX packages beyond xelatex (lmodern first of all);
        # a missing one fails the knit, so ask kpsewhich before timing anything.
        latex_missing = ([] if shutil.which("xelatex") else ["xelatex"]) + [
            sty for sty in PEER_PDF_STYLES
            if not shutil.which("kpsewhich")
            or not subprocess.run(["kpsewhich", sty], capture_output=True, text=True).stdout.strip()]
        if latex_missing:
            self.note = (f"LaTeX missing ({', '.join(latex_missing)}): the peer's PDF skipped "
                         "(see shared/anchors/README.md)")
        else:
            self.formats.append("pdf")
        packages = subprocess.run(["Rscript", "-e", "cat(sapply(c('rmarkdown','survminer','flextable','arsenal'),"
                                   " function(p) paste(p, packageVersion(p))), sep=', ')"],
                                  capture_output=True, text=True).stdout.strip()
        self.versions = packages

    def render(self, fmt: str, data: Path, out: Path) -> Run:
        out.mkdir(parents=True, exist_ok=True)
        expr = (f"rmarkdown::render({str(self.work / 'rmarkdown-peer.Rmd')!r}, output_format = {PEER_FORMAT[fmt]!r}, "
                f"params = list(data_dir = {str(data)!r}), output_dir = {str(out)!r}, "
                f"intermediates_dir = {str(out)!r}, quiet = TRUE)")
        return timed_run(["Rscript", "-e", expr], cwd=self.work)

    def results(self, data: Path, timeout: float | None = None) -> Run:
        return timed_run(["Rscript", str(self.work / "rmarkdown-peer-compute.R"), str(data)], cwd=self.work,
                         timeout=timeout)


# ------------------------------------------------------------------ formats, results, correction


def render_argv(target: Path, to: list[str], out: Path, data: Path, no_cache: bool) -> list[str]:
    return ([sys.executable, "-m", "analysis", "render", str(target), "--engine", "embedded", "--to", ",".join(to),
             "--out", str(out), "--data", str(data)] + (["--no-cache"] if no_cache else []))


def formats_part(repeats: int, work: Path, project: Path, formats: list[str], peer: Peer) -> dict:
    """Cold renders per format (both documents, the manuscript alone) beside the peer, interleaved."""
    shipped = ROOT / "data" / "synthetic"
    manuscript = next(iter(sorted(project.rglob("manuscript.qmd"))), None)
    cells: dict[tuple[str, str], list[Run]] = {}
    for i in range(repeats):
        for fmt in formats + ["all"]:
            to = formats if fmt == "all" else [fmt]
            runs = [("project", project)] + ([("manuscript", manuscript)] if manuscript and fmt != "all" else [])
            for who, target in runs:
                out = work / f"cold-{who}-{fmt}-{i}"
                cells.setdefault((who, fmt), []).append(timed_run(render_argv(target, to, out, shipped, True)))
                shutil.rmtree(out, ignore_errors=True)
            if fmt in peer.formats or (fmt == "all" and peer.formats == ["html", "docx", "pdf"]):
                out = work / f"peer-{fmt}-{i}"
                cells.setdefault(("peer", fmt), []).append(peer.render(fmt, shipped, out))
                shutil.rmtree(out, ignore_errors=True)
            shown = ", ".join(f"{who} {median([r.cpu for r in cells[(who, fmt)]]):.1f} s CPU"
                              for who in ("project", "manuscript", "peer") if (who, fmt) in cells)
            print(f"  cold {fmt} (run {i + 1}): {shown}", flush=True)
    return {key: {"wall": median([r.wall for r in runs]), "cpu": median([r.cpu for r in runs]), "runs": len(runs)}
            for key, runs in cells.items()}


def results_part(repeats: int, work: Path, peer: Peer) -> dict:
    shipped = ROOT / "data" / "synthetic"
    cells: dict[str, list[Run]] = {"project": [], "peer": []}
    for i in range(repeats):
        cells["project"].append(timed_run([sys.executable, "-m", "analysis", "results", "--data", str(shipped),
                                           "--out", str(work / f"results-{i}.json")]))
        if peer.compute:
            cells["peer"].append(peer.results(shipped))
    print("  results only: " + ", ".join(f"{k} {median([r.cpu for r in v]):.2f} s CPU" for k, v in cells.items() if v),
          flush=True)
    return {k: {"wall": median([r.wall for r in v]), "cpu": median([r.cpu for r in v]), "runs": len(v)}
            for k, v in cells.items() if v}


def cold_all_part(repeats: int, work: Path, project: Path, formats: list[str]) -> dict:
    """Only the cold render of every format, both documents (the yardstick of the draft-loop ratios)."""
    shipped = ROOT / "data" / "synthetic"
    runs = []
    for i in range(repeats):
        out = work / f"cold-project-all-{i}"
        runs.append(timed_run(render_argv(project, formats, out, shipped, True)))
        shutil.rmtree(out, ignore_errors=True)
    print(f"  cold, all formats: {median([r.wall for r in runs]):.2f} s wall, {median([r.cpu for r in runs]):.2f} s CPU",
          flush=True)
    return {("project", "all"): {"wall": median([r.wall for r in runs]), "cpu": median([r.cpu for r in runs]),
                                 "runs": len(runs)}}


def project_copy(project: Path, copy: Path) -> Path:
    """The documents and _quarto.yml copied (to be edited), the analysis package linked (its pre-render script)."""
    shutil.copytree(project / "report", copy / "report")
    shutil.copy(project / "_quarto.yml", copy / "_quarto.yml")
    (copy / "analysis").symlink_to(project / "analysis", target_is_directory=True)
    return copy


def per_document_notes(stdout: str) -> str:
    """What the per-document cache did, from a render's progress lines."""
    reused = [line.split("]")[0].split("[")[-1] for line in stdout.splitlines() if "] reused:" in line]
    same = [line.split("]")[0].split("[")[-1] for line in stdout.splitlines() if "] executed Markdown unchanged" in line]
    return (f"documents reused: {', '.join(reused) or 'none'}; pandoc skipped (same Markdown): "
            f"{', '.join(same) or 'none'}")


def correction_part(repeats: int, work: Path, project: Path, formats: list[str]) -> dict:
    shipped = ROOT / "data" / "synthetic"
    runs, unchanged, edits = [], [], []
    notes = {}
    for i in range(repeats):
        data = work / f"data-{i}"
        shutil.copytree(shipped, data)
        out = work / f"corrected-{i}"
        timed_run(render_argv(project, formats, out, data, False))  # the state before the correction (not timed)
        unchanged.append(timed_run(render_argv(project, formats, out, data, False)))
        add_correction(data, serial=i + 1)
        runs.append(timed_run(render_argv(project, formats, out, data, False)))
        shutil.rmtree(out, ignore_errors=True)
        notes["correction"] = per_document_notes(runs[-1].stdout)
        if not (project / "report" / "supplement.qmd").is_file():
            continue
        # A heading of the supplement edited (a copy of the project), then all formats again.
        copy = project_copy(project, work / f"edit-project-{i}")
        out = work / f"edited-{i}"
        timed_run(render_argv(copy, formats, out, data, False))   # before the edit (not timed)
        supplement = copy / "report" / "supplement.qmd"
        supplement.write_text(supplement.read_text(encoding="utf-8").replace(
            "# Data provenance", f"# Data provenance (benchmark edit {i + 1})", 1), encoding="utf-8")
        edits.append(timed_run(render_argv(copy, formats, out, data, False)))
        notes["supplement edit"] = per_document_notes(edits[-1].stdout)
        shutil.rmtree(out, ignore_errors=True)
    reused = next((line.strip() for line in runs[-1].stdout.splitlines() if "figure cache:" in line), "")
    print(f"  after a correction: {median([r.wall for r in runs]):.2f} s ({notes['correction']})"
          + (f"; after a supplement edit: {median([r.wall for r in edits]):.2f} s ({notes['supplement edit']})"
             if edits else ""), flush=True)
    result = {"wall": median([r.wall for r in runs]), "cpu": median([r.cpu for r in runs]), "runs": len(runs),
              "unchanged": median([r.wall for r in unchanged]), "note": "; ".join(filter(None, [reused, notes["correction"]]))}
    if edits:
        result |= {"edit_wall": median([r.wall for r in edits]), "edit_cpu": median([r.cpu for r in edits]),
                   "edit_note": notes["supplement edit"]}
    return result


# ------------------------------------------------------------------ preview through headless Chromium


class Browser:
    """Headless Chromium driven over the Chrome DevTools Protocol (one page, its events in order)."""

    def __init__(self, timeout: float = 60):
        import websocket  # websocket-client (installed with Jupyter)

        self.profile = Path(tempfile.mkdtemp(prefix="bench-chromium-"))
        binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
        if not binary:
            raise RuntimeError("no chromium on PATH")
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[tuple[float, dict]] = []
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _receive(self, timeout: float) -> dict:
        self.ws.settimeout(timeout)
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append((time.perf_counter(), message))
        return message

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(max(0.1, deadline - time.monotonic()))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, event: str, timeout: float) -> float:
        """perf_counter() time at which the next ``event`` arrived."""
        deadline = time.monotonic() + timeout
        while True:
            for index, (at, message) in enumerate(self.events):
                if message["method"] == event:
                    del self.events[:index + 1]
                    return at
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {event} within {timeout} s")
            try:
                self._receive(remaining)
            except Exception as error:  # websocket timeout
                if "timed out" in str(error).lower():
                    continue
                raise

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"].get("value")

    def navigate(self, url: str, timeout: float = 120) -> None:
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired", timeout)

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_idle(status_url: str, timeout: float = 300) -> None:
    """Until the preview has rendered everything the last change touched (a correction re-renders the
    supplement after the page in view has reloaded), then 0.3 s: each edit is timed from an idle preview,
    not behind the tail of the one before."""
    deadline = time.monotonic() + timeout
    while json.loads(urllib.request.urlopen(status_url, timeout=5).read()).get("busy"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the preview stayed busy for {timeout} s")
        time.sleep(0.05)
    time.sleep(0.3)


def preview_part(edits: int, work: Path, project: Path) -> dict:
    """Median seconds from file saved to page reloaded, for text edits and corrections; the texts checked."""
    copy = work / "preview-project"
    shutil.copytree(project / "report", copy / "report")
    shutil.copy(project / "_quarto.yml", copy / "_quarto.yml")
    data = work / "preview-data"
    shutil.copytree(ROOT / "data" / "synthetic", data)
    manuscript = copy / "report" / "manuscript.qmd"
    text = manuscript.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]  # after the front matter
    sentence = next(line for line in body.splitlines()
                    if line and line[0].isalpha() and "`" not in line and "[@" not in line and len(line.split()) > 6)
    first_word = sentence.split()[0]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(work / "preview.log", "w", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "analysis", "preview", str(copy), "--port", str(port),
                               "--no-browser", "--data", str(data), "--out", str(work / "preview-out")],
                              cwd=copy, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    browser = None
    try:
        status_url = f"http://127.0.0.1:{port}/__preview/status"
        deadline = time.monotonic() + 300
        while True:
            try:
                if json.loads(urllib.request.urlopen(status_url, timeout=5).read())["ready"]:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("preview did not start: " + (work / "preview.log").read_text()[-2000:])
            time.sleep(0.2)
        browser = Browser()
        page = f"http://127.0.0.1:{port}/report/manuscript.html"
        browser.navigate(page)
        times: dict[str, list[float]] = {"text": [], "correction": []}
        for i in range(edits):
            marker = f"{first_word} (benchmark edit {i + 1})"
            browser.events.clear()
            saved = time.perf_counter()
            manuscript.write_text(text.replace(sentence, sentence.replace(first_word, marker, 1), 1), encoding="utf-8")
            loaded = browser.wait_for("Page.loadEventFired", 120)
            if not browser.evaluate(f"document.body.innerText.includes({json.dumps(marker)})"):
                raise RuntimeError(f"text edit {i + 1}: the reloaded page does not show it")
            times["text"].append(loaded - saved)
            wait_idle(status_url)
        for i in range(edits):
            before = json.loads(urllib.request.urlopen(status_url, timeout=5).read())["versions"]["/report/manuscript.html"]
            browser.events.clear()
            saved = time.perf_counter()
            add_correction(data, serial=i + 1)
            loaded = browser.wait_for("Page.loadEventFired", 300)
            shown = browser.evaluate("document.documentElement.outerHTML.match(/version = (\\d+)/)[1]")
            if int(shown) <= before:
                raise RuntimeError(f"correction {i + 1}: the page reloaded without the new render")
            times["correction"].append(loaded - saved)
            wait_idle(status_url)
    except (TimeoutError, RuntimeError) as error:
        log.flush()
        raise RuntimeError(f"{error}; preview log:\n" + (work / "preview.log").read_text()[-3000:]) from None
    finally:
        if browser is not None:
            browser.close()
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()
    print(f"  preview: text edit {median(times['text']):.2f} s, correction {median(times['correction']):.2f} s "
          f"(medians of {edits})", flush=True)
    return {k: median(v) for k, v in times.items()} | {"edits": edits,
                                                        "text_all": times["text"], "correction_all": times["correction"]}


# ------------------------------------------------------------------ scale


def stage_worker(data: str, export: str | None) -> None:
    """In a fresh process: time each results stage on ``data``; print JSON (seconds, peak RSS)."""
    from analysis.data import load_cohort
    from analysis.plan import load_plan
    from analysis.results import cox_results, endpoint_results, group_curves, logrank_results, table1_results

    seconds = {}
    started = time.perf_counter()
    cohort = load_cohort(data, load_plan())
    seconds["load"] = time.perf_counter() - started

    started = time.perf_counter()
    table1_results(cohort)
    seconds["table1"] = time.perf_counter() - started

    seconds["km"] = seconds["logrank"] = seconds["cox"] = 0.0
    selected = {}
    for endpoint in cohort.plan.endpoints:
        started = time.perf_counter()
        groups = group_curves(cohort, endpoint)
        endpoint_results(cohort, endpoint, groups)
        seconds["km"] += time.perf_counter() - started
        started = time.perf_counter()
        logrank_results(cohort, endpoint, groups)
        seconds["logrank"] += time.perf_counter() - started
        started = time.perf_counter()
        cox = cox_results(cohort, endpoint)
        seconds["cox"] += time.perf_counter() - started
        selected[endpoint] = list((cox.get("selection") or {}).get("selected") or [])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    if export:  # the same analysis data for R (not timed)
        folder = Path(export)
        folder.mkdir(parents=True, exist_ok=True)
        frame = cohort.factors[cohort.plan.cox_candidates].astype(object).copy()
        for endpoint in cohort.plan.endpoints:
            frame[f"{endpoint}_months"] = cohort.patients[f"{endpoint}_months"].to_numpy()
            frame[f"{endpoint}_event"] = cohort.patients[f"{endpoint}_event"].to_numpy()
        frame.to_csv(folder / "analysis.csv", index=False)
        spec = {"endpoints": list(cohort.plan.endpoints), "logrank_factors": cohort.plan.logrank_factors,
                "cox_candidates": cohort.plan.cox_candidates, "selected": selected,
                "levels": {name: [str(c) for c in cohort.factors[name].cat.categories]
                           for name in cohort.plan.cox_candidates}}
        (folder / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        (folder / "levels.tsv").write_text("".join("\t".join([name] + levels) + "\n"
                                                   for name, levels in spec["levels"].items()), encoding="utf-8")
        (folder / "spec.txt").write_text(
            "\n".join([" ".join(spec["endpoints"]), " ".join(spec["logrank_factors"]), " ".join(spec["cox_candidates"])]
                      + [" ".join(selected[e]) or "-" for e in spec["endpoints"]]) + "\n", encoding="utf-8")
    print(json.dumps({"seconds": seconds, "peak_bytes": peak}))


def synth_data(n: int) -> Path:
    folder = OUT_DIR / f"synth-{n}"
    if not (folder / "patients.csv").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "analysis", "synth", "--patients", str(n), "--out", str(folder)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return folder


def r_times(export: Path) -> dict[str, float]:
    script = ROOT / "benchmarks" / "survival_bench.R"
    out = subprocess.run(["Rscript", str(script), str(export / "analysis.csv"), str(export / "spec.txt")],
                         capture_output=True, text=True, check=True).stdout
    times = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("km", "logrank", "cox"):
            times[parts[0]] = float(parts[1])
    return times


def scale_part(sizes: list[int], repeats: int, big_repeats: int, use_r: bool, peer: Peer) -> tuple[list[dict], dict]:
    rows = []
    for n in sizes:
        data = synth_data(n)
        runs = repeats if n < 100_000 else big_repeats
        stage_runs: dict[str, list[float]] = {s: [] for s in STAGES}
        peaks, r_runs = [], {"km": [], "logrank": [], "cox": []}
        export = OUT_DIR / f"export-{n}"
        for i in range(runs):
            argv = [sys.executable, str(Path(__file__).resolve()), "--stage-worker", str(data)]
            if use_r and i == 0:
                argv += ["--export", str(export)]
            report = json.loads(timed_run(argv).stdout.strip().splitlines()[-1])
            for stage in STAGES:
                stage_runs[stage].append(report["seconds"][stage])
            peaks.append(report["peak_bytes"])
            if use_r:
                for stage, value in r_times(export).items():
                    r_runs[stage].append(value)
        row = {"n": n, "runs": runs, "peak_bytes": max(peaks)}
        row.update({stage: median(values) for stage, values in stage_runs.items()})
        if use_r:
            row.update({f"r_{stage}": median(values) for stage, values in r_runs.items()})
        rows.append(row)
        print(f"  {n:>9,} patients: " + ", ".join(f"{s} {row[s]:.2f} s" for s in STAGES)
              + f", peak {row['peak_bytes'] / GIB:.2f} GiB", flush=True)
    # the whole command at the largest size, beside R doing the same from the CSV files
    whole = {}
    if sizes:
        n = max(sizes)
        data = synth_data(n)
        run = timed_run([sys.executable, "-m", "analysis", "results", "--data", str(data),
                         "--out", str(OUT_DIR / f"results-{n}.json")])
        whole = {"n": n, "wall": run.wall, "cpu": run.cpu, "peak_bytes": run.peak}
        if peer.compute:
            try:
                r_run = peer.results(data, timeout=R_SCALE_TIMEOUT)
                whole.update(r_wall=r_run.wall, r_cpu=r_run.cpu, r_peak_bytes=r_run.peak)
            except TimeoutError:  # the ratio is then at most ours / the timeout
                whole.update(r_wall=R_SCALE_TIMEOUT, r_cpu=float("nan"), r_peak_bytes=0, r_timed_out=True)
        print(f"  results, {n:,} patients: {run.wall:.1f} s, peak {run.peak / GIB:.2f} GiB"
              + (f"; R {whole['r_wall']:.1f} s" if "r_wall" in whole else ""), flush=True)
    return rows, whole


# ------------------------------------------------------------------ report


def ratio_line(name: str, value: float | None, detail: str) -> str:
    if value is None:
        return f"| {name} | n/a | <= {TARGETS[name]} | not measured | {detail} |"
    met = "met" if value <= TARGETS[name] else "NOT met"
    return f"| {name} | {value:.3f} | <= {TARGETS[name]} | {met} | {detail} |"


def format_tables(header: list[str], formats: dict, results: dict, correction: dict, preview: dict,
                  scale_rows: list[dict], whole: dict, use_r: bool, r_note: str) -> str:
    lines = header + [""]
    ratios = []
    cold_all = formats.get(("project", "all"), {}).get("wall")
    if formats:
        lines += ["| cold render (`render --no-cache`, fresh process) | project, both documents: wall s | CPU s "
                  "| manuscript only: wall s | CPU s | R Markdown peer: wall s | CPU s | runs |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for fmt in FORMATS + ["all"]:
            cells = [formats.get((who, fmt)) for who in ("project", "manuscript", "peer")]
            if not cells[0]:
                continue
            shown = []
            for cell in cells:
                shown += [f"{cell['wall']:.2f}", f"{cell['cpu']:.2f}"] if cell else ["—", "—"]
            lines.append(f"| {'all three formats' if fmt == 'all' else fmt} | " + " | ".join(shown)
                         + f" | {cells[0]['runs']} |")
            peer = cells[2]
            if peer and fmt != "all":
                for who, cell in (("both documents", cells[0]), ("manuscript only", cells[1])):
                    if cell:
                        ratios.append(ratio_line("one format / peer (CPU)", cell["cpu"] / peer["cpu"],
                                                 f"{fmt}, {who}: {cell['cpu']:.1f} s / {peer['cpu']:.1f} s"))
        lines.append("")
    if results:
        project, peer = results.get("project"), results.get("peer")
        lines.append(f"Results only (`python -m analysis results`, 62 patients): wall {project['wall']:.2f} s, "
                     f"CPU {project['cpu']:.2f} s" + (f"; peer's computation (`Rscript rmarkdown-peer-compute.R`): "
                                                     f"wall {peer['wall']:.2f} s, CPU {peer['cpu']:.2f} s" if peer else "")
                     + f" ({project['runs']} runs).")
        lines.append("")
        if peer:
            ratios.append(ratio_line("results / peer (CPU)", project["cpu"] / peer["cpu"],
                                     f"{project['cpu']:.2f} s / {peer['cpu']:.2f} s"))
    if correction:
        lines.append(f"All three formats after one correction (ECOG of one patient, data rendered before): "
                     f"wall {correction['wall']:.2f} s, CPU {correction['cpu']:.2f} s; nothing changed: "
                     f"{correction['unchanged']:.2f} s; {correction['note']} ({correction['runs']} runs).")
        lines.append("")
        if "edit_wall" in correction:
            lines.append(f"All three formats after a heading of the supplement is edited (data rendered before): "
                         f"wall {correction['edit_wall']:.2f} s, CPU {correction['edit_cpu']:.2f} s; "
                         f"{correction['edit_note']}.")
            lines.append("")
        if cold_all:
            cold_cpu = formats[("project", "all")]["cpu"]
            ratios.append(ratio_line("after a correction / cold (wall)", correction["wall"] / cold_all,
                                     f"{correction['wall']:.2f} s / {cold_all:.2f} s"))
            ratios.append(ratio_line("after a correction / cold (CPU)", correction["cpu"] / cold_cpu,
                                     f"{correction['cpu']:.2f} s / {cold_cpu:.2f} s"))
            if "edit_cpu" in correction:
                ratios.append(f"| after a supplement edit / cold (CPU) | {correction['edit_cpu'] / cold_cpu:.3f} | "
                              f"(no target) | | {correction['edit_cpu']:.2f} s / {cold_cpu:.2f} s |")
    if preview:
        lines.append(f"Preview through headless Chromium, file saved -> page reloaded (medians of {preview['edits']}): "
                     f"text edit {preview['text']:.3f} s (all: {', '.join(f'{t:.2f}' for t in preview['text_all'])}); "
                     f"correction {preview['correction']:.3f} s "
                     f"(all: {', '.join(f'{t:.2f}' for t in preview['correction_all'])}).")
        lines.append("")
        if cold_all:
            ratios.append(ratio_line("preview text edit / cold (wall)", preview["text"] / cold_all,
                                     f"{preview['text']:.3f} s / cold render of all formats {cold_all:.2f} s"))
            ratios.append(ratio_line("preview correction / cold (wall)", preview["correction"] / cold_all,
                                     f"{preview['correction']:.3f} s / {cold_all:.2f} s"))
    if scale_rows:
        head = "| patients | " + " | ".join(STAGE_TITLES[s] for s in STAGES) + " | stages total | peak RSS |"
        rule = "|---:|" + "---:|" * (len(STAGES) + 2)
        if use_r:
            head += " R KM | R log-rank | R Cox | Python / R (KM + log-rank + Cox) |"
            rule += "---:|---:|---:|---:|"
        lines += ["`results` stages (seconds, median of the runs; peak = maximum resident set size of the process)", "",
                  head, rule]
        for row in scale_rows:
            total = sum(row[s] for s in STAGES)
            cells = [f"{row['n']:,}"] + [f"{row[s]:.2f}" for s in STAGES] + [f"{total:.2f}",
                                                                             f"{row['peak_bytes'] / GIB:.2f} GiB"]
            if use_r:
                python_part = row["km"] + row["logrank"] + row["cox"]
                r_part = row.get("r_km", 0) + row.get("r_logrank", 0) + row.get("r_cox", 0)
                cells += [f"{row.get('r_km', float('nan')):.2f}", f"{row.get('r_logrank', float('nan')):.2f}",
                          f"{row.get('r_cox', float('nan')):.2f}", f"{python_part / r_part:.2f}" if r_part else "n/a"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("\nRuns per size: " + ", ".join(f"{row['n']:,}: {row['runs']}" for row in scale_rows) + ".")
        if not use_r:
            lines.append(f"R comparison skipped: {r_note}.")
        lines.append("")
    if whole:
        lines.append(f"Whole `results` command at {whole['n']:,} patients: wall {whole['wall']:.1f} s, CPU "
                     f"{whole['cpu']:.1f} s, peak {whole['peak_bytes'] / GIB:.2f} GiB"
                     + ((f"; R doing the same from the CSV files (the peer's computation): still running after "
                         f"{whole['r_wall']:.0f} s, stopped (the ratio below is an upper bound)") if whole.get("r_timed_out")
                        else f"; R doing the same from the CSV files (the peer's computation): wall {whole['r_wall']:.1f} s, "
                        f"CPU {whole['r_cpu']:.1f} s, peak {whole['r_peak_bytes'] / GIB:.2f} GiB" if "r_wall" in whole
                        else "; R not run") + ".")
        lines.append("")
        if "r_wall" in whole:
            ratios.append(ratio_line("results at the largest size / R (wall)", whole["wall"] / whole["r_wall"],
                                     f"{whole['n']:,} patients: {whole['wall']:.1f} s / {whole['r_wall']:.1f} s; "
                                     f"peak {whole['peak_bytes'] / GIB:.2f} GiB (target < 4 GiB: "
                                     f"{'met' if whole['peak_bytes'] < 4 * GIB else 'NOT met'})"))
    if ratios:
        lines += ["| ratio (one run) | measured | target | | detail |", "|---|---:|---:|---|---|"] + ratios
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, one run each, 3 preview edits")
    parser.add_argument("--sizes", help="comma-separated patient counts (default: 62,10000,100000,1000000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement (default 3; --quick 1)")
    parser.add_argument("--big-repeats", type=int, default=None, help="runs per size from 100,000 patients (default 1)")
    parser.add_argument("--edits", type=int, default=None, help="preview edits of each kind (default 10; --quick 3)")
    parser.add_argument("--skip-render", action="store_true", help="no render part (formats, results, correction)")
    parser.add_argument("--skip-preview", action="store_true", help="no preview part")
    parser.add_argument("--skip-scale", action="store_true", help="no scale part")
    parser.add_argument("--draft-loop", action="store_true",
                        help="only the draft loop: cold render of every format, after a correction, preview")
    parser.add_argument("--no-r", action="store_true", help="no R (peer, survival) even where it is installed")
    parser.add_argument("--peer", default=str(DEFAULT_PEER), help="folder of the R Markdown peer")
    parser.add_argument("--project", default=str(ROOT), help="project to render (default: this repository)")
    parser.add_argument("--to", default="html,pdf,docx", help="formats for the render part")
    parser.add_argument("--out", default=str(OUT_DIR / "benchmark.md"), help="where to write the tables")
    parser.add_argument("--stage-worker", help=argparse.SUPPRESS)
    parser.add_argument("--export", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage_worker:
        stage_worker(args.stage_worker, args.export)
        return 0

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else FULL_SIZES)
    repeats = args.repeats or (1 if args.quick else 3)
    edits = args.edits or (3 if args.quick else 10)
    big_repeats = args.big_repeats or 1
    use_r, r_note = (False, "not requested (--no-r)") if args.no_r else r_available()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    peer = Peer(Path(args.peer), work / "peer") if use_r else Peer(Path("/nonexistent"), work / "peer")
    if not use_r:
        peer.note = f"R not used: {r_note}"
    started_load = load_average()
    header = [f"Machine: {machine()}", f"Load average (1/5/15 min) at start: {started_load}",
              f"Software: {versions()}; R: {r_note}" + (f"; peer: {peer.versions}" if peer.compute else ""),
              f"Peer: {peer.note or 'every format'}"]
    print("\n".join(header), flush=True)
    project = Path(args.project).resolve()
    header.append(f"Project modules: {as_installed(project)}")
    print(header[-1], flush=True)
    formats = results = correction = preview = whole = {}
    scale_rows = []
    try:
        if args.draft_loop:
            to = args.to.split(",")
            formats = cold_all_part(repeats, work, project, to)
            correction = correction_part(repeats, work, project, to)
        elif not args.skip_render:
            to = args.to.split(",")
            formats = formats_part(repeats, work, project, to, peer)
            results = results_part(repeats, work, peer)
            correction = correction_part(repeats, work, project, to)
        if not args.skip_preview:
            if not (project / "report" / "manuscript.qmd").is_file():
                print("  preview skipped: the project has no report/manuscript.qmd", flush=True)
            else:
                try:
                    preview = preview_part(edits, work, project)
                except (ImportError, RuntimeError) as error:
                    print(f"  preview skipped: {error}", flush=True)
                    header.append(f"Preview: skipped ({error})")
        if not args.skip_scale and not args.draft_loop:
            scale_rows, whole = scale_part(sizes, repeats, big_repeats, use_r, peer)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header.append(f"Load average at the end: {load_average()}")
    text = format_tables(header, formats, results, correction, preview, scale_rows, whole, use_r, r_note)
    print()
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
