"""`kjob run --dry-run`: every object a Kubernetes run would create, printed through the real CLI,
valid against the Kubernetes OpenAPI schema, byte-identical run after run, and nothing created."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from ruamel.yaml import YAML

from kjob.backends.dryrun import PLACEHOLDER_UID
from kjob.render import names
from kjob.render.yamltext import yaml_text
from tests.conftest import EXAMPLES, REPO, Completed, kjob_env

K8S = "1.31.0"  # the schema the Job manifests are checked against (as in test_k8s_manifests.py)

# Jobs per example when every task succeeds; 05's withParam items are only known at run time.
EXPECTED_JOBS = {
    "01-basic-dag.yaml": 6,
    "02-artifacts.yaml": 2,
    "03-conditional.yaml": 3,
    "04-retries.yaml": 1,
    "05-parallel-withparam.yaml": 2,
    "06-resources.yaml": 2,
    "07-cronworkflow.yaml": 3,
}

# Run-time decisions in every shape: an output read by a Job, a withParam known now, a `when` known
# now (false), a run-time value carried into a nested steps template (its `when` and `withSequence`
# follow it), a task that runs only after a failure, an exit handler on the workflow's status, retries.
TRICKY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: tricky
spec:
  entrypoint: main
  onExit: cleanup
  arguments:
    parameters:
    - {name: shards, value: '["a", "b"]'}
    - {name: mode, value: fast}
  templates:
  - name: main
    dag:
      tasks:
      - name: probe
        template: probe
      - name: use-output
        dependencies: [probe]
        template: echo
        arguments: {parameters: [{name: msg, value: "{{tasks.probe.outputs.parameters.answer}}"}]}
      - name: static-fan
        template: echo
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
        withParam: "{{workflow.parameters.shards}}"
      - name: static-skip
        template: echo
        when: "{{workflow.parameters.mode}} == slow"
        arguments: {parameters: [{name: msg, value: skipped}]}
      - name: nested
        dependencies: [probe]
        template: inner
        arguments: {parameters: [{name: flag, value: "{{tasks.probe.outputs.parameters.answer}}"}]}
      - name: on-failure
        depends: "probe.Failed"
        template: echo
        arguments: {parameters: [{name: msg, value: failed}]}
  - name: inner
    inputs: {parameters: [{name: flag}]}
    steps:
    - - name: gated
        template: echo
        when: "{{inputs.parameters.flag}} == yes"
        arguments: {parameters: [{name: msg, value: gated}]}
    - - name: counted
        template: echo
        withSequence: {count: "{{inputs.parameters.flag}}"}
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
  - name: cleanup
    dag:
      tasks:
      - name: notify
        template: echo
        when: "{{workflow.status}} != Succeeded"
        arguments: {parameters: [{name: msg, value: the run failed}]}
  - name: probe
    retryStrategy: {limit: 2}
    container: {image: alpine, command: [sh, -c, "echo yes > /tmp/a"]}
    outputs: {parameters: [{name: answer, valueFrom: {path: /tmp/a}}]}
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
"""


Dry = Callable[..., Completed]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One KJOB_HOME for the module: every test checks it is still empty."""
    return tmp_path_factory.mktemp("kjob-home")


@pytest.fixture(scope="module")
def dry(home: Path) -> Dry:
    """``dry(path, *args)`` runs ``kjob run PATH --dry-run ARGS`` (the real CLI, in a subprocess; an
    artifacts example gets a workspace), once per distinct command in this module."""
    done: dict[tuple[str, ...], Completed] = {}

    def call(path: Path, *args: str, seed: str | None = None) -> Completed:
        extra = ["--workspace-pvc", "shared"] if "artifacts" in path.name else []
        argv = ("run", str(path), "--dry-run", *extra, *args)
        if seed is not None or argv not in done:
            env = {**kjob_env(home), **({"PYTHONHASHSEED": seed} if seed is not None else {})}
            ran = subprocess.run(
                [sys.executable, "-m", "kjob", *argv],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
                timeout=120,
                check=False,
            )
            result = Completed(ran.returncode, ran.stdout, ran.stderr, home)
            if seed is not None:
                return result
            done[argv] = result
        return done[argv]

    return call


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workflows") / "tricky.yaml"
    path.write_text(TRICKY)
    return path


def documents(stdout: str) -> list[dict[str, Any]]:
    """The whole of stdout as a YAML stream: anything else in it (a progress line) fails here."""
    return list(yaml.safe_load_all(stdout))


def assert_valid_run(docs: list[dict[str, Any]], namespace: str) -> None:
    """A run ConfigMap, then Jobs (an Indexed Job after the ConfigMap of its items' commands), each
    valid for Kubernetes and owned by the run ConfigMap."""
    configmap = docs[0]
    jobs = [d for d in docs[1:] if d["kind"] == "Job"]
    items = {d["metadata"]["name"] for d in docs[1:] if d["kind"] == "ConfigMap"}
    assert configmap["kind"] == "ConfigMap" and configmap["metadata"]["labels"][names.LABEL_ROLE] == "run"
    run_id = configmap["metadata"]["name"]
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": run_id, "uid": PLACEHOLDER_UID}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S, strict=True)
        assert doc["metadata"]["namespace"] == namespace
    for doc in docs[1:]:
        assert doc["metadata"]["ownerReferences"] == [owner]
    assert items == {j["metadata"]["name"] for j in jobs if j["spec"].get("completionMode") == "Indexed"}
    for job in jobs:
        assert job["metadata"]["labels"][names.LABEL_RUN] == run_id
        for volume in job["spec"]["template"]["spec"].get("volumes", []):
            if volume.get("name") == "kjob-items":  # an Indexed Job's items: the ConfigMap before it
                assert volume["configMap"]["name"] == job["metadata"]["name"]
            elif "configMap" in volume:  # a script: its source is in the run ConfigMap
                assert volume["configMap"]["name"] == run_id
                assert all(i["key"] in configmap["data"] for i in volume["configMap"]["items"])
    assert len({j["metadata"]["name"] for j in jobs}) == len(jobs)


def node_ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["metadata"]["annotations"][names.ANNOTATION_NODE_ID] for d in docs[1:] if d["kind"] == "Job"]


@pytest.mark.parametrize("example", sorted(EXPECTED_JOBS))
def test_every_example_renders_valid_manifests_and_creates_nothing(
    dry: Dry, home: Path, example: str
) -> None:
    done = dry(EXAMPLES / example)
    assert done.code == 0, done.stderr
    docs = documents(done.stdout)
    workflow = yaml.safe_load((EXAMPLES / example).read_text())
    assert_valid_run(docs, workflow["metadata"].get("namespace", "default"))
    assert len(docs) == 1 + EXPECTED_JOBS[example]
    assert docs[0]["data"]["workflow.yaml"] == (EXAMPLES / example).read_text()
    assert "nothing created" in done.stderr
    assert list(home.iterdir()) == []  # no run directory, no record


# Strings in every style the YAML stream uses: a script with non-ASCII text (a literal block), one
# with a tab and a space before a line break (a literal block too), words YAML 1.1 reads as others.
AWKWARD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: awkward}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: plain, template: plain}
      - {name: tabbed, template: tabbed}
  - name: plain
    script:
      image: alpine
      command: [sh]
      source: |
        echo "żółw ✓"
        echo yes
  - name: tabbed
    container:
      image: alpine
      command: [sh, -c]
      args: ["printf 'a\\tb' \\nexit 0\\n"]
      env: [{name: MODE, value: "yes"}, {name: N, value: "1e3"}, {name: EMPTY, value: ""}]
"""


@pytest.mark.parametrize("example", ["02-artifacts.yaml", "03-conditional.yaml", "tricky", "awkward"])
def test_the_json_list_holds_the_same_objects(dry: Dry, tricky: Path, tmp_path: Path, example: str) -> None:
    if example == "awkward":
        path = tmp_path / "awkward.yaml"
        path.write_text(AWKWARD)
    else:
        path = tricky if example == "tricky" else EXAMPLES / example
    as_json = dry(path, "-o", "json")
    assert as_json.code == 0, as_json.stderr
    listing = json.loads(as_json.stdout)
    assert listing["apiVersion"] == "v1" and listing["kind"] == "List"
    as_yaml = dry(path)
    assert listing["items"] == documents(as_yaml.stdout)  # PyYAML: YAML 1.1, as kubectl reads it
    assert listing["items"] == list(YAML(typ="safe", pure=True).load_all(as_yaml.stdout))  # YAML 1.2
    if example == "awkward":  # scripts stay readable: literal blocks, as written
        assert "  script-" in as_yaml.stdout and ': |\n    echo "żółw ✓"\n    echo yes\n' in as_yaml.stdout
        assert "- |\n          printf 'a\tb' \n          exit 0\n" in as_yaml.stdout
        assert "value: 'yes'\n" in as_yaml.stdout and "value: '1e3'\n" in as_yaml.stdout


@pytest.mark.parametrize("workflow", ["05-parallel-withparam.yaml", "07-cronworkflow.yaml", "tricky"])
def test_output_is_byte_identical_under_any_hash_seed(
    dry: Dry, home: Path, tricky: Path, workflow: str
) -> None:
    path = tricky if workflow == "tricky" else EXAMPLES / workflow
    first = dry(path)  # PYTHONHASHSEED unset: a random seed
    for seed in ("0", "4242"):
        again = dry(path, seed=seed)
        assert (again.code, again.stdout, again.stderr) == (first.code, first.stdout, first.stderr)
    assert list(home.iterdir()) == []


def test_a_run_time_when_shows_both_branches_and_says_so(dry: Dry) -> None:
    done = dry(EXAMPLES / "03-conditional.yaml")
    assert node_ids(documents(done.stdout)) == [
        "check-data-size",
        "process-small-batch",
        "process-large-batch",
    ]
    when = "when '{{tasks.check-data-size.outputs.parameters.size}} < 1000'"
    assert f"# process-small-batch: created only if its {when} holds\napiVersion: batch/v1" in done.stdout
    assert f"dry run: process-small-batch: created only if its {when} holds" in done.stderr
    assert "process-large-batch: created only if" in done.stderr


def test_a_run_time_withparam_shows_no_invented_items(dry: Dry) -> None:
    done = dry(EXAMPLES / "05-parallel-withparam.yaml")
    assert node_ids(documents(done.stdout)) == ["generate-partitions", "merge-results"]
    assert (
        "process-partition: withParam '{{tasks.generate-partitions.outputs.parameters.partitions}}' is "
        "known only at run time: its Jobs are not shown"
    ) in done.stderr


def test_run_time_values_are_followed_through_templates_and_named(dry: Dry, tricky: Path) -> None:
    done = dry(tricky)
    assert done.code == 0, done.stderr
    docs = documents(done.stdout)
    assert_valid_run(docs, "default")
    # static-skip's `when` is known now (false): no Job, and nothing to say about it.
    assert node_ids(docs) == [
        "probe",
        "static-fan",  # one Indexed Job for both items
        "use-output",
        "nested.gated",
        "onExit.notify",
    ]
    use_output = docs[4]["spec"]["template"]["spec"]["containers"][0]
    assert use_output["command"] + use_output.get("args", []) == [
        "echo",
        "<run-time: probe.outputs.parameters.answer>",
    ]
    assert "# holds run-time values, shown as <run-time: ...>\napiVersion: batch/v1" in done.stdout
    notes = [line.removeprefix("dry run: ") for line in done.stderr.splitlines()]
    assert notes[:-1] == [
        "nested.gated: created only if its when '{{inputs.parameters.flag}} == yes' holds",
        "nested.counted: withSequence 'count={{inputs.parameters.flag}}' is known only at run time: "
        "its Jobs are not shown",
        "onExit.notify: created only if its when '{{workflow.status}} != Succeeded' holds",
        'on-failure: not shown when every task succeeds: depends "probe.Failed" was false: probe Succeeded',
        "retryStrategy of probe: each retry would be one more Job like the first, named ...-1, ...-2 "
        "and so on instead of ...-0",
    ]
    for note in notes[:-1]:
        assert f"#   {note}\n" in done.stdout  # the same notes head the stream


def test_queue_and_ttl_change_every_job(dry: Dry) -> None:
    done = dry(EXAMPLES / "01-basic-dag.yaml", "--queue", "team-a", "--ttl-seconds-after-finished", "600")
    assert done.code == 0, done.stderr
    docs = documents(done.stdout)
    assert_valid_run(docs, "data-processing")
    for job in docs[1:]:
        assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
        assert job["spec"]["suspend"] is True
        # set by kjob once it has read the Job's outcome, never before (a TTL could delete it first)
        assert "ttlSecondsAfterFinished" not in job["spec"]
        assert job["metadata"]["annotations"]["kjob.dev/ttl-seconds-after-finished"] == "600"


def test_the_namespace_comes_from_the_flag_the_workflow_or_the_kubeconfig_without_contacting_it(
    dry: Dry, home: Path, tmp_path: Path
) -> None:
    flagged = dry(EXAMPLES / "01-basic-dag.yaml", "-n", "elsewhere")
    assert_valid_run(documents(flagged.stdout), "elsewhere")
    kubeconfig = tmp_path / "kubeconfig"
    with socket.socket() as server:  # a "cluster" that must never hear from us
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        cluster = {"server": f"https://127.0.0.1:{server.getsockname()[1]}"}
        context = {"cluster": "c", "user": "u", "namespace": "team-ns"}
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": cluster}],
                    "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                    "contexts": [{"name": "ctx", "context": context}],
                    "current-context": "ctx",
                }
            )
        )
        from_context = dry(EXAMPLES / "03-conditional.yaml", "--kubeconfig", str(kubeconfig))
        assert from_context.code == 0, from_context.stderr
        assert_valid_run(documents(from_context.stdout), "team-ns")
        from_workflow = dry(EXAMPLES / "01-basic-dag.yaml", "--kubeconfig", str(kubeconfig))
        assert_valid_run(documents(from_workflow.stdout), "data-processing")
        with pytest.raises(BlockingIOError):
            server.accept()
    unknown = dry(EXAMPLES / "03-conditional.yaml", "--kubeconfig", str(kubeconfig), "--context", "nope")
    assert unknown.code == 1 and "the kubeconfig has no context 'nope'" in unknown.stderr
    assert list(home.iterdir()) == []


def test_bad_input_is_one_line_and_exit_2(dry: Dry, home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TRICKY.replace("template: inner", "template: innr"))
    done = dry(broken)
    assert done.code == 2 and done.stdout == ""
    assert done.stderr.startswith(f"{broken}:")
    assert ": error: unknown template 'innr'" in done.stderr.splitlines()[0]
    assert "Traceback" not in done.stderr

    malformed = tmp_path / "malformed.yaml"
    malformed.write_text(TRICKY.replace("== slow", "=== slow"))
    done = dry(malformed)
    assert done.code == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0].startswith(  # found before the run, where it is written
        f"{malformed}:28:47: error: invalid when: unexpected character '='"
    )

    unknown_parameter = dry(EXAMPLES / "04-retries.yaml", "-p", "nope=1")
    assert unknown_parameter.code == 2 and "no parameter 'nope'" in unknown_parameter.stderr

    no_workspace = tmp_path / "no-workspace.yaml"  # the artifacts example, without --workspace-pvc
    no_workspace.write_text((EXAMPLES / "02-artifacts.yaml").read_text())
    artifacts = dry(no_workspace)
    assert artifacts.code == 2 and artifacts.stdout == ""
    assert f"{no_workspace}:" in artifacts.stderr and "none was given" in artifacts.stderr

    local = dry(EXAMPLES / "01-basic-dag.yaml", "--backend", "local")
    assert local.code == 2 and local.stdout == "" and "drop --backend local" in local.stderr
    output_alone = subprocess.run(
        [sys.executable, "-m", "kjob", "run", str(EXAMPLES / "01-basic-dag.yaml"), "-o", "json"],
        capture_output=True,
        text=True,
        env=kjob_env(home),
        cwd=REPO,
        check=False,
    )
    assert output_alone.returncode == 2 and "-o/--output goes with --dry-run" in output_alone.stderr
    assert list(home.iterdir()) == []


def test_every_string_reads_back_the_same_in_yaml_1_1_and_1_2() -> None:
    """kubectl reads YAML 1.1 (``yes`` is a bool there, ``1e3`` a number in some readers): the
    stream quotes whatever any reader could take for something else, and keeps scripts literal."""
    awkward = [
        "yes",
        "on",
        "Y",
        "NULL",
        "1e3",
        "0o12",
        "012",
        "1:20",
        "~",
        "a:",
        "- x",
        "# c",
        "a: b",
        "x\r\ny",
    ]
    awkward += [
        "tab\there\n",
        " lead\nx\n",
        "trail\n\n\n",
        "nel\x85x",
        "ls\u2028x",
        "bell\x07",
        "żółw ✓\n",
        "",
    ]
    doc = {"args": awkward, "env": {s: s for s in awkward}, "n": 5, "b": True, "z": None}
    text = yaml_text(doc)
    assert yaml.safe_load(text) == doc  # PyYAML: YAML 1.1
    assert YAML(typ="safe", pure=True).load(text) == doc  # ruamel: YAML 1.2
    assert "- 'yes'\n" in text and "- '1e3'\n" in text
    assert "- |\n  tab\there\n" in text  # a literal block, the tab kept as it is


def test_help_says_what_piping_to_kubectl_does(kjob: Any) -> None:
    done = kjob("run", "--help")
    text = " ".join(done.stdout.split())
    assert "kubectl apply --dry-run=server -f -" in text
    assert "placeholder uid" in text and "garbage collector" in text


def test_a_fan_out_is_one_indexed_job_unless_no_indexed_jobs(dry: Dry, tricky: Path) -> None:
    docs = documents(dry(tricky).stdout)
    (fan,) = [d for d in docs if d["kind"] == "Job" and d["spec"].get("completionMode") == "Indexed"]
    assert fan["spec"]["completions"] == 2 and fan["spec"]["backoffLimitPerIndex"] == 0
    items = next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == fan["metadata"]["name"]
    )
    # the item template once, then only what differs per item, by completion index
    assert items["data"]["run"] == 'exec echo "${1}"\n'
    assert "0) set -- a;;\n1) set -- b;;\n" in items["data"]["c0"]

    per_item = dry(tricky, "--no-indexed-jobs")
    assert "static-fan(0:a)" in node_ids(documents(per_item.stdout))
    assert "dry run: static-fan: one Job per item (--no-indexed-jobs)" in per_item.stderr
