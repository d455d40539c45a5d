"""``templateRef`` and ``workflowTemplateRef`` from ``--templates DIR`` with the Kubernetes backend, on
the emulator and on the real cluster (the contract suite's ``cluster`` fixture): each Job is rendered
from the referenced template, and outputs flow between them as in a workflow that holds its templates.
"""

from __future__ import annotations

import os
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
