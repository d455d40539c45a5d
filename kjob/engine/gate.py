"""What a node passes before it runs: its ``synchronization`` locks, then its ``memoize`` cache.

The engine asks :meth:`Gate.enter` for a holder (the run, or one node); the gate renders the lock names
with the holder's references, takes every lock or none (as Argo, so two holders never each keep half
of what the other needs) and says what it waits for.  :meth:`Gate.recall` looks a memoized node up,
:meth:`Gate.remember` stores a succeeded one.  The locks and caches themselves belong to the backend
(:mod:`kjob.backends.coordination`); nothing here knows where they are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kjob.backends.coordination import Lock, Locks, MemoCache, MemoEntry
from kjob.errors import KjobError
from kjob.spec.build_sync import CACHE_KEY, CACHE_KEY_HINT
from kjob.spec.model import LockRef, Memoize, frozen_map

Render = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Recalled:
    """A cache hit: the outputs a memoized node takes instead of running."""

    entry: MemoEntry
    message: str


class Gate:
    """Locks held by this run's holders, and the memo caches, for one run in ``namespace``."""

    def __init__(self, locks: Locks, memo: MemoCache, namespace: str) -> None:
        self.locks = locks
        self.memo = memo
        self.namespace = namespace
        self._held: dict[str, list[Lock]] = {}  # holder -> the locks it holds

    @property
    def retry_every(self) -> float | None:
        return self.locks.retry_every

    def resolve(self, refs: Sequence[LockRef], render: Render) -> list[Lock]:
        """The locks ``refs`` name, their references rendered."""
        locks: list[Lock] = []
        for ref in refs:
            name = render(ref.name)
            key = render(ref.key) if ref.key is not None else None
            namespace = render(ref.namespace) if ref.namespace else self.namespace
            if not name or (ref.key is not None and not key):
                raise KjobError(f"the {ref.kind} at {ref.mark} renders to an empty name")
            locks.append(Lock(ref.kind, namespace, name, key))
        return locks

    def enter(self, holder: str, locks: Sequence[Lock]) -> str | None:
        """Take every one of ``locks`` for ``holder``: ``None`` once all are held, else why it waits
        (and none of them is kept)."""
        taken: list[Lock] = []
        for lock in locks:
            denied = self.locks.acquire(lock, holder)
            if denied is not None:
                for back in taken:
                    self.locks.release(back, holder)
                return denied.message
            taken.append(lock)
        if taken:
            self._held[holder] = taken
        return None

    def held_by(self, holders: Sequence[str], locks: Sequence[Lock]) -> tuple[str, Lock] | None:
        """The first of ``holders`` that holds a mutex of ``locks``, and that mutex: a node that waits
        for it while it runs inside that holder would wait for ever."""
        for holder in holders:
            for lock in self._held.get(holder, ()):
                if lock.kind == "mutex" and lock in locks:
                    return holder, lock
        return None

    def leave(self, holder: str) -> bool:
        """Give back what ``holder`` holds; whether it held anything."""
        locks = self._held.pop(holder, None)
        for lock in locks or ():
            self.locks.release(lock, holder)
        return bool(locks)

    def leave_all(self) -> None:
        for holder in list(self._held):
            self.leave(holder)

    # ------------------------------------------------------------------------------------ memoize
    def key(self, memoize: Memoize, render: Render) -> str:
        key = render(memoize.key)
        if not CACHE_KEY.fullmatch(key):
            raise KjobError(f"invalid memoize key '{key}' ({CACHE_KEY_HINT})")
        return key

    def recall(self, memoize: Memoize, key: str) -> Recalled | None:
        """The cached outputs under ``key`` if an entry is there and not older than ``maxAge``."""
        entry = self.memo.load(memoize.cache, key)
        if entry is None or not entry.node_id:
            return None
        if memoize.max_age is not None and self.memo.now() - entry.created_at > memoize.max_age:
            return None
        return Recalled(entry, f"cached: memoize key {key} in {memoize.cache} (from {entry.node_id})")

    def remember(
        self,
        memoize: Memoize,
        key: str,
        node_id: str,
        parameters: Mapping[str, str],
        result: str | None,
        exit_code: int | None,
    ) -> None:
        now = self.memo.now()
        entry = MemoEntry(node_id, frozen_map(parameters), result, exit_code, now, now)
        self.memo.save(memoize.cache, key, entry)
