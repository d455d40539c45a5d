"""When each piece of a local attempt's log was written, so ``kjob logs --timestamps/--since`` can say
of a local run what the kubelet says of a pod's lines.

The node agent appends one line per chunk it copies into a log, to one file per run
(``node/log-times``): ``ATTEMPT_ID END_OFFSET UNIX_TIME``.  The log itself stays exactly what the task
wrote.  A line of the log was written at the time of the chunk that holds its last byte.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

FILE_NAME = "log-times"


class TimesWriter:
    """The agent's end: opened on the first chunk, one ``write`` per chunk (``O_APPEND``: agents of
    one run, before and after a resume, never tear each other's lines)."""

    def __init__(self, node_dir: Path) -> None:
        self.path = node_dir / FILE_NAME
        self._fd: int | None = None

    def wrote(self, attempt_id: str, end_offset: int, at: float) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, f"{attempt_id} {end_offset} {at:.6f}\n".encode())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class ChunkTimes:
    """One attempt's chunks: where each ends in its log, and when it was written."""

    ends: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def at(self, offset: int) -> float | None:
        """When the byte at ``offset`` was written (``None`` if no chunk says so)."""
        i = bisect.bisect_right(self.ends, offset)
        return self.times[i] if i < len(self.times) else None


def read_times(node_dir: Path, wanted: set[str] | None = None) -> dict[str, ChunkTimes]:
    """Every attempt's chunk times (only those in ``wanted``, if given); an unreadable line is passed
    over (the last one may be half written)."""
    found: dict[str, ChunkTimes] = {}
    for attempt_id, end, at in _entries(node_dir / FILE_NAME):
        if wanted is not None and attempt_id not in wanted:
            continue
        chunks = found.setdefault(attempt_id, ChunkTimes())
        chunks.ends.append(end)
        chunks.times.append(at)
    return found


def _entries(path: Path) -> Iterator[tuple[str, int, float]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    for raw in data.split(b"\n"):
        parts = raw.split(b" ")
        if len(parts) != 3:
            continue
        try:
            yield parts[0].decode(), int(parts[1]), float(parts[2])
        except ValueError:
            continue
