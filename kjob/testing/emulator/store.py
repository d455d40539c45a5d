"""Object storage with one global ``resourceVersion`` counter, a bounded event history and watches.

This plays etcd plus the apiserver's watch cache:

* every write takes the next value of a single counter, as etcd's revision does, and the object's
  ``metadata.resourceVersion`` is that value as a string (a DELETED event carries the deletion's
  revision);
* the last ``history_window`` events are kept; a watch may start from any revision still in the
  window and replays the events after it, while an older revision gets the ``410 Expired`` "too old
  resource version" error that ``kubernetes.watch.Watch`` turns into ``ApiException(410)``;
  :meth:`Store.compact` drops the whole history, as etcd compaction does;
* a watch with a selector sees an object that stops matching as DELETED and one that starts
  matching as ADDED, exactly like the cacher's filtered watchers.

One re-entrant lock guards everything; objects go in and out as deep copies. A stored object is
never changed in place (a write stores a new object), so events share the stored objects, and the
emulator's own controllers read them uncopied through :meth:`Store.items`.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kjob.testing.emulator.errors import expired
from kjob.testing.emulator.util import Obj, deepcopy, meta

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
Predicate = Callable[[Obj], bool]
Objs = list[Obj]  # spelled out here: inside ``Store``, ``list`` is the method


@dataclass(frozen=True)
class Event:
    """One committed change: ``type`` is ADDED, MODIFIED or DELETED."""

    rv: int
    resource: str
    namespace: str
    type: str
    obj: Obj
    old: Obj | None


@dataclass
class Watcher:
    """A live watch: events that pass its filter land in ``queue`` (``None`` means "closed")."""

    resource: str
    namespace: str | None
    predicate: Predicate
    queue: queue.Queue[tuple[str, Obj] | None] = field(default_factory=queue.Queue)

    def transform(self, ev: Event) -> tuple[str, Obj] | None:
        """The event as this watcher sees it (selector transitions become ADDED/DELETED)."""
        if ev.resource != self.resource or (self.namespace is not None and ev.namespace != self.namespace):
            return None
        now = self.predicate(ev.obj)
        if ev.type == "ADDED":
            return ("ADDED", ev.obj) if now else None
        if ev.type == "DELETED":
            return ("DELETED", ev.obj) if now else None
        before = ev.old is not None and self.predicate(ev.old)
        if now and before:
            return ("MODIFIED", ev.obj)
        if now:
            return ("ADDED", ev.obj)
        if before:
            return ("DELETED", ev.obj)
        return None


Events = list[Event]


@dataclass
class ChangeFeed:
    """The events committed since a controller last looked (see :meth:`Store.drain`).

    Past ``limit`` unread events it keeps none and sets ``overflow``: the reader then looks at
    everything, as it does on its first pass.  The controller notes in ``retry`` the objects whose
    sync ran into an error, to sync them again next pass, and clears ``unfinished`` when a pass
    ends normally (a pass that stopped on an exception makes the next one look at everything).
    """

    events: list[Event] = field(default_factory=list)
    overflow: bool = True
    limit: int = 10_000
    retry: set[str] = field(default_factory=set)
    unfinished: bool = False


class Store:
    """All objects of all resources, keyed by ``(namespace, name)`` within a resource."""

    def __init__(self, history_window: int = 1000) -> None:
        self.lock = threading.RLock()
        #: Notified after every commit; controllers wait on it between ticks.
        self.changed = threading.Condition(self.lock)
        self._objects: dict[str, dict[Key, Obj]] = {}
        #: Per resource, its keys in etcd's order; dropped when a key is added or removed.
        self._order: dict[str, list[Key]] = {}
        self._rv = 0
        self._history: deque[Event] = deque()
        self._window = max(1, history_window)
        self._compacted = 0
        self._watchers: list[Watcher] = []
        self._feeds: list[ChangeFeed] = []
        #: Bumped on every commit; cheap "did anything change" test for controllers.
        self.generation = 0

    # ----------------------------------------------------------------------------- reads
    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    @property
    def compacted_revision(self) -> int:
        with self.lock:
            return self._compacted

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        with self.lock:
            obj = self._objects.get(resource, {}).get((namespace, name))
            return deepcopy(obj) if obj is not None else None

    def peek(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The stored object itself, uncopied: for callers holding :attr:`lock` that only read it."""
        with self.lock:
            return self._objects.get(resource, {}).get((namespace, name))

    def exists(self, resource: str, namespace: str, name: str) -> bool:
        with self.lock:
            return (namespace, name) in self._objects.get(resource, {})

    def list(self, resource: str, namespace: str | None = None) -> list[Obj]:
        """Copies of the objects, sorted by ``(namespace, name)`` as etcd's key order sorts them."""
        with self.lock:
            return [deepcopy(o) for o in self.items(resource, namespace)]

    def items(self, resource: str, namespace: str | None = None) -> Objs:
        """The stored objects themselves, in :meth:`list`'s order: read-only, never to be changed.

        For the emulator's controllers, which copy only an object they are about to write (see
        :meth:`Registry.mutate <kjob.testing.emulator.api.Registry.mutate>`). The objects stay
        valid after the lock is released: a write replaces an object, it never changes one.
        """
        with self.lock:
            objs = self._objects.get(resource, {})
            order = self._order.get(resource)
            if order is None:
                order = self._order[resource] = sorted(objs)
            return [objs[k] for k in order if namespace is None or k[0] == namespace]

    # ---------------------------------------------------------------------------- writes
    def _commit(self, resource: str, namespace: str, type_: str, obj: Obj, old: Obj | None) -> Obj:
        self._rv += 1
        self.generation += 1
        meta(obj)["resourceVersion"] = str(self._rv)
        # ``obj`` is (or, for DELETED, is a copy of) the stored object and ``old`` the one it replaced:
        # neither is changed again, so the event shares them.
        ev = Event(self._rv, resource, namespace, type_, obj, old)
        self._history.append(ev)
        while len(self._history) > self._window:
            self._compacted = self._history.popleft().rv
        for f in self._feeds:
            if f.overflow:
                pass
            elif len(f.events) >= f.limit:
                f.events.clear()
                f.overflow = True
            else:
                f.events.append(ev)
        for w in list(self._watchers):
            seen = w.transform(ev)
            if seen is not None:
                w.queue.put(seen)
        self.changed.notify_all()
        return deepcopy(obj)

    def put_new(self, resource: str, namespace: str, name: str, obj: Obj) -> Obj:
        """Insert ``obj`` (the caller checked it does not exist) and return the stored copy."""
        with self.lock:
            stored = deepcopy(obj)
            self._objects.setdefault(resource, {})[(namespace, name)] = stored
            self._order.pop(resource, None)
            return self._commit(resource, namespace, "ADDED", stored, None)

    def put(self, resource: str, namespace: str, name: str, obj: Obj, *, owned: bool = False) -> Obj:
        """Replace an existing object; returns a copy of the stored one with its new resourceVersion.

        ``owned=True``: the caller hands ``obj`` over (it keeps no reference), so it is stored as is.
        """
        with self.lock:
            bucket = self._objects.setdefault(resource, {})
            old = bucket.get((namespace, name))
            if old is None:
                self._order.pop(resource, None)
            stored = obj if owned else deepcopy(obj)
            bucket[(namespace, name)] = stored
            return self._commit(resource, namespace, "MODIFIED", stored, old)

    def remove(self, resource: str, namespace: str, name: str) -> Obj | None:
        """Remove the object; the DELETED event and the returned copy carry a fresh revision."""
        with self.lock:
            bucket = self._objects.get(resource, {})
            old = bucket.pop((namespace, name), None)
            if old is None:
                return None
            self._order.pop(resource, None)
            final = deepcopy(old)
            return self._commit(resource, namespace, "DELETED", final, old)

    def compact(self) -> int:
        """Forget the event history, as etcd compaction does; returns the compacted revision."""
        with self.lock:
            self._history.clear()
            self._compacted = self._rv
            return self._rv

    # ------------------------------------------------------------------------ change feeds
    def feed(self) -> ChangeFeed:
        """A feed of every commit from now on, for a controller that looks only at what changed.

        It starts in ``overflow`` (nothing read yet: look at everything).
        """
        with self.lock:
            f = ChangeFeed()
            self._feeds.append(f)
            return f

    def drain(self, f: ChangeFeed) -> tuple[Events, bool, set[str]]:
        """Start a controller's pass: the events since the last one, whether to look at everything
        (events were lost, or the last pass did not finish), and the objects to retry."""
        with self.lock:
            events, everything, retry = f.events, f.overflow or f.unfinished, f.retry
            f.events, f.overflow, f.retry, f.unfinished = [], False, set(), True
            return events, everything, retry

    # ---------------------------------------------------------------------------- watches
    def watch(self, resource: str, namespace: str | None, predicate: Predicate, since: int | None) -> Watcher:
        """Register a watch. ``since=None`` replays the current objects as ADDED first.

        A revision older than the history window raises the 410 "too old resource version" error.
        """
        with self.lock:
            w = Watcher(resource, namespace, predicate)
            if since is None:
                for obj in self.items(resource, namespace):
                    if predicate(obj):
                        w.queue.put(("ADDED", deepcopy(obj)))
            else:
                if since < self._compacted:
                    raise expired(f"too old resource version: {since} ({self._compacted})")
                for ev in self._history:
                    if ev.rv > since:
                        seen = w.transform(ev)
                        if seen is not None:
                            w.queue.put((seen[0], deepcopy(seen[1])))
            self._watchers.append(w)
            return w

    def unwatch(self, w: Watcher) -> None:
        with self.lock:
            if w in self._watchers:
                self._watchers.remove(w)

    def close_watches(self) -> None:
        with self.lock:
            for w in self._watchers:
                w.queue.put(None)
            self._watchers.clear()
            self.changed.notify_all()
