"""The folder walk behind the render's input digests and its document discovery (analysis.render.files.files_under).

Found by CI: two renders into sibling output folders (the conformance corpus renders two documents of a
folder at a time) each walked the documents' folder with rglob while the other removed its staging
folder ``out/.<name>.staging-<pid>``: "FileNotFoundError: ... out/.no-refs.staging-13762".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.render.files import files_under
from analysis.render.cache import document_key, tree_digest


@pytest.fixture
def folder(tmp_path) -> Path:
    for name in ("a.qmd", "b.qmd", "data/x.csv", "out/a/a.html", "out/.b.staging-1/b.html",
                 ".hidden/y.txt", "__pycache__/z.pyc", "_extensions/t.lua"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    return tmp_path


def _vanishing(monkeypatch, gone: set[str]):
    """os.scandir raising FileNotFoundError for the folders named, as for one removed while walked."""
    real = os.scandir

    def scandir(path="."):
        if Path(path).name in gone:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_the_walk_lists_files_in_rglob_order_without_hidden_names(folder):
    expected = sorted(p for p in folder.rglob("*") if p.is_file()
                      and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts))
    assert files_under(folder) == expected
    assert [p.relative_to(folder).as_posix() for p in files_under(folder, skip_name=lambda n: n.startswith(("_", ".")))] \
        == ["a.qmd", "b.qmd", "data/x.csv", "out/a/a.html"]


def test_a_hidden_folder_is_never_entered(folder, monkeypatch):
    """The staging folder of another render may be gone by the time it would be listed."""
    _vanishing(monkeypatch, {".b.staging-1"})
    with pytest.raises(FileNotFoundError):   # what rglob did
        sorted(folder.rglob("*"))
    assert Path(folder / "a.qmd") in files_under(folder)
    tree_digest(folder)
    document_key({}, (), folder / "a.qmd", [], folder / "out" / "a")


def test_a_folder_removed_while_walked_is_skipped(folder, monkeypatch):
    _vanishing(monkeypatch, {"a"})   # out/a: another render's output folder, swapped out
    assert [p.relative_to(folder).as_posix() for p in files_under(folder)] == ["_extensions/t.lua", "a.qmd", "b.qmd", "data/x.csv"]


def test_a_file_removed_after_listing_is_left_out_of_the_digest(folder, monkeypatch):
    with_file = tree_digest(folder)
    listed = files_under(folder)
    (folder / "out" / "a" / "a.html").unlink()
    monkeypatch.setattr("analysis.render.cache.files_under", lambda root: listed)
    without = tree_digest(folder)
    assert without != with_file
    monkeypatch.undo()
    assert tree_digest(folder) == without
