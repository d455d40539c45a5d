"""Shared fixtures: run the real ``kjob`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared"
SEED = SHARED / "seed"
NO_SHARED = "../shared (the tutorial seed and data) is not beside the checkout"


@dataclass
class Completed:
    code: int
    stdout: str
    stderr: str
    home: Path

    def run_id(self) -> str:
        first = self.stdout.splitlines()[0]
        assert first.startswith("Run "), self.stdout
        return first.split()[1]

    def record(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.home / "runs" / self.run_id() / "run.json").read_text())
        return data

    def nodes(self) -> dict[str, dict[str, Any]]:
        return {n["id"]: n for n in self.record()["nodes"]}


@pytest.fixture
def kjob_home(tmp_path: Path) -> Path:
    home = tmp_path / "kjob-home"
    home.mkdir()
    return home


def kjob_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    """The environment of a ``kjob`` command: its own ``KJOB_HOME``, plain output, and ``KUBECONFIG`` =
    ``kubeconfig``; without one no cluster is configured, so ``--backend auto`` picks the local backend."""
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env.update(
        {
            "KJOB_HOME": str(home),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "TERM": "dumb",
            "KUBECONFIG": str(kubeconfig or home / "none"),
        }
    )
    return env


@pytest.fixture
def kjob(kjob_home: Path) -> Any:
    """``kjob(*args)`` runs ``python -m kjob ARGS`` and returns a :class:`Completed`."""

    def call(*args: str, timeout: float = 120, cwd: Path | None = None) -> Completed:
        done = subprocess.run(
            [sys.executable, "-m", "kjob", *args],
            capture_output=True,
            text=True,
            env=kjob_env(kjob_home),
            timeout=timeout,
            cwd=cwd or REPO,
            check=False,
        )
        return Completed(done.returncode, done.stdout, done.stderr, kjob_home)

    return call


def needs_shared() -> None:
    if not SEED.is_dir():
        pytest.skip(NO_SHARED)
