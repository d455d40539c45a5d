"""Where a run keeps its files: logs, task working directories, stored artifacts and ``run.json``.

``$KJOB_HOME/runs/<run-id>/`` (``$KJOB_HOME`` defaults to ``$XDG_STATE_HOME/kjob``, that is
``~/.local/state/kjob``).  ``run.json`` is rewritten as the run goes, so ``kjob logs`` and the
simulator's calibration can read a run that is still going or was interrupted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kjob import jsonlines
from kjob.errors import KjobError

_RUN_ID = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def kjob_home() -> Path:
    if home := os.environ.get("KJOB_HOME"):
        return Path(home)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "kjob"


def runs_root() -> Path:
    return kjob_home() / "runs"


@dataclass(frozen=True, slots=True)
class RunDir:
    """The directory of one run."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def record(self) -> Path:
        return self.path / "run.json"

    @property
    def templates(self) -> Path:
        """The WorkflowTemplates the run uses from elsewhere (``--templates``), carried for resume."""
        return self.path / "templates.yaml"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def artifacts(self) -> Path:
        return self.path / "artifacts"

    def log_file(self, attempt_id: str) -> Path:
        return self.logs / f"{attempt_id}.log"

    @classmethod
    def create(cls, run_id: str) -> RunDir:
        """Make a new run directory; an existing run of that name is never overwritten."""
        path = runs_root() / run_id
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise KjobError(
                f"a run named '{run_id}' already exists ({path})",
                hint="use metadata.generateName for a fresh name per run, or remove that directory",
            ) from None
        except OSError as err:
            raise KjobError(f"cannot create the run directory {path}: {err.strerror}") from None
        for sub in ("logs", "work", "artifacts"):
            (path / sub).mkdir()
        return cls(path)

    def discard(self) -> None:
        """Remove a run directory nothing was recorded in yet (its run could not start)."""
        shutil.rmtree(self.path, ignore_errors=True)

    @classmethod
    def find(cls, run_id: str) -> RunDir:
        """An existing run, by id (a unique prefix is enough)."""
        root = runs_root()
        exact = root / run_id
        if _RUN_ID.match(run_id) and exact.is_dir():
            return cls(exact)
        matches = (
            sorted(p for p in root.glob(f"{glob_escape(run_id)}*") if p.is_dir()) if root.is_dir() else []
        )
        if len(matches) == 1:
            return cls(matches[0])
        if not matches:
            known = sorted(p.name for p in root.iterdir())[-5:] if root.is_dir() else []
            hint = f"recent runs: {', '.join(known)}" if known else f"no runs are recorded under {root}"
            raise KjobError(f"no run '{run_id}'", hint=hint)
        raise KjobError(
            f"'{run_id}' matches several runs: {', '.join(m.name for m in matches[:5])}",
            hint="give more of the run id",
        )

    def watch(self) -> BinaryIO:
        """Hold the run's ``client.lock`` while this process watches it (two kjobs watching one run
        would start its tasks twice); closing the returned file lets go."""
        handle = (self.path / "client.lock").open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise KjobError(
                f"run {self.run_id} is being watched by another kjob on this machine",
                hint="wait for it to finish, or stop it (Ctrl-C) before resuming",
            ) from None
        return handle

    def watched(self) -> bool:
        """Whether a kjob on this machine is watching the run now."""
        try:
            handle = (self.path / "client.lock").open("rb")
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return False

    def write_record(self, data: dict[str, Any]) -> None:
        """Replace ``run.json`` whole (a reader never sees half of it)."""
        self.write_record_text(record_text(data))

    def write_record_text(self, text: bytes) -> None:
        """Replace ``run.json`` whole with ``text``, the :func:`record_text` of a record."""
        tmp = self.record.with_suffix(".json.tmp")
        tmp.write_bytes(text)
        os.replace(tmp, self.record)

    def read_record(self) -> dict[str, Any]:
        try:
            data = json.loads(self.record.read_text())
        except FileNotFoundError:
            raise KjobError(f"run '{self.run_id}' has no record yet ({self.record})") from None
        except json.JSONDecodeError as err:
            raise KjobError(f"{self.record}: damaged run record ({err.msg})") from None
        if not isinstance(data, dict):
            raise KjobError(f"{self.record}: damaged run record")
        return data


def record_text(data: dict[str, Any]) -> bytes:
    """``data`` as one line of JSON with sorted keys: by orjson (a record of thousands of nodes is
    rewritten while the run goes, on the engine's thread: orjson takes a sixth of the standard
    library's time), or by the standard library for what orjson refuses (a lone surrogate, an
    integer over 64 bits)."""
    return jsonlines.dumps(data, sort_keys=True) + b"\n"


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
