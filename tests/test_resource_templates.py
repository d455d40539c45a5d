"""Resource templates without a cluster: the condition language, outputs by jsonPath and jqFilter,
flags, the spec's checks, the local backend's refusal without a cluster, permissions, dry run and
GitOps plans.  The runs themselves are in ``test_resource_real.py`` (real cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.backends.base import ResourceOutputSpec
from kjob.backends.resources.outputs import read_outputs
from kjob.errors import KjobError, SpecErrors
from kjob.expr.objectpath import jq_filter, json_path
from kjob.expr.requirements import holds, lookup, parse_requirements
from kjob.render.resource_access import plural, resource_permissions
from kjob.spec import load_text
from kjob.spec.model import TemplateKind
from kjob.spec.resource_flags import parse_flags

HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: t}
spec:
  entrypoint: main
  templates:
"""  # templates start on line 7

JOB = {
    "metadata": {"name": "j", "labels": {"app.kubernetes.io/name": "x"}},
    "spec": {"completions": 3},
    "status": {
        "succeeded": 3,
        "phase": "Running",
        "conditions": [{"type": "Complete", "status": "True"}],
        "ready": True,
        "ratio": 2.5,
    },
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("status.succeeded > 2", True),
        ("status.succeeded > 3", False),
        ("status.succeeded < 4", True),
        ("status.phase == Running", True),
        ("status.phase = Running", True),
        ("status.phase != Running", False),
        ("status.phase in (Failed, Error)", False),
        ("status.phase notin (Failed, Error)", True),
        ("status.missing notin (Failed)", True),  # absent: a != holds, as Kubernetes'
        ("status.missing != x", True),
        ("status.missing == x", False),
        ("status.missing > 0", False),
        ("status.phase > 0", False),  # not an integer
        ("status.ratio > 1", False),  # not an integer either: gt compares integers
        ("status.ready == true", True),
        ("status.conditions.0.type == Complete", True),
        ("status.conditions.# == 1", True),
        ("status.succeeded", True),
        ("!status.failed", True),
        ("!status.succeeded", False),
        ("status.succeeded > 2, status.phase == Running", True),
        ("status.succeeded > 2, status.phase == Done", False),
    ],
)
def test_conditions_hold_as_kubernetes_requirements_over_the_object(condition: str, expected: bool) -> None:
    assert holds(parse_requirements(condition), JOB) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("status.phase ~ Running", "unknown operator '~' after 'status.phase'"),
        ("status.phase ==", "'status.phase ==' has no value"),
        ("status.failed > x", "'>' compares integers"),
        ("status.phase in Failed", "needs a list in parentheses"),
        ("status.phase in (Failed", "')' missing"),
        ("status.phase == a b", "expected ',' before 'b'"),
        ("status.phase == Running,", "ends with ','"),
        ("== x", "expected a field path"),
        ("status.phase == {{x}}", "is not a value"),
    ],
)
def test_a_malformed_condition_is_named(condition: str, message: str) -> None:
    with pytest.raises(KjobError) as caught:
        parse_requirements(condition)
    assert message in caught.value.message


def test_a_failure_requirement_prints_as_argo_prints_it() -> None:
    assert [str(r) for r in parse_requirements("status.failed > 0, status.phase in (Failed, Error)")] == [
        "status.failed>0",
        "status.phase in (Error,Failed)",
    ]


def test_gjson_paths_read_keys_with_escaped_dots() -> None:
    assert lookup(JOB, r"metadata.labels.app\.kubernetes\.io/name") == (True, "x")
    assert lookup(JOB, "metadata.nothing.deeper") == (False, None)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.metadata.name}", "j"),
        ("name={.metadata.name}!", "name=j!"),
        ("{.spec.completions}", "3"),
        ("{.status.ready}", "true"),
        ("{.status.conditions[*].type}", "Complete"),
        ("{.metadata.labels}", '{"app.kubernetes.io/name":"x"}'),
        ("{.status.conditions[?(@.type=='Complete')].status}", "True"),
        ("{.status.nothing}", ""),
    ],
)
def test_json_path_reads_as_kubectl(template: str, expected: str) -> None:
    assert json_path(template, JOB) == expected


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (".metadata.name", "j"),
        (".spec", '{"completions":3}'),
        (".status.conditions[].type", "Complete"),
        (".status.conditions | length", "1"),
        ("[.status.succeeded, .spec.completions]", "[3,3]"),
        (".spec.completions, .status.succeeded", "3\n3"),
    ],
)
def test_jq_filter_reads_as_argo_gojq(program: str, expected: str) -> None:
    assert jq_filter(program, JOB) == expected


def test_outputs_after_a_delete_are_their_defaults() -> None:
    specs = [
        ResourceOutputSpec("a", json_path="{.x}", default="gone"),
        ResourceOutputSpec("b", jq_filter="."),
    ]
    assert read_outputs(specs, None) == {"a": "gone", "b": ""}


def test_a_bad_jq_filter_is_an_error() -> None:
    with pytest.raises(KjobError, match="jqFilter"):
        jq_filter(".[", JOB)


def test_flags_name_the_object_and_its_options() -> None:
    flags = parse_flags(["configmap", "--selector", "cleanup=true", "--ignore-not-found", "--cascade=orphan"])
    assert flags.words == ("configmap",)
    assert flags.selector == "cleanup=true"
    assert flags.ignore_not_found
    assert flags.cascade == "orphan"
    assert parse_flags(["-n", "other", "pod", "p1", "--validate=false"]).namespace == "other"
    with pytest.raises(KjobError, match="'--overwrite' is not supported by kjob yet"):
        parse_flags(["--overwrite"])


def test_the_kind_of_a_manifest_is_its_api_plural() -> None:
    assert [plural(k) for k in ("ConfigMap", "NetworkPolicy", "Ingress", "Job", "Gateway")] == [
        "configmaps",
        "networkpolicies",
        "ingresses",
        "jobs",
        "gateways",
    ]


RESOURCES = """\
  - name: main
    steps:
    - - {name: make, template: make}
    - - {name: wait, template: wait}
    - - {name: drop, template: drop}
  - name: make
    resource:
      action: create
      setOwnerReference: true
      manifest: |
        apiVersion: batch/v1
        kind: Job
        metadata: {generateName: j-}
        spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: a}]}}}
    outputs:
      parameters:
      - {name: job, valueFrom: {jsonPath: '{.metadata.name}'}}
  - name: wait
    resource:
      action: get
      successCondition: status.succeeded > 0
      failureCondition: status.failed > 0
      manifest: |
        apiVersion: batch/v1
        kind: Job
        metadata: {name: "{{workflow.name}}"}
  - name: drop
    resource:
      action: delete
      flags: [configmaps.v1, -l, app=x]
"""


def test_a_resource_template_is_read_into_the_model() -> None:
    wf = load_text(HEAD + RESOURCES, path="wf.yaml").workflows[0]
    make = wf.templates["make"]
    assert make.kind is TemplateKind.RESOURCE and make.is_leaf and make.container is None
    assert (
        make.resource is not None and make.resource.action == "create" and make.resource.set_owner_reference
    )
    assert make.outputs.parameters[0].value_from_json_path == "{.metadata.name}"
    wait = wf.templates["wait"].resource
    assert wait is not None and wait.success_condition == "status.succeeded > 0"
    assert wf.templates["drop"].resource is not None
    assert wf.templates["drop"].resource.flags == ("configmaps.v1", "-l", "app=x")


def test_permissions_follow_the_manifests_kinds_and_actions() -> None:
    wf = load_text(HEAD + RESOURCES, path="wf.yaml").workflows[0]
    assert sorted((p.group, p.resource, p.verb) for p in resource_permissions(wf)) == [
        ("", "configmaps", "delete"),
        ("", "configmaps", "deletecollection"),
        ("", "configmaps", "list"),
        ("batch", "jobs", "create"),
        ("batch", "jobs", "get"),
        ("batch", "jobs", "watch"),
    ]


def errors(templates: str) -> str:
    with pytest.raises(SpecErrors) as caught:
        load_text(HEAD + templates, path="wf.yaml")
    return caught.value.render()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    resource: {action: make, manifest: 'kind: ConfigMap'}\n",
            "wf.yaml:8:24: error: unknown resource action 'make'\n"
            "  hint: use one of: create, apply, delete, patch, replace, get",
        ),
        (
            "    resource: {action: delete}\n",
            "wf.yaml:8:5: error: resource of template 'main' has neither manifest nor flags",
        ),
        (
            "    resource:\n      action: get\n      successCondition: status.phase ~ x\n"
            "      manifest: '{apiVersion: v1, kind: Pod, metadata: {name: p}}'\n",
            "wf.yaml:10:25: error: unknown operator '~' after 'status.phase' in condition 'status.phase ~ x'",
        ),
        (
            "    resource: {action: delete, flags: [pod, p, --now]}\n",
            "wf.yaml:8:39: error: flag '--now' is not supported by kjob yet",
        ),
        (
            "    resource: {action: create, manifest: '{kind: ConfigMap, metadata: {name: c}}'}\n",
            "wf.yaml:8:42: error: the manifest has no apiVersion",
        ),
        (
            "    resource: {action: apply, manifest: '{apiVersion: v1, kind: ConfigMap, metadata: {generateName: c-}}'}\n",
            "wf.yaml:8:41: error: the manifest has no metadata.name",
        ),
        (
            "    resource:\n      action: create\n      manifest: |\n"
            "        {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n        ---\n"
            "        {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
            "wf.yaml:10:17: error: the manifest holds 2 objects; a resource template acts on one",
        ),
        (
            "    resource: {action: patch, mergeStrategy: json, flags: [pod, p], manifest: '{op: add}'}\n",
            "wf.yaml:8:79: error: a json patch is a list of operations (- op: add ...)",
        ),
        (
            "    resource: {action: get, manifest: '{apiVersion: v1, kind: Pod, metadata: {name: p}}'}\n"
            "    outputs: {parameters: [{name: x, valueFrom: {path: /tmp/x}}]}\n",
            "wf.yaml:9:28: error: output parameter 'x' of template 'main' reads a file, but a resource "
            "template has none",
        ),
        (
            "    container: {image: alpine}\n"
            "    outputs: {parameters: [{name: x, valueFrom: {jsonPath: '{.a}'}}]}\n",
            "wf.yaml:9:28: error: output parameter 'x' of template 'main' uses jsonPath/jqFilter, which only "
            "a resource template has",
        ),
        (
            "    resource: {action: get, manifest: '{apiVersion: v1, kind: Pod, metadata: {name: p}}'}\n"
            "    outputs: {parameters: [{name: x, valueFrom: {jqFilter: '.['}}, "
            "{name: y, valueFrom: {jsonPath: '{range .items[*]}{.a}{end}'}}]}\n",
            "wf.yaml:9:28: error: output parameter 'x': jqFilter '.[' is not a jq program",
        ),
        (
            "    resource: {action: get, manifest: '{apiVersion: v1, kind: Pod, metadata: {name: p}}'}\n"
            "    outputs: {parameters: [{name: y, valueFrom: {jsonPath: '{range .items[*]}{.a}{end}'}}]}\n",
            "wf.yaml:9:28: error: output parameter 'y': jsonPath '{range .items[*]}{.a}{end}': {range} is not "
            "supported by kjob yet",
        ),
        (
            "    resource: {action: create, manifestFrom: {artifact: {name: m}}}\n",
            "wf.yaml:8:32: error: 'manifestFrom' is not supported by kjob yet",
        ),
    ],
)
def test_mistakes_in_a_resource_template_are_located(body: str, expected: str) -> None:
    assert expected in errors("  - name: main\n" + body)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return path


def test_a_local_run_without_a_cluster_is_refused_before_it_starts(kjob: Any, tmp_path: Path) -> None:
    wf = write(tmp_path, HEAD + RESOURCES)
    done = kjob("run", "--backend", "local", str(wf))
    assert done.code == 2, done.stdout + done.stderr
    assert (
        f"{wf}:12:5: error: template 'make' acts on a cluster (resource: create), and no cluster is "
        "configured here" in done.stderr
    )
    assert not (done.home / "runs").exists() or not any((done.home / "runs").iterdir())
    linted = kjob("lint", str(wf))
    assert linted.code == 0
    assert f"{wf}:12:5: warning: on the local backend: template 'make' acts on a cluster" in linted.stderr


WAVES = """\
  - name: main
    dag:
      tasks:
      - {name: settings, template: settings}
      - {name: use, template: use, depends: settings}
  - name: settings
    resource:
      action: apply
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {level: "3"}
  - name: use
    container: {image: alpine, command: [echo, hi]}
"""


def test_a_waves_plan_applies_a_created_object_in_its_wave(kjob: Any, tmp_path: Path) -> None:
    wf = write(tmp_path, HEAD + WAVES)
    done = kjob("plan", str(wf), "-o", str(tmp_path / "plan"))
    assert done.code == 0, done.stderr
    files = sorted(p.name for p in (tmp_path / "plan").iterdir())
    assert files[0] == "00-configmap-settings.yaml" and files[1].startswith("01-job-t-use-")
    text = (tmp_path / "plan" / files[0]).read_text()
    assert "argocd.argoproj.io/sync-wave: '0'" in text and "level: '3'" in text and "name: settings" in text


def test_a_waves_plan_refuses_an_action_and_the_driver_may_do_it(kjob: Any, tmp_path: Path) -> None:
    wf = write(tmp_path, HEAD + WAVES.replace("action: apply", "action: delete"))
    done = kjob("plan", str(wf), "-o", str(tmp_path / "plan"))
    assert done.code == 2
    assert (
        f"{wf}:13:5: error: resource template 'settings' cannot be a wave's object: a delete is an action, "
        "not an object a GitOps tool applies" in done.stderr
    )
    assert "--mode driver" in done.stderr
    driver = kjob("plan", str(wf), "-o", str(tmp_path / "driver"), "--mode", "driver")
    assert driver.code == 0, driver.stderr
    role = next((tmp_path / "driver").glob("*-role-*.yaml")).read_text()
    assert "- configmaps\n  verbs:\n  - create\n  - delete\n" in role


def test_the_dry_run_shows_a_created_object(kjob: Any, tmp_path: Path) -> None:
    wf = write(tmp_path, HEAD + WAVES)
    done = kjob("run", "--dry-run", str(wf))
    assert done.code == 0, done.stderr
    assert (
        "kind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  level: '3'"
        in done.stdout
    )


@pytest.mark.slow
def test_resource_templates_run_on_the_kubernetes_backend_against_the_emulator(tmp_path: Path) -> None:
    """The real-cluster workflow (test_resource_real.py) on the API emulator: its pods run as host
    processes, so the Job whose command exits 3 fails and its failureCondition fails its task."""
    import json
    import subprocess
    import sys

    from kubernetes import client

    from kjob.testing.emulator import Emulator, HostProcess
    from kjob.testing.emulator import kubeconfig as emulator_kubeconfig
    from tests.conftest import REPO, kjob_env

    with Emulator(lambda pod: HostProcess()) as emu:
        home = tmp_path / "home"
        config = emulator_kubeconfig.write(tmp_path / "kubeconfig", emu.url, namespace="default")
        done = subprocess.run(
            [sys.executable, "-m", "kjob", "run", str(REPO / "tests" / "data" / "resource_templates.yaml")],
            capture_output=True,
            text=True,
            env=kjob_env(home, config),
            cwd=REPO,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        run_id = done.stdout.split()[1]
        record = json.loads((home / "runs" / run_id / "run.json").read_text())
        nodes = {n["id"]: n for n in record["nodes"]}
        failed = "failure condition 'status.failed>0' evaluated true"
        assert [a["message"] for a in nodes["bad-job"]["attempts"]] == [failed, failed]  # retried once
        assert nodes["after-bad"]["phase"] == "Succeeded"
        outputs = nodes["good-job"]["outputs"]["parameters"]
        assert outputs["completions"] == "1" and outputs["job-name"].startswith(f"{run_id}-exit-0-")
        assert nodes["read-settings"]["outputs"]["parameters"]["size"] == "4"
        cfg = client.Configuration()
        cfg.host = emu.url
        with client.ApiClient(cfg) as api:
            job = client.BatchV1Api(api).read_namespaced_job(outputs["job-name"], "default")
            settings = client.CoreV1Api(api).list_namespaced_config_map("default").items
        assert [(o.kind, o.name) for o in job.metadata.owner_references] == [("ConfigMap", run_id)]
        assert not [c for c in settings if c.metadata.name.endswith("-settings")]
