"""The output folder as one set: one render at a time, replaced whole, never a mix.

Design (for an output folder ``<parent>/<name>``, e.g. ``_output``):

lock        ``<parent>/.<name>.render-lock`` (``filelock``: an OS lock, released by
            the kernel when a render dies, even by ``kill -9``). A second render into
            the same folder waits for the first, then runs.
staging     every render writes its complete set into a sibling folder
            ``<parent>/.<name>.staging-<pid>`` (same file system), the cache restores
            into one too.
swap        the staged folder and the output folder are exchanged in one atomic step
            (Linux ``renameat2(RENAME_EXCHANGE)``), so a reader opening
            ``<name>/...`` sees the old set or the new set, never a mix, and a render
            killed at any point leaves one complete set. Where the exchange is not
            available, two renames (old set aside, new set in); a render killed
            between them leaves no ``<name>`` but the old set aside, which the next
            run puts back before it starts.
record      ``<parent>/.<name>.render-set.json`` says which documents and formats made
            the set and lists its files (beside the folder, so the outputs are exactly
            Quarto's; written right after the swap). A partial render (``--to html``,
            one document) replaces the whole set, so no output of another input is ever
            left beside its own.
leftovers   staging folders and old sets of killed renders are removed by the next
            render (holding the lock, so none of them belongs to a live render).

Whole-set swapping needs a folder the renders own: ``is_dedicated`` refuses it for a
folder that holds the sources or the data (a lone ``.qmd`` rendered beside itself,
``--out .``) or one that holds files this tool did not make; those keep the older
per-file replace (``os.replace``, atomic per file).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

from analysis.render.cache import fault_point

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _siblings(output_dir: Path, kind: str) -> list[Path]:
    return sorted(output_dir.parent.glob(f".{output_dir.name}.{kind}-*"))


def record_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.render-set.json"


def lock_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.render-lock"


@contextlib.contextmanager
def locked(output_dir: Path, progress: Callable[[str], None]) -> Iterator[None]:
    """Hold the output folder's render lock (waiting, with a message, while another render holds it)."""
    from filelock import FileLock, Timeout

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(output_dir)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        progress(f"waiting: another render into {output_dir} is running")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def is_dedicated(output_dir: Path, project, documents: list[Path], inputs: list[Path],
                 staged_names: tuple[str, ...] = ()) -> bool:
    """True when the output folder may be replaced as a whole (see the module docstring);
    ``inputs``: the caller's input files and folders (never inside a replaced folder);
    ``staged_names``: files the caller has every render stage (a folder holding one is a render's)."""
    output_dir = output_dir.resolve()
    for source in [Path(project.root), *documents, *map(Path, inputs)]:
        source = source.resolve()
        if source == output_dir or output_dir in source.parents:
            return False
    if not output_dir.exists():
        return True
    if not output_dir.is_dir():
        return False
    names = {p.name for p in output_dir.iterdir()}
    return not names or record_path(output_dir).is_file() or bool(names & set(staged_names))


def clean_leftovers(output_dir: Path) -> None:
    """Put back an old set a killed swap left aside; remove staging folders and old sets."""
    old_sets = _siblings(output_dir, "old")
    if not output_dir.exists() and old_sets:
        os.rename(old_sets[-1], output_dir)
        old_sets = old_sets[:-1]
    for leftover in old_sets + _siblings(output_dir, "staging"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in output_dir.parent.glob(f"{record_path(output_dir).name}.*.tmp"):
        leftover.unlink(missing_ok=True)


# staging inside a shared output folder (one not replaced as a whole): <prefix><pid>
INSIDE_STAGING_PREFIX = ".render-staging-"


def new_staging(output_dir: Path, inside: bool) -> Path:
    """A fresh staging folder: a sibling of the output folder (whole-set swap) or inside it."""
    if inside:
        staging = output_dir / f"{INSIDE_STAGING_PREFIX}{os.getpid()}"
    else:
        staging = output_dir.parent / f".{output_dir.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def remove_stale_inside_staging(output_dir: Path) -> None:
    """Staging folders a killed render left inside a shared output folder (its process is gone)."""
    for folder in output_dir.glob(f"{INSIDE_STAGING_PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(INSIDE_STAGING_PREFIX))
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two folders (Linux renameat2); False where not supported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, output_dir: Path, whole: bool, record: dict) -> list[Path]:
    """Make the staged set the output set; returns the output files."""
    staged = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
    if not whole:
        return swap_files(staging, output_dir)
    _keep_unchanged(staging, output_dir)
    fault_point("swap")
    if not output_dir.exists():
        os.rename(staging, output_dir)
    elif not _exchange(staging, output_dir):
        aside = output_dir.parent / f".{output_dir.name}.old-{os.getpid()}"
        os.rename(output_dir, aside)
        fault_point("swap-between")
        os.rename(staging, output_dir)
        shutil.rmtree(aside, ignore_errors=True)
    target = record_path(output_dir)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**record, "files": [p.as_posix() for p in staged]}, indent=1, sort_keys=True) + "\n",
                   encoding="utf-8")
    os.replace(tmp, target)
    fault_point("swapped")
    shutil.rmtree(staging, ignore_errors=True)   # the old set, now under the staging name
    return [output_dir / p for p in staged]


def swap_files(staging: Path, output_dir: Path) -> list[Path]:
    """Move every staged file over its destination (``os.replace``: atomic per file); a destination
    that already holds the same bytes is left as it is (not rewritten: its modification time stays)."""
    staged = sorted(p for p in staging.rglob("*") if p.is_file())
    written = []
    for file in staged:
        final = output_dir / file.relative_to(staging)
        final.parent.mkdir(parents=True, exist_ok=True)
        if not _same_bytes(file, final):
            os.replace(file, final)
        written.append(final)
    return written


def _keep_unchanged(staging: Path, output_dir: Path) -> None:
    """A staged file with the same bytes as the old set's becomes a hard link to that file, so a
    file whose inputs did not change (a journal figure) is not rewritten by the whole-set swap."""
    if not output_dir.is_dir():
        return
    for file in staging.rglob("*"):
        old = output_dir / file.relative_to(staging)
        if not file.is_file() or not _same_bytes(file, old):
            continue
        link = file.with_name(f".{file.name}.{os.getpid()}.link")
        try:
            os.link(old, link)
            os.replace(link, file)
        except OSError:  # another file system, or links not allowed: the new copy is kept
            link.unlink(missing_ok=True)


def _same_bytes(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return b.is_file() and not b.is_symlink() and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
