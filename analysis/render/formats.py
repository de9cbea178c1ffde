"""Pandoc and Typst: Markdown -> AST -> HTML / DOCX / PDF.

- ``markdown_to_ast``: pandoc Markdown to pandoc's JSON AST;
- ``run_citeproc``: ``--citeproc`` once on the AST (bibliography + CSL), so every
  format gets the same formatted citations; a key missing from the bibliography
  is an error naming the .qmd line;
- ``write_html``: standalone, every resource embedded (``--embed-resources``),
  MathML for maths (no MathJax CDN), the document's ``css``;
- ``write_docx``: with the document's ``reference-doc`` (else pandoc's default);
- ``write_typst``: pandoc -> Typst with the document's ``include-in-header`` files
  (after the engine's own ``assets/engine-typst.typ``), compiled by the ``typst``
  wheel with only its embedded fonts and a fixed creation timestamp. As in Quarto
  (src/format/typst/format-typst.ts:66, 228-243), citations and the bibliography are
  citeproc's only with ``citeproc: true``; otherwise Typst formats them itself.

Journal assets (CSS, reference document, Typst header, CSL) belong to the documents
and are named in their metadata (``_quarto.yml``), so real Quarto uses the same files.

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

from analysis.render.citations import CiteprocMemo
from analysis.render.errors import RenderError
from analysis.render.qmd import ASSETS, QmdDocument

ENGINE_TYPST_HEADER = ASSETS / "engine-typst.typ"

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


def _is_url(target: str) -> bool:
    """A link target with a scheme (``https:``, ``data:``, ``file:``), not a path."""
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) is not None


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
            if (url and not _is_url(url) and not Path(url).is_absolute()
                    and not (work / url).is_file()):
                path = (doc.path.parent / url).resolve()
                if not path.is_file():
                    raise RenderError(f"image '{url}' not found (looked for {path})", doc.path, doc.line_of(url))
                target[0] = str(path)
        for value in node.values():
            if isinstance(value, (list, dict)):
                absolutize_images(value, doc, work)


_MISSING_CITATION = re.compile(r"Citeproc: citation (\S+) not found")


def run_citeproc(ast: dict[str, Any], bibliography: list[Path], csl: Path | None, doc: QmdDocument, work: Path,
                 memo: "CiteprocMemo | None" = None) -> dict[str, Any]:
    """``ast`` with its citations formatted and its bibliography; ``memo`` (the preview's): the
    output for the same citation skeleton is reused (``analysis.render.citations``)."""
    args = ["-f", "json", "-t", "json", "--citeproc", "-M", "link-citations=true"]
    args += [f"--bibliography={path}" for path in bibliography]
    if csl is not None:
        args.append(f"--csl={csl}")

    def run() -> dict[str, Any]:
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

    return run() if memo is None else memo.cited(ast, bibliography, csl, args, run)


def _text_inlines(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, word in enumerate(text.split()):
        out += ([{"t": "Space"}] if n else []) + [{"t": "Str", "c": word}]
    return out


def _meta_text(text: str) -> dict[str, Any]:
    return {"t": "MetaInlines", "c": _text_inlines(text)}


def author_meta(fmt: str, authors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The ``author`` metadata each writer gets, showing what Quarto 1.10 shows (conformance: authors/):

    - html: names and affiliation names (Quarto's title-block grid; here "Name (Affiliation)");
    - typst: name, affiliation names and email, as Quarto's typst-show.typ passes them to the template
      (src/resources/formats/typst/pandoc/quarto/typst-show.typ:8-17);
    - docx: names only (Quarto replaces ``author`` with plain names before pandoc:
      src/command/render/pandoc.ts:1224-1235).
    """
    if not authors:
        return None
    items = []
    for author in authors:
        affiliations = ", ".join(author["affiliations"])
        if fmt == "typst":
            items.append({"t": "MetaMap", "c": {"name": _meta_text(author["name"]),
                                                "affiliation": _meta_text(affiliations),
                                                "email": _meta_text(author["email"])}})
        elif fmt == "html" and affiliations:
            items.append(_meta_text(f"{author['name']} ({'; '.join(author['affiliations'])})"))
        else:
            items.append(_meta_text(author["name"]))
    return {"t": "MetaList", "c": items}


def for_format(ast: dict[str, Any], fmt: str, authors: list[dict[str, Any]], refs_appended: bool = False) -> dict[str, Any]:
    """``ast`` as format ``fmt`` gets it (a shallow copy: blocks are shared, never changed): its author
    metadata, and for HTML a "References" heading over a bibliography that citeproc appended
    (``refs_appended``: the document has no ``::: {#refs}``) without a heading before it."""
    meta = dict(ast.get("meta", {}))
    author = author_meta(fmt, authors)
    if author is not None:
        meta["author"] = author
    blocks = conditional_content(ast.get("blocks", []), fmt)
    if fmt == "html" and refs_appended and blocks and _is_refs(blocks[-1]) and (len(blocks) < 2 or blocks[-2].get("t") != "Header"):
        # Quarto puts such a bibliography into an appendix section headed "References"
        # (src/format/html/format-html-appendix.ts:122-156); conformance: citations/no-refs
        title = meta.get("reference-section-title")
        inlines = title["c"] if isinstance(title, dict) and title.get("t") == "MetaInlines" else _text_inlines("References")
        heading = {"t": "Header", "c": [2, ["", ["quarto-appendix-heading"], []], inlines]}
        blocks = blocks[:-1] + [heading, blocks[-1]]
    return dict(ast, meta=meta, blocks=blocks)


def _format_matches(fmt: str, names: str) -> bool:
    """Quarto's isFormat (src/resources/pandoc/datadir/_format.lua:244-288): exact name; 'pdf' and
    'latex' mean LaTeX only, so they match no format here (Typst is 'typst')."""
    return fmt in names.split()


def conditional_content(blocks: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """``::: {.content-visible when-format=...}`` / ``.content-hidden`` (``when-format``, ``unless-format``)
    resolved for ``fmt``, as Quarto's conditional content (quarto.org/docs/authoring/conditional.html)."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("t") == "Div":
            (ident, classes, attrs), content = block["c"]
            attributes = dict(attrs)
            for kind in ("content-visible", "content-hidden"):
                if kind in classes:
                    when, unless = attributes.get("when-format"), attributes.get("unless-format")
                    hit = (when is None or _format_matches(fmt, when)) and not (unless is not None and _format_matches(fmt, unless))
                    if (kind == "content-visible") == hit:
                        out.extend(conditional_content(content, fmt))
                    break
            else:
                out.append({"t": "Div", "c": [[ident, classes, attrs], conditional_content(content, fmt)]})
            continue
        out.append(block)
    return out


def _is_refs(block: dict[str, Any]) -> bool:
    return block.get("t") == "Div" and block["c"][0][0] == "refs"


def has_refs_div(blocks: list[dict[str, Any]]) -> bool:
    """Whether the document holds its own ``::: {#refs}`` div (anywhere)."""
    for block in blocks:
        if block.get("t") == "Div" and (_is_refs(block) or has_refs_div(block["c"][1])):
            return True
    return False


def _common_args(toc: bool) -> list[str]:
    return ["-f", "json", "--standalone"] + (["--toc"] if toc else [])


def write_html(ast: dict[str, Any], out: Path, options: dict[str, Any], toc: bool, doc_dir: Path, work: Path,
               quick_embed: bool = False) -> None:
    """Standalone HTML with every resource embedded by pandoc (``--embed-resources``).

    ``quick_embed`` (the preview's pages): pandoc writes the page with links and the images and
    stylesheets are put in by :func:`embed_local_resources` (data: URIs, ``<style>``): the same
    page to look at, written in about half the time (pandoc's embedding re-reads and re-serialises
    the whole page: 0.27 -> 0.15 s for a 30-page document with 11 figures). A page with anything
    else to embed (scripts, remote images, CSS that loads files) is embedded by pandoc as usual.
    """
    args = _common_args(toc) + ["-t", "html5", "--mathml", "--section-divs"]
    for css in _as_paths(options.get("css")):  # absolute: resolved where they were declared
        args.append(f"--css={css}")
    if not ast.get("meta", {}).get("title"):
        args += ["-M", f"pagetitle={out.stem}"]
    source = json.dumps(ast)
    if quick_embed:
        page = embed_local_resources(pandoc(args, source, cwd=work, what="pandoc (HTML writer)").stdout, work)
        if page is not None:
            out.write_text(page, encoding="utf-8")
            return
    pandoc(args + ["--embed-resources", "-o", str(out)], source, cwd=work, what="pandoc (HTML writer)")


# What pandoc's HTML writer links to: images and stylesheets are embedded by embed_local_resources;
# any other element that loads a file (or a URL) sends the page to pandoc's own --embed-resources.
_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]*)" />')
_OTHER_RESOURCE = re.compile(r"<(?:script|video|audio|source|iframe|embed|object|track)\b[^>]*\bsrc=|"
                             r"<link\b(?![^>]*rel=\"stylesheet\")[^>]*\bhref=|"
                             r"<object\b[^>]*\bdata=|\bposter=", re.I)


def embed_local_resources(page: str, work: Path) -> str | None:
    """``page`` with its local images as data: URIs and its stylesheets inline; ``None`` when it
    links to anything else (a script, a remote image, a stylesheet that loads files, a missing file)."""
    import base64
    import html as html_lib
    import mimetypes

    if _OTHER_RESOURCE.search(page) or "url(" in page or "srcset=" in page:
        return None

    def local_file(url: str) -> Path | None:
        path = html_lib.unescape(url)
        if _is_url(path):   # data: is already embedded
            return None
        file = Path(path) if Path(path).is_absolute() else work / path
        return file if file.is_file() else None

    failed = []

    def image(match: re.Match) -> str:
        url = match.group(2)
        if url.startswith("data:"):
            return match.group(0)
        file = local_file(url)
        mime = mimetypes.guess_type(file.name)[0] if file else None
        if file is None or mime is None or not mime.startswith("image/"):
            failed.append(url)
            return match.group(0)
        return match.group(1) + f"data:{mime};base64," + base64.b64encode(file.read_bytes()).decode("ascii") + match.group(3)

    def stylesheet(match: re.Match) -> str:
        file = local_file(match.group(1))
        css = file.read_text(encoding="utf-8") if file else ""
        if file is None or "url(" in css or "@import" in css or "</style" in css.lower():
            failed.append(match.group(1))
            return match.group(0)
        return f'<style type="text/css">\n{css}\n</style>'

    page = _STYLESHEET.sub(stylesheet, _IMG_SRC.sub(image, page))
    return None if failed else page


def write_docx(ast: dict[str, Any], out: Path, options: dict[str, Any], toc: bool, doc_dir: Path, work: Path) -> None:
    args = _common_args(toc) + ["-t", "docx", "-o", str(out)]
    if options.get("reference-doc"):
        args.append(f"--reference-doc={options['reference-doc']}")
    pandoc(args, json.dumps(ast), cwd=work, what="pandoc (DOCX writer)")


def write_typst(ast: dict[str, Any], out: Path, options: dict[str, Any], toc: bool, work: Path,
                uncited_ast: dict[str, Any] | None = None, bibliography: list[Path] | None = None,
                csl: Path | None = None) -> Path:
    """pandoc -> .typ. ``ast`` has citeproc's citations; ``uncited_ast`` is the AST before citeproc, used
    when the format does not ask for ``citeproc: true`` (Typst then formats citations and bibliography)."""
    typ = out.with_suffix(".typ")
    # template variables of pandoc's Typst template (margin is a map, so metadata rather than -V)
    # Quarto's default page is US letter (conformance: table-long, 792 pt high)
    variables = {"mainfont": TYPST_FONT, "papersize": options.get("papersize", "us-letter"),
                 "fontsize": options.get("fontsize", "11pt"), "margin": options.get("margin", {"x": "2.5cm", "y": "2.5cm"})}
    writer = "typst-citations"
    if uncited_ast is not None and bibliography and not options.get("citeproc"):
        ast, writer = uncited_ast, "typst"
        variables["bibliography"] = [str(path) for path in bibliography]
        if csl is not None:
            variables["csl"] = str(csl)
    variables_file = work / "typst-variables.json.yml"
    variables_file.write_text(json.dumps(variables), encoding="utf-8")
    args = _common_args(toc) + ["-t", writer, f"--include-in-header={ENGINE_TYPST_HEADER}"]
    args += [f"--include-in-header={_header_file(item, work, n)}" for n, item in enumerate(_as_list(options.get("include-in-header")))]
    args += [f"--metadata-file={variables_file}", "-o", str(typ)]
    pandoc(args, json.dumps(ast), cwd=work, what="pandoc (Typst writer)")
    return typ


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _as_paths(value: Any) -> list[str]:
    return [str(item) for item in _as_list(value)]


def _header_file(item: Any, work: Path, number: int) -> Path:
    """An ``include-in-header`` entry: a file (already absolute) or Quarto's ``text:``/``file:`` smart include."""
    if isinstance(item, dict) and "text" in item:
        path = work / f"include-in-header-{number}.typ"
        path.write_text(str(item["text"]) + "\n", encoding="utf-8")
        return path
    return Path(str(item["file"] if isinstance(item, dict) else item))


def compile_typst(typ: Path, out: Path) -> None:
    import typst

    try:
        typst.compile(str(typ), output=str(out), root="/", format="pdf", timestamp=SOURCE_DATE_EPOCH,
                      ignore_system_fonts=True, font_paths=[])
    except Exception as error:  # typst raises TypstError with the source location
        raise RenderError(f"typst compile failed: {error}", typ) from None
