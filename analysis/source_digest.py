"""SHA-256 of the analysis package's source: part of every cache key (render and figures).

Light on purpose (hashlib, os and pathlib only): the render command computes it before
anything else is imported.
"""

from __future__ import annotations

import hashlib
import os
import stat
from functools import lru_cache
from pathlib import Path

ANALYSIS_PACKAGE = Path(__file__).resolve().parent  # the analysis package folder


def _source_files(root: Path) -> list[Path]:
    return [root / relative for relative, _, _ in _signature(root)]


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(relative name, size, modification time) of every source file, in ``sorted(root.rglob("*"))``
    order: regular files (links followed), neither under ``__pycache__`` nor compiled (.pyc, .pyo).

    One ``stat`` a file and no ``pathlib`` glob: a render computes this once per figure key (the
    pre-render step 32 times), 4.7 ms with ``rglob`` and two ``stat`` calls a file."""
    found: list[tuple[tuple[str, ...], int, int]] = []
    base = str(root)
    for folder, folder_names, file_names in os.walk(base):
        folder_names[:] = [name for name in folder_names if name != "__pycache__"]
        prefix = tuple(os.path.relpath(folder, base).split(os.sep)) if folder != base else ()
        for name in file_names:
            if os.path.splitext(name)[1] in (".pyc", ".pyo"):
                continue
            try:
                info = os.stat(os.path.join(folder, name))
            except OSError:   # a broken link, or removed meanwhile
                continue
            if stat.S_ISREG(info.st_mode):
                found.append(((*prefix, name), info.st_size, info.st_mtime_ns))
    found.sort()   # by name parts, as paths sort
    return tuple(("/".join(parts), size, mtime) for parts, size, mtime in found)


def code_digest(root: Path | None = None) -> str:
    """SHA-256 over every source file of the analysis package (names and bytes).

    Memoised on the files' names, sizes and modification times, so a long-lived
    process (a kernel, the test run) sees an edited file at once.
    """
    root = Path(root or ANALYSIS_PACKAGE)
    return _digest_of(root, _signature(root))


@lru_cache(maxsize=16)
def _digest_of(root: Path, signature: tuple) -> str:
    digest = hashlib.sha256()
    for relative, _, _ in signature:
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()
