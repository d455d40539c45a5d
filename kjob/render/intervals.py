"""Sets of completion indexes in the Job API's interval form, ``"0-3,5"`` (``status.completedIndexes``,
``status.failedIndexes``)."""

from __future__ import annotations

from collections.abc import Iterable


def compress_indexes(indexes: Iterable[int]) -> str:
    """``"0-3,5"`` from ``{0, 1, 2, 3, 5}``."""
    out: list[str] = []
    ordered = sorted(set(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(out)


def parse_indexes(text: str) -> set[int]:
    """Inverse of :func:`compress_indexes`."""
    result: set[int] = set()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        result.update(range(int(lo), int(hi or lo) + 1))
    return result
