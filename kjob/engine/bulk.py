"""Bulk steps of a run with Python's cycle collector paused.

Expanding a fan-out of 200,000 items creates about a million objects that all live until the run
ends.  With the collector on, each new batch of survivors sets off another full collection that walks
every object made so far, only to free nothing: a quarter of a big dry run's time.  The engine's bulk
steps (creating a fan-out's items, rendering and submitting their batch, taking in their events) make
no reference cycles of their own, so the collector waits until each step is over and then meets its
survivors once.  Short steps, each bounded by the items of one fan-out: memory stays as it would be.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with automatic garbage collection off; restore it after (and leave it off if a
    caller had turned it off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
