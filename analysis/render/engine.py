"""The embedded engine: one .qmd -> HTML / PDF / DOCX files in a staging directory.

Steps, each timed: parse + validate (no kernel is started for a document with
errors) -> execute (one kernel) -> Markdown -> AST -> cross-references ->
citeproc -> one writer per format.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from analysis.render import formats
from analysis.render.citations import CiteprocMemo
from analysis.render.crossref import resolve_crossrefs
from analysis.render.errors import RenderError
from analysis.render.execute import ExecutedDocument, execute_document
from analysis.render.gate import StartGate
from analysis.render.markdown import assemble_markdown
from analysis.render.project import DocSettings, prepare  # noqa: F401  (prepare: part of the engine's API)
from analysis.render.qmd import QmdDocument


# The formats with a writer in ``render_document`` (its table ``writers``), in Quarto's names.
WRITTEN_FORMATS = ("html", "docx", "typst")
OUTPUT_SUFFIX = {"html": ".html", "docx": ".docx", "typst": ".pdf"}   # each format's file


class SameMarkdown:
    """Where a document's output files are kept by the executed Markdown they were written from
    (``cache.DocumentCache`` under a key of the document's other inputs: ``command.DocumentReuse``)."""

    def restore(self, markdown_digest: str, outputs: dict[str, Path]) -> bool:   # pragma: no cover - interface
        raise NotImplementedError

    def store(self, markdown_digest: str, outputs: dict[str, Path]) -> None:   # pragma: no cover - interface
        raise NotImplementedError


def markdown_key(markdown: str, files_dir: Path) -> str:
    """SHA-256 of the executed Markdown and of every file it links from its ``_files`` folder (the images)."""
    import hashlib

    digest = hashlib.sha256(markdown.encode("utf-8"))
    if files_dir.is_dir():
        for path in sorted(files_dir.rglob("*")):
            if path.is_file():
                digest.update(b"\0" + path.relative_to(files_dir).as_posix().encode() + b"\0"
                              + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class RenderedDocument:
    source: Path
    files: dict[str, Path] = field(default_factory=dict)        # format -> staged file
    timings: dict[str, float] = field(default_factory=dict)     # step -> seconds
    inputs_read: dict | None = None                             # what the kernel read (execute.record_inputs)


def render_document(doc: QmdDocument, settings: DocSettings, to: list[str], staging: Path, relative_out: Path,
                    env: dict[str, str], progress: Callable[[str], None] = print,
                    gate: StartGate | None = None,
                    execute: Callable[..., ExecutedDocument] | None = None,
                    same_markdown: "SameMarkdown | None" = None,
                    quick_html_embed: bool = False,
                    citeproc_memo: "CiteprocMemo | None" = None) -> RenderedDocument:
    """Render ``doc`` into ``staging / relative_out`` (``relative_out`` = output path without suffix).

    ``execute`` (default: a fresh kernel, ``execute_document``) runs the cells; the preview
    server passes its own, which keeps a warm kernel or reuses the outputs of a text edit.
    ``same_markdown``: output files kept by the executed Markdown they were written from
    (with its images); when this Markdown's are there, they are copied and no writer runs.
    ``quick_html_embed``: the HTML's images and stylesheets embedded by the engine, not by pandoc
    (``formats.write_html``; the preview's pages).
    ``citeproc_memo``: citeproc's output reused for the same citations (``citations.CiteprocMemo``;
    the preview's, one per document).
    """
    unknown = [fmt for fmt in to if fmt not in WRITTEN_FORMATS]
    if unknown:  # checked before any code runs: never a PDF written for a format without a writer
        raise RenderError(f"no writer for format(s) {', '.join(unknown)} (formats written: "
                          f"{', '.join(WRITTEN_FORMATS)})", doc.path)
    rendered = RenderedDocument(source=doc.path)
    work = Path(tempfile.mkdtemp(prefix=f"qmd-{doc.path.stem}-"))
    try:
        started = time.perf_counter()
        # pypandoc finds its pandoc once per process by running every candidate's --version
        # (about 10 processes, 40 ms): done now, while the kernel starts, not before the first reader
        formats.pandoc_path()
        progress(f"  [{doc.path.name}] executing {len(doc.cells)} cell(s)")
        executed = (execute or execute_document)(doc, settings.execute, env, progress=progress, gate=gate,
                                                 figure_size=settings.figure_size)
        rendered.inputs_read = executed.inputs_read
        rendered.timings["kernel_start"] = executed.kernel_start_seconds
        rendered.timings["cells"] = executed.run_seconds
        rendered.timings["execute_total"] = time.perf_counter() - started

        step = time.perf_counter()
        markdown = assemble_markdown(doc, executed, settings.execute, work / f"{doc.path.stem}_files")
        (work / f"{doc.path.stem}.md").write_text(markdown, encoding="utf-8")  # kept for debugging while rendering
        target = staging / relative_out
        outputs = {fmt: target.with_suffix(OUTPUT_SUFFIX[fmt]) for fmt in to}
        markdown_digest = None
        if same_markdown is not None:
            markdown_digest = markdown_key(markdown, work / f"{doc.path.stem}_files")
            if same_markdown.restore(markdown_digest, outputs):
                rendered.files = outputs
                rendered.timings["markdown_unchanged"] = time.perf_counter() - step
                progress(f"  [{doc.path.name}] executed Markdown unchanged: its output files reused (no pandoc)")
                return rendered
        ast = formats.markdown_to_ast(markdown, settings.meta, work)
        formats.absolutize_images(ast["blocks"], doc, work)
        index = resolve_crossrefs(ast, doc, settings.number_sections, settings.crossref_labels)
        uncited = ast  # Typst without 'citeproc: true' formats citations itself (as under Quarto)
        refs_appended = bool(index.citations) and not formats.has_refs_div(ast["blocks"])
        if index.citations and not settings.bibliography:
            key = index.citations[0]
            raise RenderError(f"citation '@{key}' but the document has no 'bibliography:'", doc.path, doc.line_of("@" + key))
        target.parent.mkdir(parents=True, exist_ok=True)

        def write_pdf(ast_fmt: dict, uncited_fmt: dict, out: Path, options: dict, toc: bool) -> None:
            step = time.perf_counter()
            typ = formats.write_typst(ast_fmt, work / out.name, options, toc, work, uncited_ast=uncited_fmt,
                                      bibliography=settings.bibliography, csl=settings.csl)
            rendered.timings["pandoc_typst"] = time.perf_counter() - step
            step_compile = time.perf_counter()
            formats.compile_typst(typ, out)
            rendered.timings["typst_compile"] = time.perf_counter() - step_compile

        # Quarto format -> (file suffix, writer(ast, uncited ast, out, options, toc)); a format without a writer is an error.
        writers = {
            "html": (".html", lambda ast_fmt, _uncited, out, options, toc:
                     formats.write_html(ast_fmt, out, options, toc, doc.path.parent, work, quick_html_embed)),
            "docx": (".docx", lambda ast_fmt, _uncited, out, options, toc:
                     formats.write_docx(ast_fmt, out, options, toc, doc.path.parent, work)),
            "typst": (".pdf", write_pdf),
        }
        assert tuple(writers) == WRITTEN_FORMATS and all(writers[f][0] == OUTPUT_SUFFIX[f] for f in writers)

        def write(fmt: str, cited: dict) -> Path:
            options = settings.formats.get(fmt, {})
            ast_fmt = formats.for_format(cited, fmt, settings.authors, refs_appended)
            uncited_fmt = formats.for_format(uncited, fmt, settings.authors)
            toc = bool(options.get("toc", settings.toc))
            step = time.perf_counter()
            suffix, writer = writers[fmt]
            out = target.with_suffix(suffix)
            writer(ast_fmt, uncited_fmt, out, options, toc)
            rendered.timings[f"write_{fmt}"] = time.perf_counter() - step
            shown = "pdf" if fmt == "typst" else fmt
            progress(f"  [{doc.path.name}] {shown} written ({time.perf_counter() - step:.1f} s)")
            return out

        # The writers read the same AST and write their own files (pandoc and Typst do the
        # work outside Python's lock): all formats at once. A writer that reads the AST before
        # citeproc (Typst without 'citeproc: true', formats.write_typst) starts while citeproc
        # runs. Errors are raised in format order.
        before_citeproc = {fmt for fmt in to if fmt == "typst" and index.citations
                           and not settings.formats.get(fmt, {}).get("citeproc")}
        futures: dict[str, Future] = {}
        with ThreadPoolExecutor(max_workers=len(to) or 1) as pool:
            for fmt in to:
                if fmt in before_citeproc:
                    futures[fmt] = pool.submit(write, fmt, ast)
            if index.citations:
                ast = formats.run_citeproc(ast, settings.bibliography, settings.csl, doc, work, memo=citeproc_memo)
            rendered.timings["markdown_ast_citeproc"] = time.perf_counter() - step
            for fmt in to:
                if fmt not in futures:
                    futures[fmt] = pool.submit(write, fmt, ast)
        for fmt in to:
            rendered.files[fmt] = futures[fmt].result()
        if same_markdown is not None:
            same_markdown.store(markdown_digest, rendered.files)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rendered
