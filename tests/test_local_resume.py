"""A local run outlives its kjob and ends with its tasks: the node agent, ``kjob resume`` on a local
run, what a task leaves behind (background and ``setsid`` children, a held stdout), and interrupts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import REPO, kjob_env


def workflow(tmp_path: Path, command: str, *, name: str = "lr", retries: int = 0) -> str:
    retry = f"    retryStrategy: {{limit: {retries}, retryPolicy: Always}}\n" if retries else ""
    path = tmp_path / "wf.yaml"
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"
        f"metadata: {{name: {name}}}\nspec:\n  entrypoint: t\n  templates:\n  - name: t\n{retry}"
        f"    container:\n      image: alpine\n      command: [sh, -c, {json.dumps(command)}]\n"
    )
    return str(path)


def processes_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose command line holds ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except (OSError, IndexError):
            continue
    return found


def gone(marker: str, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not processes_with(marker)


def wait_for_process(marker: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not processes_with(marker):
        assert time.monotonic() < deadline, f"no process with {marker} appeared"
        time.sleep(0.05)


def start(kjob_home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kjob", *args],
        env={**kjob_env(kjob_home), **(env or {})},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_file(path: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def record(kjob_home: Path, run: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((kjob_home / "runs" / run / "run.json").read_text())
    return data


def test_a_background_child_holding_stdout_does_not_keep_the_task_running(kjob: Any, tmp_path: Path) -> None:
    marker = f"kjob-held-{uuid.uuid4().hex}"
    done = kjob("run", workflow(tmp_path, f"sh -c 'sleep 300; : {marker}' & echo finished"), timeout=60)
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["t"]["outputs"]["result"] == "finished"
    assert gone(marker), "the background child outlived its task"


def test_setsid_children_end_with_their_task_as_in_a_container(kjob: Any, tmp_path: Path) -> None:
    """The next task finds no process of the one before: it ended with its task, not with the run."""
    prefix, suffix = "kjob-setsid-", uuid.uuid4().hex
    spawn = f"setsid sh -c 'sleep 300; : {prefix}{suffix}' > /dev/null 2>&1 & sleep 0.2; echo spawned"
    look = (  # the marker is put together at run time: no command line of this task holds it
        f'm={prefix}; m="${{m}}{suffix}"; sleep 0.3; for p in /proc/[0-9]*; do '
        'c=$(tr "\\0" " " < "$p/cmdline" 2>/dev/null); '
        'case "$c" in *"$m"*) echo "still running: $p $c"; exit 1;; esac; done'
    )
    path = tmp_path / "wf.yaml"
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: lr}\nspec:\n  entrypoint: main\n"
        "  templates:\n  - name: main\n    dag:\n      tasks:\n      - {name: spawn, template: spawn}\n"
        "      - {name: look, template: look, dependencies: [spawn]}\n"
        f"  - name: spawn\n    container: {{image: alpine, command: [sh, -c, {json.dumps(spawn)}]}}\n"
        f"  - name: look\n    container: {{image: alpine, command: [sh, -c, {json.dumps(look)}]}}\n"
    )
    done = kjob("run", str(path), timeout=60)
    assert done.code == 0, done.stdout + done.stderr
    assert gone(prefix + suffix)


def test_ctrl_c_ends_setsid_children_too(kjob_home: Path, tmp_path: Path) -> None:
    marker = f"kjob-ctrlc-{uuid.uuid4().hex}"
    command = f"setsid sh -c 'sleep 300; : {marker}' > /dev/null 2>&1 & sleep 300"
    proc = start(kjob_home, "run", workflow(tmp_path, command))
    wait_for_process(marker)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert gone(marker)
    assert record(kjob_home, "lr")["phase"] == "Failed"


def test_a_second_ctrl_c_kills_at_once_and_the_record_is_closed(kjob_home: Path, tmp_path: Path) -> None:
    marker = f"kjob-stubborn-{uuid.uuid4().hex}"
    command = f"trap '' TERM; sh -c 'trap \"\" TERM; sleep 300; : {marker}'"
    # a grace period longer than the test: only the second Ctrl-C can end the task, however busy the
    # machine (with the default 3 s, a loaded machine could let the grace run out first)
    proc = start(kjob_home, "run", workflow(tmp_path, command), env={"KJOB_STOP_GRACE": "120"})
    wait_for_process(marker)
    # Ctrl-C, then again while kjob waits out the task's grace period (it ignores SIGTERM). Two
    # signals that arrive before Python runs the handler count as one, so on a loaded machine a
    # single "again" could be swallowed: press it until kjob exits, as an impatient user does.
    for _ in range(40):
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=0.3)
            break
        except subprocess.TimeoutExpired:
            continue
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert gone(marker, within=5)
    data = record(kjob_home, "lr")
    assert data["phase"] == "Error"
    assert data["message"].startswith("interrupted again while stopping")
    assert {n["id"]: n["phase"] for n in data["nodes"]}["t"] != "Running"


def test_resume_of_a_killed_local_run_adopts_the_running_task(kjob_home: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    proc = start(kjob_home, "run", workflow(tmp_path, f"echo x >> {counter}; sleep 2; echo adopted"))
    wait_for_file(counter)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert record(kjob_home, "lr")["phase"] == "Running"  # nothing could close it
    logs = subprocess.run(
        [sys.executable, "-m", "kjob", "logs", "lr"],
        env=kjob_env(kjob_home),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert "no kjob is watching it (was it killed?): `kjob resume lr` finishes it" in logs.stderr
    resumed = start(kjob_home, "resume", "lr")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, out + err
    data = record(kjob_home, "lr")
    assert data["phase"] == "Succeeded"
    assert len(data["resumed"]) == 1
    node = {n["id"]: n for n in data["nodes"]}["t"]
    assert node["outputs"]["result"] == "adopted"
    assert counter.read_text() == "x\n"  # ran once


def test_resume_while_the_run_is_still_watched_is_refused(kjob_home: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    proc = start(kjob_home, "run", workflow(tmp_path, f"echo x >> {counter}; sleep 300"))
    try:
        wait_for_file(counter)
        logs = start(kjob_home, "logs", "lr")
        assert "no kjob is watching" not in logs.communicate(timeout=60)[1]
        resumed = start(kjob_home, "resume", "lr")
        _, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 2
        assert err.startswith("error: run lr is being watched by another kjob on this machine")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_a_task_whose_agent_died_too_is_lost_said_and_retried(kjob_home: Path, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    marker = f"kjob-lost-{uuid.uuid4().hex}"
    command = f"echo x >> {counter}; [ $(wc -l < {counter}) -ge 2 ] || sh -c 'sleep 300; : {marker}'"
    proc = start(kjob_home, "run", workflow(tmp_path, command, retries=1))
    wait_for_file(counter)
    agents = [
        int(p.name[len("agent-") : -len(".json")]) for p in (kjob_home / "runs/lr/node").glob("agent-*")
    ]
    for pid in [proc.pid, *agents]:
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    resumed = start(kjob_home, "resume", "lr")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, out + err
    assert gone(marker), "the lost attempt's process was left running"
    node = {n["id"]: n for n in record(kjob_home, "lr")["nodes"]}["t"]
    first, second = node["attempts"]
    assert (first["phase"], second["phase"]) == ("Error", "Succeeded")
    assert first["message"].startswith("lost: the node agent that ran this attempt ended before it did")


def test_working_directories_go_once_outputs_are_kept_and_stay_with_keep_workdirs(
    kjob: Any, tmp_path: Path
) -> None:
    empty = kjob("run", workflow(tmp_path, "true"))
    messy = kjob("run", workflow(tmp_path, "mkdir -p a/b && echo x > a/b/f && echo y > /tmp/g", name="lr2"))
    kept = kjob("run", workflow(tmp_path, "echo x > f", name="lr3"), "--keep-workdirs")
    for done in (empty, messy, kept):
        assert done.code == 0, done.stdout + done.stderr
    assert not list((empty.home / "runs" / "lr" / "work").iterdir())
    assert not list((messy.home / "runs" / "lr2" / "work").iterdir())
    assert [p.name for p in (kept.home / "runs" / "lr3" / "work").glob("*/f")] == ["f"]
