"""Sets of completion indexes as the Job controller writes them (``status.completedIndexes``,
``status.failedIndexes``).

``orderedIntervals.String()`` in ``pkg/controller/job/indexed_job_utils.go`` compresses a run of
three or more consecutive indexes to ``first-last`` and writes a run of two as two numbers:
``{0, 1, 2, 5}`` is ``"0-2,5"`` and ``{0, 1, 3}`` is ``"0,1,3"``. Parsing accepts both forms.

The emulator keeps its own copy of this format (not kjob's backend's) so that a client which reads
it wrongly is caught.
"""

from __future__ import annotations

from collections.abc import Iterable


def compress_indexes(indexes: Iterable[int]) -> str:
    """The controller's text for a set of indexes: ``"0-2,5"``, ``"0,1,3"``, ``""`` for none."""
    out: list[str] = []
    ordered = sorted(set(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = ordered[i], ordered[j]
        if last == first:
            out.append(str(first))
        elif last == first + 1:
            out.append(f"{first},{last}")
        else:
            out.append(f"{first}-{last}")
        i = j + 1
    return ",".join(out)


def parse_indexes(text: str) -> set[int]:
    """The indexes named by ``"0-2,5"`` (or any mix of single indexes and ranges)."""
    result: set[int] = set()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        result.update(range(int(lo), int(hi or lo) + 1))
    return result
