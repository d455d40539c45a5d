"""Resource templates' attempts, run by kjob itself against a cluster, on either backend.

kjob has no controller and no executor pod: :class:`ResourceRunner` performs each resource attempt
(:mod:`kjob.backends.resources.action`) on a thread of its own and reports it as any attempt is
reported (started, then finished with its outputs).  A backend given a runner (its ``resources``)
hands it the attempts it :meth:`~ResourceRunner.takes`, so the engine sees one backend.  A resumed
run performs a resource attempt that had not ended again (there is no Job to find).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3
from kubernetes import client, dynamic

from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptSpec,
    AttemptStarted,
    drain,
)
from kjob.backends.resources.action import Dynamic, Owner, ResourceFailed, perform, read, wait
from kjob.backends.resources.outputs import read_outputs
from kjob.errors import KjobError

POLL_SLICE = 0.2  # seconds a backend waits at most for its own events while resource attempts run
MAX_AT_ONCE = 8


class ResourceRunner:
    """Performs resource attempts against one cluster (``api``) in ``namespace``."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        clock: Callable[[], float],
        *,
        owner: Owner | None = None,
        notice: Callable[[str], None] | None = None,
        events: queue.Queue[Any] | None = None,
    ) -> None:
        """``events``: where to report (the backend's own queue), else a queue :meth:`poll` reads."""
        self.api = api
        self.namespace = namespace
        self.owner = owner
        self._clock = clock
        self._notice = notice or (lambda _m: None)
        self._events: queue.Queue[Any] = events if events is not None else queue.Queue()
        self._running: dict[str, threading.Event] = {}  # attempt id -> its stop flag
        self._lock = threading.Lock()
        self._dynamic: Dynamic | None = None
        self._pool = ThreadPoolExecutor(max_workers=MAX_AT_ONCE, thread_name_prefix="kjob-resource")
        self._owner_said = False

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def takes(self, spec: AttemptSpec) -> bool:
        """Start ``spec`` if it is a resource attempt (``True``); any other is the backend's."""
        if spec.resource is None:
            return False
        stop = threading.Event()
        with self._lock:
            self._running[spec.attempt_id] = stop
        self._pool.submit(self._run, spec, stop)
        return True

    def cancel(self, attempt_id: str) -> bool:
        """Stop the attempt if it is one of the runner's (``True``); it still reports its end."""
        with self._lock:
            stop = self._running.get(attempt_id)
        if stop is not None:
            stop.set()
        return stop is not None

    def poll(self, timeout: float | None) -> list[AttemptEvent]:
        """What happened (when the runner has its own queue)."""
        return [e for e in drain(self._events, timeout) if e is not None]

    def close(self) -> None:
        with self._lock:
            for stop in self._running.values():
                stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _client(self) -> Dynamic:
        with self._lock:
            if self._dynamic is None:
                self._dynamic = dynamic.DynamicClient(self.api)  # type: ignore[no-untyped-call]
            return self._dynamic

    def _run(self, spec: AttemptSpec, stop: threading.Event) -> None:
        self._events.put(AttemptStarted(spec.attempt_id, self._clock()))
        try:
            finished = self._perform(spec, stop)
        except ResourceFailed as err:
            finished = self._ended(spec, AttemptPhase.FAILED, err.message)
        except KjobError as err:
            finished = self._ended(spec, AttemptPhase.FAILED, "stopped" if stop.is_set() else err.message)
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            finished = self._ended(
                spec, AttemptPhase.ERROR, f"cannot reach the cluster: {err}", transient=True
            )
        except Exception as err:  # a thread's failure must reach the engine, not vanish
            finished = self._ended(spec, AttemptPhase.ERROR, f"internal error: {type(err).__name__}: {err}")
        self._events.put(finished)  # before it stops being busy, so a poller that sees it idle finds it
        with self._lock:
            self._running.pop(spec.attempt_id, None)

    def _perform(self, spec: AttemptSpec, stop: threading.Event) -> AttemptFinished:
        resource = spec.resource
        assert resource is not None
        owner = self.owner if resource.set_owner_reference else None
        if resource.set_owner_reference and self.owner is None and not self._owner_said:
            self._owner_said = True
            self._notice(
                f"{resource.mark}: setOwnerReference has no owner on the local backend (no run "
                "ConfigMap): the objects stay after the run"
            )
        dyn = self._client()
        obj, target = perform(dyn, resource, self.namespace, owner)
        if obj is not None and target is not None:
            obj = wait(dyn, resource, target, obj, stop.is_set)
            if spec.resource_outputs:
                obj = read(dyn, target)
        phase = AttemptPhase.FAILED if stop.is_set() else AttemptPhase.SUCCEEDED
        if phase is AttemptPhase.FAILED:
            return self._ended(spec, phase, "stopped")
        return AttemptFinished(
            spec.attempt_id,
            phase,
            self._clock(),
            exit_code=0,
            parameters=read_outputs(spec.resource_outputs, obj),
        )

    def _ended(
        self, spec: AttemptSpec, phase: AttemptPhase, message: str, *, transient: bool = False
    ) -> AttemptFinished:
        code = None if phase is AttemptPhase.ERROR else 1
        return AttemptFinished(
            spec.attempt_id, phase, self._clock(), exit_code=code, message=message, transient=transient
        )
