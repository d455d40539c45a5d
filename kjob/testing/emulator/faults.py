"""Fault injection: what a flaky network or an overloaded apiserver does to a client.

Configured with :class:`Faults` from Python (``Emulator.faults(...)``) or as JSON through
``PUT /_emulator/faults``. Every API request (not the ``/_emulator`` admin endpoints) first waits
the added latency, then draws one number from a seeded generator that decides, in this order:
drop the connection without a response, answer ``500 InternalError``, answer
``429 TooManyRequests`` with ``Retry-After`` (as API Priority and Fairness does), or serve it.
Watches that are served are cut (the socket closed mid-stream, no terminating chunk) after a time
drawn from ``drop_watch_after``. With one seed and one sequence of requests the faults repeat.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Faults:
    """Fault rates (0..1), the ``Retry-After`` seconds, watch-drop and latency ranges (seconds)."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    drop_connection_rate: float = 0.0
    drop_watch_after: tuple[float, float] | None = None
    latency: tuple[float, float] | None = None
    seed: int | None = 0
    #: Only requests with these verbs (``get``, ``list``, ``watch``, ``create``…) are affected.
    verbs: frozenset[str] | None = None
    #: Only requests for these resources (``jobs``, ``pods``…) are affected.
    resources: frozenset[str] | None = None
    #: Stop injecting after this many faults (latency and watch drops excluded).
    max_faults: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("verbs", "resources"):
            out[key] = sorted(out[key]) if out[key] is not None else None
        for key in ("drop_watch_after", "latency"):
            out[key] = list(out[key]) if out[key] is not None else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown fault settings: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        kwargs: dict[str, Any] = dict(data)
        for key in ("verbs", "resources"):
            if kwargs.get(key) is not None:
                kwargs[key] = frozenset(kwargs[key])
        for key in ("drop_watch_after", "latency"):
            if kwargs.get(key) is not None:
                lo, hi = kwargs[key]
                kwargs[key] = (float(lo), float(hi))
        return cls(**kwargs)


def make_faults(
    *,
    error_rate: float = 0.0,
    throttle_rate: float = 0.0,
    retry_after: int = 1,
    drop_connection_rate: float = 0.0,
    drop_watch_after: tuple[float, float] | None = None,
    latency: tuple[float, float] | None = None,
    seed: int | None = 0,
    verbs: Collection[str] | None = None,
    resources: Collection[str] | None = None,
    max_faults: int | None = None,
) -> Faults:
    for name, rate in (
        ("error_rate", error_rate),
        ("throttle_rate", throttle_rate),
        ("drop_connection_rate", drop_connection_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {rate}")
    if error_rate + throttle_rate + drop_connection_rate > 1.0:
        raise ValueError("error_rate + throttle_rate + drop_connection_rate must not exceed 1")
    return Faults(
        error_rate,
        throttle_rate,
        retry_after,
        drop_connection_rate,
        drop_watch_after,
        latency,
        seed,
        frozenset(verbs) if verbs is not None else None,
        frozenset(resources) if resources is not None else None,
        max_faults,
    )


class FaultInjector:
    """Thread-safe decisions for each request, from one seeded generator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = Faults()
        self._rng = random.Random(0)
        self._injected = 0

    @property
    def config(self) -> Faults:
        with self._lock:
            return self._faults

    def configure(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._injected = 0

    def _applies(self, verb: str, resource: str) -> bool:
        f = self._faults
        return (f.verbs is None or verb in f.verbs) and (f.resources is None or resource in f.resources)

    def latency(self, verb: str, resource: str) -> float:
        with self._lock:
            f = self._faults
            if f.latency is None or not self._applies(verb, resource):
                return 0.0
            return self._rng.uniform(*f.latency)

    def decide(self, verb: str, resource: str) -> str | None:
        """``"drop"``, ``"error"``, ``"throttle"`` or ``None`` for this request."""
        with self._lock:
            f = self._faults
            if not (f.error_rate or f.throttle_rate or f.drop_connection_rate) or not self._applies(
                verb, resource
            ):
                return None
            if f.max_faults is not None and self._injected >= f.max_faults:
                return None
            u = self._rng.random()
            fault = None
            if u < f.drop_connection_rate:
                fault = "drop"
            elif u < f.drop_connection_rate + f.error_rate:
                fault = "error"
            elif u < f.drop_connection_rate + f.error_rate + f.throttle_rate:
                fault = "throttle"
            if fault is not None:
                self._injected += 1
            return fault

    def watch_drop_after(self, resource: str) -> float | None:
        with self._lock:
            f = self._faults
            if f.drop_watch_after is None or not self._applies("watch", resource):
                return None
            return self._rng.uniform(*f.drop_watch_after)
