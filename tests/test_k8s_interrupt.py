"""Ctrl-C on a Kubernetes run, against the API emulator: asked on a terminal whether to stop the
running Jobs or leave them for ``kjob resume``; ``--detach-on-interrupt`` leaves them without asking;
with no terminal to ask on, they are stopped (deleted)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.testing.emulator import Emulator, host_process
from tests.conftest import REPO, kjob_env

SLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: slow}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: nap, template: nap}
      - {name: after, template: quick, dependencies: [nap]}
  - name: nap
    container: {image: alpine, command: [sh, -c, "sleep 3; echo rested"]}
  - name: quick
    container: {image: alpine, command: [echo, done]}
"""


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(host_process()) as emu:
        yield emu


def start(emu: Emulator, tmp_path: Path, home: Path, *extra: str, **popen: Any) -> subprocess.Popen[bytes]:
    wf = tmp_path / "slow.yaml"
    wf.write_text(SLOW)
    kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    argv = [
        sys.executable,
        "-m",
        "kjob",
        "run",
        str(wf),
        "--backend",
        "kubernetes",
        "--kubeconfig",
        str(kubeconfig),
    ]
    proc = subprocess.Popen([*argv, *extra], env=kjob_env(home), cwd=REPO, **popen)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not emu.objects("pods", "default"):
        time.sleep(0.05)
    assert emu.objects("pods", "default"), "the first task never started"
    return proc


def nap_job(emu: Emulator) -> dict[str, Any] | None:
    jobs = [j for j in emu.objects("jobs", "default") if j["metadata"]["labels"]["kjob.dev/task"] == "nap"]
    return jobs[0] if jobs else None


def test_detach_on_interrupt_leaves_the_job_running_and_resume_finishes_the_run(
    emulator: Emulator, tmp_path: Path, kjob_home: Path, kjob: Any
) -> None:
    proc = start(
        emulator, tmp_path, kjob_home, "--detach-on-interrupt", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out.decode() + err.decode()
    assert "kjob resume slow" in err.decode()
    job = nap_job(emulator)
    assert job is not None and not emulator.audit_counts(verb="delete", resource="jobs")

    done = kjob("resume", "slow", "--kubeconfig", str(tmp_path / "kubeconfig"))
    assert done.code == 0, done.stdout + done.stderr
    assert {n["id"]: n["phase"] for n in done.nodes().values()} == {
        "main": "Succeeded",
        "nap": "Succeeded",
        "after": "Succeeded",
    }
    assert set(emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False).values()) == {1}


def test_without_a_terminal_an_interrupt_stops_the_running_jobs(
    emulator: Emulator, tmp_path: Path, kjob_home: Path
) -> None:
    proc = start(
        emulator,
        tmp_path,
        kjob_home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out.decode() + err.decode()
    assert emulator.audit_counts(verb="delete", resource="jobs", code=200)
    emulator.wait_for(lambda: nap_job(emulator) is None)


def read_until(fd: int, needle: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


@pytest.mark.parametrize(("answer", "deleted"), [(b"n\n", False), (b"y\n", True)])
def test_on_a_terminal_ctrl_c_asks_whether_to_stop(
    emulator: Emulator, tmp_path: Path, kjob_home: Path, answer: bytes, deleted: bool
) -> None:
    leader, follower = pty.openpty()
    proc = start(emulator, tmp_path, kjob_home, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    try:
        proc.send_signal(signal.SIGINT)
        shown = read_until(leader, b"Stop the running tasks of slow?")
        assert b"Stop the running tasks of slow?" in shown, shown.decode(errors="replace")
        os.write(leader, answer)
        rest = read_until(leader, b"The record is in" if deleted else b"kjob resume slow")
        assert proc.wait(timeout=30) == 130
    finally:
        os.close(leader)
    assert bool(emulator.audit_counts(verb="delete", resource="jobs", code=200)) is deleted, rest.decode(
        errors="replace"
    )
