"""``kjob plan FILE -o DIR --mode waves [--flux]``: GitOps plans as a user commits them.

Every example's plan is compared byte for byte with its golden copy under ``tests/golden/plans``
(a plan the example cannot have is compared as its error). ``KJOB_UPDATE_GOLDEN=1`` rewrites the golden
copies instead, and refuses to where ``CI`` is set: CI checks the committed plans, it never makes them.
Every object is validated against the Kubernetes v1.28 OpenAPI schema (kubernetes-validate, offline).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import EXAMPLES, REPO, kjob_env

GOLDEN = REPO / "tests" / "golden" / "plans"
UPDATE = "KJOB_UPDATE_GOLDEN"  # KJOB_REGENERATE=1 (STYLE.md's name, the driver tests') works too
K8S_VERSION = "1.28.0"  # the real control plane's
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
REFUSED = {  # example -> what the located error names
    "02-artifacts.yaml": ("examples/02-artifacts.yaml:22:13: error:", "takes artifact 'input-data'"),
    "03-conditional.yaml": ("examples/03-conditional.yaml:20:9: error:", "has a when that reads values"),
    "05-parallel-withparam.yaml": ("examples/05-parallel-withparam.yaml:20:9: error:", "has withParam"),
}


def plan(
    tmp: Path, home: Path, workflow: str, *args: str, seed: str = "0"
) -> subprocess.CompletedProcess[str]:
    """``kjob plan WORKFLOW -o DIR ARGS`` from the repository (paths in errors stay relative)."""
    env = dict(kjob_env(home), PYTHONHASHSEED=seed)
    return subprocess.run(
        [sys.executable, "-m", "kjob", "plan", workflow, "-o", str(tmp), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def files_of(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): p.read_text()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def rendered(tmp_path: Path, kjob_home: Path, example: str, *args: str) -> dict[str, str]:
    """The plan's files, or ``{"error.txt": stderr}`` when the example is refused."""
    out = tmp_path / "plan"
    done = plan(out, kjob_home, f"examples/{example}", *args)
    if done.returncode != 0:
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        return {"error.txt": done.stderr}
    return files_of(out)


def check_golden(name: str, files: dict[str, str]) -> None:
    where = GOLDEN / name
    if os.environ.get(UPDATE) == "1" or os.environ.get("KJOB_REGENERATE") == "1":
        if os.environ.get("CI"):
            pytest.fail(
                f"{UPDATE}=1 is refused where CI is set: CI checks the golden plans, never writes them"
            )
        shutil.rmtree(where, ignore_errors=True)
        for relative, text in files.items():
            (where / relative).parent.mkdir(parents=True, exist_ok=True)
            (where / relative).write_text(text)
        return
    assert where.is_dir(), f"no golden plan at {where}: run with {UPDATE}=1 to write it, then review it"
    assert files == files_of(where), f"the plan differs from {where} (if the change is meant: {UPDATE}=1)"


def objects(files: dict[str, str]) -> list[dict[str, Any]]:
    return [yaml.safe_load(text) for name, text in sorted(files.items()) if name.endswith(".yaml")]


# ------------------------------------------------------------------------------------ golden
@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_every_examples_waves_plan_matches_its_golden_copy(
    tmp_path: Path, kjob_home: Path, example: str
) -> None:
    files = rendered(tmp_path, kjob_home, example)
    check_golden(f"{Path(example).stem}/waves", files)
    if example in REFUSED:
        where, what = REFUSED[example]
        assert files["error.txt"].startswith(where) and what in files["error.txt"]
        assert "--mode driver" in files["error.txt"]
        return
    for obj in objects(files):
        if obj["kind"] == "Kustomization":
            assert obj["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.mark.parametrize("example", EXAMPLE_FILES)
def test_every_examples_driver_plan_directory_matches_its_golden_copy(
    tmp_path: Path, kjob_home: Path, example: str
) -> None:
    """`kjob plan -o DIR --mode driver`: the driver's objects as files in apply order, all valid."""
    args = ("--workspace-pvc", "kjob-work") if example == "02-artifacts.yaml" else ()
    files = rendered(tmp_path, kjob_home, example, "--mode", "driver", *args)
    check_golden(f"{Path(example).stem}/driver", files)
    kinds = [o["kind"] for o in objects(files) if o["kind"] != "Kustomization"]
    last = "CronJob" if example == "07-cronworkflow.yaml" else "Job"
    assert kinds == ["ConfigMap", "ServiceAccount", "Role", "RoleBinding", last]
    listed = yaml.safe_load(files["kustomization.yaml"])["resources"]
    assert listed == sorted(f for f in files if f != "kustomization.yaml")
    for obj in objects(files):
        if obj["kind"] != "Kustomization":
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_flux_plan_matches_its_golden_copy(tmp_path: Path, kjob_home: Path) -> None:
    files = rendered(
        tmp_path, kjob_home, "01-basic-dag.yaml", "--flux", "--flux-path", "./clusters/dev/pipeline"
    )
    check_golden("01-basic-dag/waves-flux", files)
    flux = [o for o in objects(files) if o["apiVersion"].startswith("kustomize.toolkit.fluxcd.io/")]
    assert [k["metadata"]["name"] for k in flux] == [f"data-pipeline-wave-0{i}" for i in range(5)]
    for level, k in enumerate(flux):
        assert k["spec"]["wait"] is True and k["spec"]["prune"] is True
        assert k["spec"]["path"] == f"./clusters/dev/pipeline/wave-0{level}"
        assert k["spec"].get("dependsOn") == (
            [{"name": f"data-pipeline-wave-0{level - 1}"}] if level else None
        )
    for obj in objects(files):
        if obj["kind"] == "Job":
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


# ----------------------------------------------------------------------------- what users see
def jobs_by_task(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["labels"]["kjob.dev/task"]: o for o in objects(files) if o["kind"] == "Job"}


def test_each_task_is_a_job_in_the_sync_wave_of_its_level(tmp_path: Path, kjob_home: Path) -> None:
    jobs = jobs_by_task(rendered(tmp_path, kjob_home, "01-basic-dag.yaml"))
    waves = {
        task: job["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] for task, job in jobs.items()
    }
    assert waves == {
        "validate-input": "0",
        "transform-data": "1",
        "aggregate-users": "2",
        "aggregate-orders": "2",
        "generate-report": "3",
        "upload-results": "4",
    }
    for job in jobs.values():
        meta = job["metadata"]
        assert "argocd.argoproj.io/hook" not in meta["annotations"]  # a hook would re-run on every sync
        assert meta["annotations"]["argocd.argoproj.io/sync-options"] == "PruneLast=true"
        assert "ownerReferences" not in meta


def test_changing_one_task_renames_only_its_job(tmp_path: Path, kjob_home: Path) -> None:
    """A re-sync re-runs only what changed: the other Jobs keep their names (and stay Complete)."""
    before = jobs_by_task(rendered(tmp_path / "a", kjob_home, "01-basic-dag.yaml"))
    changed = tmp_path / "changed.yaml"
    text = (EXAMPLES / "01-basic-dag.yaml").read_text()
    assert text.count('print("Report generated")') == 1
    changed.write_text(text.replace('print("Report generated")', 'print("Report generated again")'))
    done = plan(tmp_path / "b", kjob_home, str(changed))
    assert done.returncode == 0, done.stderr
    after = jobs_by_task(files_of(tmp_path / "b"))
    renamed = {t for t in before if before[t]["metadata"]["name"] != after[t]["metadata"]["name"]}
    assert renamed == {"generate-report"}


def test_a_plan_is_byte_identical_under_any_hash_seed_and_replaces_the_plan_before_it(
    tmp_path: Path, kjob_home: Path
) -> None:
    """Written again into the same directory, a plan removes the files of the plan before it (a task
    renamed by its content hash leaves no stale Job for the GitOps tool) and nothing else."""
    alone = tmp_path / "alone"
    assert plan(alone, kjob_home, "examples/07-cronworkflow.yaml", seed="1").returncode == 0
    out = tmp_path / "plan"
    first = plan(out, kjob_home, "examples/01-basic-dag.yaml", "--flux", "--flux-path", "./p", seed="2")
    assert first.returncode == 0, first.stderr
    (out / "notes.yaml").write_text("mine: true\n")
    again = plan(out, kjob_home, "examples/07-cronworkflow.yaml", seed="12345")
    assert again.returncode == 0, again.stderr
    assert files_of(out) == {**files_of(alone), "notes.yaml": "mine: true\n"}
    assert not list(out.glob("wave-*"))


def test_retries_become_the_jobs_backoff_limit_with_a_warning(tmp_path: Path, kjob_home: Path) -> None:
    out = tmp_path / "plan"
    done = plan(out, kjob_home, "examples/04-retries.yaml")
    assert done.returncode == 0, done.stderr
    (job,) = jobs_by_task(files_of(out)).values()
    assert job["spec"]["backoffLimit"] == 3
    assert "retried as the Job's backoffLimit 3" in done.stderr


def test_ttl_seconds_after_finished_is_set_and_warned_about(tmp_path: Path, kjob_home: Path) -> None:
    out = tmp_path / "plan"
    done = plan(out, kjob_home, "examples/06-resources.yaml", "--ttl-seconds-after-finished", "600")
    assert done.returncode == 0, done.stderr
    assert {j["spec"]["ttlSecondsAfterFinished"] for j in jobs_by_task(files_of(out)).values()} == {600}
    assert "creates it again" in done.stderr


def test_a_nested_template_and_an_unlimited_retry_are_refused_where_they_are(
    tmp_path: Path, kjob_home: Path
) -> None:
    workflow = tmp_path / "nested.yaml"
    workflow.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: nested}\nspec:\n"
        "  entrypoint: main\n  templates:\n"
        "    - name: main\n      dag:\n        tasks:\n          - {name: a, template: inner}\n"
        "    - name: inner\n      dag:\n        tasks:\n          - {name: b, template: echo}\n"
        "    - name: echo\n      retryStrategy: {retryPolicy: Always}\n"
        "      container: {image: busybox, command: [echo, hi]}\n"
    )
    done = plan(tmp_path / "plan", kjob_home, str(workflow))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{workflow}:10:13: error: task 'a' runs the dag template 'inner'" in done.stderr
    assert f"{workflow}:16:7: error: template 'echo' retries without a limit" in done.stderr
    assert not (tmp_path / "plan").exists()


def test_plan_without_a_directory_still_prints_levels_and_formats(tmp_path: Path, kjob_home: Path) -> None:
    env = kjob_env(kjob_home)
    run = [sys.executable, "-m", "kjob", "plan", "examples/01-basic-dag.yaml"]
    as_json = subprocess.run([*run, "-o", "json"], capture_output=True, text=True, env=env, cwd=REPO)
    assert as_json.returncode == 0 and '"levels": 5' in as_json.stdout
    misplaced = subprocess.run([*run, "--flux"], capture_output=True, text=True, env=env, cwd=REPO)
    assert misplaced.returncode == 2 and "go with -o DIR" in misplaced.stderr


def test_a_fan_out_over_known_items_is_one_job_per_item_in_one_wave(tmp_path: Path, kjob_home: Path) -> None:
    workflow = tmp_path / "fan.yaml"
    workflow.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: fan}\nspec:\n"
        "  entrypoint: main\n  arguments: {parameters: [{name: greeting, value: hello}]}\n  templates:\n"
        "    - name: main\n      dag:\n        tasks:\n"
        "          - {name: a, template: echo, arguments: {parameters: [{name: msg, value: first}]}}\n"
        "          - name: b\n            depends: a\n            template: echo\n"
        "            arguments: {parameters: [{name: msg, value: '{{workflow.parameters.greeting}} {{item}}'}]}\n"
        "            withItems: [x, y]\n"
        "    - name: echo\n      inputs: {parameters: [{name: msg}]}\n"
        "      container: {image: busybox, command: [echo, '{{inputs.parameters.msg}}']}\n"
    )
    done = plan(tmp_path / "plan", kjob_home, str(workflow), "-p", "greeting=hi")
    assert done.returncode == 0, done.stderr
    jobs = [o for o in objects(files_of(tmp_path / "plan")) if o["kind"] == "Job"]
    waves = sorted(
        (
            j["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
            j["spec"]["template"]["spec"]["containers"][0]["args"],
        )
        for j in jobs
    )
    assert waves == [("0", ["first"]), ("1", ["hi x"]), ("1", ["hi y"])]


def test_a_cron_workflows_waves_plan_says_it_has_no_schedule(tmp_path: Path, kjob_home: Path) -> None:
    done = plan(tmp_path / "plan", kjob_home, "examples/07-cronworkflow.yaml")
    assert done.returncode == 0, done.stderr
    assert "has no schedule; --mode driver makes it a CronJob" in done.stderr


STATIC_WHEN = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: when-static}
spec:
  entrypoint: main
  arguments: {parameters: [{name: mode, value: fast}]}
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: echo}
          - {name: slow, template: echo, depends: a, when: "'{{workflow.parameters.mode}}' == 'slow'"}
          - {name: fast, template: echo, depends: a, when: "'{{workflow.parameters.mode}}' == 'fast'"}
          - {name: z, template: echo, depends: "slow || fast"}
    - name: echo
      container: {image: busybox, command: [echo, hi]}
"""


@pytest.mark.parametrize(("mode", "branch"), [("fast", "fast"), ("slow", "slow")])
def test_a_when_on_workflow_parameters_is_decided_when_the_plan_is_written(
    tmp_path: Path, kjob_home: Path, mode: str, branch: str
) -> None:
    workflow = tmp_path / "when.yaml"
    workflow.write_text(STATIC_WHEN)
    done = plan(tmp_path / "plan", kjob_home, str(workflow), "-p", f"mode={mode}")
    assert done.returncode == 0, done.stderr
    waves = {
        t: j["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
        for t, j in jobs_by_task(files_of(tmp_path / "plan")).items()
    }
    assert waves == {"a": "0", branch: "1", "z": "2"}
