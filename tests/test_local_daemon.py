"""``daemon: true`` templates on the local backend: a daemon is ready once its readinessProbe passes
(httpGet, exec), its dependents reach it at ``{{tasks.X.ip}}`` / ``{{steps.X.ip}}`` (127.0.0.1), and
its process is gone once the dag/steps that started it has ended."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.test_local_backend import write
from tests.test_local_resume import gone, processes_with, start, wait_for_file

DAEMON_HTTP = Path(__file__).parent / "data" / "daemon_http.yaml"


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (the daemons of one test listen there)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_daemons_serve_their_dependents_and_are_gone_after_the_run(kjob: Any) -> None:
    port, db_port = free_ports(2)
    done = kjob("run", str(DAEMON_HTTP), "-p", f"port={port}", "-p", f"db-port={db_port}")
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["client"]["outputs"]["result"] == "hello-from-daemon"
    assert nodes["more.ask"]["outputs"]["result"] == "hello-from-db"
    assert nodes["server"]["phase"] == nodes["more.db"]["phase"] == "Succeeded"
    assert not listening(port) and not listening(db_port)


BROKEN = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: server, template: server}
      - name: client
        depends: server
        template: client
        arguments: {parameters: [{name: ip, value: "{{tasks.server.ip}}"}]}
  - name: server
    daemon: true
    retryStrategy: {limit: 1}
    container:
      image: alpine
      command: [sh, -c, 'echo started; exit 3']
      readinessProbe: {exec: {command: ['false']}, periodSeconds: 1}
  - name: client
    inputs: {parameters: [{name: ip}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.ip}}"]}
"""


def test_a_daemon_that_exits_before_it_is_ready_is_retried_then_fails(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, BROKEN))
    assert done.code == 1, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["server"]["phase"] == "Failed"
    assert len(nodes["server"]["attempts"]) == 2
    assert nodes["client"]["phase"] == "Omitted"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("    daemon: true\n", "only a container or script template can be a daemon"),
        ("      readinessProbe: {periodSeconds: 1}\n", "readinessProbe of template 'server' has no handler"),
    ],
)
def test_misplaced_daemon_and_probe_without_handler_are_located_errors(
    kjob: Any, tmp_path: Path, change: str, message: str
) -> None:
    body = BROKEN.replace("      readinessProbe: {exec: {command: ['false']}, periodSeconds: 1}\n", "")
    if "daemon" in change:
        body = body.replace("  - name: main\n", "  - name: main\n" + change)
    else:
        body = body.replace(
            "      command: [sh, -c, 'echo started; exit 3']\n", "      command: [sh]\n" + change
        )
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "wf.yaml:" in done.stderr + done.stdout and message in done.stderr + done.stdout


def test_ip_of_a_task_that_is_not_a_daemon_is_an_error_as_in_argo(kjob: Any, tmp_path: Path) -> None:
    body = BROKEN.replace("    daemon: true\n", "")
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "'{{tasks.server.ip}}' is known only for a daemon, and template 'server' is not one" in (
        done.stdout + done.stderr
    )


RESUMED = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: inner, template: inner}
    - - {name: later, template: wait, arguments: {parameters: [{name: file, value: later}]}}
  - name: inner
    dag:
      tasks:
      - {name: server, template: server}
      - {name: client, depends: server, template: wait, arguments: {parameters: [{name: file, value: client}]}}
  - name: server
    daemon: true
    container: {image: alpine, command: [sh, -c, 'while :; do sleep 0.1; done', '%(marker)s']}
  - name: wait
    inputs: {parameters: [{name: file}]}
    container:
      image: alpine
      command: [sh, -c, 'touch %(gate)s/started-$0; until [ -e %(gate)s/go-$0 ]; do sleep 0.05; done',
                "{{inputs.parameters.file}}"]
"""


@pytest.mark.slow
def test_a_resumed_run_finds_its_daemon_running_or_replays_its_stop(kjob: Any, kjob_home: Path) -> None:
    """kjob dies while the daemon runs: `kjob resume` finds it still ready (not started again) and
    stops it when its dag ends; kjob dies again after that: the daemon's stop is replayed, not undone."""
    marker = f"kjob-daemon-{uuid.uuid4().hex[:8]}"
    gate = Path("/var/tmp") / f"kjob-gate-{uuid.uuid4().hex[:8]}"
    gate.mkdir()
    try:
        path = kjob_home / "wf.yaml"
        path.write_text(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: dr}\nspec:\n"
            + RESUMED % {"marker": marker, "gate": gate}
        )
        first = start(kjob_home, "run", str(path))
        wait_for_file(gate / "started-client")
        first.kill()
        first.wait()
        assert processes_with(marker)  # the daemon outlives its kjob, under the node agent
        second = start(kjob_home, "resume", "dr")
        (gate / "go-client").touch()
        wait_for_file(gate / "started-later")  # the client went on: its dag ended, the daemon stopped
        assert gone(marker)
        second.kill()
        second.wait()
        (gate / "go-later").touch()
        done = kjob("resume", "dr")
        assert done.code == 0, done.stdout + done.stderr
        nodes = done.nodes()
        assert nodes["inner.server"]["phase"] == "Succeeded"
        assert len(nodes["inner.server"]["attempts"]) == 1
        assert not processes_with(marker)
    finally:
        for name in ("go-client", "go-later"):
            (gate / name).touch()
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(gate, ignore_errors=True)


NEVER_READY = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: server, template: server}
  - name: server
    daemon: true
    activeDeadlineSeconds: 2
    container:
      image: alpine
      command: [sleep, "60"]
      readinessProbe: {exec: {command: [cat, /tmp/never]}, periodSeconds: 1, failureThreshold: 1}
"""


def test_a_daemon_whose_probe_keeps_failing_says_so_and_stays_not_ready(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, NEVER_READY))
    assert done.code == 1
    assert "server Running: waiting: readinessProbe failed 1 times: exec probe exited 1" in done.stdout
    assert done.nodes()["server"]["message"] == "exceeded its deadline of 2s"
