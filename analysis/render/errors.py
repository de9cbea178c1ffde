"""Document errors: one message naming the file and line, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path


class RenderError(Exception):
    """A problem in a document or project (not a bug in the engine).

    ``file`` and ``line`` (1-based, in the .qmd / .yml) locate it; the command
    prints ``file:line: message`` and exits with status 2.
    """

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(self.report())

    def report(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        return f"{where}{self.message}"
