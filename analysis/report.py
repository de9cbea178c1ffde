"""What the .qmd documents import: results, tables, figures and inline text.

A document does ``from analysis import report; R = report.load()`` and then only
reads: ``R.t.<name>`` for inline text, ``R.table_markdown(name)`` for tables and
``R.figure(name)`` for figures. Everything comes from the results dict (the
"analysis results data"): tables from ``analysis.tables.registry``, figures from
``analysis.figures.registry``, both drawn from the results alone.

The results are read, never computed here, from the ONE results file the
project's pre-render step (analysis/prerender.py) wrote (checked against the results schema when read), so every execution
(Quarto runs a document once per format) prints the same numbers: see
:func:`results_path` for where both engines find it.

Inline values are plain ``str`` (Quarto escapes a plain string's Markdown
punctuation, so it shows literally) except those that carry Markdown on purpose
(citations, code): these are ``IPython.display.Markdown`` (``text/markdown``), which
Quarto inserts as Markdown (src/core/jupyter/jupyter-inline.ts).
A results file alone is enough: no data directory is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from analysis import inputs_read, paths, safe_text
from analysis.figures import registry as figure_registry
from analysis.figures.cache import document_png
from analysis.figures.files import DOCUMENT_DPI
from analysis.report_text import InlineText
from analysis.results_file import read_results
from analysis.tables import registry as table_registry

RESULTS_ENV_VAR = paths.RESULTS_ENV_VAR
DOCUMENT_WIDTH_MM = figure_registry.DOCUMENT_WIDTH_MM

SYNTHETIC_NOTICE = (
    "**SYNTHETIC DATA — NOT PATIENT RESULTS.** Every number, table and figure in this document "
    "was computed from a synthetic cohort, generated from the published summary results of the "
    "original study. No patient data were used; nothing here is a clinical finding."
)


def results_path() -> Path:
    """Where the pre-render step wrote the results file, found the same way under both engines.

    ``$ABLATION_RESULTS`` when set (``python -m analysis render`` sets it for the pre-render step and
    the kernels, with either engine); else ``results.json`` in the project's output directory:
    ``project: output-dir`` of ``_quarto.yml`` under ``$QUARTO_PROJECT_ROOT`` (which Quarto gives
    every kernel: src/execute/environment.ts), where a plain ``quarto render`` runs the pre-render
    step with ``QUARTO_PROJECT_OUTPUT_DIR`` (src/command/render/project.ts:303).
    """
    explicit = os.environ.get(RESULTS_ENV_VAR)
    if explicit:
        return Path(explicit)
    root = Path(os.environ.get("QUARTO_PROJECT_ROOT") or paths.PROJECT_ROOT)
    output_dir = "."
    config = root / "_quarto.yml"
    if config.is_file():
        from analysis.yaml_files import load_yaml

        project = (load_yaml(config.read_text(encoding="utf-8")) or {}).get("project") or {}
        output_dir = str(project.get("output-dir", "."))
    return root / output_dir / "results.json"


def _load_results() -> "inputs_read.RecordingMapping":
    path = results_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"results file {path} not found: the project's pre-render step (analysis/prerender.py) writes it; "
            "render the project (quarto render, or python -m analysis render), or set ABLATION_RESULTS")
    # the keys a document reads are noted: the render reuses its output while they are unchanged
    return inputs_read.recording(os.path.abspath(path), read_results(path))


def load(data_dir: str | os.PathLike | None = None) -> "ReportContext":
    """The results file the pre-render step wrote (:func:`results_path`); no data directory is read.

    With an explicit ``data_dir`` (a notebook, a test) the results are computed from it instead."""
    if data_dir is not None:
        # (imported here: a document's kernel reads the results file and never loads data)
        from analysis.data import load_cohort
        from analysis.plan import load_plan
        from analysis.results import compute_results

        return ReportContext(results=compute_results(load_cohort(paths.data_dir(data_dir), load_plan())))
    return ReportContext(results=_load_results())


# Inline values that carry Markdown on purpose (citations, code spans): given to Quarto as
# text/markdown. Every other value is a plain str, which Quarto shows literally.
MARKDOWN_VALUES = frozenset({"statistical_methods", "data_directory", "discussion_prognostic"})


class InlineValues:
    """``R.t.<name>``: :class:`InlineText`'s value, as ``Markdown`` for the names in ``MARKDOWN_VALUES``."""

    def __init__(self, text: InlineText):
        self._text = text

    def __getattr__(self, name: str):
        value = getattr(self._text, name)
        if _is_markdown(name, value):
            from IPython.display import Markdown

            return Markdown(safe_text.literal_lt(value))   # the same text, read faster by pandoc
        return value

    def printed_text(self, name: str) -> str:
        """The words value ``name`` prints (a Markdown value's text without its backslash escapes),
        without IPython: the pre-render step's STROBE checklist reads the prose this way."""
        value = getattr(self._text, name)
        return _unescaped(value) if _is_markdown(name, value) else str(value)


def _is_markdown(name: str, value) -> bool:
    # a sentence of the prose that cites ("[@key]") is Markdown on purpose; text from data files
    # reaches the prose escaped (analysis.safe_text), so it never carries a live citation
    return name in MARKDOWN_VALUES or (isinstance(value, str) and "[@" in value)


@dataclass
class ReportContext:
    results: dict

    @cached_property
    def t(self) -> "InlineValues":
        return InlineValues(InlineText(self.results))

    def author_affiliations(self) -> str:
        """"Name: Affiliation; ..." from the running document's own front matter ($QUARTO_DOCUMENT_PATH and
        $QUARTO_DOCUMENT_FILE, which Quarto and the embedded engine give the kernel). Quarto's DOCX title
        block prints author names only (src/command/render/pandoc.ts), so the manuscript prints this in a
        ``content-visible when-format="docx"`` block. Empty when the document has no affiliations."""
        from analysis.yaml_files import load_yaml

        folder, name = os.environ.get("QUARTO_DOCUMENT_PATH"), os.environ.get("QUARTO_DOCUMENT_FILE")
        if not (folder and name):
            return ""
        # the folder may be given relative to the project (the kernel runs in the document's folder)
        candidates = [Path(folder) / name, Path(os.environ.get("QUARTO_PROJECT_ROOT", ".")) / folder / name, Path(name)]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            return ""
        source = found.read_text(encoding="utf-8")
        front = source.split("\n---", 1)[0].removeprefix("---") if source.startswith("---") else ""
        authors = (load_yaml(front) or {}).get("author") or []
        parts = []
        for author in authors if isinstance(authors, list) else [authors]:
            if not isinstance(author, dict):
                continue
            affiliations = [a.get("name") if isinstance(a, dict) else a
                            for a in author.get("affiliations") or author.get("affiliation") or []]
            affiliations = [str(a) for a in (affiliations if isinstance(affiliations, list) else [affiliations]) if a]
            if affiliations:
                parts.append(f"{author.get('name')}: {', '.join(affiliations)}")
        return "; ".join(parts)

    def title_page(self) -> str:
        """Authors, affiliations, corresponding author and ORCIDs (Markdown) from report/_metadata.yml."""
        from analysis.submission import load_study, title_page_markdown

        return title_page_markdown(load_study())

    def declarations(self) -> str:
        """The Declarations section's items (Markdown, level-2 headings) in the journal's order."""
        from analysis.submission import declarations_markdown, load_study

        return declarations_markdown(load_study())

    def notice(self) -> str:
        """The synthetic-data notice (Markdown), or an empty string for real data."""
        return SYNTHETIC_NOTICE + "\n" if self.results.get("synthetic") else ""

    # ------------------------------------------------------------------ tables

    def table(self, name: str):
        """The ``Table`` called ``name`` (``analysis.tables.registry``; the STROBE checklist is made from
        the documents' own text, so it is built here, where that text is)."""
        if name == "strobe":
            from analysis.tables import supplement

            return supplement.tbl_strobe(self.strobe_rows)
        return table_registry.table(name, self.results)

    def reproduction_section(self) -> str:
        """The section comparing the original study's published numbers with these data's, as
        Markdown (heading, sentence, table captioned ``tbl-reproduction``); empty unless the data
        are the synthetic cohort generated from that publication."""
        if not self.results.get("synthetic"):
            return ""
        table = self.table("reproduction").to_markdown(caption=False)
        body, _, notes = table.partition("\n\n")
        return ("# Reproduction of the published results\n\n"
                "@tbl-reproduction compares each number published in the abstract of the original study "
                "[@hou2025] with the value computed from this synthetic cohort, at the precision printed there.\n\n"
                f"{body}\n\n: Published versus computed results {{#tbl-reproduction}}\n\n{notes}")

    def table_markdown(self, name: str) -> str:
        """The table as pandoc Markdown without its own caption (the cell's ``tbl-cap`` gives it) and
        without its notes: Quarto takes a paragraph after the table in the same cell output as the
        caption instead of ``tbl-cap`` (src/resources/filters/common/refs.lua refCaptionFromDiv), so
        the notes are printed by a cell of their own (:meth:`table_notes`)."""
        return self.table(name).to_markdown(caption=False, footnotes=False)

    def table_notes(self, name: str) -> str:
        """The table's notes as a Markdown paragraph (empty if it has none), for the cell after the table's."""
        return self.table(name).notes_markdown()

    @cached_property
    def strobe_rows(self) -> list:
        """The STROBE cohort items and the manuscript section reporting each (analysis/strobe.py)."""
        from analysis.strobe import checklist_rows

        return checklist_rows(inline=self.t.printed_text,
                              call=lambda name: str(getattr(self, name)()))

    # ------------------------------------------------------------------ figures

    def figure_object(self, name: str):
        """The matplotlib Figure called ``name`` as the documents show it (``analysis.figures.registry``)."""
        return figure_registry.draw(name, self.results, document=True)

    def figure(self, name: str, dpi: int | None = None):
        """The figure as a PNG image for the document (figure style, identical bytes every run)."""
        from IPython.display import Image

        dpi = dpi or DOCUMENT_DPI
        name = figure_registry.figure(name, self.results).name
        # Drawn again only when what the figure is drawn from changed (render cache, if any).
        data = document_png(name, self.results, dpi, lambda: self._draw_png(name, dpi))
        # Shown at the text width in every format: the width travels as the image's metadata, which
        # Quarto writes as {width=100%} (src/core/jupyter/jupyter.ts mdImageOutput), as does the engine.
        return Image(data=data, format="png", width="100%")

    def _draw_png(self, name: str, dpi: int) -> bytes:
        from analysis.figures.style import rendered_in_style

        with rendered_in_style():   # rendered in the style at once: no separate layout pass, same pixels
            return _png_bytes(self.figure_object(name), dpi)


def _unescaped(markdown: str) -> str:
    """Markdown text as the words it prints: its backslash escapes dropped."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)


def _png_bytes(figure, dpi: int) -> bytes:
    from analysis.figures.save import png_bytes  # the drawing code, only when a figure is drawn

    return png_bytes(figure, dpi=dpi)
