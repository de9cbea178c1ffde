"""Per-figure file cache: a figure is drawn again only when what it is drawn from changed.

The key of a figure is the SHA-256 of exactly what the drawing functions read:

    every figure   the analysis package's source (``code_digest``), the plotting
                   libraries' versions, the results' plan section, the synthetic flag
    each figure    its part of the results, as its entry in ``analysis.figures.registry``
                   says (``reads``): e.g. a KM figure its stored curves, at-risk panel
                   and log-rank test

Results enter the key in their JSON form (the form the results file holds and the
documents read), so the pre-render step and the document kernel compute the same
key for the same figure. A correction that changes only Table 1 leaves the keys of
the Kaplan-Meier and forest figures unchanged, and their files are copied from
the cache instead of being drawn again.

The cache folder comes from ``$ABLATION_RENDER_CACHE`` (the render command sets
it to ``<parent>/.render-cache/<output name>``); without it nothing is cached.
Entries are written to a temporary name and renamed, so a killed render never
leaves half a file. Every file has a ``<file>.sha256`` beside it, written with
it; a file is used only when its bytes match, a bad or unverifiable entry is
discarded and the figure drawn again (a cache that cannot lie).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable


from analysis import paths
from analysis.source_digest import code_digest

CACHE_ENV_VAR = paths.RENDER_CACHE_ENV_VAR
FIGURES_SUBDIR = "figures"
MAX_ENTRIES = 400  # oldest entries beyond this are removed (a few renders' worth of 31 figures)


@lru_cache(maxsize=None)
def _library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = [sys.version.split()[0]]
    for name in ("matplotlib", "pillow", "fonttools", "numpy", "pandas"):
        try:
            out.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            out.append(f"{name}=?")
    return ";".join(out)


def _json(value) -> bytes:
    """The value as the results file would hold it (NaN -> null, tuples -> lists), canonical bytes."""
    from analysis.results_file import to_jsonable

    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":")).encode()


def figure_key(name: str, results: dict, variant: str = "") -> str | None:
    """The cache key of figure ``name`` drawn from ``results`` (None: no such figure).

    ``variant`` names the file set (e.g. the formats and resolution written). The
    figure's part of the results is ``registry.reads`` (what its drawing function
    reads); the plan section and the synthetic flag are common to every figure.
    """
    from analysis.figures import registry

    try:
        spec = registry.figure(name, results)
    except KeyError:
        return None
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("code", code_digest().encode())
    add("libraries", _library_versions().encode())
    add("variant", variant.encode())
    add("figure", _json([spec.name, spec.entry.kind, spec.kwargs]))
    add("plan", _json(results.get("plan")))
    add("synthetic", _json(results.get("synthetic")))
    add("reads", _json(spec.entry.reads(results, **spec.kwargs)))
    return digest.hexdigest()


class FigureCache:
    """Files of drawn figures, one folder per key: ``<root>/figures/<key>/<file>``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root) / FIGURES_SUBDIR
        self.hits: list[str] = []
        self.misses: list[str] = []

    @classmethod
    def from_env(cls) -> "FigureCache | None":
        root = os.environ.get(CACHE_ENV_VAR)
        return cls(root) if root else None

    def _entry(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str, files: list[str]) -> Path | None:
        """The entry folder when it holds every one of ``files``, each matching its hash, else None."""
        entry = self._entry(key)
        if not all((entry / f).is_file() for f in files):
            return None
        if not all(_verified(entry / f) for f in files):
            shutil.rmtree(entry, ignore_errors=True)   # a bad entry is discarded, and drawn again
            return None
        os.utime(entry)  # recently used: pruned last
        return entry

    def put(self, key: str, sources: list[Path]) -> None:
        """Copy ``sources`` into the entry of ``key`` (complete entry or none)."""
        self.root.mkdir(parents=True, exist_ok=True)
        entry = self._entry(key)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=self.root))
        try:
            if entry.is_dir():  # add to an existing entry file by file
                for source in sources:
                    _atomic_copy(source, entry / source.name)
                return
            for source in sources:
                shutil.copyfile(source, staging / source.name)
                _write_sum(staging / source.name)
            try:
                os.replace(staging, entry)
            except OSError:  # another process made it first: keep theirs
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def put_bytes(self, key: str, file_name: str, data: bytes) -> None:
        entry = self._entry(key)
        entry.mkdir(parents=True, exist_ok=True)
        tmp = entry / f".{file_name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        _write_sum(tmp, entry / file_name)
        os.replace(tmp, entry / file_name)

    def prune(self, keep: int = MAX_ENTRIES) -> None:
        """Remove the least recently used entries beyond ``keep``."""
        if not self.root.is_dir():
            return
        entries = [p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[keep:]:
            shutil.rmtree(stale, ignore_errors=True)


def _atomic_copy(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    _write_sum(tmp, target)
    os.replace(tmp, target)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_sum(path: Path, name: Path | None = None) -> None:
    """``<name>.sha256`` (default ``<path>.sha256``) holding the SHA-256 of ``path``, written atomically."""
    target = Path(f"{name or path}.sha256")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(_sha256(path), encoding="ascii")
    os.replace(tmp, target)


def _verified(path: Path) -> bool:
    """True when ``path`` matches the SHA-256 written beside it."""
    try:
        return Path(f"{path}.sha256").read_text(encoding="ascii").strip() == _sha256(path)
    except (OSError, UnicodeDecodeError):
        return False


def document_png_key(name: str, results: dict, dpi: int | None = None) -> str | None:
    """The cache key of figure ``name``'s document image at ``dpi`` (default ``files.DOCUMENT_DPI``)."""
    from analysis.figures.files import DOCUMENT_DPI

    return figure_key(name, results, variant=f"document-png-{dpi or DOCUMENT_DPI}")


def document_png(name: str, results: dict, dpi: int, draw: Callable[[], bytes]) -> bytes:
    """PNG bytes of figure ``name`` for a document: from the cache when its key matches, else ``draw()`` (and stored).

    The pre-render step (``catalog.write_all_figures``) stores the image of every
    Kaplan-Meier and flow figure it draws, so the documents normally read those from there.
    """
    cache = FigureCache.from_env()
    key = document_png_key(name, results, dpi) if cache else None
    if key is None:
        return draw()
    file_name = f"document-{dpi}.png"
    entry = cache.get(key, [file_name])
    if entry is not None:
        return (entry / file_name).read_bytes()
    data = draw()
    cache.put_bytes(key, file_name, data)
    return data
