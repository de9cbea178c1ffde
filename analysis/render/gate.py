"""The start gate between the pre-render step and the documents' kernels (light: no Jupyter imports)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


class PreRenderFailed(Exception):
    """The pre-render step this document waited for failed; the document stops without running a cell."""


@dataclass
class StartGate:
    """Lets kernels start while the project's pre-render step runs; cells run only once it opens.

    Meanwhile each kernel imports the modules its document's cells import (import errors are
    ignored there: the cell itself reports them), so the wait hides kernel start-up and imports.
    """

    event: threading.Event = field(default_factory=threading.Event)
    failed: bool = False

    def open(self, failed: bool = False) -> None:
        self.failed = failed
        self.event.set()

    def wait(self) -> None:
        self.event.wait()
        if self.failed:
            raise PreRenderFailed()
