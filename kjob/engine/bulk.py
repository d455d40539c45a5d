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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
# Told how far a bulk step has got: (what, done, total).  The CLI draws a bar; nothing below it does.
BulkReport = Callable[[str, int, int], None]
REPORT_EVERY = 2048  # items between reports (a step of fewer items is not reported at all)


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


def reported(items: Sequence[T], what: str, report: BulkReport | None) -> Iterator[T]:
    """``items`` one by one, telling ``report`` how many are done every :data:`REPORT_EVERY` items
    and once at the end; a step of fewer items, or nobody to tell, costs nothing more."""
    if report is None or len(items) < REPORT_EVERY:
        yield from items
        return
    total = len(items)
    for done, item in enumerate(items, 1):
        yield item
        if done % REPORT_EVERY == 0:
            report(what, done, total)
    report(what, total, total)
