"""Render engine: parsing, option checks, cross-references, command behaviour (no Jupyter kernel).

Every document error must name the file and line; the command exits with 2
and leaves previous outputs byte-for-byte untouched. The ``quarto`` branch is
checked with a stand-in ``quarto`` executable that records what it was given.
"""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.render import crossref, formats
from analysis.render.errors import RenderError
from analysis.render.project import document_settings, load_project, parse_to
from analysis.render.qmd import Cell, parse_qmd, quarto_cell_options

FIXTURES = Path(__file__).parent / "fixtures" / "qmd"
PROJECT = FIXTURES / "project"
ERRORS = FIXTURES / "errors"


def write(tmp_path: Path, text: str, name: str = "doc.qmd") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path) -> RenderError:
    with pytest.raises(RenderError) as info:
        doc = parse_qmd(path)
        document_settings(doc, load_project(path.parent))
    return info.value


# --- parsing -----------------------------------------------------------------

def test_parse_front_matter_cells_options_and_inline(tmp_path):
    path = write(tmp_path, """
        ---
        title: "T"
        ---

        Text with `{python} 1 + 1` inline.

        ```{python}
        #| label: tbl-a
        #| tbl-cap: "Cap"
        x = 1
        ```
        """)
    doc = parse_qmd(path)
    assert doc.meta == {"title": "T"}
    cell = doc.cells[0]
    assert isinstance(cell, Cell)
    assert cell.label == "tbl-a" and cell.options["tbl-cap"] == "Cap"
    assert cell.line == 7 and cell.option_lines == {"label": 8, "tbl-cap": 9}
    assert cell.code == "x = 1"
    inline = doc.chunks[0].inlines[0]
    assert (inline.expr, inline.line) == ("1 + 1", 5)


def test_quarto_option_list_is_quartos():
    options = quarto_cell_options()
    shared = Path("/work/shared/quarto/cell-options.txt")  # the team's extract of Quarto's schema, where present
    if shared.is_file():
        listed = {line.strip() for line in shared.read_text().splitlines() if line.strip() and not line.startswith("#")}
        assert options == listed
    # a few names from Quarto's schema, and that the list is not trivially small
    assert {"label", "echo", "tbl-cap", "fig-cap", "tbl-colwidths", "code-fold"} <= options
    assert len(options) > 80


@pytest.mark.parametrize("fixture, line, words", [
    ("unsupported_option.qmd", 8, "'tbl-colwidths' is a Quarto option the embedded engine does not implement"),
    ("unknown_option.qmd", 7, "unknown cell option 'colour'"),
    ("shortcode.qmd", 5, "shortcodes"),
    ("missing_bibliography.qmd", 3, "bibliography file 'does-not-exist.bib' not found"),
])
def test_document_errors_name_file_and_line(fixture, line, words):
    error = error_of(ERRORS / fixture)
    assert error.file.endswith(fixture)
    assert error.line == line
    assert words in error.message


@pytest.mark.parametrize("text, line, words", [
    ("```{r}\n1\n```\n", 1, "'{r}' is not supported"),
    ("::: {.callout-note}\nx\n:::\n", 1, "'callout-note'"),
    ("::: {#fig-a}\n![x](y.png)\n:::\n", 1, "cross-reference div '#fig-a'"),
    ("::: {layout-ncol=2}\nx\n:::\n", 1, "layout-ncol"),
    ("```{python}\n#| echo: fenced\nx\n```\n", 2, "must be true or false"),
    ("```{python}\n#| output: maybe\nx\n```\n", 2, "true, false or asis"),
    ("```{python}\n#| fig-cap: A\nx\n```\n", 2, "needs a cell label starting with 'fig-'"),
    ("```{python}\n#| label: tbl-a\nx\n```\n", 2, "needs '#| tbl-cap:'"),
    ("```{python}\nx\n", 1, "never closed"),
])
def test_unsupported_syntax_is_an_error(tmp_path, text, line, words):
    error = error_of(write(tmp_path, text))
    assert error.line == line and words in error.message


@pytest.mark.parametrize("front, line, words", [
    ("format:\n  pdf: default\n", 3, "format 'pdf' (LaTeX) is not supported"),
    ("format:\n  html:\n    theme: cosmo\n", 4, "'html: theme' is not implemented"),
    ("execute:\n  freeze: auto\n", 3, "execute option 'freeze'"),
    ("date: today\n", 2, "depends on the clock"),
    ("filters:\n  - x.lua\n", 2, "option 'filters' is not implemented"),
    ("author:\n  - name: A\n    degrees: PhD\n", 2, "author field(s) ['degrees']"),
    ("crossref:\n  tbl-labels: roman\n", 3, "must be a list of labels"),
    # a list passes Quarto's crossref filter but not its YAML schema: only with validate-yaml: false
    ("crossref:\n  tbl-labels: [S1, S2]\n", 3, "fails Quarto's YAML schema"),
    ("format:\n  typst:\n    number-sections: true\n", 4, "differs from the document's"),
    ("csl: no-such-style-anywhere\n", 2, "CSL style 'no-such-style-anywhere' not found"),
])
def test_unsupported_front_matter_is_an_error(tmp_path, front, line, words):
    error = error_of(write(tmp_path, f"---\n{front}---\n\nText.\n"))
    assert error.line == line and words in error.message


def test_default_project_inputs_leave_out_what_quartos_walk_leaves_out(tmp_path):
    """Every .qmd of the project but those under a name starting with '_' or '.' and under the folders
    the engines ignore (src/execute/engine.ts engineIgnoreDirs: node_modules; jupyter: venv, env;
    knitr: renv, packrat, rsconnect), and none in the output folder."""
    (tmp_path / "_quarto.yml").write_text("project:\n  output-dir: out\n")
    for name in ("a.qmd", "sub/b.qmd", "_draft.qmd", "_parts/c.qmd", ".hidden/d.qmd", "venv/lib/e.qmd",
                 "env/f.qmd", "node_modules/g.qmd", "renv/h.qmd", "packrat/i.qmd", "rsconnect/j.qmd",
                 "out/k.qmd", "sub/environment/l.qmd", "notes.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Text.\n")
    project = load_project(tmp_path)
    assert [p.relative_to(tmp_path.resolve()).as_posix() for p in project.render] == \
        ["a.qmd", "sub/b.qmd", "sub/environment/l.qmd"]


def test_project_and_front_matter_merge_as_quarto(tmp_path):
    project = load_project(PROJECT)
    assert [p.name for p in project.render] == ["features.qmd", "second.qmd"]
    assert project.output_dir == PROJECT / "_out"
    assert project.pre_render == ["prerender.py"]
    settings = document_settings(parse_qmd(PROJECT / "features.qmd"), project)
    # _quarto.yml says echo/warning false; the front matter turns warnings back on
    assert settings.execute["echo"] is False and settings.execute["warning"] is True
    assert settings.bibliography == [PROJECT / "refs.bib"]
    assert settings.csl.name == "biomed-central.csl"
    assert set(settings.formats) == {"html", "typst", "docx"}
    assert settings.number_sections is True


def test_parse_to():
    assert parse_to("html,pdf,docx") == ["html", "typst", "docx"]
    assert parse_to("pdf") == ["typst"]
    with pytest.raises(RenderError, match="unknown format 'odt'"):
        parse_to("odt")


# --- cross-references on the pandoc AST (no kernel) ----------------------------

def crossref_doc(tmp_path: Path, body: str, number_sections: bool = False):
    path = write(tmp_path, body)
    doc = parse_qmd(path)
    ast = formats.markdown_to_ast(doc.source, {}, tmp_path)
    index = crossref.resolve_crossrefs(ast, doc, number_sections)
    return ast, index, doc


def plain_text(node) -> str:
    if isinstance(node, list):
        return "".join(plain_text(n) for n in node)
    if isinstance(node, dict):
        if node.get("t") == "Str":
            return node["c"]
        if node.get("t") in ("Space", "SoftBreak"):
            return " "
        return plain_text(node.get("c", []))
    return ""


def test_numbers_in_order_of_appearance_and_resolves_references(tmp_path):
    ast, index, _ = crossref_doc(tmp_path, """
        # Intro {#sec-intro}

        See @fig-b, @Tbl-b and [-@fig-a]; also [see @tbl-a; @tbl-b] and [@tbl-a, p. 2].

        ![First](a.png){#fig-b}

        | x |
        |---|
        | 1 |

        : Second caption {#tbl-b}

        ## Sub {#sec-sub}

        ![Second](b.png){#fig-a}

        | y |
        |---|
        | 2 |

        : Third caption {#tbl-a}
        """, number_sections=True)
    assert index.numbers == {"sec-intro": "1", "fig-b": "1", "tbl-b": "1", "sec-sub": "1.1", "fig-a": "2", "tbl-a": "2"}
    text = plain_text(ast["blocks"]).replace(crossref.NBSP, " ")
    # Quarto (crossref/refs.lua resolveRefs): a prefix replaces the type name, a suffix is dropped
    assert "See Figure 1, Table 1 and 2; also see 2, Table 1 and Table 2." in text
    assert "Figure 1: First" in text and "Figure 2: Second" in text
    assert "Table 1: Second caption" in text and "Table 2: Third caption" in text
    assert "1 Intro" in text and "1.1 Sub" in text


@pytest.mark.parametrize("body, number_sections, words, line", [
    ("Text.\n\nSee @fig-none.\n", False, "'@fig-none' does not match any label", 3),
    ("# A {#sec-a}\n\nSee @sec-a.\n", False, "need 'number-sections: true'", 3),
    ("$$x$$ {#eq-a}\n\nSee @eq-a.\n", False, "'@eq-' is not supported", 3),
    ("![a](a.png){#fig-a}\n\n![b](b.png){#fig-a}\n", False, "label 'fig-a' is used twice", 1),
])
def test_crossref_errors(tmp_path, body, number_sections, words, line):
    with pytest.raises(RenderError) as info:
        crossref_doc(tmp_path, body, number_sections)
    assert words in info.value.message and info.value.line == line


# --- the command (no kernel: documents without cells, or failing before execution) ----

def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fixture, expected", [
    ("unsupported_option.qmd", "unsupported_option.qmd:8: cell option 'tbl-colwidths'"),
    ("missing_bibliography.qmd", "missing_bibliography.qmd:3: bibliography file 'does-not-exist.bib' not found"),
    ("no_bibliography.qmd", "no_bibliography.qmd:5: citation '@smith2020' but the document has no 'bibliography:'"),
    ("bad_reference.qmd", "bad_reference.qmd:5: cross-reference '@tbl-nowhere' does not match any label"),
])
def test_command_error_exit_2_and_previous_outputs_untouched(tmp_path, capsys, fixture, expected):
    out = tmp_path / "out"
    out.mkdir()
    stem = Path(fixture).stem
    for suffix in (".html", ".pdf", ".docx"):
        (out / f"{stem}{suffix}").write_bytes(f"previous {suffix} output".encode())
    before = snapshot(out)
    status = main(["render", str(ERRORS / fixture), "--engine", "embedded", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert snapshot(out) == before  # nothing replaced, no staging directory left behind


def test_document_without_cells_renders_without_a_kernel(tmp_path, capsys):
    status = main(["render", str(PROJECT / "second.qmd"), "--to", "html", "--engine", "embedded", "--out", str(tmp_path)])
    output = capsys.readouterr().out
    assert status == 0
    assert "engine: embedded" in output and "kernel ready" not in output
    html = (tmp_path / "second.html").read_text(encoding="utf-8")
    assert "Figure\u00a01: A one-pixel dot." in html or "Figure&nbsp;1: A one-pixel dot." in html
    # hidden entries (a render cache) aside
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["prerender.txt", "second.html"]
    assert (tmp_path / "prerender.txt").read_text().startswith("render_all=\n")  # one file: not a full render


@pytest.fixture
def fake_quarto(tmp_path, monkeypatch):
    """A ``quarto`` on PATH that records its arguments and environment and writes the outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "quarto-calls.txt"
    script = bin_dir / "quarto"
    # Behaves as Quarto 1.10.18 does in a project: '--to' is ONE format name or 'all'
    # (src/project/project-context.ts:259-271); a comma list is "Unknown format" (exit 1).
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys
        from pathlib import Path
        args = sys.argv[1:]
        with open({str(log)!r}, "a") as log:
            log.write(repr([args, os.environ.get("ABLATION_DATA_DIR", ""), os.environ.get("ABLATION_RESULTS", "")]) + "\\n")
        to = args[args.index("--to") + 1] if "--to" in args else "all"
        if to not in ("all", "html", "typst", "docx"):
            print(f"ERROR: Unknown format {{to}}", file=sys.stderr)
            raise SystemExit(1)
        out = Path(args[args.index("--output-dir") + 1])
        for fmt, ext in (("html", "html"), ("typst", "pdf"), ("docx", "docx")):
            if to in ("all", fmt):
                (out / ("features." + ext)).write_text("from quarto")
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def quarto_calls(log: Path) -> list:
    return [eval(line) for line in log.read_text().splitlines()]  # noqa: S307 - our own repr() of lists of str


def test_auto_uses_quarto_when_on_path(tmp_path, capsys, fake_quarto):
    out = tmp_path / "out"
    data = tmp_path / "my-data"
    status = main(["render", str(PROJECT), "--to", "html,pdf", "--out", str(out), "--data", str(data)])
    output = capsys.readouterr().out
    assert status == 0
    assert "engine: quarto (" in output
    calls = quarto_calls(fake_quarto)
    # a subset of the project's formats: one 'quarto render' per format, 'pdf' meaning the project's typst
    assert [args[args.index("--to") + 1] for args, _, _ in calls] == ["html", "typst"]
    for args, data_env, results_env in calls:
        assert args[:2] == ["render", str(PROJECT)]
        assert data_env == str(data.resolve())
        # the documents' kernels read the results file the pre-render step wrote into the staging folder
        assert Path(results_env).parent == Path(args[args.index("--output-dir") + 1])
    assert sorted(p.name for p in out.iterdir()) == ["features.html", "features.pdf"]  # staged, then swapped in


def test_quarto_renders_all_project_formats_with_to_all(tmp_path, capsys, fake_quarto):
    status = main(["render", str(PROJECT), "--out", str(tmp_path / "out")])
    assert status == 0, capsys.readouterr().err
    calls = quarto_calls(fake_quarto)
    assert len(calls) == 1 and calls[0][0][calls[0][0].index("--to") + 1] == "all"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["features.docx", "features.html", "features.pdf"]


def test_quarto_command_lines_take_one_format_or_all():
    from analysis.render.command import quarto_commands

    project = load_project(PROJECT)
    out = Path("/tmp/staging")
    assert quarto_commands("quarto", "p", ["html", "typst", "docx"], project, out) == [
        ["quarto", "render", "p", "--to", "all", "--output-dir", str(out)]]
    assert quarto_commands("quarto", "p", ["docx", "html"], project, out) == [
        ["quarto", "render", "p", "--to", "docx", "--output-dir", str(out)],
        ["quarto", "render", "p", "--to", "html", "--output-dir", str(out)]]
    for argv in quarto_commands("quarto", "p", ["typst"], None, out):  # a file outside any project
        assert "," not in argv[argv.index("--to") + 1]


def test_engine_embedded_ignores_quarto_and_quarto_missing_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no quarto here
    status = main(["render", str(PROJECT / "second.qmd"), "--engine", "quarto", "--out", str(tmp_path / "o")])
    assert status == 2
    assert "'quarto' is not on PATH" in capsys.readouterr().err


# --- Markdown assembly from outputs (no kernel: outputs as nbformat dicts) ------

def assemble(tmp_path, cell_text: str, outputs: list[dict]):
    from analysis.render.execute import ExecutedDocument
    from analysis.render.markdown import assemble_markdown
    from analysis.render.project import EXECUTE_DEFAULTS

    doc = parse_qmd(write(tmp_path, cell_text))
    executed = ExecutedDocument(outputs={doc.cells[0].index: outputs})
    return assemble_markdown(doc, executed, dict(EXECUTE_DEFAULTS, echo=False), tmp_path / "work" / "doc_files")


PNG_1x1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def test_asis_table_cell_becomes_a_captioned_table(tmp_path):
    markdown = assemble(tmp_path, "```{python}\n#| label: tbl-a\n#| tbl-cap: Cap\n#| output: asis\nprint(t)\n```\n",
                        [{"output_type": "stream", "name": "stdout", "text": "| a |\n|---|\n| 1 |\n\nNote: n = 1.\n"},
                         {"output_type": "stream", "name": "stderr", "text": "a warning\n"}])
    ast = formats.markdown_to_ast(markdown, {}, tmp_path)
    doc = parse_qmd(tmp_path / "doc.qmd")
    crossref.resolve_crossrefs(ast, doc, False)
    kinds = [b["t"] for b in ast["blocks"]]
    assert kinds == ["Table", "Para", "CodeBlock"]  # the note stays after the table; stderr verbatim even under asis
    assert ast["blocks"][0]["c"][0][0] == "tbl-a"
    assert plain_text(ast["blocks"][0]["c"][1][1]).replace(crossref.NBSP, " ") == "Table 1: Cap"
    assert "a warning" in markdown                  # default warning: true keeps stderr
    hidden = assemble(tmp_path, "```{python}\n#| warning: false\nx\n```\n",
                      [{"output_type": "stream", "name": "stderr", "text": "a warning\n"}])
    assert "a warning" not in hidden


def test_figure_cell_needs_exactly_one_image(tmp_path):
    image = {"output_type": "display_data", "data": {"image/png": PNG_1x1, "text/plain": "<Figure>"}, "metadata": {}}
    text = "```{python}\n#| label: fig-a\n#| fig-cap: Cap\nplot()\n```\n"
    markdown = assemble(tmp_path, text, [image])
    assert "![Cap](doc_files/fig-a-1.png){#fig-a width=\"0.1%\"}" in markdown  # 1 px at 150 dpi of a 16 cm text width
    assert (tmp_path / "work" / "doc_files" / "fig-a-1.png").read_bytes()[:4] == b"\x89PNG"
    for outputs in ([], [image, image]):
        with pytest.raises(RenderError, match="exactly one image") as info:
            assemble(tmp_path, text, outputs)
        assert info.value.line == 2


def test_table_cell_without_a_table_is_an_error(tmp_path):
    markdown = assemble(tmp_path, "```{python}\n#| label: tbl-a\n#| tbl-cap: Cap\nx\n```\n",
                        [{"output_type": "execute_result", "data": {"text/plain": "42"}, "metadata": {}, "execution_count": 1}])
    ast = formats.markdown_to_ast(markdown, {}, tmp_path)
    with pytest.raises(RenderError, match="exactly one Markdown table") as info:
        crossref.resolve_crossrefs(ast, parse_qmd(tmp_path / "doc.qmd"), False)
    assert info.value.line == 2


def test_stale_staging_of_a_dead_render_is_removed(tmp_path, capsys):
    import subprocess

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".render-staging-{int(dead.stdout)}"
    stale.mkdir()
    (stale / "half.html").write_text("incomplete")
    status = main(["render", str(PROJECT / "second.qmd"), "--to", "html", "--engine", "embedded", "--out", str(tmp_path)])
    assert status == 0 and not stale.exists()
    assert not list(tmp_path.glob(".render-staging-*"))


@pytest.mark.render
def test_a_dying_kernel_is_a_document_error(tmp_path, capsys):
    path = write(tmp_path, "```{python}\n#| label: boom\nimport os\nos._exit(3)\n```\n")
    status = main(["render", str(path), "--to", "html", "--engine", "embedded", "--out", str(tmp_path / "out")])
    assert status == 2
    assert "doc.qmd:1: cell 'boom': the Python kernel died" in capsys.readouterr().err


# --- the engine knows nothing of the study ---------------------------------------

ENGINE_DIR = Path(__file__).resolve().parents[1] / "analysis" / "render"
# analysis/render/cache.py (the untrusted stream's, being rewritten) still keys its cache on the
# study's inputs (analysis.paths, published_results.yml): the one module left to lift out.
STUDY_AWARE = {"cache.py"}


def test_engine_imports_nothing_from_the_study():
    import ast

    offenders = []
    for module in sorted(ENGINE_DIR.glob("*.py")):
        if module.name in STUDY_AWARE:
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            offenders += [f"{module.name}:{node.lineno} {name}" for name in names
                          if (name == "analysis" or name.startswith("analysis.")) and not name.startswith("analysis.render")]
    assert offenders == []


def test_engine_names_no_study_file_or_variable():
    words = ("ABLATION_", "results.json", "published_results", "analysis_plan", "manuscript", "supplement")
    found = [(module.name, word) for module in sorted(ENGINE_DIR.glob("*.py")) if module.name not in STUDY_AWARE
             for word in words if word in module.read_text(encoding="utf-8")]
    assert found == []


def test_conditional_content_by_format():
    """content-visible / content-hidden with when-format / unless-format; 'pdf' means LaTeX in Quarto
    (src/resources/pandoc/datadir/_format.lua isFormat), so it matches no format of this engine."""
    def div(cls, **attrs):
        return {"t": "Div", "c": [["", [cls], [[k.replace("_", "-"), v] for k, v in attrs.items()]],
                                  [{"t": "Para", "c": [{"t": "Str", "c": f"{cls}:{attrs}"}]}]]}

    blocks = [div("content-visible", when_format="docx"), div("content-hidden", when_format="docx"),
              div("content-visible", unless_format="html"), div("content-visible", when_format="pdf")]
    shown = {fmt: [plain_text(b) for b in formats.conditional_content(blocks, fmt)] for fmt in ("html", "typst", "docx")}
    assert shown["docx"] == ["content-visible:{'when_format': 'docx'}", "content-visible:{'unless_format': 'html'}"]
    assert shown["html"] == ["content-hidden:{'when_format': 'docx'}"]
    assert shown["typst"] == ["content-hidden:{'when_format': 'docx'}", "content-visible:{'unless_format': 'html'}"]


def test_inline_values_inserted_as_quarto_does():
    """src/core/jupyter/jupyter-inline.ts:28-39 (asEscapedMarkdown), 61-78: text/markdown raw; a quoted
    text/plain repr unquoted, backslashes doubled, Markdown punctuation escaped. Expected strings are
    Quarto's executed Markdown (conformance: inline/doc.executed.md, inline/edge.executed.md)."""
    from analysis.render.execute import inline_markdown

    s = "as shown [@smith2020], *emph*, `code` and a $5 fee"
    assert inline_markdown({"text/plain": repr(s)}) == r"as shown \[@smith2020\]\, \*emph\*\, \`code\` and a $5 fee"
    assert inline_markdown({"text/plain": repr(s), "text/markdown": s}) == s
    assert inline_markdown({"text/plain": repr("3.1")}) == r"3\.1"
    assert inline_markdown({"text/plain": "42"}) == "42"
    assert inline_markdown({"text/plain": repr("a\\b")}) == "a" + "\\" * 8 + "b"
    assert inline_markdown({"text/plain": repr("it's")}) == "it's"


def test_image_size_metadata_becomes_its_width(tmp_path):
    """src/core/jupyter/jupyter.ts mdImageOutput: an image output's width/height metadata are its attributes."""
    markdown = assemble(tmp_path, """
        ```{python}
        #| label: fig-x
        #| fig-cap: "X"
        x
        ```
        """, [{"output_type": "display_data", "data": {"image/png": PNG_1x1, "text/plain": "<Image>"},
               "metadata": {"image/png": {"width": "100%"}}}])
    assert '{#fig-x width="100%"}' in markdown


def test_a_format_without_a_writer_is_an_error_not_a_pdf(tmp_path):
    """The writers are a table (engine.WRITTEN_FORMATS); a format missing from it is refused before any
    code runs, instead of falling through to the Typst PDF writer (issue 16)."""
    from analysis.render.engine import WRITTEN_FORMATS, render_document
    from analysis.render.project import TO_FORMAT

    assert set(TO_FORMAT.values()) <= set(WRITTEN_FORMATS)
    doc = parse_qmd(PROJECT / "second.qmd")
    settings = document_settings(doc, load_project(PROJECT))
    with pytest.raises(RenderError, match="no writer for format.*epub"):
        render_document(doc, settings, ["html", "epub"], tmp_path, Path("second"), dict(os.environ))
    assert list(tmp_path.iterdir()) == []


def test_inline_expressions_of_a_paragraph_run_in_order_and_errors_name_the_expression(tmp_path):
    """Consecutive inline expressions go to the kernel in one request (analysis.render.execute._batched):
    each still sees the cells above it and the expressions before it, prints its own value, and a
    failing one is named with its line; one that does not compile runs alone and is named too."""
    from analysis.render.execute import execute_document
    from analysis.render.project import EXECUTE_DEFAULTS

    def run(text):
        doc = parse_qmd(write(tmp_path, text))
        return execute_document(doc, EXECUTE_DEFAULTS, dict(os.environ), progress=lambda _m: None)

    executed = run("""
        ```{python}
        x = 2
        ```

        A `{python} x` then `{python} print("noise") or x + 1`
        and `{python} "a*b"`.

        ```{python}
        x = 10
        ```

        B `{python} x`.
        """)
    assert executed.inline_values == ["2", "3", r"a\*b", "10"]
    with pytest.raises(RenderError) as info:
        run("""
            ```{python}
            y = 1
            ```

            `{python} y` and
            `{python} 1 / 0` and `{python} y`.
            """)
    assert "`{python} 1 / 0` failed: ZeroDivisionError" in str(info.value) and info.value.line == 6
    with pytest.raises(RenderError) as info:
        run("One `{python} 1` two `{python} 1 +` three `{python} 3`.\n")
    assert "`{python} 1 +` failed: SyntaxError" in str(info.value)
