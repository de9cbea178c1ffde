"""Benchmarks: render latency (cold, floor, cached, after a correction) and `results` at scale.

    .venv/bin/python benchmarks/run.py                 # full run (several minutes; 1,000,000 patients)
    .venv/bin/python benchmarks/run.py --quick         # smaller sizes, one run each
    .venv/bin/python benchmarks/run.py --sizes 62 --repeats 1 --skip-render   # seconds

Prints one Markdown table per part (each number the median of ``--repeats``
runs) with a description of the machine, and writes them to ``--out`` too.

Render part (the project's documents, embedded engine, each run a fresh
``python -m analysis render`` process, as a user runs it):

  floor        the unavoidable work, measured in the same run: start a Jupyter
               kernel and import the project's modules in it; one pandoc
               conversion per format of the manuscript's Markdown (recovered
               from its rendered HTML, images included); one Typst compile.
  cold         ``render --no-cache`` per format and all three together.
  unchanged    ``render`` again with nothing changed (render cache hit).
  correction   ``render`` after one line is added to corrections.csv in a copy
               of the shipped data (an ECOG value: Table 1 only), the data
               otherwise rendered before.

Scale part: ``synth --patients N`` data (generated once into benchmarks/_out),
then in a fresh process per size the stages of ``results``: load and validate
(+ derive), Table 1, Kaplan-Meier (overall and per log-rank factor level, both
endpoints), log-rank (every factor, both endpoints), Cox (univariable per
candidate, multivariable, PH tests, both endpoints); peak memory is the
process's maximum resident set size. Where ``Rscript`` with the survival
package is installed, benchmarks/survival_bench.R times survfit, survdiff and
coxph (ties = "efron") on the same data and the table gives the ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT_DIR = ROOT / "benchmarks" / "_out"
FULL_SIZES = [62, 1_000, 10_000, 100_000, 1_000_000]
QUICK_SIZES = [62, 1_000, 10_000]
FORMATS = ["html", "pdf", "docx"]
STAGES = ["load", "table1", "km", "logrank", "cox"]
STAGE_TITLES = {"load": "load+validate", "table1": "Table 1", "km": "Kaplan-Meier", "logrank": "log-rank", "cox": "Cox"}
GIB = 1024 ** 3


# ------------------------------------------------------------------ helpers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed_run(argv: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes of the child, stdout) of one command; raises if it fails.

    ``LAST_CPU_SECONDS`` is then the CPU time (user + system) of the command and every
    process it waited for (kernels, pandoc, figure workers).
    """
    global LAST_CPU_SECONDS
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU_SECONDS = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children we waited for (Linux: kilobytes); per process via a fresh child each time
    peak = after.ru_maxrss * 1024
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n{err[-3000:]}")
    return seconds, peak, out


LAST_CPU_SECONDS = float("nan")


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
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {memory}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; load average {load:.1f} at start")


def versions() -> str:
    from importlib.metadata import version

    names = ["pandas", "numpy", "lifelines", "matplotlib", "pypandoc-binary", "typst"]
    out = []
    for name in names:
        try:
            out.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - a missing package is reported, not fatal
            out.append(f"{name} ?")
    return ", ".join(out)


# ------------------------------------------------------------------ render part


def floor_times(manuscript_html: Path, work: Path) -> dict[str, float]:
    """Seconds of the unavoidable steps: kernel with the project's imports, pandoc per format, one Typst compile."""
    import pypandoc
    import typst
    from jupyter_client import KernelManager

    from analysis.render.execute import _SETUP

    times = {}
    started = time.perf_counter()
    socket_dir = Path(tempfile.mkdtemp(prefix="bench-kernel-"))
    manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(socket_dir / "kernel"))
    manager.start_kernel(cwd=str(ROOT / "report"))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        reply = client.execute_interactive(_SETUP + "\nfrom analysis import report\nimport analysis.figures\n"
                                           "import analysis.tables.builders\n", timeout=120,
                                           output_hook=lambda msg: None)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel imports failed: {reply['content']}")
        times["kernel"] = time.perf_counter() - started
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        shutil.rmtree(socket_dir, ignore_errors=True)

    markdown = work / "manuscript.md"
    if not markdown.exists():  # the manuscript's Markdown with its images, from the rendered HTML (not timed)
        # body only: the title block and abstract come back as text, not as metadata (a
        # standalone Typst file would then label the abstract twice)
        # (internal links dropped: their targets do not all survive the trip through HTML)
        unlink = work / "unlink.lua"
        unlink.write_text("function Link(el) return el.content end\n", encoding="utf-8")
        pypandoc.convert_file(str(manuscript_html), "markdown-raw_html-native_divs-native_spans",
                              format="html-native_divs-native_spans", outputfile=str(markdown),
                              extra_args=["--extract-media", str(work / "media"), "--lua-filter", str(unlink)])
    for fmt, to, extra in (("html", "html", ["--standalone", "--embed-resources", "--mathml"]),
                           ("docx", "docx", []), ("typst", "typst", ["--standalone"])):
        target = work / f"floor.{'typ' if fmt == 'typst' else fmt}"
        started = time.perf_counter()
        pypandoc.convert_file(str(markdown), to, outputfile=str(target), extra_args=extra + ["--resource-path", str(work)])
        times[f"pandoc_{fmt}"] = time.perf_counter() - started
    started = time.perf_counter()
    typst.compile(str(work / "floor.typ"), output=str(work / "floor.pdf"), root="/")
    times["typst"] = time.perf_counter() - started
    return times


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


def render_part(repeats: int, work: Path, project: Path, formats: list[str]) -> list[tuple[str, float, int, str]]:
    """Rows (measurement, median seconds, runs, note)."""
    python = sys.executable
    rows = []
    shipped = ROOT / "data" / "synthetic"

    cpu: dict[str, list[float]] = {}  # measurement -> CPU seconds of each run

    def render(out: Path, to: list[str], data: Path = shipped, no_cache: bool = False,
               measured: str | None = None) -> tuple[float, str]:
        argv = [python, "-m", "analysis", "render", str(project), "--engine", "embedded", "--to", ",".join(to),
                "--out", str(out), "--data", str(data)] + (["--no-cache"] if no_cache else [])
        seconds, _, stdout = timed_run(argv)
        if measured:
            cpu.setdefault(measured, []).append(LAST_CPU_SECONDS)
        return seconds, stdout

    html_out = None
    for fmt in formats + ["all"]:
        to = formats if fmt == "all" else [fmt]
        times = []
        for i in range(repeats):
            out = work / f"cold-{fmt}-{i}"
            seconds, _ = render(out, to, no_cache=True, measured=f"cold-{fmt}")
            times.append(seconds)
            if "html" in to and html_out is None:
                html_out = out
        rows.append((f"cold render: {'all three formats' if fmt == 'all' else fmt}", median(times), repeats,
                     f"`render --no-cache`, fresh process; {cpu_note(cpu[f'cold-{fmt}'])}"))
        print(f"  {rows[-1][0]}: {rows[-1][1]:.2f} s", flush=True)

    floors: dict[str, list[float]] = {}
    manuscript_html = next(html_out.rglob("manuscript.html"), None) if html_out else None
    if manuscript_html is not None:
        for _ in range(repeats):  # a fresh process each time (Typst memoises compilations within a process)
            _, _, stdout = timed_run([python, str(Path(__file__).resolve()), "--floor-worker", str(manuscript_html),
                                      "--export", str(work / "floor")])
            for key, value in json.loads(stdout.strip().splitlines()[-1]).items():
                floors.setdefault(key, []).append(value)
        kernel = median(floors["kernel"])
        pandoc = sum(median(floors[f"pandoc_{f}"]) for f in ("html", "docx", "typst"))
        typst_s = median(floors["typst"])
        rows.append(("floor: kernel start + project imports", kernel, repeats, "one kernel"))
        rows.append(("floor: pandoc, one conversion per format", pandoc, repeats,
                     ", ".join(f"{f} {median(floors['pandoc_' + f]):.2f}" for f in ("html", "docx", "typst"))))
        rows.append(("floor: one Typst compile", typst_s, repeats, ""))
        rows.append(("floor: total", kernel + pandoc + typst_s, repeats, "sum of the three lines above"))
        print(f"  floor: {rows[-1][1]:.2f} s", flush=True)

    # unchanged: a cached render, then the same again
    cached = work / "cached"
    render(cached, formats)
    times = []
    for _ in range(repeats):
        for attempt in range(3):  # a file of the shared tree edited meanwhile makes a miss: render again
            seconds, stdout = render(cached, formats)
            if "cache: hit" in stdout:
                break
            print("  (unchanged re-render missed the cache: inputs changed meanwhile; again)", flush=True)
        else:
            raise RuntimeError("an unchanged re-render was not a cache hit:\n" + stdout)
        times.append(seconds)
    rows.append(("re-render, nothing changed", median(times), repeats, "render cache hit; no kernel"))
    print(f"  {rows[-1][0]}: {rows[-1][1]:.2f} s", flush=True)

    # one correction: the same data rendered before, then one ledger line added
    times = []
    for i in range(repeats):
        data = work / f"data-{i}"
        shutil.copytree(shipped, data)
        out = work / f"corrected-{i}"
        render(out, formats, data=data)  # the state before the correction (not timed)
        add_correction(data, serial=i + 1)
        seconds, stdout = render(out, formats, data=data, measured="correction")
        reused = next((line.strip() for line in stdout.splitlines() if "figure cache:" in line), "")
        times.append(seconds)
    rows.append(("re-render after one correction", median(times), repeats,
                 f"ECOG of one patient (Table 1 only); {reused}; {cpu_note(cpu['correction'])}"))
    return rows


def cpu_note(cpu_seconds: list[float]) -> str:
    """The CPU time of a render (every process it ran) and the least wall time it allows on this machine."""
    cpus = os.cpu_count() or 1
    total = median(cpu_seconds)
    return f"CPU {total:.1f} s (user + system, all its processes) = at least {total / cpus:.1f} s on {cpus} CPUs"


# ------------------------------------------------------------------ scale part


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


def scale_part(sizes: list[int], repeats: int, big_repeats: int, use_r: bool) -> list[dict]:
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
            _, _, stdout = timed_run(argv)
            report = json.loads(stdout.strip().splitlines()[-1])
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
    return rows


# ------------------------------------------------------------------ report


def cold_cpu_bound(render_rows) -> float:
    """The least wall time the cold render's CPU time allows (from its note)."""
    note = next(note for name, _, _, note in render_rows if name == "cold render: all three formats")
    return float(note.split("at least ")[1].split(" s")[0])


def format_tables(machine_text: str, render_rows, scale_rows, r_note: str, use_r: bool) -> str:
    lines = [f"Machine: {machine_text}", "", f"Software: {versions()}; R: {r_note}", ""]
    if render_rows:
        lines += ["| render (embedded engine, both documents) | median s | runs | note |", "|---|---:|---:|---|"]
        lines += [f"| {name} | {value:.2f} | {runs} | {note} |" for name, value, runs, note in render_rows]
        values = {name: value for name, value, _, _ in render_rows}
        cold = values.get("cold render: all three formats")
        floor = values.get("floor: total")
        lines.append("")
        if cold and floor:
            lines.append(f"Targets: cold/floor = {cold / floor:.1f} (target <= 1.5; the cold render's CPU time alone "
                         f"allows no less than {cold_cpu_bound(render_rows) / floor:.1f}x on this machine); "
                         f"unchanged re-render {values['re-render, nothing changed']:.2f} s (target < 1 s); "
                         f"after a correction / cold = {values['re-render after one correction'] / cold:.2f} (target < 0.33).")
            lines.append("")
    if scale_rows:
        header = "| patients | " + " | ".join(STAGE_TITLES[s] for s in STAGES) + " | stages total | peak RSS |"
        rule = "|---:|" + "---:|" * (len(STAGES) + 2)
        if use_r:
            header += " R KM | R log-rank | R Cox | Python / R (KM + log-rank + Cox) |"
            rule += "---:|---:|---:|---:|"
        lines += ["`results` stages (seconds, median of the runs; peak = maximum resident set size of the process)", "",
                  header, rule]
        for row in scale_rows:
            total = sum(row[s] for s in STAGES)
            cells = [f"{row['n']:,}"] + [f"{row[s]:.2f}" for s in STAGES] + [f"{total:.2f}",
                                                                             f"{row['peak_bytes'] / GIB:.2f} GiB"]
            if use_r:
                python_part = row["km"] + row["logrank"] + row["cox"]
                r_part = row.get("r_km", 0) + row.get("r_logrank", 0) + row.get("r_cox", 0)
                cells += [f"{row.get('r_km', float('nan')):.2f}", f"{row.get('r_logrank', float('nan')):.2f}",
                          f"{row.get('r_cox', float('nan')):.2f}",
                          f"{python_part / r_part:.2f}" if r_part else "n/a"]
            lines.append("| " + " | ".join(cells) + " |")
        runs = ", ".join(f"{row['n']:,}: {row['runs']}" for row in scale_rows)
        lines.append(f"\nRuns per size: {runs}.")
        if not use_r:
            lines.append(f"R comparison skipped: {r_note}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, one run each")
    parser.add_argument("--sizes", help="comma-separated patient counts (default: 62,1000,10000,100000,1000000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement (default 3; --quick 1)")
    parser.add_argument("--big-repeats", type=int, default=None, help="runs per size from 100,000 patients (default 1)")
    parser.add_argument("--skip-render", action="store_true", help="only the scale part")
    parser.add_argument("--skip-scale", action="store_true", help="only the render part")
    parser.add_argument("--no-r", action="store_true", help="do not run the R comparison even where R is installed")
    parser.add_argument("--project", default=str(ROOT), help="project to render (default: this repository)")
    parser.add_argument("--to", default="html,pdf,docx", help="formats for the render part")
    parser.add_argument("--out", default=str(OUT_DIR / "benchmark.md"), help="where to write the tables")
    parser.add_argument("--stage-worker", help=argparse.SUPPRESS)
    parser.add_argument("--floor-worker", help=argparse.SUPPRESS)
    parser.add_argument("--export", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.floor_worker:
        Path(args.export).mkdir(parents=True, exist_ok=True)
        print(json.dumps(floor_times(Path(args.floor_worker), Path(args.export))))
        return 0
    if args.stage_worker:
        stage_worker(args.stage_worker, args.export)
        return 0

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else FULL_SIZES)
    repeats = args.repeats or (1 if args.quick else 3)
    big_repeats = args.big_repeats or 1
    use_r, r_note = (False, "not requested (--no-r)") if args.no_r else r_available()
    machine_text = machine()
    print(f"Machine: {machine_text}\nR: {r_note}", flush=True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)

    render_rows = []
    if not args.skip_render:
        work = Path(tempfile.mkdtemp(prefix="bench-render-"))
        try:
            render_rows = render_part(repeats, work, Path(args.project).resolve(), args.to.split(","))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    scale_rows = [] if args.skip_scale else scale_part(sizes, repeats, big_repeats, use_r)

    text = format_tables(machine_text, render_rows, scale_rows, r_note, use_r)
    print()
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
