"""The server freezes what its startup loaded (tests/conftest.py replaces this in-process)."""

from __future__ import annotations

import gc
import weakref

from vru_risk.serving.app import freeze_startup_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_startup_collects_then_freezes_what_survives() -> None:
    gc.disable()  # no automatic collection in between
    try:
        cycle = Node()
        gone = weakref.ref(cycle)
        del cycle
        kept = Node()
        assert gone() is not None and gc.get_freeze_count() == 0
        freeze_startup_heap()
        assert gone() is None  # the unreachable cycle was collected, not frozen
        assert gc.get_freeze_count() > 0 and gc.is_tracked(kept)
    finally:
        gc.unfreeze()
        gc.enable()
    assert gc.get_freeze_count() == 0
