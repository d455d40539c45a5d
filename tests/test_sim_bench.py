"""The simulator's benchmark runs (small sizes) and its SimPy model gives the very same makespans."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_the_benchmark_runs_and_agrees_with_simpy() -> None:
    pytest.importorskip("simpy")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_sim.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("layered")]
    assert len(rows) == 5
    assert all(" yes " in row for row in rows[:2]), done.stdout  # same makespan as SimPy
