"""Attempts kjob runs in its own process, on any backend: ``http`` requests and ``suspend`` waits.

Argo hands these to its agent and its controller; kjob has neither, so the kjob that drives the run
does them itself.  They are attempts like any other (numbered, recorded, retried by ``retryStrategy``,
stopped by ``kjob stop``), reported to the engine as the same :class:`AttemptStarted` /
:class:`AttemptFinished` events a backend gives.  An HTTP request is sent from a worker thread, so the
engine's loop never waits on the network; a suspend ends when its ``duration`` has passed on the
backend's clock, when :meth:`InProcess.resume` is called (``kjob resume RUN --node NAME``), or when it
is cancelled.
"""

from __future__ import annotations

import base64
import queue
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kjob.backends.base import AttemptEvent, AttemptFinished, AttemptPhase, AttemptStarted
from kjob.errors import KjobError
from kjob.expr.condition import compile_condition

DEFAULT_TIMEOUT = 30.0  # seconds an HTTP request may take, as Argo's agent
HTTP_LOOK_EVERY = 0.05  # seconds between looks for finished requests while some are in flight
RESULT_LIMIT = 1 << 20  # bytes of a response body kept as outputs.result


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One rendered request of an ``http`` template."""

    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    timeout: float = DEFAULT_TIMEOUT
    success_condition: str | None = None
    insecure_skip_verify: bool = False
    body_text: str = ""


@dataclass(eq=False)
class _Suspended:
    node_id: str
    until: float | None  # the backend clock's time it resumes by itself; None: only when resumed
    # what a resume supplies: the values given and the node's outputs worked out from them
    outputs: Callable[[Mapping[str, str]], tuple[dict[str, str], str]] = field(
        default=lambda values: (dict(values), "")
    )


class InProcess:
    """The attempts kjob runs itself, by attempt id."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._events: queue.SimpleQueue[AttemptEvent] = queue.SimpleQueue()
        self._requests: dict[str, threading.Thread] = {}
        self._cancelled: set[str] = set()
        self._suspended: dict[str, _Suspended] = {}

    def owns(self, attempt_id: str) -> bool:
        return attempt_id in self._requests or attempt_id in self._suspended

    @property
    def busy(self) -> bool:
        return bool(self._requests or self._suspended)

    # ------------------------------------------------------------------------------------- http
    def send(self, attempt_id: str, request: HttpRequest) -> None:
        """Send ``request`` from a worker thread; its end comes back from :meth:`events`."""
        self._events.put(AttemptStarted(attempt_id, self._now()))
        worker = threading.Thread(
            target=self._send, args=(attempt_id, request), name=f"kjob-http-{attempt_id}", daemon=True
        )
        self._requests[attempt_id] = worker
        worker.start()

    def _send(self, attempt_id: str, request: HttpRequest) -> None:
        try:
            phase, message, body = perform(request)
        except Exception as err:
            phase, message, body = AttemptPhase.ERROR, f"{type(err).__name__}: {err}", None
        self._events.put(AttemptFinished(attempt_id, phase, self._now(), message=message, result=body))

    # ---------------------------------------------------------------------------------- suspend
    def suspend(
        self,
        attempt_id: str,
        node_id: str,
        until: float | None,
        outputs: Callable[[Mapping[str, str]], tuple[dict[str, str], str]],
    ) -> None:
        """Hold the attempt until ``until`` (backend clock) or until it is resumed.  ``outputs``
        turns the values a resume gives into the node's output parameters, or an error message."""
        self._events.put(AttemptStarted(attempt_id, self._now()))
        self._suspended[attempt_id] = _Suspended(node_id, until, outputs)

    def suspended(self) -> dict[str, str]:
        """The suspended attempts: attempt id -> node id."""
        return {attempt: held.node_id for attempt, held in self._suspended.items()}

    def resume(self, attempt_id: str, values: Mapping[str, str]) -> str:
        """Resume a suspended attempt with ``values`` for its supplied outputs; an error message
        (the attempt stays suspended) when the values do not fit."""
        held = self._suspended.get(attempt_id)
        if held is None:
            return "not suspended"
        parameters, problem = held.outputs(values)
        if problem:
            return problem
        del self._suspended[attempt_id]
        self._events.put(
            AttemptFinished(
                attempt_id, AttemptPhase.SUCCEEDED, self._now(), message="resumed", parameters=parameters
            )
        )
        return ""

    # --------------------------------------------------------------------------------- control
    def cancel(self, attempt_id: str) -> None:
        """Stop an attempt: a suspend ends Failed now, a request's answer is dropped."""
        if self._suspended.pop(attempt_id, None) is not None:
            self._events.put(AttemptFinished(attempt_id, AttemptPhase.FAILED, self._now(), message="stopped"))
        elif attempt_id in self._requests:
            self._cancelled.add(attempt_id)

    def events(self) -> list[AttemptEvent]:
        """What happened since the last call: started attempts, answered requests, suspends whose
        duration has passed."""
        now = self._now()
        for attempt_id, held in list(self._suspended.items()):
            if held.until is not None and held.until <= now:
                parameters, _problem = held.outputs({})
                del self._suspended[attempt_id]
                self._events.put(
                    AttemptFinished(
                        attempt_id,
                        AttemptPhase.SUCCEEDED,
                        now,
                        message="resumed after its duration",
                        parameters=parameters,
                    )
                )
        found: list[AttemptEvent] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            if isinstance(event, AttemptFinished) and event.attempt_id in self._requests:
                self._requests.pop(event.attempt_id).join()
                if event.attempt_id in self._cancelled:
                    self._cancelled.discard(event.attempt_id)
                    event = AttemptFinished(
                        event.attempt_id, AttemptPhase.FAILED, event.at, message="stopped"
                    )
            found.append(event)
        return found

    def wait_hint(self, now: float) -> float | None:
        """How long the engine may wait before it should look here again (None: no limit)."""
        hints = [HTTP_LOOK_EVERY] if self._requests or not self._events.empty() else []
        hints += [max(0.0, h.until - now) for h in self._suspended.values() if h.until is not None]
        return min(hints) if hints else None


def perform(request: HttpRequest) -> tuple[AttemptPhase, str, str | None]:
    """Send ``request`` and judge the answer as Argo's agent does: ``successCondition`` over
    ``request`` and ``response``, else a 2xx status.  Returns the phase, a message and the body."""
    condition = compile_condition(request.success_condition) if request.success_condition else None
    sent = urllib.request.Request(
        request.url, data=request.body or None, method=request.method.upper(), headers=dict(request.headers)
    )
    context = ssl.create_default_context()
    if request.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(sent, timeout=request.timeout, context=context) as answer:
            status, raw, headers = answer.status, answer.read(RESULT_LIMIT), answer.headers
    except urllib.error.HTTPError as err:  # a 4xx or 5xx answer is still an answer
        status, raw, headers = err.code, err.read(RESULT_LIMIT), err.headers
    body = raw.decode("utf-8", errors="replace")
    if condition is None:
        if 200 <= status < 300:
            return AttemptPhase.SUCCEEDED, "", body
        return AttemptPhase.FAILED, f"received non-2xx response code: {status}", body
    header_map: dict[str, list[str]] = {}
    for name, value in headers.items():
        header_map.setdefault(name, []).append(value)
    env: dict[str, Any] = {
        "request": {
            "method": request.method,
            "url": request.url,
            "body": request.body_text,
            "headers": {name: [value] for name, value in request.headers},
        },
        "response": {"statusCode": status, "body": body, "headers": header_map},
    }
    try:
        success = condition.holds(env)
    except KjobError as err:
        return AttemptPhase.ERROR, f"successCondition: {err.message}", body
    if not success:
        return AttemptPhase.FAILED, f"successCondition '{request.success_condition}' evaluated false", body
    return AttemptPhase.SUCCEEDED, "", body


def decode_body(text: str, body_bytes: str | None) -> bytes:
    """The request body: ``bodyFrom.bytes`` (base64) if given, else the text."""
    return base64.b64decode(body_bytes) if body_bytes is not None else text.encode()
