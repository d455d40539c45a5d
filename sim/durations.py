"""Duration distributions: fixed, lognormal(median, sigma), empirical, and the recorded durations of a
trace.  Every draw comes from a seeded :class:`numpy.random.Generator`, in a fixed order, so a seed
gives the same durations on every machine.

A distribution is written as text on the command line and in files::

    30s | 1.5 | fixed:30s            a fixed duration (seconds or a Go duration)
    lognormal:60s,0.5                median 60 s, sigma 0.5 (of the log)
    empirical:12,14.5,20s            each draw one of these, equally likely
    recorded                         what the trace recorded for each task (WfFormat, cost table, run)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kjob.errors import KjobError
from kjob.spec import parse_duration
from sim.errors import SimError

FloatArray = npt.NDArray[np.float64]

FORMS = "a duration (30s, 1.5), fixed:30s, lognormal:MEDIAN,SIGMA, empirical:A,B,... or recorded"


def seconds_text(value: float) -> str:
    """``60s``, ``1.5s``, ``4294967295s``: seconds as the parser reads them back, never in e-notation."""
    return f"{value:.6f}".rstrip("0").rstrip(".") + "s"


def human(seconds: float | None) -> str:
    """A duration in human units: ``42.5s``, ``1h 2m 5s``, ``3d 4h 0m``; ``-`` for none."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.3g}ms" if seconds > 0 else "0s"
    if seconds < 60:
        return f"{seconds:.3g}s"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d:
        return f"{d:,}d {h}h {m}m"
    return f"{h}h {m}m {s}s" if h else f"{m}m {s}s"


@dataclass(frozen=True, slots=True)
class Fixed:
    """Always ``value`` seconds."""

    value: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.value)

    def mean(self) -> float:
        return self.value

    def __str__(self) -> str:
        return f"fixed:{seconds_text(self.value)}"


@dataclass(frozen=True, slots=True)
class LogNormal:
    """``median * exp(sigma * Z)`` with ``Z`` standard normal: right-skewed, never negative."""

    median: float
    sigma: float

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        z = rng.standard_normal(size)
        z *= self.sigma
        np.exp(z, out=z)
        z *= self.median
        return z

    def mean(self) -> float:
        return self.median * math.exp(self.sigma * self.sigma / 2)

    def __str__(self) -> str:
        return f"lognormal:{seconds_text(self.median)},{self.sigma:g}"


@dataclass(frozen=True, slots=True)
class Empirical:
    """One of ``values`` at random, each equally likely (bootstrap from observed durations)."""

    values: tuple[float, ...]

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        pool = np.asarray(self.values, dtype=np.float64)
        return pool[rng.integers(0, pool.size, size=size)]

    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    def __str__(self) -> str:
        return "empirical:" + ",".join(seconds_text(v) for v in self.values)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The duration the source recorded for each task; ``fallback`` for a task it did not record."""

    fallback: float = 0.0

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.fallback)

    def mean(self) -> float:
        return self.fallback

    def __str__(self) -> str:
        return "recorded"


Distribution = Fixed | LogNormal | Empirical | Recorded


def parse_distribution(text: object, *, what: str = "duration") -> Distribution:
    """A distribution from its text form (see the module doc); raises :class:`SimError` if malformed.

    Callers that know the place in a file catch it and re-raise with ``file:line:col``.

    >>> parse_distribution("lognormal:1m,0.25")
    LogNormal(median=60.0, sigma=0.25)
    >>> str(parse_distribution("90"))
    'fixed:90'
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return Fixed(_seconds(text, what))
    if not isinstance(text, str):
        raise SimError(f"{what} must be text or a number, not {type(text).__name__}", hint=f"use {FORMS}")
    raw = text.strip()
    name, sep, args = raw.partition(":")
    name = name.strip().lower()
    if not sep:
        if name == "recorded":
            return Recorded()
        return Fixed(_seconds(raw, what))
    parts = [a.strip() for a in args.split(",")] if args.strip() else []
    if name == "fixed" and len(parts) == 1:
        return Fixed(_seconds(parts[0], what))
    if name == "lognormal" and len(parts) == 2:
        median = _seconds(parts[0], what)
        sigma = _number(parts[1], f"{what} sigma")
        if median <= 0:
            raise SimError(f"{what} '{raw}': the median must be > 0", hint="lognormal:MEDIAN,SIGMA")
        return LogNormal(median, sigma)
    if name == "empirical" and parts:
        return Empirical(tuple(_seconds(p, what) for p in parts))
    raise SimError(f"invalid {what} '{raw}'", hint=f"use {FORMS}")


def _seconds(value: object, what: str) -> float:
    try:
        return parse_duration(value)
    except KjobError:
        raise SimError(f"invalid {what} {value!r}", hint=f"use {FORMS}") from None


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SimError(f"invalid {what} '{text}': not a number") from None
    if not math.isfinite(value) or value < 0:
        raise SimError(f"invalid {what} '{text}': must be a finite number >= 0")
    return value


def draw(
    dists: tuple[Distribution, ...],
    kind: npt.NDArray[np.int32],
    recorded: FloatArray | None,
    task: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> FloatArray:
    """One duration per entry of ``task`` (an attempt of that task), from its kind's distribution.

    Kinds are drawn in index order, each in one vectorised call, so the result depends only on the
    seed.  ``Recorded`` kinds take ``recorded[task]`` (no draw), or the fallback where it is NaN.
    """
    out = np.empty(task.size, dtype=np.float64)
    kinds = kind[task]
    groups: list[tuple[int, Any]]
    if len(dists) == 1:
        groups = [(0, slice(None))]
    else:
        order = np.argsort(kinds, kind="stable")
        bounds = np.searchsorted(kinds[order], np.arange(len(dists) + 1))
        groups = [(k, order[bounds[k] : bounds[k + 1]]) for k in range(len(dists))]
    for k, where in groups:
        dist = dists[k]
        if isinstance(dist, Recorded):
            if recorded is None:
                out[where] = dist.fallback
            else:
                values = recorded[task[where]]
                out[where] = np.where(np.isnan(values), dist.fallback, values)
            continue
        count = out[where].size
        if count:
            out[where] = dist.sample(rng, count)
    return out
