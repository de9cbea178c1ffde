"""SHA-256 of the analysis package's source: part of every cache key (render and figures).

Light on purpose (hashlib and pathlib only): the render command computes it before
anything else is imported.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

ANALYSIS_PACKAGE = Path(__file__).resolve().parent  # the analysis package folder


def _source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))


def code_digest(root: Path | None = None) -> str:
    """SHA-256 over every source file of the analysis package (names and bytes).

    Memoised on the files' names, sizes and modification times, so a long-lived
    process (a kernel, the test run) sees an edited file at once.
    """
    root = Path(root or ANALYSIS_PACKAGE)
    files = _source_files(root)
    signature = tuple((p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _digest_of(root, signature)


@lru_cache(maxsize=16)
def _digest_of(root: Path, signature: tuple) -> str:
    digest = hashlib.sha256()
    for relative, _, _ in signature:
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return digest.hexdigest()
