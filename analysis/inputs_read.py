"""Which parts of a JSON input file a document's code read: the render's per-document cache keys on them.

``analysis.report`` wraps the results it loads in :func:`recording`; every top-level key
the code reads through it (``results["table1"]``, ``.get``, ``in``) is noted, and
iterating over it or asking its length notes that the set of keys itself was read.
A document's executed output is a function of what it read, so the render engine
(``analysis.render.cache``, which reads :func:`parts_read` in the kernel after the last
cell) reuses it, and the document's output files, while those parts are unchanged.

The wrapper is a read-only ``Mapping``, not a ``dict``: code that would read the whole
thing through a C fast path (``json.dumps``, ``dict(...)``, ``{**r}``) fails loudly
instead of reading unrecorded. Standard library only (the engine imports it in the kernel).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

KEYS = "\0keys"   # the part name meaning "the set of top-level keys"

_reads: dict[str, set[str]] = {}    # file path -> top-level keys read
_loads: dict[str, int] = {}         # file path -> times it was loaded through ``recording``


class RecordingMapping(Mapping):
    """A JSON object read from ``path``; notes each top-level key read (values are returned as they are)."""

    __slots__ = ("_path", "_data", "_seen")

    def __init__(self, path: str, data: dict):
        self._path, self._data = path, data
        self._seen = _reads.setdefault(path, set())

    def __getitem__(self, key: str) -> Any:
        self._seen.add(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):  # a JSON object's keys are strings: any other is never in it
            self._seen.add(key)
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        self._seen.add(KEYS)
        return iter(self._data)

    def __len__(self) -> int:
        self._seen.add(KEYS)
        return len(self._data)

    def __repr__(self) -> str:
        return f"RecordingMapping({self._path!r}, {len(self._data)} keys)"


def recording(path: str, data: dict) -> RecordingMapping:
    """``data`` (the JSON object just read from ``path``) with its reads noted."""
    _loads[path] = _loads.get(path, 0) + 1
    return RecordingMapping(path, data)


def parts_read() -> dict[str, dict[str, Any]]:
    """{file path: {"keys": sorted top-level keys read, "loads": times loaded}} since the process started."""
    return {path: {"keys": sorted(_reads.get(path, ())), "loads": _loads[path]} for path in _loads}
