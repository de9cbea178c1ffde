"""Data problems, reported all at once.

Every problem names the file, the CSV line (header = line 1), the column, the
value and the rule it breaks. The CLI prints them and exits with status 2.

A rule broken on many rows is reported for its first :data:`MAX_PER_RULE` rows,
then once more as a summary problem with ``more`` = the number of rows left out,
so a broken export of a million rows still gives a readable, bounded report.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PER_RULE = 20


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str
    more: int = 0   # > 0: a summary standing for this many further rows breaking ``rule``

    def __str__(self) -> str:
        if self.more:
            col = f" column '{self.column}'" if self.column else ""
            return f"{self.file}{col}: ... and {self.more} more line(s) breaking the rule: {self.rule}"
        where = self.file + (f":{self.line}" if self.line is not None else "")
        col = f" column '{self.column}'" if self.column else ""
        val = f" value {self.value!r}" if self.value is not None else ""
        return f"{where}{col}{val}: {self.rule}"

    @property
    def count(self) -> int:
        """How many rows this entry stands for."""
        return self.more or 1


class DataError(Exception):
    """One or more problems in a data directory."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        total = sum(p.count for p in self.problems)
        lines = [f"{total} data problem(s) found:"]
        from analysis.safe_text import terminal  # data text never sends control characters to a terminal

        lines += [terminal(f"  - {p}") for p in self.problems]
        return "\n".join(lines)
