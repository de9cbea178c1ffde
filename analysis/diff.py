"""``python -m analysis diff OLD NEW``: every printed number that changed between two results.

OLD and NEW are results files or output folders (holding ``results.json``; for
folders the figure files are compared byte for byte as well). What is compared is
what the documents print, made from each results file the way the documents make
it:

    tables     every cell and footnote of every table of ``analysis.tables.registry``
    figures    the numbers each figure of ``analysis.figures.registry`` prints (its
               ``prints``), and whether what it draws (``reads``) changed at all
    sentences  every inline text of ``analysis.report_text.InlineText``

The same summary is printed by the render command after it replaces a previous
set of outputs (``summary_after_render``). Exit status 0 when nothing printed
changed, 1 when something did, 2 when a file is missing or not a results file.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

RESULTS_NAME = "results.json"


@dataclass(frozen=True)
class Change:
    kind: str  # "table", "figure" or "sentence"
    where: str  # table, figure or inline-text name
    item: str  # cell ("row / column"), printed number label, or "text"
    old: str | None  # None: not printed before
    new: str | None  # None: no longer printed

    def line(self) -> str:
        return f"{self.kind} {self.where}, {self.item}: {_shown(self.old)} -> {_shown(self.new)}"


def _shown(text: str | None) -> str:
    return "(absent)" if text is None else repr(text) if " " in text or not text else text


# --------------------------------------------------------------------------- what is printed


_COUNT = re.compile(r"\s*\(n = \d+\)")


def table_cells(results: dict) -> dict[str, dict[str, str]]:
    """{table name: {"row / column": cell text}} (rows named by their group heading and label;
    repeated labels numbered), footnotes as "note <n>"."""
    from analysis.tables import registry

    out = {}
    for name, spec in registry.tables(results).items():
        table = spec.build(results)
        cells, heading, seen = {}, "", {}
        for row in table.rows:
            label = row.cells[0]
            if row.heading:
                heading = label
            row_name = label if row.heading or not heading or row.indent == 0 else f"{heading} › {label}"
            seen[row_name] = seen.get(row_name, 0) + 1
            if seen[row_name] > 1:
                row_name = f"{row_name} #{seen[row_name]}"
            cells[f"{row_name} / (row)"] = label
            for column, cell in zip(table.header[1:], row.cells[1:]):
                if cell:  # columns named without their "(n = ...)": a changed n is the header's change
                    cells[f"{row_name} / {_COUNT.sub('', column)}"] = cell
        cells["(header)"] = " | ".join(table.header)
        for index, note in enumerate(table.footnotes, 1):
            cells[f"note {index}"] = note
        out[name] = cells
    return out


def figure_numbers(results: dict) -> dict[str, dict[str, str]]:
    """{figure name: {label: printed text}} for every figure of the registry."""
    from analysis.figures import registry

    out = {}
    for name, spec in registry.figures(results).items():
        prints = spec.entry.prints(results, **spec.kwargs) if spec.entry.prints else {}
        out[name] = dict(prints)
    return out


def figure_inputs(results: dict) -> dict[str, str]:
    """{figure name: digest of what it draws} (the plan section and synthetic flag included)."""
    from analysis.figures import registry

    # the plan and the synthetic flag are part of every figure's inputs: hashed once, not once a figure
    shared = hashlib.sha256(_canonical([results.get("plan"), results.get("synthetic")]).encode()).digest()
    out = {}
    for name, spec in registry.figures(results).items():
        out[name] = hashlib.sha256(shared + _canonical(spec.entry.reads(results, **spec.kwargs)).encode()).hexdigest()
    return out


def _canonical(data) -> str:
    """Canonical JSON of ``data``: sorted keys, NaN/inf as null (``to_jsonable``). A results dict read from
    the file is plain JSON already, so it is dumped as it is; only what that refuses is converted first."""
    import json

    try:
        return json.dumps(data, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        from analysis.results_file import to_jsonable

        return json.dumps(to_jsonable(data), sort_keys=True)


def sentences(results: dict) -> dict[str, str]:
    """{inline text name: text} for every inline value of ``InlineText`` (its ``names()``: the properties and
    the per-endpoint values of the plan's endpoints)."""
    from analysis.report_text import InlineText

    text = InlineText(results)
    out = {}
    try:
        names = text.names()
    except Exception:  # noqa: BLE001 - a results dict of another shape: its properties only
        names = sorted(n for n in dir(InlineText) if not n.startswith("_") and isinstance(getattr(InlineText, n), property))
    for name in names:
        try:
            out[name] = str(getattr(text, name))
        except Exception as error:  # noqa: BLE001 - a sentence that cannot be made is itself a difference
            out[name] = f"(cannot be written: {type(error).__name__}: {error})"
    return out


# --------------------------------------------------------------------------- comparing


@dataclass
class Diff:
    changes: list[Change]
    tables: tuple[int, int]  # (changed, total)
    figures: tuple[int, int]
    sentences: tuple[int, int]
    figure_files: tuple[int, int] | None = None  # folders only: (files differing, files compared)

    @property
    def identical(self) -> bool:
        return not self.changes and not self.figures[0] and not (self.figure_files and self.figure_files[0])

    def summary(self) -> str:
        def part(what: str, counts: tuple[int, int]) -> str:
            changed, total = counts
            return f"{total - changed} of {total} {what} identical"

        text = ", ".join([part("tables", self.tables), part("figures", self.figures),
                          part("sentences", self.sentences)])
        if self.figure_files is not None:
            text += f"; {self.figure_files[1] - self.figure_files[0]} of {self.figure_files[1]} figure files identical"
        if not self.changes:
            return text + "; every printed number identical"
        return text + f"; {len(self.changes)} printed value(s) changed"

    def report(self) -> str:
        return "\n".join([self.summary(), *(f"  {change.line()}" for change in self.changes)])


def _compare(kind: str, old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]) -> tuple[list[Change], int]:
    changes, changed_parts = [], 0
    for where in list(old) + [w for w in new if w not in old]:
        before, after = old.get(where, {}), new.get(where, {})
        found = [Change(kind, where, item, before.get(item), after.get(item))
                 for item in list(before) + [i for i in after if i not in before]
                 if before.get(item) != after.get(item)]
        changes += found
        changed_parts += bool(found) or (where in old) != (where in new)
    return changes, changed_parts


def compare(old: dict, new: dict) -> Diff:
    """Every printed value that differs between the results ``old`` and ``new``."""
    old_cells, new_cells = table_cells(old), table_cells(new)   # each side made once (they are the costly part)
    table_changes, tables_changed = _compare("table", old_cells, new_cells)
    figure_changes, _ = _compare("figure", figure_numbers(old), figure_numbers(new))
    old_inputs, new_inputs = figure_inputs(old), figure_inputs(new)
    names = list(old_inputs) + [n for n in new_inputs if n not in old_inputs]
    figures_changed = sum(old_inputs.get(n) != new_inputs.get(n) for n in names)
    old_text, new_text = sentences(old), sentences(new)
    text_changes, _ = _compare("sentence", {"text": old_text}, {"text": new_text})
    text_changes = [Change("sentence", c.item, "text", c.old, c.new) for c in text_changes]
    n_sentences = len(set(old_text) | set(new_text))
    return Diff(table_changes + figure_changes + text_changes,
                (tables_changed, len(set(old_cells) | set(new_cells))),
                (figures_changed, len(names)), (len(text_changes), n_sentences))


def _results_path(path: Path) -> Path:
    return path / RESULTS_NAME if path.is_dir() else path


def _figure_files(folder: Path) -> dict[str, str]:
    figures = folder / "figures"
    if not figures.is_dir():
        return {}
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(figures.iterdir()) if p.is_file()}


def diff_paths(old: str | Path, new: str | Path) -> Diff:
    """``compare`` of two results files or output folders (``ResultsShapeError`` / ``OSError`` when unreadable)."""
    from analysis.results_file import read_results

    old, new = Path(old), Path(new)
    result = compare(read_results(_results_path(old)), read_results(_results_path(new)))
    if old.is_dir() and new.is_dir():
        a, b = _figure_files(old), _figure_files(new)
        names = set(a) | set(b)
        result.figure_files = (sum(a.get(n) != b.get(n) for n in names), len(names))
    return result


def summary_after_render(previous: dict | None, current: dict) -> str | None:
    """What the render command prints when it replaced a previous set: None when there was none."""
    if previous is None:
        return None
    try:
        return compare(previous, current).report()
    except Exception as error:  # noqa: BLE001 - a previous set of another shape: say so, never fail the render
        return f"(not compared with the previous outputs: {type(error).__name__}: {error})"


def run(args) -> int:
    from analysis.results_schema import ResultsShapeError

    try:
        result = diff_paths(args.old, args.new)
    except (OSError, ValueError) as error:
        message = str(error) if isinstance(error, ResultsShapeError) else f"{type(error).__name__}: {error}"
        print(f"diff: {message}", file=sys.stderr)
        return 2
    try:
        print(f"diff {args.old} -> {args.new}")
        print(result.report())
    except BrokenPipeError:  # e.g. piped into head
        pass
    return 0 if result.identical else 1
