"""What a local run's node agent and kjob write down about each attempt, so a run survives its client.

Under ``<run dir>/node/``:

- ``agent-<pid>.json``  each node agent (:mod:`kjob.backends.localnode`) of the run: pid, start
  time; ``orphaned`` once its kjob went away and it has started everything it was asked to;
  ``ended`` once it exited.  Written whole (temporary file, then rename);
- ``journal.jsonl``  one JSON record per line, appended by every writer of the run (agents and kjob)
  through its own ``O_APPEND`` descriptor, one ``write`` per record, so records never interleave and
  a record costs one system call, not a file:

  - ``{"start": <attempt>, "pid", "agent", "at"}``  an agent started the attempt (``pid`` is also
    its process group);
  - ``{"exit": <attempt>, "code", "finished", "timed_out", "stopped"}``  the attempt's process
    ended: raw exit status, wall time, whether its deadline or a stop ended it; its last stdout bytes
    are in ``<attempt>.tail`` (no file: it wrote nothing), written before this record;
  - ``{"ready": <attempt>, "at"}``  kjob found a daemon's attempt ready (its readinessProbe
    passed): a resumed run reports it ready again;
  - ``{"stop": <attempt>}``  kjob stopped an attempt an earlier agent runs (whose ``exit`` record
    cannot say it was a stop);
  - ``{"done": <attempt>, ...}``  kjob read the attempt's outputs and reported how it ended (the
    :class:`~kjob.backends.base.AttemptFinished`, with wall times): a resumed run replays it.
    Only where the ``exit`` record alone would not say the same again: an attempt with outputs kjob
    read (from files it then removes), one kjob stopped, or one that ended in an error of kjob's.

  Each record is written as ``\\n{...}\\n``: a record cut short by a writer killed in the middle of
  its ``write`` stays alone on its line, unreadable and skipped, and never spoils the next one.
  Readers take only complete lines, so a record being appended is read once it is whole.

It imports nothing but the standard library (the agent must start fast).  The agent writes
``start``/``exit``, kjob writes ``done``: a resumed kjob needs nothing else to tell an attempt that
finished (replay) from one still running (wait for it) from one that was never started.  A reader
keeps its place in the log and reads only what was appended since (:meth:`Journal.refresh`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kjob import jsonlines

LOG = "journal.jsonl"


@dataclass(frozen=True, slots=True)
class Exit:
    """How an attempt's process ended, as the node agent saw it."""

    code: int  # as subprocess gives it: negative for a signal
    finished: float  # wall clock
    timed_out: bool = False
    stopped: str = ""  # why it was stopped, if it was


@dataclass(frozen=True, slots=True)
class Done:
    """The outcome kjob reported for an attempt (wall-clock times), to replay on resume."""

    phase: str
    started: float
    finished: float
    exit_code: int | None = None
    message: str = ""
    result: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    missing_outputs: list[str] = field(default_factory=list)


class Journal:
    """The ``node/`` directory of one run: what was appended to its log, as far as this reader has
    read it, and this writer's descriptor for appending to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._read_to = 0  # how far the log was read
        self._started: dict[str, dict[str, Any]] = {}
        self._exited: dict[str, Exit] = {}
        self._done: dict[str, Done] = {}
        self._ready: dict[str, float] = {}
        self._stops: set[str] = set()

    def ensure(self) -> Journal:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ---------------------------------------------------------------------------- the agent
    def agents(self) -> list[dict[str, Any]]:
        found = (_read_json(p) for p in sorted(self.path.glob("agent-*.json")))
        return [a for a in found if a is not None and isinstance(a.get("pid"), int)]

    def set_agent(self, pid: int, **fields: Any) -> None:
        _write_whole(self.path / f"agent-{pid}.json", json.dumps({"pid": pid, **fields}).encode())

    # ------------------------------------------------------------------------- per attempt
    def started(self, attempt_id: str) -> dict[str, Any] | None:
        """As last :meth:`refresh` read it (so are :meth:`exited` and :meth:`done`)."""
        return self._started.get(attempt_id)

    def set_started(self, attempt_id: str, *, pid: int, agent: int, at: float) -> None:
        self._append({"start": attempt_id, "pid": pid, "agent": agent, "started": at})

    def exited(self, attempt_id: str) -> Exit | None:
        return self._exited.get(attempt_id)

    def set_exited(self, attempt_id: str, exit_: Exit, tail: bytes) -> None:
        if tail:  # first: an exit is read with its tail
            fd = os.open(self.path / f"{attempt_id}.tail", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, tail)
            finally:
                os.close(fd)
        self._append({"exit": attempt_id, **fields_of(exit_)})

    def tail(self, attempt_id: str) -> bytes:
        try:
            return (self.path / f"{attempt_id}.tail").read_bytes()
        except FileNotFoundError:
            return b""

    def ready(self, attempt_id: str) -> float | None:
        """When a daemon's attempt was found ready (wall clock)."""
        return self._ready.get(attempt_id)

    def set_ready(self, attempt_id: str, at: float) -> None:
        self._append({"ready": attempt_id, "at": at})

    def stop_requested(self, attempt_id: str) -> bool:
        return attempt_id in self._stops

    def set_stop_requested(self, attempt_id: str) -> None:
        self._append({"stop": attempt_id})

    def done(self, attempt_id: str) -> Done | None:
        return self._done.get(attempt_id)

    def set_done(self, attempt_id: str, done: Done) -> None:
        self._append({"done": attempt_id, **fields_of(done)})

    # ---------------------------------------------------------------------------------- log
    def refresh(self) -> Journal:
        """Read what was appended to the log since the last call (complete records only)."""
        try:
            with open(self.path / LOG, "rb") as log:
                log.seek(self._read_to)
                data = log.read()
        except FileNotFoundError:
            return self
        end = data.rfind(b"\n") + 1  # a record still being appended waits for the next call
        self._read_to += end
        for line in data[:end].split(b"\n"):
            if line:
                self._take(line)
        return self

    def _take(self, line: bytes) -> None:
        try:
            record = jsonlines.loads(line)
            if "start" in record:
                attempt_id = record.pop("start")
                self._started[attempt_id] = record
            elif "exit" in record:
                attempt_id = record.pop("exit")
                self._exited[attempt_id] = Exit(**record)
            elif "stop" in record:
                self._stops.add(str(record["stop"]))
            elif "ready" in record:
                self._ready[str(record["ready"])] = float(record["at"])
            elif "done" in record:
                attempt_id = record.pop("done")
                self._done[attempt_id] = Done(**record)
        except (ValueError, TypeError, AttributeError, KeyError):
            pass  # a record cut short by its writer's death (see the module's note)

    def _append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            self._fd = os.open(self.path / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, b"\n" + jsonlines.dumps(record) + b"\n")


def fields_of(record: Exit | Done) -> dict[str, Any]:
    """A record's fields by name (``dataclasses.asdict`` copies every value deeply, ten times the
    time, for values that are only written out)."""
    return {name: getattr(record, name) for name in record.__slots__}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_whole(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
