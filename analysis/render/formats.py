"""Pandoc and Typst: Markdown -> AST -> HTML / DOCX / PDF.

- ``markdown_to_ast``: pandoc Markdown to pandoc's JSON AST;
- ``run_citeproc``: ``--citeproc`` once on the AST (bibliography + CSL), so every
  format gets the same formatted citations; a key missing from the bibliography
  is an error naming the .qmd line;
- ``write_html``: standalone, every resource embedded (``--embed-resources``),
  MathML for maths (no MathJax CDN), the journal stylesheet ``assets/journal.css``;
- ``write_docx``: with ``assets/reference.docx`` (or the document's ``reference-doc``);
- ``write_pdf``: pandoc -> Typst (``assets/header.typ`` styles captions and tables),
  compiled by the ``typst`` wheel with only its embedded fonts and a fixed
  creation timestamp.

Reproducibility: ``SOURCE_DATE_EPOCH`` is fixed for pandoc (DOCX core properties)
and the same instant is Typst's document timestamp.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypandoc

from analysis.render.errors import RenderError
from analysis.render.qmd import ASSETS, QmdDocument

# 2000-01-01T00:00:00Z: a fixed instant for every date the tools would take from the clock.
SOURCE_DATE_EPOCH = 946684800
TYPST_FONT = "Libertinus Serif"


def pandoc_path() -> str:
    return pypandoc.get_pandoc_path()


def pandoc(args: list[str], input_text: str | None = None, cwd: Path | None = None, what: str = "pandoc") -> subprocess.CompletedProcess:
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH))
    process = subprocess.run([pandoc_path(), *args], input=input_text, capture_output=True, text=True,
                             encoding="utf-8", cwd=cwd, env=env)
    if process.returncode != 0:
        raise RenderError(f"{what} failed: {process.stderr.strip()}")
    for line in process.stderr.splitlines():
        # shown, not hidden; citeproc's "citation not found" is turned into an error by run_citeproc
        if line.strip() and "Citeproc: citation" not in line:
            print(f"  {what}: {line.strip()}", file=sys.stderr)
    return process


def markdown_to_ast(markdown: str, meta: dict[str, Any], work: Path) -> dict[str, Any]:
    meta_file = work / "metadata.json.yml"
    meta_file.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")  # JSON is YAML
    process = pandoc(["-f", "markdown", "-t", "json", "--metadata-file", str(meta_file)], markdown, cwd=work,
                     what="pandoc (Markdown reader)")
    return json.loads(process.stdout)


def absolutize_images(node: Any, doc: QmdDocument, work: Path) -> None:
    """Make the document's own relative image paths absolute (they are relative to the .qmd).

    Figures written by cells stay relative to the work directory (where every
    writer runs), so no temporary path ends up in the outputs (DOCX keeps it).
    """
    if isinstance(node, list):
        for item in node:
            absolutize_images(item, doc, work)
    elif isinstance(node, dict):
        if node.get("t") == "Image":
            target = node["c"][2]
            url = target[0]
            if (url and not re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I) and not Path(url).is_absolute()
                    and not (work / url).is_file()):
                path = (doc.path.parent / url).resolve()
                if not path.is_file():
                    raise RenderError(f"image '{url}' not found (looked for {path})", doc.path, doc.line_of(url))
                target[0] = str(path)
        for value in node.values():
            if isinstance(value, (list, dict)):
                absolutize_images(value, doc, work)


_MISSING_CITATION = re.compile(r"Citeproc: citation (\S+) not found")


def run_citeproc(ast: dict[str, Any], bibliography: list[Path], csl: Path | None, doc: QmdDocument, work: Path) -> dict[str, Any]:
    args = ["-f", "json", "-t", "json", "--citeproc", "-M", "link-citations=true"]
    args += [f"--bibliography={path}" for path in bibliography]
    if csl is not None:
        args.append(f"--csl={csl}")
    process = pandoc(args, json.dumps(ast), cwd=work, what="pandoc --citeproc")
    missing = _MISSING_CITATION.findall(process.stderr)
    if missing:
        key = missing[0]
        raise RenderError(f"citation '@{key}' is not in the bibliography ({', '.join(p.name for p in bibliography)})",
                          doc.path, doc.line_of("@" + key))
    cited = json.loads(process.stdout)
    # the references are in the AST now; a writer seeing 'bibliography' (Typst) would add its own list
    for key in ("bibliography", "csl"):
        cited.get("meta", {}).pop(key, None)
    return cited


def _common_args(toc: bool) -> list[str]:
    return ["-f", "json", "--standalone"] + (["--toc"] if toc else [])


def write_html(ast: dict[str, Any], out: Path, options: dict[str, Any], toc: bool, doc_dir: Path, work: Path) -> None:
    args = _common_args(toc) + ["-t", "html5", "--embed-resources", "--mathml", "--section-divs",
                                f"--css={ASSETS / 'journal.css'}", "-o", str(out)]
    for css in options.get("css", []) if isinstance(options.get("css"), list) else [options["css"]] if "css" in options else []:
        args.append(f"--css={(doc_dir / css).resolve()}")
    if not ast.get("meta", {}).get("title"):
        args += ["-M", f"pagetitle={out.stem}"]
    pandoc(args, json.dumps(ast), cwd=work, what="pandoc (HTML writer)")


def write_docx(ast: dict[str, Any], out: Path, options: dict[str, Any], toc: bool, doc_dir: Path, work: Path) -> None:
    reference = ASSETS / "reference.docx"
    if "reference-doc" in options:
        reference = (doc_dir / str(options["reference-doc"])).resolve()
        if not reference.is_file():
            raise RenderError(f"reference-doc '{options['reference-doc']}' not found (looked for {reference})")
    args = _common_args(toc) + ["-t", "docx", f"--reference-doc={reference}", "-o", str(out)]
    pandoc(args, json.dumps(ast), cwd=work, what="pandoc (DOCX writer)")


def write_typst(ast: dict[str, Any], out: Path, options: dict[str, Any], toc: bool, work: Path) -> Path:
    typ = out.with_suffix(".typ")
    # template variables of pandoc's Typst template (margin is a map, so metadata rather than -V)
    variables = {"mainfont": TYPST_FONT, "papersize": options.get("papersize", "a4"),
                 "fontsize": options.get("fontsize", "11pt"), "margin": options.get("margin", {"x": "2.5cm", "y": "2.5cm"})}
    variables_file = work / "typst-variables.json.yml"
    variables_file.write_text(json.dumps(variables), encoding="utf-8")
    args = _common_args(toc) + ["-t", "typst-citations", f"--include-in-header={ASSETS / 'header.typ'}",
                                f"--metadata-file={variables_file}", "-o", str(typ)]
    pandoc(args, json.dumps(ast), cwd=work, what="pandoc (Typst writer)")
    return typ


def compile_typst(typ: Path, out: Path) -> None:
    import typst

    try:
        typst.compile(str(typ), output=str(out), root="/", format="pdf", timestamp=SOURCE_DATE_EPOCH,
                      ignore_system_fonts=True, font_paths=[])
    except Exception as error:  # typst raises TypstError with the source location
        raise RenderError(f"typst compile failed: {error}", typ) from None
