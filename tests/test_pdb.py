"""Argo's ``spec.podDisruptionBudget`` (issue 12): one policy/v1 PodDisruptionBudget per run on
Kubernetes, selecting the run's pods, owned by the run object; lint's checks and the local backend's
notice; a run on the API emulator creates it before the first Job and deletes it as the run ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kjob.render.manifests import RunObject
from kjob.render.pdb import pdb_manifest
from kjob.render.permissions import Need, role_rules, workflow_needs
from kjob.spec import load_text
from tests.k8s_runs import Runner
from tests.test_local_backend import write

PDB = """\
  entrypoint: main
  podDisruptionBudget: {minAvailable: 1}
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "echo hi"]}
"""

HEADER = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: t-\nspec:\n"


def _workflow(body: str) -> Any:
    return load_text(HEADER + body, path="wf.yaml").workflows[0]


def test_the_budget_selects_the_runs_pods_and_is_owned_by_the_run() -> None:
    run = RunObject("t-abc", "ns", "uid-1")
    manifest = pdb_manifest(_workflow(PDB), run)
    assert manifest == {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": "t-abc",
            "namespace": "ns",
            "labels": {"kjob.dev/run": "t-abc", "kjob.dev/role": "pdb"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "t-abc", "uid": "uid-1"}],
        },
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"kjob.dev/run": "t-abc"}}},
    }
    needs = workflow_needs(_workflow(PDB))
    assert Need.PDB in needs
    rule = {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["create", "delete"]}
    assert rule in role_rules(needs)


def test_a_selector_and_an_empty_spec_are_kept_as_written() -> None:
    run = RunObject("t-abc", "ns", "uid-1")
    chosen = PDB.replace("{minAvailable: 1}", "{maxUnavailable: 50%, selector: {matchLabels: {a: b}}}")
    spec = pdb_manifest(_workflow(chosen), run)
    assert spec is not None and spec["spec"] == {
        "maxUnavailable": "50%",
        "selector": {"matchLabels": {"a": "b"}},
    }
    empty = pdb_manifest(_workflow(PDB.replace("{minAvailable: 1}", "{}")), run)
    assert empty is not None and empty["spec"] == {"selector": {"matchLabels": {"kjob.dev/run": "t-abc"}}}
    assert pdb_manifest(_workflow(PDB.replace("  podDisruptionBudget: {minAvailable: 1}\n", "")), run) is None


def test_lint_refuses_both_limits_and_notes_the_local_backend(kjob: Any, tmp_path: Path) -> None:
    both = kjob(
        "lint", write(tmp_path, PDB.replace("{minAvailable: 1}", "{minAvailable: 1, maxUnavailable: 1}"))
    )
    assert both.code == 2
    assert "wf.yaml:7:42: error: podDisruptionBudget has both minAvailable and maxUnavailable" in both.stderr
    done = kjob("run", write(tmp_path, PDB))
    assert done.code == 0, done.stdout + done.stderr
    assert "local backend: podDisruptionBudget does nothing" in done.stderr


def test_a_run_on_the_emulator_makes_the_budget_first_and_removes_it_at_the_end(tmp_path: Path) -> None:
    run = Runner(tmp_path / "runs").kubernetes(Path(write(tmp_path, PDB)))
    assert run.done.code == 0, run.done.stdout + run.done.stderr
    made = [
        (e.verb, e.resource)
        for e in run.emulator.audit(dry_run=False)
        if e.verb in ("create", "delete") and e.resource in ("poddisruptionbudgets", "jobs")
    ]
    assert made[:2] == [("create", "poddisruptionbudgets"), ("create", "jobs")]
    assert ("delete", "poddisruptionbudgets") in made
    assert run.emulator.objects("poddisruptionbudgets", "default") == []


def test_a_waves_plan_refuses_the_budget(kjob: Any, tmp_path: Path) -> None:
    done = kjob("plan", write(tmp_path, PDB), "-o", str(tmp_path / "plan"))
    assert done.code == 2
    assert "wf.yaml:7:3: error: the workflow has podDisruptionBudget: a waves plan has no kjob" in done.stderr
