"""Walking an input folder that other renders write into at the same time."""

from __future__ import annotations

import os
from pathlib import Path


def files_under(root: Path, skip_name=lambda name: name.startswith(".") or name == "__pycache__") -> list[Path]:
    """Every file name under ``root`` (in ``sorted(root.rglob("*"))`` order), not entering a folder
    whose name ``skip_name`` refuses and leaving out such file names.

    Why not ``rglob``: it enters hidden folders and raises when one disappears while it is listed
    (Python 3.11 pathlib ignores only PermissionError). Two renders into sibling output folders
    (``out/a`` and ``out/b`` beside their documents) each walk the documents' folder while the
    other creates and removes its staging folder ``out/.b.staging-<pid>``; os.walk skips a folder
    that is gone (its default ``onerror``) and this walk never enters the hidden ones.
    Symbolic links to folders are listed by neither and not followed, as with ``rglob``.
    """
    found: list[Path] = []
    for folder, folder_names, file_names in os.walk(root):
        base = Path(folder)
        folder_names[:] = [name for name in folder_names if not skip_name(name)]
        found.extend(base / name for name in file_names if not skip_name(name))
    return sorted(found)
