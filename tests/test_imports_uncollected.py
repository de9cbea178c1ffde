"""paths.imports_uncollected: imports without the cyclic collector, their objects frozen after (issue 17)."""
from __future__ import annotations

import gc

from analysis import paths


def test_collector_off_while_importing_then_on_with_the_objects_frozen():
    assert gc.isenabled()
    try:
        with paths.imports_uncollected():
            assert not gc.isenabled()
            made = [object() for _ in range(10)] + [[i] for i in range(1000)]
        assert gc.isenabled()            # the data are collected as usual afterwards
        assert gc.get_freeze_count() >= 1000
    finally:
        gc.unfreeze()
    assert made


def test_collector_left_off_when_it_was_off():
    gc.disable()
    try:
        with paths.imports_uncollected():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
