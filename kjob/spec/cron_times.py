"""When a schedule fires, as a Kubernetes CronJob fires it (``kjob cron next``).

The CronJob controller reads a schedule with Go's robfig/cron (v3) in the CronJob's ``timeZone``.  Its
``Next`` steps hours and minutes on the absolute clock, which gives two rules at a DST change:

* a wall time the change skips (02:30 on a spring-forward night in America/Los_Angeles) does not
  fire that day;
* a wall time the change repeats (01:00 on a fall-back night) fires twice, once at each offset
  (kubernetes/kubernetes#121594).

cronsim, which decides which wall times match (the same five fields, day-of-month and day-of-week
joined by OR unless one starts with ``*``), follows Debian's cron at a DST change instead (a skipped
time runs right after the change, a repeated one runs once), so it is asked about wall-clock times
only, with no zone, and the rules above map each matching wall time to the instants it names.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from kjob.errors import KjobError
from kjob.spec.durations import parse_duration

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SHIFT = dt.timedelta(hours=3)  # more than any zone's DST change: how far a wall time's instant can move
UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Fire:
    """One fire time of one schedule; ``at`` is ``None`` for a wall time the zone skips that day
    (the CronJob does not fire then).  ``repeat`` marks the second of a repeated wall time."""

    wall: dt.datetime  # naive, in the zone
    schedule: str
    at: dt.datetime | None = None  # aware, in the zone
    repeat: bool = False


def zone(name: str | None) -> dt.tzinfo:
    """The time zone a CronJob with ``timeZone: name`` runs in; no name is UTC (the controller's own
    zone, which is UTC on every usual control plane)."""
    if name is None:
        return UTC
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise KjobError(f"unknown timezone '{name}' (no such zone in this machine's database)") from None


def next_fires(
    schedules: Sequence[str], tz: dt.tzinfo, after: dt.datetime, count: int
) -> tuple[list[Fire], list[Fire]]:
    """The first ``count`` fire times of all ``schedules`` strictly after ``after`` (aware), in order,
    and the skipped wall times that fall before the last of them."""
    streams = [_fires(s, tz, after) for s in schedules]
    fires: list[Fire] = []
    skipped: list[Fire] = []
    for fire in heapq.merge(*streams, key=lambda f: (_key(f, tz), f.schedule)):
        if fire.at is None:
            skipped.append(fire)
            continue
        fires.append(fire)
        if len(fires) == count:
            break
    last = fires[-1].wall if fires else None
    return fires, [s for s in skipped if last is None or s.wall < last]


def _fires(schedule: str, tz: dt.tzinfo, after: dt.datetime) -> Iterator[Fire]:
    """One schedule's fires after ``after``, in time order (skipped wall times in their place)."""
    text = schedule.strip()
    if text.startswith("@every "):
        step = dt.timedelta(seconds=parse_duration(text.removeprefix("@every ").strip()))
        at = after.astimezone(tz)
        while True:
            at = (at.astimezone(UTC) + step).astimezone(tz)
            yield Fire(at.replace(tzinfo=None), schedule, at)
    expr = MACROS.get(text, text)
    fields = expr.split()
    fields[2], fields[4] = (f.replace("?", "*") for f in (fields[2], fields[4]))
    from cronsim import CronSim  # here: only kjob cron needs it

    start = after.astimezone(tz).replace(tzinfo=None) - SHIFT  # a repeated hour may lie behind the wall
    pending: list[tuple[dt.datetime, int, Fire]] = []  # read but not yet in order: (key, seq, fire)
    seq = 0
    for wall in CronSim(" ".join(fields), start):  # it stops after 50 years without a match
        assert isinstance(wall, dt.datetime)
        while pending and pending[0][0] < _earliest(wall):
            yield heapq.heappop(pending)[2]
        instants = _instants(wall, tz)
        found = [Fire(wall, schedule, at, bool(i)) for i, at in enumerate(instants)] or [Fire(wall, schedule)]
        for fire in found:
            if _key(fire, tz) > after:
                heapq.heappush(pending, (_key(fire, tz), seq, fire))
                seq += 1
    while pending:
        yield heapq.heappop(pending)[2]


def _key(fire: Fire, tz: dt.tzinfo) -> dt.datetime:
    """Where a fire sorts: its instant; a skipped wall time at the change that skips it."""
    if fire.at is not None:
        return fire.at.astimezone(UTC)
    # Read with the offset after the change it is an instant before it, with the one before the
    # change an instant after it: the change lies between, found to the second.
    low, high = sorted(fire.wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    after = high.astimezone(tz).utcoffset()
    while high - low > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _earliest(wall: dt.datetime) -> dt.datetime:
    """A lower bound for the instant of any wall time at or after ``wall``, in any zone."""
    return wall.replace(tzinfo=UTC) - dt.timedelta(hours=14)  # UTC+14 is the largest offset


def _instants(wall: dt.datetime, tz: dt.tzinfo) -> list[dt.datetime]:
    """The instants whose wall time in ``tz`` is ``wall``: none in a skipped hour, two in a repeated
    hour (earlier first), else one."""
    found: list[dt.datetime] = []
    for fold in (0, 1):
        aware = wall.replace(tzinfo=tz, fold=fold)
        instant = aware.astimezone(UTC)
        back = instant.astimezone(tz)
        if back.replace(tzinfo=None) == wall and all(instant != f.astimezone(UTC) for f in found):
            found.append(back)
    return sorted(found, key=lambda a: a.astimezone(UTC))
