"""The example dataset is what its generator writes (so a changed fixture cannot slip in unnoticed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def test_example_data_is_reproducible(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_example_data", FIXTURES / "make_example_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in (FIXTURES / "example_data").glob("*.csv"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (FIXTURES / "example_data" / name).read_bytes(), name
