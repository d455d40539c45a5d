"""Plans of workflows with ``synchronization`` or ``memoize``: a waves plan (Jobs a GitOps tool applies in
order) has no kjob to hold locks or look a cache up, so it refuses them at their place and points at
the driver mode; a driver plan's Role grants the Leases and cache updates its driver will need."""

from __future__ import annotations

from kjob.render.waves import problems
from kjob.spec import load_text

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: gated}
spec:
  entrypoint: main
  synchronization:
    mutexes: [{name: whole-run}]
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: locked}
      - {name: b, template: cached}
  - name: locked
    synchronization: {semaphores: [{configMapKeyRef: {name: cfg, key: k}}]}
    container: {image: busybox, command: [echo, a]}
  - name: cached
    memoize: {key: b, cache: {configMap: {name: c}}}
    container: {image: busybox, command: [echo, b]}
"""


def test_locks_and_memoize_are_refused_in_a_waves_plan_at_their_place() -> None:
    found = problems(load_text(WORKFLOW, path="wf.yaml").workflows[0])
    assert [(e.line, e.col, e.message) for e in found] == [
        (7, 15, "the workflow has synchronization: a waves plan has no kjob to hold its locks"),
        (15, 36, "template 'locked' has synchronization: a waves plan has no kjob to hold its locks"),
        (18, 5, "template 'cached' is memoized: a waves plan has no kjob to look its cache up"),
    ]
    assert all("--mode driver" in (e.hint or "") for e in found)


def test_a_driver_plans_role_grants_the_leases_and_cache_updates_its_workflow_needs() -> None:
    from kjob.render.driver import driver_plan
    from kjob.render.permissions import role_rules

    role = next(
        o
        for o in driver_plan(load_text(WORKFLOW, path="wf.yaml").workflows[0], WORKFLOW)
        if o["kind"] == "Role"
    )
    added = [r for r in role["rules"] if r not in role_rules()]
    assert {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["create", "get", "update"],
    } in added
    assert any(r["resources"] == ["configmaps"] and "update" in r["verbs"] for r in added)
