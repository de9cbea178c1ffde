"""analysis.source_digest: which files make the code digest, and that an edit changes it at once."""

from __future__ import annotations

import os
import time

from analysis.source_digest import _source_files, code_digest


def _tree(root):
    for name in ("a.py", "b/c.py", "b/d.txt", ".hidden.py", "b/__pycache__/c.cpython-311.pyc", "e.pyc", "f.pyo",
                 "b/B/x.py", "b/a.py", "Z.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    os.symlink(root / "a.py", root / "link.py")
    os.symlink(root / "missing.py", root / "broken.py")
    os.symlink(root / "b", root / "linked_folder")


def test_the_files_are_those_of_the_former_rglob_rule_in_its_order(tmp_path):
    _tree(tmp_path)
    former = sorted(p for p in tmp_path.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))
    assert _source_files(tmp_path) == former
    assert [p.relative_to(tmp_path).as_posix() for p in former] == [
        ".hidden.py", "Z.py", "a.py", "b/B/x.py", "b/a.py", "b/c.py", "b/d.txt", "link.py"]


def test_an_edit_added_or_removed_file_changes_the_digest(tmp_path):
    _tree(tmp_path)
    digests = [code_digest(tmp_path)]
    (tmp_path / "b" / "c.py").write_text("changed, same length?")
    digests.append(code_digest(tmp_path))
    (tmp_path / "b" / "new.py").write_text("")
    digests.append(code_digest(tmp_path))
    (tmp_path / "b" / "new.py").unlink()
    (tmp_path / "Z.py").write_text("Z.pz")   # same size
    os.utime(tmp_path / "Z.py", ns=(time.time_ns(), time.time_ns() + 10**9))
    digests.append(code_digest(tmp_path))
    (tmp_path / "b" / "__pycache__" / "c.cpython-311.pyc").write_text("compiled")
    digests.append(code_digest(tmp_path))
    assert len(set(digests[:4])) == 4 and digests[4] == digests[3]
