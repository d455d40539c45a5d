"""What a task's container looks like once its template is rendered for each attempt: the engine
parses a template's texts once and renders only what holds a reference, and that must give exactly
what rendering every text would: escapes undone, each item its own values, no two attempts sharing a
mutable field, the first unresolvable reference (in field order) reported."""

from __future__ import annotations

import textwrap

from kjob.backends.base import AttemptSpec
from kjob.backends.virtual import VirtualBackend, scripted
from kjob.engine.engine import Engine
from kjob.spec.loader import load_text


def submitted(text: str, *, batches: bool = False) -> tuple[dict[str, str], list[AttemptSpec]]:
    """Run a one-file workflow in virtual time: the phase per node and the specs submitted."""
    wf = load_text(textwrap.dedent(text), path="wf.yaml").workflows[0]
    backend = VirtualBackend(scripted({}), batches=batches)
    result = Engine(wf, backend, run_id="wf").run()
    specs = [spec for _, spec in backend.submitted]
    return {n.id: n.message or n.phase.value for n in result.nodes}, specs


FAN_OUT = """\
    apiVersion: {api}
    kind: Workflow
    metadata: {{name: wf}}
    spec:
      entrypoint: main
      nodeSelector: {{pool: "{open}workflow.name{close}"}}
      templates:
      - name: main
        dag:
          tasks:
          - {{name: work, template: work, withItems: [a, b], arguments: {{parameters: [{{name: n, value: "{open}item{close}"}}]}}}}
      - name: work
        inputs: {{parameters: [{{name: n}}]}}
        tolerations: [{{key: k, value: "{esc}x"}}]
        container:
          image: "img{esc}"
          command: [sh, -c, "cat {esc}EOF", "{open}inputs.parameters.n{close}"]
          env:
          - {{name: PLAIN, value: "{esc}y"}}
          - {{name: ITEM, value: "n={open}inputs.parameters.n{close}"}}
          resources: {{requests: {{cpu: "{esc}1"}}}}
          volumeMounts: [{{name: v, mountPath: "/m{esc}"}}]
    """


def fan_out(api: str, opener: str) -> str:
    closer = ">>" if opener == "<<" else "}}"
    return FAN_OUT.format(api=api, open=opener, close=closer, esc="\\\\" + opener)


def test_a_fan_out_item_gets_its_own_values_and_every_literal_text_with_escapes_undone() -> None:
    for api, opener in (("kjob.dev/v1alpha1", "<<"), ("argoproj.io/v1alpha1", "{{")):
        _, specs = submitted(fan_out(api, opener))
        assert [s.container.command for s in specs] == [
            ("sh", "-c", f"cat {opener}EOF", "a"),
            ("sh", "-c", f"cat {opener}EOF", "b"),
        ], api
        first = specs[0]
        assert first.container.image == f"img{opener}"
        assert [(e.name, e.value) for e in first.container.env] == [("PLAIN", f"{opener}y"), ("ITEM", "n=a")]
        assert dict(first.container.resources.requests) == {"cpu": f"{opener}1"}
        assert first.container.extra["volumeMounts"] == [{"name": "v", "mountPath": f"/m{opener}"}]
        # the workflow's and the template's pod fields are rendered too
        assert first.pod_extra == {
            "nodeSelector": {"pool": "wf"},
            "tolerations": [{"key": "k", "value": f"{opener}x"}],
        }


def test_attempts_never_share_a_mutable_field() -> None:
    _, specs = submitted(fan_out("kjob.dev/v1alpha1", "<<"))
    a, b = specs
    assert a.pod_extra is not b.pod_extra
    assert a.pod_extra["tolerations"] is not b.pod_extra["tolerations"]
    assert a.container.extra["volumeMounts"] is not b.container.extra["volumeMounts"]


def test_the_first_reference_that_cannot_be_resolved_is_reported_in_field_order() -> None:
    # workflow.status is known in the exit handler only
    text = """\
        apiVersion: kjob.dev/v1alpha1
        kind: Workflow
        metadata: {name: wf}
        spec:
          entrypoint: work
          templates:
          - name: work
            container:
              image: "<< workflow.status >>"
              command: ["<< retries >>", "<< workflow.status >>x"]
        """
    messages, specs = submitted(text)
    assert specs == []
    assert messages["work"].startswith("cannot resolve 'workflow.status'")
    assert "<< workflow.status >>x" not in messages["work"]  # the image's, not the command's
