"""Small shared helpers: the JSON object type, clocks, names and timestamps.

Everything here mirrors a convention of the real API machinery: timestamps are RFC 3339 with
second precision (``metav1.Time``) and generated names append five characters from the alphabet of
``k8s.io/apimachinery/pkg/util/rand`` to a prefix cut at 58 characters.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import threading
import time
import uuid
from typing import Any

Obj = dict[str, Any]
"""A Kubernetes object (or any JSON mapping) as decoded from the wire."""

#: Alphabet of ``utilrand.String``: no vowels and no confusable digits.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
#: ``names.MaxGeneratedNameLength``: 63 minus the five random characters.
MAX_GENERATED_NAME_LENGTH = 58


class Clock:
    """Emulated wall clock: real monotonic time multiplied by ``speed``.

    With ``speed=10`` a Job's ``activeDeadlineSeconds: 10`` fires after one real second, and
    scripted pod durations shrink likewise. Host processes always run in real time.
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._mono0 = time.monotonic()
        self._wall0 = time.time() if start is None else start

    def now(self) -> float:
        """Emulated seconds since the epoch."""
        return self._wall0 + (time.monotonic() - self._mono0) * self.speed

    def real(self, emulated_seconds: float) -> float:
        """How many real seconds ``emulated_seconds`` of emulated time take."""
        return max(0.0, emulated_seconds) / self.speed

    def timestamp(self, t: float | None = None) -> str:
        """``metav1.Time`` text for ``t`` (default: now), truncated to whole seconds."""
        return format_time(self.now() if t is None else t)


def format_time(t: float) -> str:
    return dt.datetime.fromtimestamp(int(t), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_time_nano(t: float) -> str:
    """RFC 3339 with nanoseconds, as the kubelet prefixes log lines with ``timestamps=true``."""
    whole = dt.datetime.fromtimestamp(int(t), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{int((t % 1) * 1e9):09d}Z"


def parse_time(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()


class NameGenerator:
    """Seeded source of UIDs and ``generateName`` suffixes, so runs with one seed repeat exactly."""

    def __init__(self, seed: int | None = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def suffix(self, n: int = 5) -> str:
        with self._lock:
            return "".join(self._rng.choice(NAME_ALPHABET) for _ in range(n))

    def generate(self, base: str) -> str:
        """``names.SimpleNameGenerator.GenerateName``: cut the prefix at 58, add five characters."""
        return base[:MAX_GENERATED_NAME_LENGTH] + self.suffix()

    def uid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))


_ATOMS = frozenset((str, int, float, bool, type(None)))


def _copy(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return {k: v if type(v) in _ATOMS else _copy(v) for k, v in value.items()}
    if t is list:
        return [v if type(v) in _ATOMS else _copy(v) for v in value]
    if t in _ATOMS:
        return value
    return copy.deepcopy(value)


def deepcopy(obj: Obj) -> Obj:
    """A deep copy of JSON-shaped data (dicts, lists, strings, numbers, booleans, ``None``).

    About four times faster than :func:`copy.deepcopy` on Kubernetes objects; anything else inside
    (a tuple, a dataclass) is handed to :func:`copy.deepcopy`. Unlike it, a sub-object referenced
    twice is copied twice, as a JSON round trip would do.
    """
    result: Obj = _copy(obj)
    return result


def strip_nulls(value: Any) -> Any:
    """Drop ``null`` members recursively: the apiserver decodes ``null`` as "not set"."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def meta(obj: Obj) -> Obj:
    """``obj.metadata``, created when missing."""
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def sub(obj: Obj, *path: str) -> Obj:
    """The mapping at ``path`` inside ``obj`` (an empty dict when absent; never creates)."""
    cur: Any = obj
    for key in path:
        cur = cur.get(key) if isinstance(cur, dict) else None
    return cur if isinstance(cur, dict) else {}


def name_of(obj: Obj) -> str:
    return str(sub(obj, "metadata").get("name") or "")


def namespace_of(obj: Obj) -> str:
    return str(sub(obj, "metadata").get("namespace") or "")


def uid_of(obj: Obj) -> str:
    return str(sub(obj, "metadata").get("uid") or "")


def labels_of(obj: Obj) -> dict[str, str]:
    labels = sub(obj, "metadata").get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def annotations_of(obj: Obj) -> dict[str, str]:
    ann = sub(obj, "metadata").get("annotations")
    return {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}


def finalizers_of(obj: Obj) -> list[str]:
    fins = sub(obj, "metadata").get("finalizers")
    return [str(f) for f in fins] if isinstance(fins, list) else []


def int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
