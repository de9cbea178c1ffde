"""The STROBE cohort checklist of the supplement, built from the manuscript itself.

``checklist_rows(qmd, inline)`` splits report/manuscript.qmd into its sections (level-1
headings, and the level-2 headings under them), replaces each inline ``R.t.<name>`` by the
text it prints (``inline(name)``), keeps code-cell labels (``tbl-baseline``...) as words,
and for every item of journals/strobe-cohort.yml names the first section that reports it,
or "not found". Nothing is typed per study: the rules are the YAML file's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from analysis.yaml_files import load_yaml

from analysis import paths

CHECKLIST = paths.PROJECT_ROOT / "journals" / "strobe-cohort.yml"
NOT_FOUND = "not found"
_INLINE = re.compile(r"`\{python\}\s*R\.t\.([A-Za-z_][A-Za-z0-9_]*)\s*`")
_CELL = re.compile(r"^```\{python\}\n(.*?)^```\s*$", re.S | re.M)


def sections(qmd_text: str, inline: Callable[[str], str],
             call: Callable[[str], str] | None = None) -> list[tuple[str, str, str]]:
    """(level-1 heading, heading of this part, text) in document order; the front matter's title
    is the section "Title". A cell counts as its label, plus what it prints when it is
    ``print(R.<name>())`` and ``call`` is given (e.g. the Declarations)."""
    front = re.match(r"\A---\n(.*?)\n---\n", qmd_text, flags=re.S)
    title = (load_yaml(front.group(1)) or {}).get("title", "") if front else ""
    text = qmd_text[front.end():] if front else qmd_text

    def cell(match: re.Match) -> str:
        labels = " ".join(re.findall(r"#\|\s*label:\s*(\S+)", match.group(1)))
        printed = re.search(r"print\(R\.([A-Za-z_]\w*)\(\)\)", match.group(1))
        return labels + ("\n" + call(printed.group(1)) if printed and call else "")

    text = _CELL.sub(cell, text)
    text = _INLINE.sub(lambda m: f"{inline(m.group(1))} R.t.{m.group(1)}", text)
    out, top, current, lines = [("Title", "Title", str(title))], "", "", []
    for line in text.splitlines():
        heading = re.match(r"^(#{1,2})\s+(.*?)\s*(\{.*\})?$", line)
        if heading:
            out.append((top, current, "\n".join(lines)))
            lines = []
            if len(heading.group(1)) == 1:
                top = current = heading.group(2)
            else:
                current = heading.group(2)
            continue
        lines.append(line)
    out.append((top, current, "\n".join(lines)))
    return [s for s in out if s[2].strip() or s[1]]


def checklist_rows(qmd: Path | None = None, inline: Callable[[str], str] = lambda name: name,
                   call: Callable[[str], str] | None = None, checklist: Path = CHECKLIST) -> list[dict]:
    qmd = Path(qmd or paths.REPORT_DIR / "manuscript.qmd")
    parts = sections(qmd.read_text(encoding="utf-8"), inline, call)
    with open(checklist, encoding="utf-8") as handle:
        items = load_yaml(handle)["items"]
    rows = []
    for item in items:
        phrases = [str(p).lower() for p in item["any_of"]]
        where = NOT_FOUND
        for top, part, text in parts:
            wanted = item["section"] if isinstance(item["section"], list) else [item["section"]]
            if "any" not in wanted and top not in wanted and part not in wanted:
                continue
            body = f"{part}\n{text}".lower()
            if any(p in body for p in phrases):
                where = top if part == top else f"{top}: {part}"
                break
        rows.append({"item": str(item["item"]), "topic": item["topic"], "where": where})
    return rows
