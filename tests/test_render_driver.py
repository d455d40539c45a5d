"""Driver plans and CronJobs as objects (:mod:`kjob.render.driver`, :mod:`kjob.render.cronjob`):
what each object promises.  Every example's whole driver plan, byte for byte, is a golden file of
``kjob plan --mode driver`` (``tests/golden/plans``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kjob.render import permissions
from kjob.render.driver import DriverOptions, driver_plan
from kjob.spec import load_file, load_text
from kjob.spec.model import Workflow
from tests.conftest import EXAMPLES

GOLDEN = Path(__file__).parent / "data" / "render" / "driver"
K8S_VERSION = "1.28"


def _plan(name: str, **options: Any) -> list[dict[str, Any]]:
    path = EXAMPLES / name
    return driver_plan(_workflow(path), path.read_text(), DriverOptions(**options))


def _workflow(path: Path) -> Workflow:
    return load_file(str(path)).workflows[0]


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        found.setdefault(obj["kind"], []).append(obj)
    return found


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_plan_is_valid_kubernetes(example: str) -> None:
    objects = _plan(example, parameters={"x": "1"}, workspace_claim="work")
    kinds = [o["kind"] for o in objects]
    last = "CronJob" if example.startswith("07-") else "Job"
    assert kinds == ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", last]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_role_grants_exactly_the_permission_table() -> None:
    plain = _by_kind(_plan("01-basic-dag.yaml"))["Role"][0]["rules"]
    assert plain == permissions.role_rules()
    granted = {(r["apiGroups"][0], r["resources"][0], v) for r in plain for v in r["verbs"]}
    assert granted == {(p.group, p.resource, p.verb) for p in permissions.needed()}
    with_claim = _by_kind(_plan("02-artifacts.yaml", workspace_claim="work"))["Role"][0]["rules"]
    assert with_claim == permissions.role_rules({permissions.Need.WORKSPACE})
    assert {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]} in with_claim
    assert all(not set(r["verbs"]) & {"*", "escalate", "bind", "impersonate"} for r in with_claim)


def test_the_binding_ties_the_role_to_the_driver_pods_account() -> None:
    kinds = _by_kind(_plan("01-basic-dag.yaml", namespace="team-a"))
    account = kinds["ServiceAccount"][0]["metadata"]["name"]
    binding = kinds["RoleBinding"][0]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "team-a"}]
    pod = kinds["Job"][0]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account
    assert {o["metadata"]["namespace"] for o in _plan("01-basic-dag.yaml", namespace="team-a")} == {"team-a"}


def test_the_driver_runs_kjob_on_its_jobs_name_so_every_pod_drives_one_run() -> None:
    kinds = _by_kind(
        _plan("01-basic-dag.yaml", image="registry.example/kjob:1", command=["python", "-m", "kjob"])
    )
    job = kinds["Job"][0]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example/kjob:1"
    assert container["command"] == ["python", "-m", "kjob"]
    args = container["args"]
    assert args[:2] == ["run", "/kjob/plan/workflow.yaml"]
    assert args[args.index("--run-id") + 1] == "$(KJOB_RUN_ID)"
    assert "--detach-on-interrupt" in args  # a dying pod leaves the task Jobs to the next one
    env = {e["name"]: e for e in container["env"]}
    assert env["KJOB_RUN_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['job-name']"
    # the Job owns its run: deleting it (history limits, Replace, a GitOps prune) deletes the run
    assert args[args.index("--owner-job") + 1] == "$(KJOB_RUN_ID)=$(KJOB_JOB_UID)"
    assert env["KJOB_JOB_UID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['controller-uid']"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    fail_now = job["spec"]["podFailurePolicy"]["rules"][0]
    assert fail_now["action"] == "FailJob" and fail_now["onExitCodes"]["values"] == [1, 2]
    configmap = kinds["ConfigMap"][0]
    assert configmap["data"]["workflow.yaml"] == (EXAMPLES / "01-basic-dag.yaml").read_text()
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert {"name": "plan", "configMap": {"name": configmap["metadata"]["name"]}} in volumes


def test_names_follow_the_content() -> None:
    first = _plan("01-basic-dag.yaml", parameters={"a": "1"})
    assert first == _plan("01-basic-dag.yaml", parameters={"a": "1"})
    other = _plan("01-basic-dag.yaml", parameters={"a": "2"})
    assert other[0]["data"]["parameters.json"] == '{"a": "2"}'
    changed = {
        o["kind"] for o, p in zip(first, other, strict=True) if o["metadata"]["name"] != p["metadata"]["name"]
    }
    assert changed == {"ConfigMap", "Job"}  # a new run; the account and its Role stay
    other_image = _plan("01-basic-dag.yaml", parameters={"a": "1"}, image="kjob:other")
    assert other_image[-1]["metadata"]["name"] != first[-1]["metadata"]["name"]  # a pod template changed


CRON = """\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: twice-a-day}
spec:
  schedules: ["0 2 * * *", "30 14 * * 1-5"]
  timezone: Europe/Paris
  concurrencyPolicy: Replace
  startingDeadlineSeconds: 120
  suspend: true
  workflowMetadata:
    labels: {team: data}
  workflowSpec:
    entrypoint: main
    templates:
    - name: main
      container: {image: alpine, command: [echo, hi]}
"""


def test_the_seed_cronworkflow_becomes_one_cronjob_with_its_fields() -> None:
    cronjob = _by_kind(_plan("07-cronworkflow.yaml"))["CronJob"][0]
    spec = cronjob["spec"]
    assert cronjob["metadata"]["name"] == "daily-data-pipeline"
    assert {k: v for k, v in spec.items() if k != "jobTemplate"} == {
        "schedule": "0 2 * * *",
        "timeZone": "America/Los_Angeles",
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 1,
        "suspend": False,
    }
    driver = _by_kind(_plan("07-cronworkflow.yaml"))["CronJob"][0]["spec"]["jobTemplate"]["spec"]
    assert driver["template"]["spec"]["containers"][0]["args"][:2] == ["run", "/kjob/plan/workflow.yaml"]


def test_several_schedules_become_several_cronjobs() -> None:
    workflow = load_text(CRON, path="cron.yaml").workflows[0]
    objects = driver_plan(workflow, CRON)
    cronjobs = _by_kind(objects)["CronJob"]
    assert [(c["metadata"]["name"], c["spec"]["schedule"]) for c in cronjobs] == [
        ("twice-a-day-1", "0 2 * * *"),
        ("twice-a-day-2", "30 14 * * 1-5"),
    ]
    for cronjob in cronjobs:
        spec = cronjob["spec"]
        assert (
            spec["timeZone"],
            spec["concurrencyPolicy"],
            spec["startingDeadlineSeconds"],
            spec["suspend"],
        ) == (
            "Europe/Paris",
            "Replace",
            120,
            True,
        )
        assert spec["jobTemplate"]["metadata"]["labels"]["team"] == "data"
        kubernetes_validate.validate(cronjob, K8S_VERSION, strict=True)


def test_a_long_name_still_fits_the_cronjob_limit() -> None:
    long_name = "n" * 200
    text = CRON.replace("twice-a-day", long_name)
    objects = driver_plan(load_text(text, path="cron.yaml").workflows[0], text)
    for obj in objects:
        limit = 52 if obj["kind"] == "CronJob" else 63
        assert len(obj["metadata"]["name"]) <= limit, obj["kind"]
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_a_plan_of_a_workflow_using_templates_carries_them_to_the_driver(tmp_path: Path) -> None:
    from kjob.spec.templates_dir import load_library
    from tests.test_template_ref import GREET, LIB, USES_REFS

    (tmp_path / "greet.yaml").write_text(GREET)
    (tmp_path / "lib.yaml").write_text(LIB)
    (tmp_path / "other.yaml").write_text(GREET.replace("name: greet", "name: unused"))
    loaded = load_text(USES_REFS, path="wf.yaml", templates=load_library([str(tmp_path)]))
    workflow = loaded.workflows[0]
    carried = loaded.carried_templates(workflow)
    assert "name: lib" in carried and "name: greet" in carried
    assert "name: unused" not in carried  # only what the workflow uses
    objects = driver_plan(workflow, USES_REFS, DriverOptions(templates_text=carried))
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    found = _by_kind(objects)
    assert found["ConfigMap"][0]["data"]["templates.yaml"] == carried
    spec = found["Job"][0]["spec"]["template"]["spec"]
    args = spec["containers"][0]["args"]
    assert args[args.index("--templates") + 1] == "/kjob/plan/templates"
    items = {i["key"]: i["path"] for i in spec["volumes"][0]["configMap"]["items"]}
    assert items == {
        "workflow.yaml": "workflow.yaml",
        "parameters.json": "parameters.json",
        "templates.yaml": "templates/templates.yaml",
    }
    # a changed template is a changed plan: a new driver Job, not an edit of the old one's pod template
    changed = driver_plan(workflow, USES_REFS, DriverOptions(templates_text=carried + "# edited\n"))
    assert _by_kind(changed)["Job"][0]["metadata"]["name"] != found["Job"][0]["metadata"]["name"]
