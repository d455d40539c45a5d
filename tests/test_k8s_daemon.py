"""``daemon: true`` on the Kubernetes backend: a daemon's Job is ready once its pod is Ready (the
kubelet runs its readinessProbe, passed through on the container), its dependents reach it at the pod's
IP, and kjob deletes its Job when the dag/steps that started it ends.  On the API emulator, and on the
real cluster when ``KJOB_TEST_KUBECONFIG`` is set (realk8s runs pods as processes of this machine at
127.0.0.1, and reports a running container Ready without running its probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.render import names
from kjob.render.probes import with_numeric_ports
from tests.k8s_runs import Runner, logs
from tests.realk8s import namespace
from tests.test_local_daemon import DAEMON_HTTP, free_ports, listening

DAEMONS = ("server", "more-db")


def ports_args() -> tuple[list[str], list[int]]:
    port, db_port = free_ports(2)
    return ["-p", f"port={port}", "-p", f"db-port={db_port}"], [port, db_port]


def served(nodes: dict[str, dict[str, Any]], printed: str) -> None:
    """Both daemons served their clients (what the clients printed, from their pods' logs)."""
    assert "hello-from-daemon" in printed and "hello-from-db" in printed, printed
    assert nodes["server"]["phase"] == nodes["more.db"]["phase"] == "Succeeded"


def test_daemons_on_the_emulator_serve_and_their_jobs_are_deleted(tmp_path: Path) -> None:
    args, ports = ports_args()
    run = Runner(tmp_path).kubernetes(DAEMON_HTTP, *args)
    assert run.done.code == 0, run.done.stdout + run.done.stderr
    served(run.done.nodes(), "\n".join(run.pod_logs.values()))
    left = [j["metadata"]["name"] for j in run.emulator.objects("jobs", "default")]
    assert not [name for name in left if any(f"-{d}-" in name for d in DAEMONS)], left
    created = run.jobs_created()
    assert sum(1 for (_, _, name) in created if any(f"-{d}-" in name for d in DAEMONS)) == 2
    assert not any(listening(p) for p in ports)


def test_a_probe_port_rendered_from_a_reference_is_a_number_again() -> None:
    container = {"readinessProbe": {"httpGet": {"path": "/", "port": "8080"}}, "livenessProbe": {}}
    assert with_numeric_ports(container) == {"readinessProbe": {"httpGet": {"path": "/", "port": 8080}}}
    assert with_numeric_ports({"readinessProbe": {"tcpSocket": {"port": "http"}}}) == {}


@pytest.mark.real_cluster
def test_daemons_on_the_real_cluster_serve_and_their_jobs_are_deleted(tmp_path: Path) -> None:
    args, ports = ports_args()
    with namespace("kjob-daemon") as ns:
        done = Runner(tmp_path).on_cluster(ns.kubeconfig, ns.name, DAEMON_HTTP, *args)
        assert done.code == 0, done.stdout + done.stderr
        served(done.nodes(), logs(done, kubeconfig=ns.kubeconfig).stdout)
        left = [j["metadata"]["name"] for j in ns.jobs(names.run_selector(done.run_id()))]
        assert len(left) == 2 and not [n for n in left if any(f"-{d}-" in n for d in DAEMONS)], left
        ns.wait("the daemons' pods to go", lambda: not any(listening(p) for p in ports))


def test_a_waves_plan_refuses_a_daemon_at_its_template(kjob: Any, tmp_path: Path) -> None:
    done = kjob("plan", str(DAEMON_HTTP), "-o", str(tmp_path / "plan"))
    assert done.code == 2
    assert "daemon_http.yaml:28:5: error: template 'http-server' is a daemon" in done.stderr + done.stdout


def test_a_dry_run_shows_the_daemon_job_with_its_probe_and_its_ip_as_a_run_time_value(kjob: Any) -> None:
    done = kjob("run", "--dry-run", str(DAEMON_HTTP))
    assert done.code == 0, done.stdout + done.stderr
    assert "http://<run-time: server.ip>:18765/index.html" in done.stdout
    assert "port: 18765" in done.stdout  # the readinessProbe's port, a number
