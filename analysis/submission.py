"""What a journal office checks: title page, declarations, abstract form and word counts.

The study's metadata lives in two files beside the documents:

- ``report/_metadata.yml``: authors, affiliations and funding in Quarto's author and
  affiliation schema (Quarto merges a folder's ``_metadata.yml`` into every document there),
- ``report/declarations.yml``: ethics approval, consent, data availability, competing
  interests, acknowledgements, and the journal profile's name (``journals/<name>.yml``).

``title_page_markdown`` and ``declarations_markdown`` build the manuscript's title page and
Declarations section from them, in the journal's order; an item not filled in prints as a
visible ``[to be completed: ...]`` line, and ``missing_items`` lists every such item (the
render command prints that list). ``check_outputs`` counts the words of the rendered
abstract and main text and checks the abstract headings against the journal profile.
Nothing here reads data or results: these are the authors' words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from analysis.yaml_files import load_yaml

from analysis import paths

METADATA_FILE = "_metadata.yml"
DECLARATIONS_FILE = "declarations.yml"
JOURNALS_DIR = paths.PROJECT_ROOT / "journals"
TO_BE_COMPLETED = "[to be completed: {what}]"

# CRediT roles as Quarto's schema spells them (quarto.org/docs/journals/authors.html#roles).
CREDIT_ROLES = {
    "conceptualization": "Conceptualization", "data curation": "Data curation", "formal analysis": "Formal analysis",
    "funding acquisition": "Funding acquisition", "investigation": "Investigation", "methodology": "Methodology",
    "project administration": "Project administration", "resources": "Resources", "software": "Software",
    "supervision": "Supervision", "validation": "Validation", "visualization": "Visualization",
    "writing – original draft": "Writing – original draft", "writing – review & editing": "Writing – review & editing",
    "writing - original draft": "Writing – original draft", "writing - review & editing": "Writing – review & editing",
}


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _inert(text) -> str:
    """Authors' text as Markdown that means only itself (no emphasis, links, citations or HTML)."""
    return re.sub(r"([\\`*_{}\[\]<>#@|~^$])", r"\\\1", str(text).strip())


def _todo(what: str) -> str:
    return _inert(TO_BE_COMPLETED.format(what=what))


@dataclass
class Study:
    authors: list[dict]
    affiliations: dict[str, dict]
    funding: str | None
    declarations: dict
    journal: dict
    missing: list[str] = field(default_factory=list)

    def text(self, value, what: str) -> str:
        """The value as inert Markdown, or the visible 'to be completed' line (and noted as missing)."""
        if _blank(value):
            if what not in self.missing:
                self.missing.append(what)
            return _todo(what)
        return _inert(value)


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as handle:
        data = load_yaml(handle) or {}
    return data if isinstance(data, dict) else {}


def load_study(report_dir: Path | None = None) -> Study:
    report_dir = Path(report_dir or paths.REPORT_DIR)
    meta = _read_yaml(report_dir / METADATA_FILE)
    declarations = _read_yaml(report_dir / DECLARATIONS_FILE)
    journal = _read_yaml(JOURNALS_DIR / f"{declarations.get('journal') or 'cancer-imaging'}.yml")
    authors = meta.get("author") or []
    authors = [a if isinstance(a, dict) else {"name": a} for a in (authors if isinstance(authors, list) else [authors])]
    affiliations = {}
    for i, aff in enumerate(meta.get("affiliations") or [], start=1):
        if isinstance(aff, dict):
            affiliations[str(aff.get("id", f"aff{i}"))] = aff
    funding = meta.get("funding")
    if isinstance(funding, dict):
        funding = funding.get("statement")
    elif isinstance(funding, list):
        funding = " ".join(str(f.get("statement", "")) if isinstance(f, dict) else str(f) for f in funding)
    study = Study(authors, affiliations, funding, declarations, journal)
    # Build both blocks once so that ``missing`` lists every unfilled item.
    title_page_markdown(study)
    declarations_markdown(study)
    return study


def _author_name(author: dict) -> str | None:
    name = author.get("name")
    if isinstance(name, dict):
        name = name.get("literal") or " ".join(str(name.get(k, "")) for k in ("given", "family")).strip()
    return name


def _affiliation_refs(author: dict, study: Study) -> list[dict]:
    out = []
    for aff in author.get("affiliations") or author.get("affiliation") or []:
        if isinstance(aff, dict) and "ref" in aff:
            out.append(study.affiliations.get(str(aff["ref"]), {"name": None}))
        elif isinstance(aff, dict):
            out.append(aff)
        else:
            out.append({"name": aff})
    return out


def _affiliation_text(aff: dict, study: Study, number: int) -> str:
    parts = [aff.get("department"), aff.get("name"), aff.get("city"), aff.get("country")]
    what = ["department", "institution", "city", "country"]
    return ", ".join(study.text(p, f"affiliation {number} {w}") for p, w in zip(parts, what))


def title_page_markdown(study: Study) -> str:
    """Every author with numbered affiliations, ORCID, and the corresponding author's e-mail."""
    if not study.authors:
        return _inert("Authors: ") + study.text(None, "authors (report/_metadata.yml)") + "\n"
    numbers: dict[int, int] = {}
    listed: list[dict] = []
    names, orcids, corresponding = [], [], []
    for i, author in enumerate(study.authors, start=1):
        marks = []
        for aff in _affiliation_refs(author, study):
            key = id(aff)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                listed.append(aff)
            marks.append(str(numbers[key]))
        name = study.text(_author_name(author), f"author {i} name")
        star = "\\*" if author.get("corresponding") else ""
        names.append(name + (f"^{','.join(marks)}^" if marks else "") + star)
        orcid = author.get("orcid")
        orcids.append(f"{name}: " + study.text(orcid, f"author {i} ORCID"))
        if author.get("corresponding"):
            corresponding.append(f"{name}, " + study.text(author.get("email"), f"author {i} (corresponding) e-mail"))
    lines = ["**Authors:** " + ", ".join(names), ""]
    for aff in listed:
        lines += [f"^{numbers[id(aff)]}^ " + _affiliation_text(aff, study, numbers[id(aff)]) + "\\", ]
    if listed:
        lines[-1] = lines[-1].removesuffix("\\")
        lines.append("")
    if not corresponding:
        corresponding.append(study.text(None, "corresponding author (corresponding: true in report/_metadata.yml)"))
    lines += ["\\* **Corresponding author:** " + "; ".join(corresponding), "", "**ORCID:** " + "; ".join(orcids), ""]
    return "\n".join(lines)


def _contributions(study: Study) -> str:
    parts = []
    for i, author in enumerate(study.authors, start=1):
        roles = author.get("roles") or []
        roles = [roles] if isinstance(roles, str) else roles
        names = [CREDIT_ROLES.get(str(r.get("role") if isinstance(r, dict) else r).strip().lower(),
                                  str(r.get("role") if isinstance(r, dict) else r)) for r in roles]
        name = _author_name(author)
        if _blank(name) or not names:
            parts.append(study.text(None, f"author {i} CRediT roles"))
        else:
            parts.append(f"{_inert(name)}: {_inert(', '.join(names))}.")
    if parts and all(p.endswith(".") for p in parts):
        parts.append("All authors read and approved the final manuscript.")
    return " ".join(parts) or study.text(None, "authors' contributions")


def _ethics(study: Study) -> str:
    ethics = study.declarations.get("ethics") or {}
    committee = study.text(ethics.get("committee"), "ethics committee")
    number = study.text(ethics.get("approval_number"), "ethics approval number")
    text = f"The study was approved by {committee} (approval number {number})."
    statement = ethics.get("statement")
    if not _blank(statement):
        text += " " + _inert(statement)
    return text + " " + study.text(study.declarations.get("consent_to_participate"), "consent to participate")


def declarations_markdown(study: Study, level: int = 2) -> str:
    """The Declarations items in the journal profile's order, each under its own heading."""
    d = study.declarations
    values = {
        "ethics": lambda: _ethics(study),
        "consent_for_publication": lambda: study.text(d.get("consent_for_publication"), "consent for publication"),
        "data_availability": lambda: study.text(d.get("data_availability"), "availability of data and materials"),
        "competing_interests": lambda: study.text(d.get("competing_interests"), "competing interests"),
        "funding": lambda: study.text(study.funding, "funding (funding: statement in report/_metadata.yml)"),
        "contributions": lambda: _contributions(study),
        "acknowledgements": lambda: study.text(d.get("acknowledgements"), "acknowledgements"),
    }
    items = study.journal.get("declarations") or [{"key": k, "heading": k} for k in values]
    out = []
    for item in items:
        out += [f"{'#' * level} {item['heading']}", "", values[item["key"]](), ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- checks of the rendered documents


class _Sections(HTMLParser):
    """Words of an HTML document per top-level (h1) section, outside tables, figures and captions."""

    SKIP = {"table", "figure", "figcaption", "script", "style", "nav", "header", "caption"}

    def __init__(self):
        super().__init__()
        self.current: str | None = None
        self.heading: list[str] | None = None
        self.skip = 0
        self.text: dict[str, list[str]] = {}
        self.bold: list[str] | None = None
        self.bold_runs: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "h1":
            self.heading = []
        elif tag in ("strong", "b") and not self.skip:
            self.bold = []

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "h1" and self.heading is not None:
            self.current = " ".join("".join(self.heading).split())
            self.text.setdefault(self.current, [])
            self.heading = None
        elif tag in ("strong", "b") and self.bold is not None:
            if self.current is not None:
                self.bold_runs.setdefault(self.current, []).append("".join(self.bold).strip())
            self.bold = None

    def handle_data(self, data):
        if self.heading is not None:
            self.heading.append(data)
        elif not self.skip and self.current is not None:
            self.text[self.current].append(data)
            if self.bold is not None:
                self.bold.append(data)


def _words(text: str) -> int:
    return len(re.findall(r"[^\s]+", text.replace("\u00a0", " ")))


@dataclass
class OutputCheck:
    abstract_words: int | None
    main_words: int | None
    headings_missing: list[str]
    lines: list[str]


def check_html(html_path: Path, study: Study) -> OutputCheck:
    """Abstract and main-text word counts and the abstract headings, from the rendered HTML."""
    parser = _Sections()
    parser.feed(Path(html_path).read_text(encoding="utf-8"))
    profile = study.journal
    abstract = profile.get("abstract") or {}
    sections = profile.get("sections") or []
    main_names = [s for s in sections if s not in ("Abbreviations", "Declarations", "References")]
    abstract_text = " ".join(parser.text.get("Abstract", []))
    abstract_words = _words(abstract_text) if "Abstract" in parser.text else None
    found = [name for name in main_names if name in parser.text]
    main_words = sum(_words(" ".join(parser.text[name])) for name in found) if found else None
    runs = [r.rstrip(".:").strip() for r in parser.bold_runs.get("Abstract", [])]
    missing = [h for h in abstract.get("headings", []) if h not in runs]
    lines = []
    limit = abstract.get("max_words")
    if abstract_words is not None:
        verdict = "" if not limit else (" (within the limit)" if abstract_words <= limit else " (OVER THE LIMIT)")
        lines.append(f"abstract: {abstract_words} words; {profile.get('name', 'journal')} limit "
                     f"{limit if limit else 'none'}{verdict}")
    else:
        lines.append("abstract: no 'Abstract' section found")
    if missing:
        lines.append(f"abstract headings missing: {', '.join(missing)} (required: {', '.join(abstract.get('headings', []))})")
    main_limit = profile.get("main_text_max_words")
    if main_words is not None:
        verdict = "" if not main_limit else (" (within the limit)" if main_words <= main_limit else " (OVER THE LIMIT)")
        lines.append(f"main text ({found[0]} to {found[-1]}): {main_words} words; limit "
                     f"{main_limit if main_limit else 'none for this article type'}{verdict}")
    return OutputCheck(abstract_words, main_words, missing, lines)


def submission_report(output_dir: Path, report_dir: Path | None = None) -> list[str]:
    """The lines the render command prints: word counts against the profile, items to be completed."""
    study = load_study(report_dir)
    lines = []
    html = Path(output_dir) / "report" / "manuscript.html"
    if html.is_file():
        lines += check_html(html, study).lines
    else:
        lines.append("word counts: manuscript.html was not rendered (counted from the HTML)")
    if study.missing:
        lines.append(f"to be completed before submission ({len(study.missing)} item"
                     f"{'' if len(study.missing) == 1 else 's'}, report/_metadata.yml and report/declarations.yml):")
        lines += [f"  - {item}" for item in study.missing]
    else:
        lines.append("declarations and title page: every item filled in")
    return lines
