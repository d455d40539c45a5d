"""Shared fixtures: run the real ``kjob`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis' per-example deadline is a timed assertion: on a loaded machine it fails tests that are
# right.  Speed is measured in bench/, never asserted here.
settings.register_profile("kjob", deadline=None)
settings.load_profile("kjob")

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


def kjob_in(home: Path) -> Any:
    """``call(*args)`` runs ``python -m kjob ARGS`` with ``KJOB_HOME`` = ``home`` and returns a
    :class:`Completed` (the ``kjob`` fixture, for a fixture of a wider scope)."""

    def call(*args: str, timeout: float = 120, cwd: Path | None = None) -> Completed:
        done = subprocess.run(
            [sys.executable, "-m", "kjob", *args],
            capture_output=True,
            text=True,
            env=kjob_env(home),
            timeout=timeout,
            cwd=cwd or REPO,
            check=False,
        )
        return Completed(done.returncode, done.stdout, done.stderr, home)

    return call


@pytest.fixture
def kjob(kjob_home: Path) -> Any:
    """``kjob(*args)`` runs ``python -m kjob ARGS`` and returns a :class:`Completed`."""
    return kjob_in(kjob_home)


def needs_shared() -> None:
    if not SEED.is_dir():
        pytest.skip(NO_SHARED)


# ------------------------------------------------------------------ the fuzz suites' tallies
_FUZZ_TALLIES: dict[str, Counter[str]] = {}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """A pytest-xdist worker ended: add up the fuzz inputs it tried (tests/fuzz/budget.py)."""
    from tests.fuzz.budget import TALLY_KEY

    for suite, tried in getattr(node, "workeroutput", {}).get(TALLY_KEY, []):
        _FUZZ_TALLIES.setdefault(suite, Counter()).update(tried)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.fuzz.budget import tally_line

    for suite, tried in sorted(_FUZZ_TALLIES.items()):
        terminalreporter.write_line(tally_line(suite, tried))


# ------------------------------------------------------------------ emulator errors fail the test
EMULATOR_ERRORS_MARKER = "emulator_errors_expected"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{EMULATOR_ERRORS_MARKER}(reason): the test provokes errors inside an emulator on purpose; "
        "they do not fail it",
    )


@pytest.fixture(autouse=True)
def _emulator_errors_fail_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which any emulator (its own, or a shared one) recorded an internal error.

    Errors noted before the test began (after the previous test's check) fail its setup instead, so
    none goes unseen. A test that provokes them on purpose says so with
    ``@pytest.mark.emulator_errors_expected(reason="...")``.
    """
    from kjob.testing.emulator.ledger import LEDGER

    marker = request.node.get_closest_marker(EMULATOR_ERRORS_MARKER)
    if marker is not None and not (marker.kwargs.get("reason") or marker.args):
        pytest.fail(f"@pytest.mark.{EMULATOR_ERRORS_MARKER} needs a reason", pytrace=False)
    earlier = LEDGER.take()
    if earlier:
        pytest.fail("emulator errors recorded before this test began:\n" + "\n".join(earlier), pytrace=False)
    yield
    errors = LEDGER.take()
    if errors and marker is None:
        pytest.fail("emulator errors recorded during this test:\n" + "\n".join(errors), pytrace=False)


def kill_run_when(home: Path, args: list[str], reached: Callable[[], bool], *, within: float = 60) -> None:
    """Start ``kjob run ARGS`` in the background and SIGKILL it once ``reached()`` (or after
    ``within`` seconds): a client that dies in the middle of its run."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", *args],
        env=kjob_env(home),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not reached():
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
