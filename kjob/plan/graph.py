"""Validated edge input and the CSR (compressed sparse row) form of a graph.

Everything here is vectorised: one sort of packed 64-bit keys builds the successor lists, two
``bincount`` calls give the out- and in-degrees.  Node ids and edge offsets are ``int32`` while both
the node count and the edge count fit below ``INT32_LIMIT``, ``int64`` otherwise.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kjob.errors import KjobError

IndexArray = npt.NDArray[np.signedinteger[Any]]
"""Node ids or edge offsets: ``int32`` for graphs below ``INT32_LIMIT`` nodes and edges, else ``int64``."""

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

INT32_LIMIT = 2**31 - 1
"""Graphs with fewer nodes and fewer edges than this use ``int32`` ids (tests lower it to cover int64)."""

PACK_LIMIT = 2**31
"""Two ids below this pack into one non-negative ``int64`` key (``a << 32 | b``)."""


class PlanInputError(KjobError):
    """The arrays handed to the planner are not a valid edge list (wrong type, shape or range)."""


def index_dtype(n: int, m: int) -> np.dtype[np.signedinteger[Any]]:
    """The id/offset dtype for a graph of ``n`` nodes and ``m`` edges."""
    if max(n, m) < INT32_LIMIT:
        return np.dtype(np.int32)
    return np.dtype(np.int64)


def check_count(n: object) -> int:
    """``n`` as a non-negative Python int, or a ``PlanInputError``."""
    if isinstance(n, bool | np.bool_):
        raise PlanInputError(f"n must be a non-negative integer, got {n!r}")
    try:
        value = operator.index(n)  # type: ignore[arg-type]
    except TypeError:
        raise PlanInputError(f"n must be a non-negative integer, got {n!r}") from None
    if value < 0:
        raise PlanInputError(f"n must be a non-negative integer, got {value}")
    return value


def check_ids(name: str, values: object, n: int) -> npt.NDArray[np.integer[Any]]:
    """``values`` as a one-dimensional integer array with every entry in ``0..n-1`` (not copied)."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise PlanInputError(f"{name} must be a one-dimensional array of integers ({exc})") from None
    if arr.ndim != 1:
        raise PlanInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)  # [] arrives as float64; an empty list is still fine
    if arr.dtype.kind not in "iu":
        raise PlanInputError(f"{name} must hold integers, got dtype {arr.dtype}")
    lo = int(arr.min())
    hi = int(arr.max())
    if lo < 0 or hi >= n:
        bad = int(np.flatnonzero((arr < 0) | (arr >= n))[0])
        ids = f"0..{n - 1}" if n else "none, the graph is empty"
        raise PlanInputError(
            f"{name}[{bad}] = {int(arr[bad])} is out of range for n = {n} nodes (valid ids: {ids})"
        )
    if arr.dtype == np.uint64:  # numpy will not mix uint64 with signed ids; every id fits in int64 now
        return arr.astype(np.int64)
    return arr


def check_edges(
    n: object, src: object, dst: object
) -> tuple[int, npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]]]:
    """Validate ``plan_edges`` input; returns ``(n, src, dst)`` as integer arrays, not copied."""
    count = check_count(n)
    s = check_ids("src", src, count)
    d = check_ids("dst", dst, count)
    if s.shape != d.shape:
        raise PlanInputError(
            f"src and dst must have the same length, got {s.shape[0]} and {d.shape[0]}",
            hint="edge i is src[i] -> dst[i]",
        )
    return count, s, d


def is_sorted(a: npt.NDArray[Any]) -> bool:
    """True when ``a`` is non-decreasing (cheap next to a sort)."""
    return a.size < 2 or bool(np.all(a[1:] >= a[:-1]))


def pack(a: npt.NDArray[np.integer[Any]], b: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int64]:
    """Keys ``a << 32 | b`` whose order is the lexicographic order of the pairs (a, b < 2**31)."""
    key = a.astype(np.int64, copy=True)
    key <<= 32
    key |= b
    return key


def pairs_sorted(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    """True when the pairs ``(a[i], b[i])`` are already in lexicographic order (no key needed)."""
    if a.size < 2:
        return True
    if not is_sorted(a):
        return False
    step = a[1:] > a[:-1]
    step |= b[1:] >= b[:-1]
    return bool(step.all())


def sort_pairs(
    a: npt.NDArray[np.integer[Any]],
    b: npt.NDArray[np.integer[Any]],
    bound: int,
    dtype: np.dtype[np.signedinteger[Any]],
    *,
    force_lexsort: bool = False,
) -> tuple[IndexArray, IndexArray]:
    """The pairs ``(a[i], b[i])`` sorted lexicographically, as two arrays of ``dtype``.

    Input already in order is only converted.  Ids below ``bound`` (``bound <= 2**31``) are packed
    into one ``int64`` key and sorted with numpy's SIMD sort, several times faster than ``argsort``;
    larger ids fall back to ``np.lexsort``.
    """
    if pairs_sorted(a, b):
        return a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    if bound <= PACK_LIMIT and not force_lexsort:
        key = pack(a, b)
        key.sort()
        hi = (key >> 32).astype(dtype)
        key &= 0xFFFFFFFF
        return hi, key.astype(dtype)
    perm = np.lexsort((b, a))
    return a[perm].astype(dtype), b[perm].astype(dtype)


@dataclass(frozen=True, eq=False)
class CSR:
    """Successor lists: the successors of ``u`` are ``indices[indptr[u]:indptr[u + 1]]`` (sorted)."""

    n: int
    indptr: IndexArray
    indices: IndexArray
    indegree: IndexArray
    outdegree: IndexArray

    @property
    def dtype(self) -> np.dtype[np.signedinteger[Any]]:
        return self.indices.dtype


def build_csr(n: int, src: npt.NDArray[np.integer[Any]], dst: npt.NDArray[np.integer[Any]]) -> CSR:
    """The CSR of the edges ``src[i] -> dst[i]`` (validated input); duplicates are kept."""
    m = int(src.shape[0])
    dt = index_dtype(n, m)
    if pairs_sorted(src, dst):
        indices: IndexArray = dst.astype(dt)
    elif n <= PACK_LIMIT:
        key = pack(src, dst)
        key.sort()
        key &= 0xFFFFFFFF  # keep dst; the row boundaries come from the out-degrees
        indices = key.astype(dt)
        del key
    else:
        _, indices = sort_pairs(src, dst, n, dt, force_lexsort=True)
    outdegree = np.bincount(src, minlength=n).astype(dt) if m else np.zeros(n, dtype=dt)
    indegree = np.bincount(dst, minlength=n).astype(dt) if m else np.zeros(n, dtype=dt)
    indptr = np.zeros(n + 1, dtype=dt)
    np.cumsum(outdegree, out=indptr[1:])
    return CSR(n=n, indptr=indptr, indices=indices, indegree=indegree, outdegree=outdegree)


class Arange:
    """A cached ``np.arange`` prefix, grown by doubling, so per-round code does not allocate one."""

    def __init__(self, dtype: np.dtype[np.signedinteger[Any]]) -> None:
        self._dtype = dtype
        self._a: IndexArray = np.arange(1024, dtype=dtype)

    def __call__(self, k: int) -> IndexArray:
        if k > self._a.size:
            self._a = np.arange(max(k, 2 * self._a.size), dtype=self._dtype)
        return self._a[:k]


def gather_ranges(starts: IndexArray, counts: IndexArray, total: int, arange: Arange) -> IndexArray:
    """Concatenation of ``range(starts[i], starts[i] + counts[i])`` without a Python loop.

    (Ufunc methods and array methods rather than the ``np.cumsum``/``np.repeat`` wrappers: on small
    arrays the wrapper overhead is most of the cost.)
    """
    ends = np.add.accumulate(counts, dtype=counts.dtype)
    base = starts - ends
    base += counts
    idx: IndexArray = base.repeat(counts)
    idx += arange(total)
    return idx


def group_counts(sorted_values: npt.NDArray[Any]) -> tuple[IndexArray, IndexArray]:
    """For a sorted non-empty array: the index of the first element of each run, and run lengths."""
    k = sorted_values.size
    change = np.flatnonzero(sorted_values[1:] != sorted_values[:-1])
    bounds = np.empty(change.size + 2, dtype=change.dtype)
    bounds[0] = 0
    bounds[-1] = k
    np.add(change, 1, out=bounds[1:-1])
    starts: IndexArray = bounds[:-1]
    counts: IndexArray = bounds[1:] - starts
    return starts, counts
