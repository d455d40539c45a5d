"""kjob's Kubernetes backend through the CLI, as a user runs it, on the emulator and on the real cluster.

Each test runs ``kjob run`` against the ``cluster`` fixture's namespace (see ``conftest.py``), then
reads what it created with the official client.  What these pin down came from running kjob on a real
control plane: Indexed Jobs found by asking the server (not by its version), outcomes read before any
TTL can delete them, pod fields rendered like every other field, the image's entrypoint kept, output
values that survive any bytes, a Job deleted under a run, and a cluster that refuses to let kjob
watch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, REPO, Completed, kjob_env
from tests.contract.conftest import KUBECONFIG_ENV, Cluster, restricted_kubeconfig

Kjob = Callable[..., Completed]


@pytest.fixture
def kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    if cluster.emulator is not None:
        return cluster.emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=cluster.namespace)
    return Path(os.environ[KUBECONFIG_ENV])


@pytest.fixture
def on_cluster(kjob: Any, cluster: Cluster, kubeconfig: Path) -> Kjob:
    """``on_cluster("run", FILE, ...)``: the kjob CLI pointed at the test's namespace."""

    def call(verb: str, *args: str, timeout: float = 240) -> Completed:
        done: Completed = kjob(
            verb, *args, "--kubeconfig", str(kubeconfig), "-n", cluster.namespace, timeout=timeout
        )
        return done

    return call


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def jobs_of(cluster: Cluster, run_id: str) -> list[Any]:
    listed = cluster.batch.list_namespaced_job(cluster.namespace, label_selector=f"kjob.dev/run={run_id}")
    return sorted(listed.items, key=lambda j: j.metadata.name)


def explain(done: Completed) -> str:
    return f"exit {done.code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


# ------------------------------------------------------------------------------ Indexed Jobs
def test_a_fan_out_is_one_indexed_job_where_the_server_keeps_backoff_limit_per_index(
    cluster: Cluster, on_cluster: Kjob
) -> None:
    """The real cluster is 1.28 with the JobBackoffLimitPerIndex gate on: kjob asks the server (a
    dry-run create) instead of refusing every server below 1.29."""
    done = on_cluster("run", str(EXAMPLES / "05-parallel-withparam.yaml"))
    assert done.code == 0, explain(done)
    assert "backoffLimitPerIndex" not in done.stderr
    indexed = [j for j in jobs_of(cluster, done.run_id()) if j.spec.completion_mode == "Indexed"]
    assert len(indexed) == 1
    (job,) = indexed
    assert job.spec.completions == 10 and job.spec.backoff_limit_per_index == 0
    assert job.status.succeeded == 10
    assert job.status.completed_indexes == "0-9"
    nodes = done.nodes()
    assert [nodes[f"process-partition({i}:partition-{i})"]["phase"] for i in range(10)] == ["Succeeded"] * 10
    assert not [j for j in jobs_of(cluster, done.run_id()) if j.metadata.name.startswith("kjob-probe")]


# ------------------------------------------------------------------------------------- TTL
TTL_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ttl-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flaky, template: flaky}
      - {name: answer, template: answer}
      - {name: use, dependencies: [answer], template: use, arguments: {parameters: [{name: a, value: "{{tasks.answer.outputs.parameters.a}}"}]}}
  - name: flaky
    retryStrategy: {limit: 2, retryPolicy: OnFailure}
    container: {image: alpine, command: [sh, -c, 'echo "try {{retries}}"; [ {{retries}} -ge 1 ] || exit 3']}
  - name: answer
    container: {image: alpine, command: [sh, -c, "echo 42 > /tmp/a"]}
    outputs: {parameters: [{name: a, valueFrom: {path: /tmp/a}}]}
  - name: use
    inputs: {parameters: [{name: a}]}
    container: {image: alpine, command: [echo, "got {{inputs.parameters.a}}"]}
"""


def test_ttl_zero_never_loses_an_outcome(cluster: Cluster, on_cluster: Kjob, tmp_path: Path) -> None:
    """With ``--ttl-seconds-after-finished 0`` a failed attempt's exit code is still read (so the
    OnFailure retry happens) and outputs still reach their readers; then every Job goes."""
    done = on_cluster(
        "run", str(write(tmp_path, "ttl.yaml", TTL_WORKFLOW)), "--ttl-seconds-after-finished", "0"
    )
    assert done.code == 0, explain(done)
    nodes = done.nodes()
    flaky = nodes["flaky"]
    assert [(a["phase"], a["exit_code"]) for a in flaky["attempts"]] == [("Failed", 3), ("Succeeded", 0)]
    assert nodes["answer"]["outputs"]["parameters"] == {"a": "42"}
    assert nodes["use"]["phase"] == "Succeeded"
    cluster.wait(lambda: not jobs_of(cluster, done.run_id()), "the TTL controller to delete every Job")


# -------------------------------------------------------------------------------- pod fields
POD_FIELDS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: pod-fields-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: os, value: linux}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: t, template: t, arguments: {parameters: [{name: team, value: data}, {name: cpu, value: 100m}]}}
  - name: t
    inputs: {parameters: [{name: team}, {name: cpu}]}
    nodeSelector: {kubernetes.io/os: "{{workflow.parameters.os}}"}
    metadata:
      labels: {team: "{{inputs.parameters.team}}"}
      annotations: {owner: "team-{{inputs.parameters.team}}"}
    tolerations: [{key: "{{inputs.parameters.team}}", operator: Exists}]
    container:
      image: alpine
      command: [echo, hi]
      resources: {requests: {cpu: "{{inputs.parameters.cpu}}"}}
"""


def test_templated_pod_fields_are_rendered(cluster: Cluster, on_cluster: Kjob, tmp_path: Path) -> None:
    done = on_cluster("run", str(write(tmp_path, "pod-fields.yaml", POD_FIELDS)))
    assert done.code == 0, explain(done)
    (job,) = jobs_of(cluster, done.run_id())
    template = job.spec.template
    assert template.spec.node_selector == {"kubernetes.io/os": "linux"}
    assert template.metadata.labels["team"] == "data"
    assert template.metadata.annotations["owner"] == "team-data"
    assert [(t.key, t.operator) for t in template.spec.tolerations] == [("data", "Exists")]
    assert template.spec.containers[0].resources.requests == {"cpu": "100m"}


# -------------------------------------------------------------------------------- entrypoint
ARGS_ONLY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: args-only-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: plain, template: plain}
      - {name: one, template: one}
  - name: plain
    container: {image: alpine, args: [echo, hello from the entrypoint]}
  - name: one
    container: {image: alpine, args: [sh, -c, "echo 7 > /tmp/n"]}
    outputs: {parameters: [{name: n, valueFrom: {path: /tmp/n}}]}
"""


def test_a_container_with_args_and_no_command_keeps_its_image_entrypoint(
    cluster: Cluster, on_cluster: Kjob, tmp_path: Path
) -> None:
    """The Jobs set ``args`` only (a real runtime starts the image's ENTRYPOINT with them; the fake
    kubelet, which has no images, runs them as the command)."""
    done = on_cluster("run", str(write(tmp_path, "args-only.yaml", ARGS_ONLY)))
    assert done.code == 0, explain(done)
    containers = {
        j.metadata.labels["kjob.dev/task"]: j.spec.template.spec.containers[0]
        for j in jobs_of(cluster, done.run_id())
    }
    assert containers["plain"].command is None
    assert containers["plain"].args == ["echo", "hello from the entrypoint"]
    assert containers["one"].command is None and containers["one"].termination_message_path == "/tmp/n"
    assert done.nodes()["one"]["outputs"]["parameters"] == {"n": "7"}
    assert on_cluster("logs", done.run_id(), "plain").stdout == "hello from the entrypoint\n"


def test_args_only_with_several_outputs_is_refused_before_anything_is_created(
    cluster: Cluster, on_cluster: Kjob, tmp_path: Path
) -> None:
    text = ARGS_ONLY.replace(
        "{parameters: [{name: n, valueFrom: {path: /tmp/n}}]}",
        "{parameters: [{name: n, valueFrom: {path: /tmp/n}}, {name: m, valueFrom: {path: /tmp/m}}]}",
    )
    path = write(tmp_path, "two-outputs.yaml", text)
    before = run_objects(cluster)
    done = on_cluster("run", str(path))
    assert done.code == 2, explain(done)
    assert done.stderr.startswith(
        f"{path}:15:5: error: template 'one' has no command: on Kubernetes kjob runs a wrapper around "
        "the command to collect its 2 output parameters"
    ), done.stderr
    assert "Traceback" not in done.stderr
    assert run_objects(cluster) == before


def run_objects(cluster: Cluster) -> list[str]:
    listed = cluster.core.list_namespaced_config_map(cluster.namespace, label_selector="kjob.dev/role=run")
    return sorted(c.metadata.name for c in listed.items)


# ------------------------------------------------------------------------------ output bytes
NASTY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: nasty-outputs-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: write, template: write}
  - name: write
    container:
      image: alpine
      command: [sh, -c]
      args:
      - |
        printf 'a\\001b\\033[0m' > /tmp/control
        printf '%s' "q\\"uo'te {\\"json\\": [1]}" > /tmp/quotes
        printf 'tab\\there\\r\\nnext line\\nback\\\\slash %%41 %%' > /tmp/lines
        printf 'caf\\303\\251 \\342\\202\\254 bad:\\377\\376 end' > /tmp/bytes
    outputs:
      parameters:
      - {name: control, valueFrom: {path: /tmp/control}}
      - {name: quotes, valueFrom: {path: /tmp/quotes}}
      - {name: lines, valueFrom: {path: /tmp/lines}}
      - {name: bytes, valueFrom: {path: /tmp/bytes}}
"""

NASTY_VALUES = {
    "control": "a\x01b\x1b[0m",
    "quotes": 'q"uo\'te {"json": [1]}',
    "lines": "tab\there\r\nnext line\nback\\slash %41 %",
    "bytes": "café € bad:\ufffd\ufffd end",  # invalid UTF-8 reads as U+FFFD, as on the local backend
}


def test_output_values_with_any_bytes_come_back_exactly(
    cluster: Cluster, on_cluster: Kjob, kjob: Any, tmp_path: Path
) -> None:
    path = write(tmp_path, "nasty.yaml", NASTY)
    done = on_cluster("run", str(path))
    assert done.code == 0, explain(done)
    assert done.nodes()["write"]["outputs"]["parameters"] == NASTY_VALUES
    local = kjob("run", str(path), "--backend", "local")
    assert local.code == 0, explain(local)
    assert local.nodes()["write"]["outputs"]["parameters"] == NASTY_VALUES


# -------------------------------------------------------------------------- deleted under us
def start_kjob(home: Path, *args: str) -> subprocess.Popen[str]:
    """``kjob ARGS`` in the background, as a user starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "kjob", *args],
        env=kjob_env(home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SLEEPER = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: sleeper-RUN}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: nap, template: nap}
  - name: nap
    container: {image: alpine, command: [sleep, "600"]}
"""


def test_a_job_deleted_under_a_run_ends_its_attempt_instead_of_hanging(
    cluster: Cluster, kjob_home: Path, kubeconfig: Path, tmp_path: Path
) -> None:
    run_id = f"sleeper-{cluster.kind}"
    path = write(tmp_path, "sleeper.yaml", SLEEPER.replace("RUN", cluster.kind))
    proc = start_kjob(kjob_home, "run", str(path), "--kubeconfig", str(kubeconfig), "-n", cluster.namespace)
    try:
        job = cluster.wait(lambda: jobs_of(cluster, run_id), "the run's Job")[0]
        cluster.wait(lambda: cluster.pods(job.metadata.name), "its pod")
        cluster.batch.delete_namespaced_job(
            job.metadata.name, cluster.namespace, propagation_policy="Background"
        )
        stdout, stderr = proc.communicate(timeout=90)  # the task would sleep 600 s
    finally:
        proc.kill()
    assert proc.returncode == 1, stdout + stderr
    assert f"its Job {job.metadata.name} was deleted before it finished" in stdout


# ---------------------------------------------------------------------------------- RBAC
def rules_of(permissions: list[Any]) -> list[dict[str, list[str]]]:
    """kjob's permission table as RBAC rules, one per (group, resource)."""
    by_resource: dict[tuple[str, str], list[str]] = {}
    for p in permissions:
        by_resource.setdefault((p.group, p.resource), []).append(p.verb)
    return [
        {"apiGroups": [group], "resources": [resource], "verbs": verbs}
        for (group, resource), verbs in by_resource.items()
    ]


def test_the_verbs_in_kjobs_table_are_all_a_run_needs(cluster: Cluster, kjob: Any, tmp_path: Path) -> None:
    """An identity allowed exactly the table's verbs (with a TTL) runs a fan-out with outputs and
    reads its logs: the table is complete, so a Role made from it is enough."""
    from kjob.backends.kubernetes import permissions

    rules = rules_of(permissions.needed({permissions.Need.TTL}))
    restricted = restricted_kubeconfig(cluster, rules, name="kjob-exact")
    args = ("--kubeconfig", str(restricted), "-n", cluster.namespace)
    done = kjob(
        "run", str(EXAMPLES / "05-parallel-withparam.yaml"), *args, "--ttl-seconds-after-finished", "0"
    )
    assert done.code == 0, explain(done)
    assert kjob("logs", done.run_id(), "merge-results", *args).code == 0


def test_a_run_that_may_not_watch_jobs_stops_at_once_and_leaves_nothing(
    cluster: Cluster, kjob: Any, tmp_path: Path
) -> None:
    from kjob.backends.kubernetes import permissions

    allowed = [
        p for p in permissions.needed() if (p.resource, p.verb) not in (("jobs", "list"), ("jobs", "watch"))
    ]
    restricted = restricted_kubeconfig(cluster, rules_of(allowed), name="kjob-no-watch")
    before = run_objects(cluster), jobs_in(cluster)
    done = kjob(
        "run", str(EXAMPLES / "01-basic-dag.yaml"), "--kubeconfig", str(restricted), "-n", cluster.namespace
    )
    assert done.code == 2, explain(done)
    first, hint = done.stderr.splitlines()[:2]
    assert first == (
        f"error: kjob may not list, watch jobs.batch in namespace {cluster.namespace} "
        f"({restricted}, context kjob-no-watch)"
    )
    assert hint == (
        f"  hint: ask for a Role granting it (`kubectl auth can-i list jobs.batch -n {cluster.namespace}` "
        "checks), or use another namespace with -n"
    )
    assert "Traceback" not in done.stderr
    assert (run_objects(cluster), jobs_in(cluster)) == before


def jobs_in(cluster: Cluster) -> list[str]:
    return sorted(j.metadata.name for j in cluster.batch.list_namespaced_job(cluster.namespace).items)


def test_a_refused_watch_is_an_error_even_where_access_reviews_are_refused(
    cluster: Cluster, kjob: Any, tmp_path: Path
) -> None:
    """Without access reviews kjob cannot ask first; the watch's 403 then ends the run as quickly,
    and the run object it had made is removed."""
    emulator = cluster.require_emulator("every real user may create access reviews")
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=cluster.namespace)
    before = run_objects(cluster)
    emulator.forbid(("create", "selfsubjectaccessreviews"), ("watch", "jobs"), ("list", "jobs"))
    try:
        done = kjob(
            "run",
            str(EXAMPLES / "01-basic-dag.yaml"),
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            cluster.namespace,
        )
    finally:
        emulator.allow_all()
    assert done.code == 2, explain(done)
    assert done.stderr.startswith(
        f"error: kjob may not list jobs.batch in namespace {cluster.namespace} ({kubeconfig}, context "
        "kjob-emulator): 403 jobs.batch is forbidden: "
    ), done.stderr
    assert run_objects(cluster) == before


def test_access_refused_mid_run_ends_it_with_the_message_and_a_closed_record(
    cluster: Cluster, kjob_home: Path, kubeconfig: Path, tmp_path: Path
) -> None:
    """Permission taken away while the run goes (the emulator refuses creates from then on): the run
    stops at its next create with the error, exit 2, and ``run.json`` says so."""
    emulator = cluster.require_emulator("revoking a permission mid-run needs a handle on the authorizer")
    path = write(
        tmp_path,
        "two-steps.yaml",
        SLEEPER.replace("RUN", "revoked")
        .replace(
            "- {name: nap, template: nap}",
            "- {name: nap, template: nap}\n      - {name: after, template: nap, dependencies: [nap]}",
        )
        .replace('command: [sleep, "600"]', 'command: [sleep, "1"]'),
    )
    proc = start_kjob(kjob_home, "run", str(path), "--kubeconfig", str(kubeconfig), "-n", cluster.namespace)
    try:
        cluster.wait(lambda: jobs_of(cluster, "sleeper-revoked"), "the first Job")
        emulator.forbid(("create", "jobs"))
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        emulator.allow_all()
    assert proc.returncode == 2, stdout + stderr
    assert stderr.startswith(
        f"error: kjob may not create jobs.batch in namespace {cluster.namespace} ({kubeconfig}, context "
        "kjob-emulator): 403 jobs.batch is forbidden: "
    ), stderr
    assert "`kjob resume sleeper-revoked` finishes the run" in stderr
    record = json.loads((kjob_home / "runs" / "sleeper-revoked" / "run.json").read_text())
    assert record["phase"] == "Error" and record["message"].startswith("kjob may not create jobs.batch")
    assert {n["id"]: n["phase"] for n in record["nodes"]}["nap"] == "Succeeded"
