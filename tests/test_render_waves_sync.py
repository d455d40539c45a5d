"""A waves plan (Jobs a GitOps tool applies in order) has no kjob to hold locks or look a cache up: a
workflow with ``synchronization`` or ``memoize`` is refused at its place, pointing at the driver mode."""

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
