"""Data problems, reported all at once.

Every problem names the file, the CSV line (header = line 1), the column, the
value and the rule it breaks. The CLI prints them and exits with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        col = f" column '{self.column}'" if self.column else ""
        val = f" value {self.value!r}" if self.value is not None else ""
        return f"{where}{col}{val}: {self.rule}"


class DataError(Exception):
    """One or more problems in a data directory."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        lines = [f"{len(self.problems)} data problem(s) found:"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
