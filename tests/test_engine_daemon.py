"""``daemon: true`` templates in virtual time: a daemon's node succeeds once it is ready, its dependents
read ``tasks.X.ip``, and it is stopped when the dag/steps that started it ends (Argo's
killDaemonedChildren)."""

from __future__ import annotations

from kjob.backends.virtual import VIRTUAL_IP, Outcome, VirtualBackend
from kjob.engine.engine import Engine, EngineOptions, RunResult
from tests.test_engine import phases, run, starts, workflow

SERVER = """\
- name: server
  daemon: true
  container: {image: nginx, command: [serve]}
- name: client
  inputs: {parameters: [{name: ip}]}
  container: {image: alpine, command: [fetch, "{{inputs.parameters.ip}}"]}
"""

DAG = """\
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
"""

FOREVER = Outcome(duration=1000, ready_after=2)


def ends(backend: VirtualBackend, result: RunResult) -> dict[str, float]:
    """When each node's last attempt ended, as the backend's clock saw it."""
    return {n.id: n.attempts[-1].finished_at or -1 for n in result.nodes if n.attempts}


def test_a_daemon_succeeds_when_ready_and_is_stopped_when_its_dag_ends() -> None:
    result, backend = run(workflow(DAG, SERVER), {"server": FOREVER, "client": Outcome(duration=3)})
    assert starts(backend) == [(0.0, "server"), (2.0, "client")]
    assert backend.submitted[1][1].container.command == ("fetch", VIRTUAL_IP)
    assert phases(result) == {"main": "Succeeded", "server": "Succeeded", "client": "Succeeded"}
    assert ends(backend, result)["server"] == 5.0  # stopped as the DAG ended, not at 1000
    assert result.phase.value == "Succeeded"
    server = {n.id: n for n in result.nodes}["server"]
    assert server.ip == VIRTUAL_IP and not server.daemoned


def test_restarts_before_ready_count_as_retries() -> None:
    retried = SERVER.replace("daemon: true", "daemon: true\n  retryStrategy: {limit: 2}")
    outcomes = {"server": [Outcome(duration=1, exit_code=1), FOREVER], "client": Outcome()}
    result, backend = run(workflow(DAG, retried), outcomes)
    assert starts(backend) == [(0.0, "server"), (1.0, "server"), (3.0, "client")]
    assert phases(result)["server"] == "Succeeded"


def test_a_daemon_that_exits_before_it_is_ready_fails_as_in_argo() -> None:
    result, _ = run(workflow(DAG, SERVER), {"server": Outcome(duration=1, ready_after=None)})
    assert phases(result)["server"] == "Failed"
    assert "before it was ready" in {n.id: n for n in result.nodes}["server"].message
    assert phases(result)["client"] == "Omitted"


def test_a_daemon_that_dies_while_its_dag_runs_fails_its_node() -> None:
    """The daemon is a leaf here, so its failure fails the DAG (Argo assesses the leaves)."""
    text = DAG.replace("      depends: server\n", "").replace("{{tasks.server.ip}}", "x")
    outcomes: dict[str, object] = {
        "server": Outcome(duration=4, ready_after=1),
        "client": Outcome(duration=10),
    }
    result, _ = run(workflow(text, SERVER), outcomes)
    server = {n.id: n for n in result.nodes}["server"]
    assert server.phase.value == "Failed"
    assert server.message.startswith("daemon ended before its dag did")
    assert result.phase.value == "Failed"


def test_steps_stop_their_daemon_when_the_steps_end_and_before_the_exit_handler() -> None:
    steps = """\
    entrypoint: main
    onExit: bye
    templates:
    - name: main
      steps:
      - - {name: server, template: server}
      - - name: client
          template: client
          arguments: {parameters: [{name: ip, value: "{{steps.server.ip}}"}]}
    - name: bye
      container: {image: alpine, command: [echo, bye]}
    """
    outcomes: dict[str, object] = {
        "server": FOREVER,
        "client": Outcome(duration=3),
        "bye": Outcome(duration=1),
    }
    result, backend = run(workflow(steps, SERVER), outcomes)
    assert starts(backend) == [(0.0, "server"), (2.0, "client"), (5.0, "onExit")]
    assert ends(backend, result)["server"] == 5.0
    assert result.phase.value == "Succeeded"


def test_a_stopped_run_stops_its_daemons() -> None:
    wf = workflow(DAG, SERVER)
    backend = VirtualBackend(lambda spec: FOREVER if spec.task_name == "server" else Outcome(duration=50))
    asked = iter([None, None, None, "stop"])
    engine = Engine(wf, backend, run_id="wf", options=EngineOptions(control=lambda: next(asked, "stop")))
    result = engine.run()
    assert result.phase.value == "Failed"
    assert max(ends(backend, result).values()) < 1000


def test_depends_reads_a_ready_daemon_as_daemoned_as_argo_does() -> None:
    """While a daemon runs, ``server.Daemoned`` holds and ``server.Succeeded`` does not (Argo's node
    is Running and daemoned); a bare ``server`` means either."""
    text = DAG.replace("depends: server", "depends: server.Daemoned") + (
        "    - {name: strict, depends: server.Succeeded, template: client,"
        " arguments: {parameters: [{name: ip, value: x}]}}\n"
    )
    result, _ = run(workflow(text, SERVER), {"server": FOREVER})
    got = phases(result)
    assert got["client"] == "Succeeded"
    assert got["strict"] == "Omitted"
