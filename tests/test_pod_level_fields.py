"""Argo's pod-level ``podResources`` and ``resourceClaims`` (issue 12), workflow-wide or per template
(the template's replaces the workflow's, as in Argo), and a container's ``resources.claims``: kept
verbatim as the pod spec's ``resources`` and ``resourceClaims``; refused with one located line, before
anything is created, by a cluster that would drop them (Kubernetes 1.28 drops both); ignored with a
notice by the local backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kjob.render import manifests
from kjob.render.manifests import RunObject
from kjob.spec import load_text
from kjob.spec.model import pod_fields
from tests.conftest import REPO, kjob_env
from tests.k8s_runs import Runner
from tests.realk8s import namespace

WORKFLOW = REPO / "tests" / "data" / "podlevel" / "pod-resources.yaml"


def _pod_specs() -> dict[str, Any]:
    """Each task's pod spec as kjob renders it for Kubernetes."""
    from kjob.backends.base import AttemptSpec

    wf = load_text(WORKFLOW.read_text(), path=str(WORKFLOW)).workflows[0]
    run = RunObject("pod-level-x", "ns", "uid-1")
    specs: dict[str, Any] = {}
    for name in ("plain", "own"):
        template = wf.templates[name]
        assert template.container is not None
        spec = AttemptSpec(
            attempt_id=f"a-{name}",
            node_id=name,
            attempt=0,
            template_name=name,
            container=template.container,
            pod_extra=pod_fields(wf.pod_extra, template.pod_extra),
        )
        specs[name] = manifests.job_manifest(spec, run)["spec"]["template"]["spec"]
    return specs


def test_the_pod_gets_the_templates_fields_over_the_workflows() -> None:
    specs = _pod_specs()
    assert specs["plain"]["resources"] == {"limits": {"cpu": "1", "memory": "256Mi"}}
    assert specs["plain"]["resourceClaims"] == [
        {"name": "shared-gpu", "resourceClaimTemplateName": "gpu-template"}
    ]
    assert specs["plain"]["containers"][0]["resources"] == {"claims": [{"name": "shared-gpu"}]}
    assert specs["own"]["resources"] == {"requests": {"cpu": "500m"}}  # replaced, not merged
    assert specs["own"]["resourceClaims"] == [{"name": "own-gpu", "resourceClaimName": "my-claim"}]


def _kjob(*args: str, home: Path, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        env=kjob_env(home, kubeconfig),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_local_backend_runs_it_and_says_the_fields_are_ignored(tmp_path: Path) -> None:
    linted = _kjob("lint", str(WORKFLOW), home=tmp_path)
    assert linted.returncode == 0, linted.stderr
    assert "pod-resources.yaml:19:7: warning: on the local backend: template 'plain': podResources, " in (
        linted.stderr
    )
    ran = _kjob("run", str(WORKFLOW), "--backend", "local", home=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "template 'own': podResources, resourceClaims ignored" in ran.stdout + ran.stderr


CLAIMS_ONLY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: claims-}
spec:
  entrypoint: main
  templates:
  - name: main
    resourceClaims: [{name: gpu, resourceClaimName: my-claim}]
    container: {image: alpine, command: [echo, hi], resources: {claims: [{name: gpu}]}}
"""


@pytest.mark.real_cluster
def test_kubernetes_1_28_refuses_them_at_the_field_before_the_run_starts(tmp_path: Path) -> None:
    with namespace("kjob-podlevel") as ns:
        run = ("run", "--backend", "kubernetes", "-n", ns.name)
        done = _kjob(*run, str(WORKFLOW), home=tmp_path, kubeconfig=ns.kubeconfig)
        assert done.returncode == 2, done.stdout + done.stderr
        (line, hint) = done.stderr.strip().splitlines()
        assert line.startswith(f"{WORKFLOW}:7:3: error: the workflow sets podResources, which this cluster")
        assert "drops pod-level resources" in line and hint.startswith("  hint: set `resources` on each")
        assert not ns.batch.list_namespaced_job(ns.name).items  # nothing was started
        claims_only = tmp_path / "claims.yaml"
        claims_only.write_text(CLAIMS_ONLY)
        done = _kjob(*run, str(claims_only), home=tmp_path, kubeconfig=ns.kubeconfig)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{claims_only}:8:5: error: template 'main' sets resourceClaims" in done.stderr
        assert "dynamic resource allocation is off" in done.stderr


def test_the_emulator_refuses_them_too(tmp_path: Path) -> None:
    """The emulator's pod schema is 1.28's and it decodes strictly: its dry run refuses the field
    (the real 1.28 server, decoding with ``Warn``, drops it); either way the run is refused at it, and
    so is a detached run, before its driver Job is created."""
    runner = Runner(tmp_path)
    done = runner.kubernetes(WORKFLOW).done
    assert done.code == 2, done.stdout + done.stderr
    assert f"{WORKFLOW.relative_to(REPO)}:7:3: error: the workflow sets podResources" in done.stderr
    assert "refused a dry-run pod with pod-level resources" in done.stderr
    detached = runner.kubernetes(WORKFLOW, "--wait=false", "--driver-image", "kjob:dev").done
    assert (
        detached.code == 2 and ":7:3: error: the workflow sets podResources" in detached.stderr
    )  # no driver Job
