"""``templateRef`` and ``workflowTemplateRef`` from ``--templates DIR`` with the Kubernetes backend, on
the emulator and on the real cluster (the contract suite's ``cluster`` fixture): each Job is rendered
from the referenced template, and outputs flow between them as in a workflow that holds its templates.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.contract import conftest as contract
from tests.contract.conftest import KUBECONFIG_ENV, Cluster
from tests.test_template_ref import FROM_TEMPLATE, GREET, LIB, USES_REFS, outputs

cluster = contract.cluster  # the contract suite's fixture: the emulator, and the real cluster if given


@pytest.fixture
def kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    if cluster.emulator is not None:
        return cluster.emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=cluster.namespace)
    return Path(os.environ[KUBECONFIG_ENV])


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    directory.mkdir()
    (directory / "greet.yaml").write_text(GREET)
    (directory / "lib.yaml").write_text(LIB)
    return directory


def test_template_refs_run_as_jobs_rendered_from_the_referenced_templates(
    kjob: Any,
    cluster: Cluster,
    kubeconfig: Path,
    templates: Path,
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(USES_REFS.replace("name: uses-refs", f"name: uses-refs-{cluster.kind}"))
    where = ("--kubeconfig", str(kubeconfig), "-n", cluster.namespace, "--templates", str(templates))
    done = kjob("run", "--backend", "kubernetes", *where, str(workflow), timeout=240)
    assert done.code == 0, done.stdout + done.stderr
    said = outputs(done)
    assert said["a.two"] == {"out": "two-after-one-hi"}
    assert said["b"] == {"said": "b-says everyone"}
    run = done.run_id()
    jobs = cluster.batch.list_namespaced_job(cluster.namespace, label_selector=f"kjob.dev/run={run}").items
    assert len(jobs) == 3  # a.one, a.two (from lib's dag) and b (greet's script): one Job each
    scripts = cluster.core.read_namespaced_config_map(run, cluster.namespace).data
    assert any('print("one-hi")' in text for key, text in scripts.items() if key.startswith("script-"))


def test_workflow_template_ref_runs_on_the_cluster(
    kjob: Any,
    cluster: Cluster,
    kubeconfig: Path,
    templates: Path,
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(FROM_TEMPLATE.replace("name: from-greet", f"name: from-greet-{cluster.kind}"))
    where = ("--kubeconfig", str(kubeconfig), "-n", cluster.namespace, "--templates", str(templates))
    done = kjob("run", "--backend", "kubernetes", *where, str(workflow), "-p", "who=cluster", timeout=240)
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done)["hello"] == {"said": "hello cluster"}


@pytest.fixture
def in_namespace(cluster: Cluster, kubeconfig: Path, tmp_path: Path) -> Path:
    """A kubeconfig whose context's namespace is the test's (what `kubectl config set-context
    --current --namespace` does), for commands given no -n."""
    import yaml

    config = yaml.safe_load(kubeconfig.read_text())
    for context in config["contexts"]:
        context["context"]["namespace"] = cluster.namespace
    path = tmp_path / "in-namespace.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_templates_applied_to_the_cluster_are_listed_read_and_run_on_both_backends(
    kjob: Any, cluster: Cluster, in_namespace: Path, templates: Path, tmp_path: Path
) -> None:
    where = ("--kubeconfig", str(in_namespace))
    applied = kjob("template", "apply", str(templates), *where)
    assert applied.code == 0, applied.stderr
    assert applied.stdout.splitlines() == [
        "workflowtemplate/greet created",
        "clusterworkflowtemplate/lib created",
    ]
    listed = kjob("template", "list", "-o", "name", *where)
    assert listed.stdout.splitlines() == ["clusterworkflowtemplate/lib", "workflowtemplate/greet"]
    assert kjob("template", "get", "greet", *where).stdout == GREET
    if cluster.emulator is not None:  # the output's details; the real cluster spends its time on runs
        again = kjob("template", "apply", str(templates / "greet.yaml"), *where)
        assert again.stdout.splitlines() == ["workflowtemplate/greet unchanged"]
        rows = json.loads(kjob("template", "list", "-o", "json", *where).stdout)
        assert [(r["kind"], r["name"], r["configMap"]) for r in rows] == [
            ("ClusterWorkflowTemplate", "lib", "kjob-cwftmpl-lib"),
            ("WorkflowTemplate", "greet", "kjob-wftmpl-greet"),
        ]
        assert kjob("template", "get", "lib", "--cluster", *where).stdout == LIB

    # a Kubernetes run, and a local one, read them: no --templates anywhere
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(USES_REFS.replace("name: uses-refs", f"name: stored-refs-{cluster.kind}"))
    done = kjob("run", "--backend", "kubernetes", *where, str(workflow), timeout=240)
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done)["b"] == {"said": "b-says everyone"}
    env = {
        **os.environ,
        "KJOB_HOME": str(tmp_path / "home"),
        "KUBECONFIG": str(in_namespace),
        "NO_COLOR": "1",
    }
    local = subprocess.run(
        [sys.executable, "-m", "kjob", "run", "--backend", "local", str(workflow)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert local.returncode == 0, local.stdout + local.stderr

    # deleted, the templates are gone for the next run, which says where it looked and what to do
    deleted = kjob("template", "delete", "greet", *where)
    assert deleted.stdout.splitlines() == ["workflowtemplate/greet deleted"]
    if cluster.emulator is not None:
        missing = kjob("run", "--backend", "kubernetes", *where, str(workflow), timeout=120)
        assert missing.code == 2
        assert "no WorkflowTemplate named 'greet' in the templates stored in namespace" in missing.stderr
    gone = kjob("template", "get", "greet", *where)
    assert gone.code == 1 and "no WorkflowTemplate 'greet'" in gone.stderr


def test_a_template_with_a_mistake_is_not_stored(
    kjob: Any, cluster: Cluster, in_namespace: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GREET.replace("entrypoint: hello", "entrypoint: nowhere").replace("greet", "not-stored"))
    refused = kjob("template", "apply", str(bad), "--kubeconfig", str(in_namespace))
    assert refused.code == 2, refused.stdout + refused.stderr
    assert f"{bad}:6:" in refused.stderr
    listed = kjob("template", "list", "-o", "name", "--kubeconfig", str(in_namespace))
    assert listed.code == 0 and "not-stored" not in listed.stdout
