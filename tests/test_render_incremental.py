"""After a change, a render redoes only the documents whose inputs changed, and gives the same bytes
as a ``--no-cache`` render of the changed inputs (``analysis.render.cache.DocumentCache``).

A document is reused (no kernel, no pandoc) when the parts of the results file it read
(``analysis.inputs_read``) and its other inputs are unchanged; a document whose executed
Markdown is unchanged skips pandoc. A document that opened a data file, or read the results
file without recording which parts, is never reused on its own. No timing is asserted.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from analysis import source_digest
from analysis.render_command import render

pytestmark = pytest.mark.render

PRE_RENDER = """\
import csv, json, os
from pathlib import Path
rows = list(csv.DictReader(open(Path(os.environ["ABLATION_DATA_DIR"]) / "values.csv")))
Path(os.environ["ABLATION_RESULTS"]).write_text(json.dumps({k: rows[0][k] for k in rows[0]}))
"""

# Reads "alpha" through the recorder, as analysis.report does.
ALPHA = """---
title: "Alpha"
---

```{python}
import json, os
from analysis import inputs_read
path = os.environ["ABLATION_RESULTS"]
with open(path) as handle:
    R = inputs_read.recording(os.path.abspath(path), json.load(handle))
```

Alpha is `{python} R["alpha"]`. TEXT-A.
"""

# Reads "beta", and the alpha document's source (as the supplement reads the manuscript's text).
BETA = """---
title: "Beta"
---

```{python}
import json, os
from analysis import inputs_read
path = os.environ["ABLATION_RESULTS"]
with open(path) as handle:
    R = inputs_read.recording(os.path.abspath(path), json.load(handle))
marked = "MARK" in open("alpha.qmd").read()
```

Beta is `{python} R["beta"]`; alpha marked: `{python} marked`.
"""

# Reads the data file itself: never reused on its own.
DIRECT = """---
title: "Direct"
---

```{python}
import os
from pathlib import Path
print(Path(os.environ["ABLATION_DATA_DIR"], "values.csv").read_text())
```
"""

# Reads the whole results file without the recorder: never reused on its own.
UNRECORDED = """---
title: "Unrecorded"
---

```{python}
import json, os
print(json.load(open(os.environ["ABLATION_RESULTS"]))["gamma"])
```
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    documents = {"alpha.qmd": ALPHA, "beta.qmd": BETA, "direct.qmd": DIRECT, "unrecorded.qmd": UNRECORDED}
    (root / "_quarto.yml").write_text("project:\n  type: default\n  output-dir: _out\n  pre-render: prerender.py\n"
                                      "  render:\n" + "".join(f"    - {name}\n" for name in documents))
    (root / "prerender.py").write_text(PRE_RENDER)
    for name, text in documents.items():
        (root / name).write_text(text)
    data = tmp_path / "data"
    data.mkdir()
    write_values(data, alpha="1", beta="2", gamma="3")
    (tmp_path / "plan.yml").write_text("alpha: 0.05\n")
    code = tmp_path / "code"   # a copy of the analysis code, as in test_cache.py
    shutil.copytree(Path(source_digest.ANALYSIS_PACKAGE), code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(source_digest, "ANALYSIS_PACKAGE", code)
    monkeypatch.delenv("ABLATION_RESULTS", raising=False)
    return root


def write_values(data: Path, **values: str) -> None:
    with open(data / "values.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(values))
        writer.writeheader()
        writer.writerow(values)


def run(project: Path, out: str = "_out", no_cache: bool = False) -> list[str]:
    lines: list[str] = []
    status = render(str(project), to="html", engine="embedded", out=str(project / out),
                    data=str(project.parent / "data"), plan=str(project.parent / "plan.yml"), no_cache=no_cache,
                    progress=lines.append)
    assert status == 0, "\n".join(lines)
    return lines


def reused(lines: list[str]) -> set[str]:
    return {name for name in ("alpha", "beta", "direct", "unrecorded")
            if any(f"[{name}.qmd] reused" in line for line in lines)}


def pandoc_skipped(lines: list[str]) -> set[str]:
    return {name for name in ("alpha", "beta") if any(f"[{name}.qmd] executed Markdown unchanged" in line
                                                       for line in lines)}


def outputs(project: Path, out: str = "_out") -> dict[str, bytes]:
    folder = project / out
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def same_as_no_cache(project: Path) -> None:
    """The outputs equal, byte for byte, a --no-cache render of the same inputs (in another folder)."""
    run(project, out="_fresh", no_cache=True)
    assert outputs(project) == outputs(project, "_fresh")
    shutil.rmtree(project / "_fresh")


def text(project: Path, name: str) -> str:
    return (project / "_out" / f"{name}.html").read_text(encoding="utf-8")


def test_a_data_change_redoes_only_the_documents_that_read_what_changed(project):
    data = project.parent / "data"
    first = run(project)
    assert reused(first) == set()
    assert "not cached on its own: the code opened" in "\n".join(first)              # direct.qmd
    assert "unrecorded.qmd] not cached on its own: results.json was read without" in "\n".join(first)

    write_values(data, alpha="1", beta="20", gamma="3")   # beta changed: only beta's reader is re-run
    second = run(project)
    assert reused(second) == {"alpha"}
    assert "Beta is 20" in text(project, "beta") and "Alpha is 1" in text(project, "alpha")
    assert "20" in text(project, "direct")
    same_as_no_cache(project)

    write_values(data, alpha="10", beta="20", gamma="30")  # alpha and gamma changed
    third = run(project)
    assert reused(third) == {"beta"}
    assert "Alpha is 10" in text(project, "alpha") and "30" in text(project, "unrecorded")
    same_as_no_cache(project)


def test_a_document_read_by_another_is_a_input_of_it_and_unchanged_markdown_skips_pandoc(project):
    run(project)
    alpha = project / "alpha.qmd"
    alpha.write_text(ALPHA.replace("TEXT-A", "TEXT-B"))   # beta reads alpha.qmd: it runs again, same Markdown
    lines = run(project)
    assert reused(lines) == set() and pandoc_skipped(lines) == {"beta"}
    assert "TEXT-B" in text(project, "alpha")
    same_as_no_cache(project)

    alpha.write_text(ALPHA.replace("TEXT-A", "TEXT-B MARK"))   # now what beta prints changes
    lines = run(project)
    assert pandoc_skipped(lines) == set()
    assert "alpha marked: True" in text(project, "beta")
    same_as_no_cache(project)


def test_a_corrupt_cached_document_is_rendered_again(project):
    run(project)
    write_values(project.parent / "data", alpha="1", beta="21", gamma="3")
    run(project)    # alpha's entry: the same for both states
    from analysis.render.cache import cache_dir

    objects = cache_dir(project / "_out") / "objects"
    for obj in objects.glob("*/*"):   # every cached object altered: nothing may be served from them
        obj.write_bytes(obj.read_bytes() + b"tampered")
    write_values(project.parent / "data", alpha="1", beta="22", gamma="3")
    lines = run(project)
    assert reused(lines) == set()
    assert "Beta is 22" in text(project, "beta") and "tampered" not in text(project, "alpha")
    same_as_no_cache(project)


def test_shipped_project_after_a_correction_equals_a_no_cache_render(tmp_path, monkeypatch):
    """The study itself: render, add one correction to the ledger, render again (the caches in use),
    and every output file equals a --no-cache render of the corrected data. HTML only (the per-document
    cache copies every format's file alike; the other formats cost minutes on CI)."""
    from analysis import paths

    monkeypatch.delenv("ABLATION_RESULTS", raising=False)
    data = tmp_path / "data"
    shutil.copytree(paths.SHIPPED_DATA, data)

    def render_to(out: Path, no_cache: bool = False) -> list[str]:
        lines: list[str] = []
        assert render(None, to="html", engine="embedded", out=str(out), data=str(data), no_cache=no_cache,
                      progress=lines.append) == 0, "\n".join(lines)
        return lines

    render_to(tmp_path / "out")
    with open(data / "patients.csv", newline="", encoding="utf-8") as handle:
        patient = list(csv.DictReader(handle))[1]
    new = "0" if patient["ecog"] != "0" else "1"
    with open(data / "corrections.csv", "w", encoding="utf-8") as ledger:
        ledger.write("correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"
                     f"T001,patients.csv,{patient['patient_id']},ecog,{patient['ecog']},{new},re-read,2026-11-26,TEST\n")
    after = render_to(tmp_path / "out")
    assert "cache: miss (changed: data)" in after, after   # the caches were consulted, not bypassed
    render_to(tmp_path / "fresh", no_cache=True)

    def files(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and not p.name.startswith(".")}

    corrected, fresh = files(tmp_path / "out"), files(tmp_path / "fresh")
    assert sorted(corrected) == sorted(fresh)
    assert [name for name in corrected if corrected[name] != fresh[name]] == []
    assert "T001" in (tmp_path / "out" / "report" / "supplement.html").read_text(encoding="utf-8")
