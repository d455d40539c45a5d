"""Valid workflow files load into the expected frozen model, with marks that point at the source."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import ruamel.yaml

from kjob.errors import SpecErrors
from kjob.spec import LoadResult, load_file, load_text, source
from kjob.spec.model import (
    Backoff,
    ContinueOn,
    Mark,
    Resources,
    RetryPolicy,
    Sequence,
    TemplateKind,
    Workflow,
)

DATA = Path(__file__).parent / "data" / "spec"
FULL = DATA / "full.yaml"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"
needs_seed = pytest.mark.skipif(
    not SEED.is_dir(), reason="../shared (the tutorial seed) is not beside the checkout"
)


def only(result: LoadResult) -> Workflow:
    assert result.warnings == ()
    (workflow,) = result.workflows
    return workflow


@pytest.fixture(scope="module")
def full() -> Workflow:
    return only(load_file(FULL))


def mark(line: int, col: int) -> Mark:
    return Mark(str(FULL), line, col)


def test_workflow_header(full: Workflow) -> None:
    assert (full.api_version, full.kind) == ("argoproj.io/v1alpha1", "Workflow")
    assert (full.name, full.generate_name, full.display_name) == (None, "full-", "full")
    assert full.namespace == "batch"
    assert dict(full.labels) == {"team": "data", "tier": "1"}
    assert dict(full.annotations) == {"owner": "someone@example.com"}
    assert (full.entrypoint, full.on_exit) == ("main", "notify")
    assert full.parallelism == 4
    assert full.active_deadline_seconds == 3600.0
    assert full.service_account_name == "runner"
    assert full.cron is None
    assert full.path == str(FULL)
    assert full.mark == mark(2, 1)


def test_workflow_pod_fields_use_the_template_names(full: Workflow) -> None:
    assert dict(full.pod_extra) == {
        "nodeSelector": {"pool": "batch"},
        "metadata": {"labels": {"app": "full"}},
    }


def test_workflow_arguments_are_strings_like_argo(full: Workflow) -> None:
    size, mode = full.arguments.parameters
    assert (size.name, size.value, size.mark) == ("size", "1000", mark(24, 7))
    assert (mode.value, mode.enum) == ("fast", ("fast", "slow"))


def test_template_order_and_kinds(full: Workflow) -> None:
    assert list(full.templates) == ["main", "split", "work", "collect", "show", "notify"]
    kinds = {name: t.kind for name, t in full.templates.items()}
    assert kinds == {
        "main": TemplateKind.DAG,
        "split": TemplateKind.SCRIPT,
        "work": TemplateKind.CONTAINER,
        "collect": TemplateKind.STEPS,
        "show": TemplateKind.CONTAINER,
        "notify": TemplateKind.CONTAINER,
    }
    assert full.template("work").mark == mark(115, 5)


def test_dag_tasks(full: Workflow) -> None:
    dag = full.template("main").dag
    assert dag is not None
    assert dag.fail_fast is False
    assert [t.name for t in dag.tasks] == ["split", "work", "pairs", "numbered", "collect"]
    split, work, pairs, numbered, collect = dag.tasks
    assert (split.mark, split.template_mark) == (mark(34, 9), mark(35, 19))
    assert work.depends == "split.Succeeded"
    assert work.dependencies == ()
    assert work.with_param == "{{tasks.split.outputs.result}}"
    assert work.continue_on == ContinueOn(failed=True, error=False)
    assert [(p.name, p.value) for p in work.arguments.parameters] == [
        ("part", "{{item}}"),
        ("verbose", "true"),
    ]
    assert work.fans_out
    assert pairs.with_items == ({"a": 1, "b": "two"}, {"a": 2.5, "b": None})
    assert type(pairs.with_items[0]) is dict
    assert numbered.with_sequence == Sequence(count="3", format="part-%02d", mark=mark(63, 9))
    assert collect.dependencies == ("work", "pairs", "numbered")
    assert collect.when == "{{tasks.split.outputs.parameters.count}} > 0"
    (artifact,) = collect.arguments.artifacts
    assert (artifact.name, artifact.from_, artifact.mark) == (
        "parts",
        "{{tasks.split.outputs.artifacts.listing}}",
        mark(72, 13),
    )
    assert not split.fans_out


def test_script_template(full: Workflow) -> None:
    split = full.template("split")
    container = split.container
    assert container is not None and container.is_script
    assert container.image == "python:3.12"
    assert container.command == ("python",)
    assert container.source is not None and container.source.startswith("import json\n")
    assert container.mark == mark(88, 5)
    assert dict(container.extra) == {"imagePullPolicy": "IfNotPresent"}
    size, token = container.env
    assert (size.name, size.value, size.value_from) == ("SIZE", "{{workflow.parameters.size}}", None)
    assert token.value is None
    assert dict(token.value_from or {}) == {"secretKeyRef": {"name": "creds", "key": "token"}}
    assert container.resources == Resources(
        requests=MappingProxyType({"cpu": "500m", "memory": "1Gi"}),
        limits=MappingProxyType({"cpu": "2", "memory": "4Gi"}),
    )
    assert dict(split.pod_extra) == {
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]
    }
    (count,) = split.outputs.parameters
    assert (count.value_from_path, count.value_from_default) == ("/tmp/count", "0")
    (listing,) = split.outputs.artifacts
    assert listing.path == "/tmp/listing"


def test_retry_and_deadlines(full: Workflow) -> None:
    split = full.template("split")
    retry = split.retry_strategy
    assert retry is not None
    assert (retry.limit, retry.policy, retry.mark) == (2, RetryPolicy.ON_ERROR, mark(76, 5))
    assert retry.backoff == Backoff(duration=0.5, factor=1.5, max_duration=5400.0, cap=30.0)
    assert (split.active_deadline_seconds, split.timeout, split.deadline) == (600.0, 300.0, 300.0)


def test_container_template(full: Workflow) -> None:
    work = full.template("work")
    assert work.parallelism == 2
    part, verbose = work.inputs.parameters
    assert (part.name, part.value, part.default) == ("part", None, None)
    assert (verbose.default, verbose.description) == ("false", "print more")
    container = work.container
    assert container is not None and not container.is_script
    # The values are the shell's positional parameters, not pasted into its code (no advice warning).
    assert container.args == ('echo "$0" "$1"', "{{inputs.parameters.part}}", "{{inputs.parameters.verbose}}")
    assert container.working_dir == "/work"
    assert dict(container.extra) == {"volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}


def test_steps_template(full: Workflow) -> None:
    collect = full.template("collect")
    assert collect.steps is not None
    assert [[s.name for s in group] for group in collect.steps] == [["show"], ["again"]]
    (artifact,) = collect.inputs.artifacts
    assert (artifact.name, artifact.path) == ("parts", "/tmp/parts")


def test_model_is_frozen(full: Workflow) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        full.templates["x"] = full.template("main")  # type: ignore[index]


def test_defaults() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: tiny}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {}
    dag:
      tasks:
      - {name: a, template: echo}
  - name: echo
    retryStrategy: {limit: 3}
    container: {image: alpine}
"""
    workflow = only(load_text(text))
    main = workflow.template("main")
    assert main.dag is not None and main.dag.fail_fast is True and main.dag.target is None
    assert main.retry_strategy is not None
    assert (main.retry_strategy.limit, main.retry_strategy.policy) == (None, RetryPolicy.ON_FAILURE)
    echo = workflow.template("echo")
    assert echo.retry_strategy is not None and echo.retry_strategy.backoff is None
    assert echo.deadline is None
    assert workflow.path == "<string>"
    assert workflow.mark == Mark("<string>", 1, 1)


def test_multiple_documents_and_empty_ones() -> None:
    text = """\
---
# an empty document first
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: shared}
spec:
  templates:
  - {name: echo, container: {image: alpine}}
---
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: second-}
spec:
  entrypoint: main
  templates:
  - {name: main, container: {image: alpine}}
"""
    result = load_text(text, path="multi.yaml")
    first, second = result.workflows
    assert (first.kind, first.name, first.entrypoint) == ("WorkflowTemplate", "shared", None)
    assert (second.kind, second.generate_name) == ("Workflow", "second-")
    assert second.mark == Mark("multi.yaml", 12, 1)


def test_cron_workflow() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: nightly
  labels: {app: batch}
spec:
  schedule: "0 2 * * *"
  timezone: UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 60
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 1
  suspend: true
  workflowMetadata:
    labels: {run: nightly}
    annotations: {note: hello}
  workflowSpec:
    entrypoint: main
    templates:
    - {name: main, container: {image: alpine}}
"""
    workflow = only(load_text(text, path="cron.yaml"))
    cron = workflow.cron
    assert cron is not None
    assert cron.schedules == ("0 2 * * *",)
    assert (cron.timezone, cron.concurrency_policy, cron.suspend) == ("UTC", "Forbid", True)
    assert (cron.starting_deadline_seconds, cron.successful_jobs_history_limit) == (60, 3)
    assert cron.failed_jobs_history_limit == 1
    assert dict(cron.workflow_labels) == {"run": "nightly"}
    assert dict(cron.workflow_annotations) == {"note": "hello"}
    assert cron.mark == Mark("cron.yaml", 6, 1)
    assert dict(workflow.labels) == {"app": "batch"}
    assert (workflow.name, workflow.entrypoint, list(workflow.templates)) == ("nightly", "main", ["main"])


def test_cron_schedules_list() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: twice}
spec:
  schedules: ["0 2 * * *", "@hourly"]
  workflowSpec:
    entrypoint: main
    templates:
    - {name: main, container: {image: alpine}}
"""
    cron = only(load_text(text)).cron
    assert cron is not None
    assert cron.schedules == ("0 2 * * *", "@hourly")
    assert cron.concurrency_policy == "Allow"


def test_kjob_api_version_uses_angle_references() -> None:
    text = """\
apiVersion: kjob.dev/v1alpha1
kind: Workflow
metadata: {name: native}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: who, value: world}]
  templates:
  - name: main
    container:
      image: alpine
      args: ["hello << workflow.parameters.who >>", "{{ not a reference here }}"]
"""
    workflow = only(load_text(text))
    assert workflow.api_version == "kjob.dev/v1alpha1"
    container = workflow.template("main").container
    assert container is not None
    assert container.args[1] == "{{ not a reference here }}"


def test_parameter_values_keep_argo_string_forms() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: values}
spec:
  entrypoint: main
  arguments:
    parameters:
    - {name: int, value: 1000}
    - {name: float, value: 2.5}
    - {name: whole-float, value: 3.0}
    - {name: bool, value: true}
    - {name: text, value: "007"}
    - {name: date, value: 2024-01-31}
  templates:
  - name: main
    container: {image: alpine, args: [1, true]}
"""
    workflow = only(load_text(text))
    values = [p.value for p in workflow.arguments.parameters]
    assert values == ["1000", "2.5", "3", "true", "007", "2024-01-31"]
    container = workflow.template("main").container
    assert container is not None and container.args == ("1", "true")


@needs_seed
def test_seed_basic_dag() -> None:
    path = SEED / "01-basic-dag.yaml"
    workflow = only(load_file(path))
    assert (workflow.generate_name, workflow.namespace, workflow.entrypoint) == (
        "data-pipeline-",
        "data-processing",
        "data-processing-dag",
    )
    dag = workflow.template("data-processing-dag").dag
    assert dag is not None
    users = dag.task("aggregate-users")
    assert users is not None
    assert users.dependencies == ("transform-data",)
    assert users.mark == Mark(str(path), 24, 9)
    assert users.template_mark == Mark(str(path), 26, 19)
    assert [(p.name, p.value) for p in users.arguments.parameters] == [("entity", "users")]
    report = dag.task("generate-report")
    assert report is not None and report.dependencies == ("aggregate-users", "aggregate-orders")
    upload = workflow.template("upload").container
    assert upload is not None and upload.command == ("sh", "-c")


# -- reading YAML: ruamel's C parser and its pure-Python parser give the same model -----------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(params=["c", "pure"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Load with ruamel.yaml.clib's C parser, or with ruamel's pure-Python parser."""
    if request.param == "c" and not source.HAVE_C_PARSER:
        pytest.skip("ruamel.yaml.clib is not installed")
    monkeypatch.setattr(source, "HAVE_C_PARSER", request.param == "c")
    return str(request.param)


def loaded_with(pure: bool, path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadResult:
    with monkeypatch.context() as patch:
        patch.setattr(source, "HAVE_C_PARSER", source.HAVE_C_PARSER and not pure)
        return load_file(path)


@pytest.mark.parametrize(
    "path", [FULL, *sorted(EXAMPLES.glob("*.yaml"))], ids=lambda p: getattr(p, "name", str(p))
)
def test_c_and_pure_parsers_give_the_same_model(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, pure = loaded_with(False, path, monkeypatch), loaded_with(True, path, monkeypatch)
    assert fast.workflows and fast == pure  # marks included: every dataclass compares them


def test_c_parser_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    if not source.HAVE_C_PARSER:
        pytest.skip("ruamel.yaml.clib is not installed")
    composed: list[bool] = []
    real = ruamel.yaml.YAML.compose_all

    def spy(self: ruamel.yaml.YAML, stream: str) -> Any:
        composed.append(self.Parser.__module__.startswith("ruamel.yaml.parser"))  # pure parser?
        return real(self, stream)

    monkeypatch.setattr(ruamel.yaml.YAML, "compose_all", spy)
    only(load_file(FULL))
    assert composed == [False]


ANCHORS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: anchors}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - &task
        name: a
        template: echo
        arguments: {parameters: [{name: msg, value: &hello hello}]}
      - <<: *task
        name: b
        dependencies: [a]
      - <<: [{name: c, template: echo}, *task]
        arguments: {parameters: [{name: msg, value: *hello}]}
        dependencies: [a, b]
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: &alpine
      image: alpine
      command: [echo, "{{inputs.parameters.msg}}"]
  - name: echo-too
    inputs: {parameters: [{name: msg}]}
    container: *alpine
"""


def test_anchors_aliases_and_merge_keys(parser: str) -> None:
    workflow = only(load_text(ANCHORS, path="anchors.yaml"))
    dag = workflow.template("main").dag
    assert dag is not None
    a, b, _ = dag.tasks
    assert [(t.name, t.template, t.dependencies) for t in dag.tasks] == [
        ("a", "echo", ()),
        ("b", "echo", ("a",)),
        ("c", "echo", ("a", "b")),  # the first mapping of a merge list wins
    ]
    assert [p.value for t in dag.tasks for p in t.arguments.parameters] == ["hello"] * 3
    assert a.mark == Mark("anchors.yaml", 10, 9)
    assert b.mark == Mark("anchors.yaml", 14, 9)
    # A merged key has no place of its own: its marks are those of the mapping it was merged into.
    assert b.template_mark == Mark("anchors.yaml", 14, 9)
    assert a.template_mark == Mark("anchors.yaml", 12, 19)
    echo, too = workflow.template("echo").container, workflow.template("echo-too").container
    assert echo is not None and too is not None
    assert (too.image, too.command, too.mark) == ("alpine", echo.command, Mark("anchors.yaml", 27, 5))


SCALARS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: scalars}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      args: [1000, "1000", '1000', 1_000, 0x1F, 0o17, 010, 1e3, 2.50, -0.0, .inf, true, "true", True,
             yes, no, on, "", 2024-01-31, 2024-01-31T10:00:00Z, !!str 5, !!int "7", &b false, *b]
"""


def test_scalars_take_argo_string_forms(parser: str) -> None:
    container = only(load_text(SCALARS)).template("main").container
    assert container is not None
    # YAML 1.2 as ruamel reads it: yes/no/on are strings, 010 is ten; quoted numbers stay as written.
    numbers = ("1000", "1000", "1000", "1000", "31", "15", "10", "1000", "2.5", "0", "inf")
    words = ("true", "true", "true", "yes", "no", "on", "")
    rest = ("2024-01-31", "2024-01-31T10:00:00+00:00", "5", "7", "false", "false")
    assert container.args == (*numbers, *words, *rest)


def test_null_items_are_reported(parser: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_text(SCALARS.replace('on, "",', "on, null, ~,"), path="s.yaml")
    assert caught.value.render().splitlines() == [
        "s.yaml:11:27: error: each item of 'args' must be a string, not empty",
        "s.yaml:11:33: error: each item of 'args' must be a string, not empty",
    ]


def test_yaml_11_directive_reads_yaml_11_scalars(parser: str) -> None:
    text = "%YAML 1.1\n---\n" + SCALARS.replace('!!str 5, !!int "7", ', "")
    container = only(load_text(text)).template("main").container
    assert container is not None
    # YAML 1.1: 010 is octal, 0o17 is not a number, yes/no/on are booleans.
    yaml_11 = ("31", "0o17", "8", "1000", "2.5", "0", "inf", "true", "true", "true", "true", "false", "true")
    assert container.args[4:17] == yaml_11


def test_multiple_documents_with_both_parsers(parser: str) -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: one}
spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}
...
---
# nothing
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: two}
spec:
  entrypoint: main
  templates: [{name: main, container: {image: alpine}}]
"""
    one, two = load_text(text, path="m.yaml").workflows
    assert (one.name, one.mark) == ("one", Mark("m.yaml", 1, 1))
    assert (two.name, two.mark) == ("two", Mark("m.yaml", 9, 1))
    main = two.template("main")
    assert main.mark == Mark("m.yaml", 14, 15)


def test_yaml_11_line_breaks_are_read_by_ruamels_own_parser(parser: str) -> None:
    # NEL, LS and PS are line breaks to the C parser (YAML 1.1) but not to ruamel's, which reads the
    # file as it always has: a NEL folds like a line break inside quotes, an LS stays as it is.
    text = SCALARS.replace("args: [1000", 'args: ["a\u2028b\tc", "x\x85y", 1000')
    container = only(load_text(text)).template("main").container
    assert container is not None
    assert container.args[:3] == ("a\u2028b\tc", "x y", "1000")


@pytest.mark.parametrize("failing", [False, True])
def test_garbage_collector_is_back_on_after_loading(failing: bool) -> None:
    assert gc.isenabled()
    text = SCALARS.replace("image: alpine", "image: [alpine]") if failing else SCALARS
    try:
        load_text(text)
    except SpecErrors:
        assert failing
    assert gc.isenabled()
    gc.disable()
    try:
        load_text(SCALARS)
        assert not gc.isenabled()  # and left off when it was off
    finally:
        gc.enable()
