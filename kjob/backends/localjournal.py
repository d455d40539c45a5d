"""What a local run's node agent and kjob write down about each attempt, so a run survives its client.

Under ``<run dir>/node/``, one small JSON file per fact, each written whole (temporary file, then
rename) so a reader never sees half of one:

- ``agent-<pid>.json``  each node agent (:mod:`kjob.backends.localnode`) of the run: pid, start
  time; ``orphaned`` once its kjob went away and it has started everything it was asked to;
  ``ended`` once it exited;
- ``<attempt>.start.json``  an agent started the attempt: pid (also its process group), the agent's
  pid, wall time;
- ``<attempt>.exit.json``   the attempt's process ended: raw exit status, wall time, whether its
  deadline or a stop ended it; its last stdout bytes are in ``<attempt>.tail``;
- ``<attempt>.done.json``   kjob read the attempt's outputs and reported how it ended (the
  :class:`~kjob.backends.base.AttemptFinished`, with wall times): a resumed run replays it.

It imports nothing but the standard library (the agent must start fast).  The agent writes
``start``/``exit``, kjob writes ``done``: a resumed kjob needs nothing else to tell an
attempt that finished (replay) from one still running (wait for it) from one that was never started.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


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
    """The ``node/`` directory of one run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure(self) -> Journal:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    # ---------------------------------------------------------------------------- the agent
    def agents(self) -> list[dict[str, Any]]:
        found = (self._read(p.name) for p in sorted(self.path.glob("agent-*.json")))
        return [a for a in found if a is not None and isinstance(a.get("pid"), int)]

    def set_agent(self, pid: int, **fields: Any) -> None:
        self._write(f"agent-{pid}.json", {"pid": pid, **fields})

    # ------------------------------------------------------------------------- per attempt
    def started(self, attempt_id: str) -> dict[str, Any] | None:
        return self._read(f"{attempt_id}.start.json")

    def set_started(self, attempt_id: str, *, pid: int, agent: int, at: float) -> None:
        self._write(f"{attempt_id}.start.json", {"pid": pid, "agent": agent, "started": at})

    def exited(self, attempt_id: str) -> Exit | None:
        data = self._read(f"{attempt_id}.exit.json")
        return None if data is None else Exit(**data)

    def set_exited(self, attempt_id: str, exit_: Exit, tail: bytes) -> None:
        _write_whole(self.path / f"{attempt_id}.tail", tail)  # first: an exit is read with its tail
        self._write(f"{attempt_id}.exit.json", asdict(exit_))

    def tail(self, attempt_id: str) -> bytes:
        try:
            return (self.path / f"{attempt_id}.tail").read_bytes()
        except FileNotFoundError:
            return b""

    def done(self, attempt_id: str) -> Done | None:
        data = self._read(f"{attempt_id}.done.json")
        return None if data is None else Done(**data)

    def set_done(self, attempt_id: str, done: Done) -> None:
        self._write(f"{attempt_id}.done.json", asdict(done))

    # -------------------------------------------------------------------------------- files
    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / name).read_text())
        except FileNotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def _write(self, name: str, data: dict[str, Any]) -> None:
        _write_whole(self.path / name, json.dumps(data, sort_keys=True).encode())


def _write_whole(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
