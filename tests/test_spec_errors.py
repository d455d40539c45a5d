"""Every mistake a user can make in a workflow file gives one exact message at the right place.

Each case is a small workflow (the header below plus the templates) and the complete rendered error
output expected for it: ``path:line:col: error: message`` and the hint.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kjob.errors import KjobError, SpecErrors
from kjob.spec import load_file, load_text, source

HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: t}
spec:
  entrypoint: main
  templates:
"""  # templates start on line 7
ECHO = """\
  - name: echo
    container: {image: alpine}
"""


def errors(text: str, *, lenient: bool = False) -> str:
    with pytest.raises(SpecErrors) as caught:
        load_text(text, path="wf.yaml", lenient=lenient)
    return caught.value.render()


CASES: list[tuple[str, str, str]] = [
    (
        "unknown template",
        """\
  - name: main
    dag:
      tasks:
      - name: a
        template: nope
"""
        + ECHO,
        """\
wf.yaml:11:19: error: unknown template 'nope' (defined: echo, main)
  hint: add a template named 'nope' to spec.templates""",
    ),
    (
        "unknown template, close to a defined one",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: ecko}
"""
        + ECHO,
        """\
wf.yaml:10:29: error: unknown template 'ecko' (defined: echo, main)
  hint: did you mean 'echo'?""",
    ),
    (
        "misspelt field",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo}
      - name: b
        dependancies: [a]
        template: echo
"""
        + ECHO,
        """\
wf.yaml:12:9: error: unknown field 'dependancies' in task 'b'
  hint: did you mean 'dependencies'?""",
    ),
    (
        "unknown field without a close match lists the allowed ones",
        """\
  - name: main
    container: {image: alpine, colour: blue}
""",
        """\
wf.yaml:8:32: error: unknown field 'colour' in container of template 'main'
  hint: allowed fields: args, command, env, envFrom, image, imagePullPolicy, livenessProbe, name, ports, \
readinessProbe, resources, securityContext, startupProbe, volumeMounts, workingDir""",
    ),
    (
        "argo field kjob does not support",
        """\
  - name: main
    container: {image: alpine}
    priority: 1
""",
        """\
wf.yaml:9:5: error: 'priority' is not supported by kjob yet""",
    ),
    (
        "unsupported template body",
        """\
  - name: main
    plugin: {hello: {}}
""",
        """\
wf.yaml:8:5: error: 'plugin' is not supported by kjob yet""",
    ),
    (
        "unsupported artifact source",
        """\
  - name: main
    inputs:
      artifacts:
      - {name: data, path: /tmp/data, s3: {key: data.csv}}
    container: {image: alpine}
""",
        """\
wf.yaml:10:39: error: 's3' is not supported by kjob yet
  hint: artifact repositories (S3, GCS, Azure, OSS, HDFS, Artifactory, plugins) are planned for a later \
kjob release; for now kjob keeps artifacts in its run workspace: produce the file in an earlier task and pass \
it with `from:`""",
    ),
    (
        "expression tag with a syntax error",
        """\
  - name: main
    container:
      image: alpine
      args: ["{{=sprig.upper('x' +)}}"]
""",
        """\
wf.yaml:10:35: error: invalid args[0]: expected an operand after '+', found ')'
    {{=sprig.upper('x' +)}}
                        ^
  hint: e.g. asInt(inputs.parameters.count) > 2 ? 'many' : 'few'""",
    ),
    (
        "duplicate task name",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo}
      - {name: a, template: echo}
"""
        + ECHO,
        """\
wf.yaml:11:9: error: duplicate task name 'a'
  hint: the first one is at line 10; task names must be unique""",
    ),
    (
        "duplicate template name",
        """\
  - name: main
    container: {image: alpine}
  - name: main
    container: {image: busybox}
""",
        """\
wf.yaml:9:5: error: duplicate template name 'main'
  hint: the first one is at line 7; rename one of them""",
    ),
    (
        "unknown dependency",
        """\
  - name: main
    dag:
      tasks:
      - {name: extract, template: echo}
      - {name: load, template: echo, dependencies: [extract, transform]}
"""
        + ECHO,
        """\
wf.yaml:11:62: error: unknown dependency 'transform' of task 'load'
  hint: tasks of dag 'main': extract, load""",
    ),
    (
        "unknown dependency in depends",
        """\
  - name: main
    dag:
      tasks:
      - {name: extract, template: echo}
      - {name: load, template: echo, depends: "extract.Succeeded && extrct"}
"""
        + ECHO,
        """\
wf.yaml:11:69: error: unknown dependency 'extrct' of task 'load'
  hint: did you mean 'extract'? (tasks of dag 'main': extract, load)""",
    ),
    (
        "dependencies written as a string",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo}
      - {name: b, template: echo, dependencies: a}
"""
        + ECHO,
        """\
wf.yaml:11:49: error: 'dependencies' must be a list of task names, not a string
  hint: write `dependencies: [a]`""",
    ),
    (
        "a task depending on itself",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo, dependencies: [a]}
"""
        + ECHO,
        """\
wf.yaml:10:9: error: dependency cycle: a -> a
  hint: a task cannot wait for itself: remove one of these dependencies""",
    ),
    (
        "depends together with dependencies",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo}
      - name: b
        template: echo
        dependencies: [a]
        depends: a
"""
        + ECHO,
        """\
wf.yaml:14:9: error: task 'b' has both depends and dependencies
  hint: use one of depends or dependencies""",
    ),
    (
        "two fan-outs",
        """\
  - name: main
    dag:
      tasks:
      - name: a
        template: echo
        withItems: [1, 2]
        withSequence: {count: 3}
"""
        + ECHO,
        """\
wf.yaml:13:9: error: task 'a' has more than one of withItems, withParam, withSequence
  hint: use one of them""",
    ),
    (
        "bad durations and retry strategy",
        """\
  - name: main
    timeout: 10x
    retryStrategy:
      limit: -1
      retryPolicy: Sometimes
      backoff: {duration: 1h, factor: 0}
    container: {image: alpine}
""",
        """\
wf.yaml:8:14: error: invalid duration "10x" for 'timeout'
  hint: use a number of seconds or a duration like "30s", "5m", "1h30m" or "500ms"
wf.yaml:10:14: error: 'limit' must be at least 0, not -1
wf.yaml:11:20: error: unknown retryPolicy 'Sometimes'
  hint: use one of: Always, OnFailure, OnError, OnTransientError
wf.yaml:12:39: error: 'factor' must be more than zero, not 0""",
    ),
    (
        "unknown task in a reference",
        """\
  - name: main
    dag:
      tasks:
      - {name: size, template: size}
      - name: use
        dependencies: [size]
        template: echo
        when: "{{tasks.sise.outputs.result}} > 3"
  - name: size
    script: {image: python, source: "print(3)"}
"""
        + ECHO,
        """\
wf.yaml:14:18: error: unknown task 'sise' in {{tasks.sise.outputs.result}}
  hint: did you mean 'size'? (tasks of template 'main': size, use)""",
    ),
    (
        "undeclared output parameter of a script: suggest outputs.result",
        """\
  - name: main
    dag:
      tasks:
      - {name: size, template: size}
      - name: use
        dependencies: [size]
        template: echo
        when: "{{tasks.size.outputs.parameters.size}} > 3"
  - name: size
    script: {image: python, source: "print(3)"}
"""
        + ECHO,
        """\
wf.yaml:14:18: error: task 'size' (template 'size') has no output parameter 'size'
  hint: template 'size' declares no output parameters; to use what the task prints, write \
{{tasks.size.outputs.result}}""",
    ),
    (
        "undeclared output parameter lists the declared ones",
        """\
  - name: main
    dag:
      tasks:
      - {name: size, template: size}
      - name: use
        dependencies: [size]
        template: echo
        when: "{{tasks.size.outputs.parameters.total}} > 3"
  - name: size
    script: {image: python, source: "open('/tmp/n', 'w').write('3')"}
    outputs:
      parameters:
      - {name: count, valueFrom: {path: /tmp/n}}
"""
        + ECHO,
        """\
wf.yaml:14:18: error: task 'size' (template 'size') has no output parameter 'total'
  hint: it declares output parameters: count""",
    ),
    (
        "undeclared output artifact",
        """\
  - name: main
    dag:
      tasks:
      - {name: extract, template: extract}
      - name: process
        dependencies: [extract]
        template: process
        arguments:
          artifacts:
          - {name: input-data, from: "{{tasks.extract.outputs.artifacts.dta}}"}
  - name: extract
    container: {image: alpine}
    outputs:
      artifacts:
      - {name: data, path: /tmp/data.json}
  - name: process
    inputs:
      artifacts:
      - {name: input-data, path: /tmp/input.json}
    container: {image: alpine}
""",
        """\
wf.yaml:16:41: error: task 'extract' (template 'extract') has no output artifact 'dta'
  hint: did you mean 'data'? (it declares output artifacts: data)""",
    ),
    (
        "undeclared input in a script: the exact line of the block",
        """\
  - name: main
    inputs:
      parameters:
      - {name: entity, default: users}
    script:
      image: python
      source: |
        entity = "{{inputs.parameters.entity}}"
        other = "{{inputs.parameters.entty}}"
""",
        """\
wf.yaml:15:20: error: template 'main' has no input parameter 'entty'
  hint: did you mean 'entity'? (declared input parameters: entity)""",
    ),
    (
        "required input parameter not passed",
        """\
  - name: main
    dag:
      tasks:
      - {name: aggregate-users, template: aggregate}
  - name: aggregate
    inputs:
      parameters:
      - name: entity
      - {name: format, default: csv}
    container: {image: alpine, args: ["{{inputs.parameters.entity}}"]}
""",
        """\
wf.yaml:10:9: error: task 'aggregate-users' does not pass input parameter 'entity' required by template \
'aggregate'
  hint: pass it: `arguments: {parameters: [{name: entity, value: ...}]}`""",
    ),
    (
        "enum violated by a literal value",
        """\
  - name: main
    dag:
      tasks:
      - name: a
        template: greet
        arguments:
          parameters: [{name: mode, value: medium}]
  - name: greet
    inputs: {parameters: [{name: mode, enum: [fast, slow]}]}
    container: {image: alpine, args: ["{{inputs.parameters.mode}}"]}
""",
        """\
wf.yaml:13:24: error: parameter 'mode' is 'medium', which is not one of its enum values
  hint: use one of: fast, slow""",
    ),
    (
        "undeclared workflow parameter",
        """\
  - name: main
    container: {image: alpine, args: ["{{workflow.parameters.date}}"]}
""",
        """\
wf.yaml:8:42: error: workflow parameter 'date' is not declared
  hint: declare it: `spec: {arguments: {parameters: [{name: date, value: ...}]}}`""",
    ),
    (
        "item in a task that does not fan out",
        """\
  - name: main
    dag:
      tasks:
      - name: a
        template: greet
        arguments:
          parameters: [{name: who, value: "{{item}}"}]
  - name: greet
    inputs: {parameters: [{name: who}]}
    container: {image: alpine, args: ["{{inputs.parameters.who}}"]}
""",
        """\
wf.yaml:13:46: error: '{{item}}' is used in task 'a', which does not fan out
  hint: add withItems, withParam or withSequence to the task""",
    ),
    (
        "item inside a container",
        """\
  - name: main
    container: {image: alpine, args: ["{{item}}"]}
""",
        """\
wf.yaml:8:42: error: '{{item}}' is only defined in the arguments or `when` of a fanned-out task
  hint: pass the item to this template as an input parameter and use {{inputs.parameters.<name>}}""",
    ),
    (
        "reading a task without depending on it",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo}
      - {name: b, template: echo, when: "{{tasks.a.status}} == Succeeded"}
"""
        + ECHO,
        """\
wf.yaml:11:44: error: task 'b' uses tasks.a but does not depend on it
  hint: add 'a' to the dependencies of 'b'""",
    ),
    (
        "output parameter without a source",
        """\
  - name: main
    container: {image: alpine}
    outputs:
      parameters:
      - name: result
""",
        """\
wf.yaml:11:9: error: output parameter 'result' of template 'main' has no source
  hint: add `valueFrom: {path: /tmp/result}` and write the value to that file""",
    ),
    (
        "two bodies",
        """\
  - name: main
    container: {image: alpine}
    dag: {tasks: [{name: a, template: main}]}
""",
        """\
wf.yaml:9:5: error: template 'main' has both container and dag
  hint: a template has exactly one of container, script, dag, steps: split it in two""",
    ),
    (
        "no body",
        """\
  - name: main
    inputs: {parameters: [{name: x, value: "1"}]}
""",
        """\
wf.yaml:7:5: error: template 'main' has no body: add one of container, script, dag, steps""",
    ),
    (
        "unknown entrypoint",
        """\
  - name: mian
    container: {image: alpine}
""",
        """\
wf.yaml:5:15: error: unknown entrypoint 'main' (defined: mian)
  hint: did you mean 'mian'?""",
    ),
    (
        "steps: unknown template, later step, single dash",
        """\
  - name: main
    steps:
    - - name: a
        template: echo
      - name: b
        template: show
        arguments:
          parameters: [{name: msg, value: "{{steps.a.outputs.result}}"}]
    - name: c
      template: echo
    - - name: d
        template: nope
  - name: show
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, args: ["{{inputs.parameters.msg}}"]}
"""
        + ECHO,
        """\
wf.yaml:14:46: error: step 'b' uses steps.a, which does not run before it
  hint: move 'a' to an earlier group of steps
wf.yaml:15:7: error: each entry of steps must be a list of parallel steps, not a mapping
  hint: write `- - name: a` (two dashes) for a step in a group of its own
wf.yaml:18:19: error: unknown template 'nope' (defined: echo, main, show)
  hint: add a template named 'nope' to spec.templates""",
    ),
    (
        "dependencies in a step",
        """\
  - name: main
    steps:
    - - {name: a, template: echo}
    - - {name: b, template: echo, dependencies: [a]}
"""
        + ECHO,
        """\
wf.yaml:10:35: error: unknown field 'dependencies' in step 'b'
  hint: steps run group after group; for explicit dependencies use a dag template""",
    ),
    (
        "bad resource quantities",
        """\
  - name: main
    container:
      image: alpine
      resources:
        requests: {cpu: 2 cores, memory: 4GB}
""",
        """\
wf.yaml:11:25: error: invalid quantity '2 cores' for requests.cpu
  hint: use Kubernetes quantities such as 500m or 2 (cpu), 512Mi or 4Gi (memory)
wf.yaml:11:42: error: invalid quantity '4GB' for requests.memory
  hint: use Kubernetes quantities such as 500m or 2 (cpu), 512Mi or 4Gi (memory)""",
    ),
    (
        "from that is not an artifact reference",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: make}
      - name: b
        dependencies: [a]
        template: take
        arguments:
          artifacts: [{name: in, from: "/tmp/{{tasks.a.outputs.result}}"}]
  - name: make
    container: {image: alpine}
  - name: take
    inputs: {artifacts: [{name: in, path: /tmp/in}]}
    container: {image: alpine}
""",
        """\
wf.yaml:15:40: error: 'from' must be a single artifact reference
  hint: write `from: "{{tasks.<task>.outputs.artifacts.<name>}}"`""",
    ),
]


CASES += [
    (
        "withParam that is neither JSON nor a reference",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo, withParam: "a, b"}
"""
        + ECHO,
        """\
wf.yaml:10:46: error: withParam must be a JSON list or a reference to one
  hint: write `withParam: "{{tasks.<task>.outputs.result}}"` or use withItems for a fixed list""",
    ),
    (
        "item inside withParam",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo, withParam: "{{item}}"}
"""
        + ECHO,
        """\
wf.yaml:10:49: error: '{{item}}' has no value in withParam: the items come from withParam
  hint: refer to a task output or a workflow parameter holding a JSON list""",
    ),
    (
        "withSequence with count and end",
        """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo, withSequence: {count: 2, end: 5}}
"""
        + ECHO,
        """\
wf.yaml:10:35: error: withSequence has both count and end
  hint: use count, or start and end""",
    ),
    (
        "unknown dag target",
        """\
  - name: main
    dag:
      target: a zz
      tasks:
      - {name: a, template: echo}
"""
        + ECHO,
        """\
wf.yaml:9:17: error: unknown target task 'zz' of dag 'main'
  hint: tasks: a""",
    ),
    (
        "inputs: default outside enum, duplicate, bad names",
        """\
  - name: main
    inputs:
      parameters:
      - {name: mode, default: turbo, enum: [fast, slow]}
      - {name: mode, default: fast}
      - {name: "bad name", value: x}
    dag:
      tasks:
      - {name: a_b, template: echo}
"""
        + ECHO,
        """\
wf.yaml:10:9: error: default of 'mode' is 'turbo', which is not one of its enum values
  hint: use one of: fast, slow
wf.yaml:11:9: error: duplicate parameter 'mode' in inputs of template 'main'
  hint: the first one is at line 10
wf.yaml:12:16: error: invalid parameter name 'bad name'
  hint: use letters, digits, '-' and '_'
wf.yaml:15:16: error: invalid task name 'a_b'
  hint: use letters, digits and '-', starting with a letter or digit""",
    ),
    (
        "entrypoint input without a workflow argument",
        """\
  - name: main
    inputs: {parameters: [{name: who}]}
    container: {image: alpine, args: ["{{inputs.parameters.who}}"]}
""",
        """\
wf.yaml:5:15: error: entrypoint 'main' needs input parameter 'who', which spec.arguments does not give
  hint: add `arguments: {parameters: [{name: who, value: ...}]}` to the spec, or a default to the input""",
    ),
    (
        "references that kjob cannot resolve yet",
        """\
  - name: main
    container: {image: alpine, args: ["{{pod.name}}", "{{workflow.scheduledTime}}", "{{nonsense}}"]}
""",
        """\
wf.yaml:8:42: error: '{{pod.name}}' is not supported by kjob yet
wf.yaml:8:58: error: '{{workflow.scheduledTime}}' is not supported by kjob yet
wf.yaml:8:88: error: unknown variable 'nonsense' in {{nonsense}}
  hint: references start with one of: inputs, tasks, steps, item, workflow, retries""",
    ),
]


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in CASES], ids=[c[0] for c in CASES])
def test_mistake(body: str, expected: str) -> None:
    assert errors(HEAD + body) == expected


def test_header_mistakes() -> None:
    text = """\
apiVersion: argoproj.io/v2
kind: Job
metadata: {name: My_Flow}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine}
"""
    assert (
        errors(text)
        == """\
wf.yaml:1:13: error: unsupported apiVersion 'argoproj.io/v2'
  hint: use argoproj.io/v1alpha1 (or kjob's own kjob.dev/v1alpha1)
wf.yaml:2:7: error: unsupported kind 'Job'
  hint: kinds kjob reads: ClusterWorkflowTemplate, CronWorkflow, Workflow, WorkflowTemplate
wf.yaml:3:18: error: invalid metadata.name 'My_Flow'
  hint: use lower-case letters, digits, '-' and '.'; start and end with a letter or digit"""
    )


def test_yaml_syntax_error() -> None:
    assert errors(HEAD + "  - name: main\n    container: {image: alpine\n") == (
        "wf.yaml:9:1: error: invalid YAML: expected ',' or '}', but got '<stream end>' "
        "(while parsing a flow mapping that starts at line 8)"
    )


def test_duplicate_yaml_key() -> None:
    rendered = errors(HEAD + "  - name: main\n    name: again\n    container: {image: alpine}\n")
    assert rendered.startswith('wf.yaml:8:5: error: invalid YAML: found duplicate key "name"')


def test_reference_syntax_error_has_a_caret() -> None:
    rendered = errors(
        HEAD + '  - name: main\n    container: {image: alpine, args: ["echo {{inputs.parameters.x"]}\n'
    )
    first, *rest = rendered.splitlines()
    assert re.match(r"wf\.yaml:8:\d+: error: invalid args\[0\]: ", first)
    assert rest[0] == "    echo {{inputs.parameters.x"
    assert rest[1].strip() == "^"


def test_depends_syntax_error_has_a_caret() -> None:
    rendered = errors(
        HEAD
        + """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo}
      - {name: b, template: echo, depends: "a &&"}
"""
        + ECHO
    )
    first, *rest = rendered.splitlines()
    assert re.match(r"wf\.yaml:11:\d+: error: invalid depends expression: ", first)
    assert rest[0] == "    a &&"


def test_two_task_cycle_is_named_from_its_first_task() -> None:
    rendered = errors(
        HEAD
        + """\
  - name: main
    dag:
      tasks:
      - {name: a, template: echo, dependencies: [b]}
      - {name: b, template: echo, dependencies: [a]}
"""
        + ECHO
    )
    first = rendered.splitlines()[0]
    assert first in (
        "wf.yaml:10:9: error: dependency cycle: a -> b -> a",
        "wf.yaml:11:9: error: dependency cycle: b -> a -> b",
    )


def test_errors_are_capped() -> None:
    tasks = "".join(f"      - {{name: t{i}, template: nope}}\n" for i in range(80))
    with pytest.raises(SpecErrors) as caught:
        load_text(HEAD + "  - name: main\n    dag:\n      tasks:\n" + tasks, path="wf.yaml")
    assert len(caught.value.errors) == 51
    assert caught.value.errors[-1].message == "30 more errors not shown"


def test_no_documents() -> None:
    assert errors("# nothing\n---\n") == (
        "wf.yaml:1:1: error: no workflow in this file\n"
        "  hint: a workflow document starts with `apiVersion: argoproj.io/v1alpha1` and `kind: Workflow`"
    )


def test_document_that_is_not_a_mapping() -> None:
    assert errors("- a\n- b\n").startswith(
        "wf.yaml:1:1: error: a workflow document must be a mapping, not a list"
    )


def test_errors_of_every_document_are_reported() -> None:
    text = HEAD + ECHO.replace("echo", "main") + "---\n" + HEAD + "  - name: main\n    container: {}\n"
    assert errors(text) == (
        "wf.yaml:17:5: error: container of template 'main' has no image\n"
        "  hint: add `image: <image>`, e.g. python:3.12"
    )


def test_cron_mistakes() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedules: ["0 2 * * *", "every night"]
  concurrencyPolicy: Sometimes
  entrypoint: main
  workflowSpec:
    entrypoint: main
    templates:
    - {name: main, container: {image: alpine}}
"""
    assert (
        errors(text)
        == """\
wf.yaml:5:28: error: invalid schedule 'every night': 2 fields, not 5
  hint: five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) day-of-week (0-6 or SUN-SAT), e.g. "0 2 * * *"; or @hourly, @daily, @weekly, @monthly, @yearly, @every 5m
wf.yaml:6:22: error: unknown concurrencyPolicy 'Sometimes'
  hint: use one of: Allow, Forbid, Replace
wf.yaml:7:3: error: unknown field 'entrypoint' in CronWorkflow spec
  hint: a CronWorkflow wraps the workflow: put it under `workflowSpec:`"""
    )


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(KjobError, match=r"cannot read .*missing\.yaml: no such file"):
        load_file(tmp_path / "missing.yaml")
    with pytest.raises(KjobError, match="it is a directory"):
        load_file(tmp_path)


# ------------------------------------------------------------------------------------ lenient mode


def test_lenient_turns_unknown_and_unsupported_fields_into_warnings() -> None:
    text = (
        HEAD
        + """\
  - name: main
    priority: 1
    timout: 5m
    container: {image: alpine, args: ["{{=1 + 1}}"]}
"""
    )
    result = load_text(text, path="wf.yaml", lenient=True)
    assert [w.render() for w in result.warnings] == [
        "wf.yaml:8:5: warning: 'priority' is not supported by kjob yet",
        "wf.yaml:9:5: warning: unknown field 'timout' in template 'main'\n  hint: did you mean 'timeout'?",
    ]
    assert "priority" not in result.workflows[0].templates["main"].pod_extra


def test_lenient_still_rejects_real_mistakes() -> None:
    text = HEAD + "  - name: main\n    colour: blue\n    dag: {tasks: [{name: a, template: nope}]}\n"
    rendered = errors(text, lenient=True)
    assert rendered == (
        "wf.yaml:9:39: error: unknown template 'nope' (defined: main)\n"
        "  hint: add a template named 'nope' to spec.templates"
    )


def test_lenient_template_with_only_an_unsupported_body_is_an_error() -> None:
    rendered = errors(HEAD + "  - name: main\n    plugin: {hello: {}}\n", lenient=True)
    assert rendered == (
        "wf.yaml:7:5: error: template 'main' has no body kjob can run ('plugin' is not supported yet)\n"
        "  hint: add one of container, script, dag, steps"
    )


# ------------------------------------------------------------------------------------ the tutorial seed

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed"
needs_seed = pytest.mark.skipif(
    not SEED.is_dir(), reason="../shared (the tutorial seed) is not beside the checkout"
)

FRAGMENT_HEADER = """\
{f}:1:1: error: missing apiVersion
  hint: add `apiVersion: argoproj.io/v1alpha1` and `kind: Workflow` at the top of the document
{f}:1:1: error: missing kind
  hint: add `kind: Workflow` (or WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow)
{f}:1:1: error: missing metadata.name or metadata.generateName
  hint: add `metadata: {{generateName: my-workflow-}}`
{f}:1:1: error: missing spec.entrypoint
  hint: add `entrypoint: {entry}` (the template to start with)"""

SEED_ERRORS = {
    "02-artifacts.yaml": ("data-processing-dag", ""),
    "03-conditional.yaml": (
        "conditional-dag",
        """
{f}:11:19: error: unknown template 'small-batch' (defined: check-size, conditional-dag)
  hint: add a template named 'small-batch' to spec.templates
{f}:16:19: error: unknown template 'large-batch' (defined: check-size, conditional-dag)
  hint: add a template named 'large-batch' to spec.templates""",
    ),
    "04-retries.yaml": ("resilient-task", ""),
    "05-parallel-withparam.yaml": (
        "parallel-processing-dag",
        """
{f}:20:19: error: unknown template 'merge' (defined: parallel-processing-dag, partition, process)
  hint: add a template named 'merge' to spec.templates""",
    ),
    "06-resources.yaml": ("heavy-processing", ""),
}


@needs_seed
@pytest.mark.parametrize("name", sorted(SEED_ERRORS))
def test_seed_fragment(name: str) -> None:
    path = SEED / name
    entry, rest = SEED_ERRORS[name]
    with pytest.raises(SpecErrors) as caught:
        load_file(path)
    expected = FRAGMENT_HEADER.format(f=path, entry=entry) + rest.format(f=path)
    assert caught.value.render() == expected


@needs_seed
def test_seed_cronworkflow_without_templates() -> None:
    path = SEED / "07-cronworkflow.yaml"
    with pytest.raises(SpecErrors) as caught:
        load_file(path)
    assert caught.value.render() == (
        f"{path}:13:3: error: no templates in spec.workflowSpec\n"
        "  hint: add `templates:` with at least one template named 'data-processing-dag'"
    )


@needs_seed
def test_seed_script_outputs_that_are_never_written_are_doubted() -> None:
    """03 and 05 print their value but declare it as read from a file: a warning once the rest is fixed."""
    text = (SEED / "03-conditional.yaml").read_text()
    text = text.replace("template: small-batch", "template: check-size")
    text = text.replace("template: large-batch", "template: check-size")
    whole = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: c-}\n" + text.replace(
        "spec:\n", "spec:\n  entrypoint: conditional-dag\n", 1
    )
    result = load_text(whole, path="03.yaml")
    assert [w.render() for w in result.warnings] == [
        "03.yaml:33:9: warning: output parameter 'size' is read from /tmp/size, "
        "but the script of template 'check-size' never mentions that path\n"
        "  hint: write the value to /tmp/size, or, if the script prints it, "
        "read it as {{tasks.<task>.outputs.result}} instead"
    ]


# ------------------------------------------------------------------------------------ robustness

_FULL_LINES = (Path(__file__).parent / "data" / "spec" / "full.yaml").read_text().splitlines()
_VALUES = [
    "",
    "null",
    "[]",
    "{}",
    "[1, {a: b}]",
    "-1",
    "0",
    "true",
    "'{{'",
    "'{{item}}'",
    "abc",
    "2024-01-01",
]


@settings(max_examples=40, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(_FULL_LINES) - 1), st.sampled_from(["drop", "dup", *_VALUES])),
        min_size=1,
        max_size=3,
    ),
    lenient=st.booleans(),
)
def test_any_edit_of_a_valid_file_loads_or_gives_spec_errors(
    edits: list[tuple[int, str]], lenient: bool
) -> None:
    lines = list(_FULL_LINES)
    for index, edit in edits:
        index %= len(lines)
        if edit == "drop":
            del lines[index]
        elif edit == "dup":
            lines.insert(index, lines[index])
        elif ":" in lines[index]:
            lines[index] = lines[index][: lines[index].index(":") + 1] + " " + edit
    try:
        load_text("\n".join(lines) + "\n", path="wf.yaml", lenient=lenient)
    except SpecErrors as caught:
        assert caught.errors and all(e.path == "wf.yaml" and e.line >= 1 for e in caught.errors)


def outcome(text: str) -> str:
    """What loading ``text`` gives, as text: the workflows, or every error rendered."""
    try:
        return repr(load_text(text, path="wf.yaml"))
    except SpecErrors as caught:
        return caught.render()


@settings(max_examples=40, deadline=None)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(_FULL_LINES) - 1),
            st.sampled_from(["drop", "dup", "&a {x: 1}", "*a", "{<<: *a}", "{a: 1, a: 2}", *_VALUES]),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_c_parser_reads_any_edit_as_the_pure_parser_does(edits: list[tuple[int, str]]) -> None:
    lines = list(_FULL_LINES)
    for index, edit in edits:
        index %= len(lines)
        if edit == "drop":
            del lines[index]
        elif edit == "dup":
            lines.insert(index, lines[index])
        elif ":" in lines[index]:
            lines[index] = lines[index][: lines[index].index(":") + 1] + " " + edit
    text = "\n".join(lines) + "\n"
    fast = outcome(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source, "HAVE_C_PARSER", False)
        assert outcome(text) == fast


# ------------------------------------------------------------------------------------ YAML mistakes


@pytest.fixture(params=["c", "pure"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Load with ruamel.yaml.clib's C parser, or with ruamel's pure-Python parser: same messages."""
    if request.param == "c" and not source.HAVE_C_PARSER:
        pytest.skip("ruamel.yaml.clib is not installed")
    monkeypatch.setattr(source, "HAVE_C_PARSER", request.param == "c")
    return str(request.param)


YAML_MISTAKES: list[tuple[str, str, str]] = [
    (
        "syntax error",
        "  - name: main\n    container: {image: alpine\n",
        "wf.yaml:9:1: error: invalid YAML: expected ',' or '}', but got '<stream end>' "
        "(while parsing a flow mapping that starts at line 8)",
    ),
    (
        "tab as indentation",
        "  - name: main\n    container:\n\timage: alpine\n",
        "wf.yaml:9:1: error: invalid YAML: found character '\\t' that cannot start any token "
        "(while scanning for the next token)",
    ),
    (
        "duplicate key",
        "  - name: main\n    name: again\n    container: {image: alpine}\n",
        'wf.yaml:8:5: error: invalid YAML: found duplicate key "name" with value "again" '
        '(original value: "main") (while constructing a mapping that starts at line 7)',
    ),
    (
        "duplicate key in a flow mapping, with mappings for values",
        "  - name: main\n    container: {image: alpine, args: [a], args: {b: c}}\n",
        "wf.yaml:8:43: error: invalid YAML: found duplicate key \"args\" with value \"{'b': 'c'}\" "
        "(original value: \"['a']\") (while constructing a mapping)",
    ),
    (
        "duplicate merge key",
        "  - name: main\n    container:\n      <<: {image: a}\n      <<: {image: b}\n",
        'wf.yaml:10:7: error: invalid YAML: found duplicate merge key "<<" '
        "(while constructing a mapping that starts at line 9)",
    ),
    (
        "merge of a scalar",
        "  - name: main\n    container:\n      <<: alpine\n",
        "wf.yaml:9:11: error: invalid YAML: expected a mapping or list of mappings for merging, "
        "but found scalar (while constructing a mapping)",
    ),
    (
        "merge list with a scalar",
        "  - name: main\n    container:\n      <<: [{image: a}, b]\n",
        "wf.yaml:9:24: error: invalid YAML: expected a mapping for merging, but found scalar "
        "(while constructing a mapping)",
    ),
    (
        "undefined alias",
        "  - name: main\n    container: *nope\n",
        "wf.yaml:8:16: error: invalid YAML: found undefined alias 'nope'",
    ),
    (
        "impossible date",
        "  - name: main\n    container: {image: alpine, args: [2024-02-30]}\n",
        'wf.yaml:8:39: error: invalid YAML: failed to construct timestamp from "2024-02-30"',
    ),
    (
        "scalar that is not what its tag says",
        "  - name: main\n    container: {image: alpine, args: [!!int ten]}\n",
        'wf.yaml:8:39: error: invalid YAML: failed to construct int from "ten"',
    ),
    (
        "mapping as a key",
        "  - name: main\n    container: {image: alpine}\n    ? {a: [1]}\n    : x\n",
        "wf.yaml:9:7: error: invalid YAML: found unhashable key (while constructing a mapping that starts at line 7)",
    ),
    (
        "lone surrogate",
        '  - name: main\n    container: {image: "\ud800"}\n',
        "wf.yaml:1:1: error: invalid YAML: unacceptable character #xd800: special characters are not allowed\n"
        '  in "<unicode string>", position 145',
    ),
    (
        "syntax error in a later document",
        "  - name: main\n    container: {image: alpine}\n---\napiVersion: x\nkind: [\n",
        "wf.yaml:12:1: error: invalid YAML: expected the node content, but found '<stream end>' "
        "(while parsing a flow node)",
    ),
    (
        "duplicate key in a later document",
        "  - name: main\n    container: {image: alpine}\n---\nkind: a\nkind: b\n",
        'wf.yaml:11:1: error: invalid YAML: found duplicate key "kind" with value "b" '
        '(original value: "a") (while constructing a mapping that starts at line 10)',
    ),
]


@pytest.mark.parametrize(
    ("templates", "expected"), [c[1:] for c in YAML_MISTAKES], ids=[c[0] for c in YAML_MISTAKES]
)
def test_yaml_mistakes(parser: str, templates: str, expected: str) -> None:
    assert errors(HEAD + templates) == expected


DEEP = (
    "invalid YAML: the YAML is nested more than 100 levels deep here; no workflow needs that "
    "(pass deep data as a JSON string instead)"
)


@pytest.mark.parametrize(
    ("depth", "where"),
    [(101, "wf.yaml:8:145"), (100_000, "wf.yaml:8:149")],
    ids=["just too deep", "deep enough to overflow the C parser's stack"],
)
def test_flow_collections_nested_too_deep_are_a_located_error(parser: str, depth: int, where: str) -> None:
    """Once a traceback (RecursionError) past ~500 levels, and a segfault of the C parser past tens of
    thousands: now one located error, whichever parser reads the file.  It points into the run of
    brackets: at the 101st level of the document (the args list is its 6th level, so the 96th '['), or,
    where no parser could build that deep, at the 101st bracket ('{' of the container and 100 '[')."""
    text = (
        HEAD
        + "  - name: main\n    container: {image: a, command: [echo], args: "
        + "[" * depth
        + "]" * depth
        + "}\n"
    )
    assert errors(text).startswith(f"{where}: error: {DEEP}")


def test_block_collections_nested_too_deep_are_a_located_error(parser: str) -> None:
    # annotations' mapping is the document's 6th level and holds k0: k95's mapping is the 101st
    nested = "".join("  " * (i + 4) + f"k{i}:\n" for i in range(120)) + "  " * 124 + "v: 1\n"
    text = HEAD + "  - name: main\n    container: {image: a}\n    metadata:\n      annotations:\n" + nested
    assert errors(text).startswith(f"wf.yaml:106:199: error: {DEEP}")


@pytest.mark.parametrize(
    ("escape", "problem"), [("\\0", "a NUL character"), ("\\ud800", "a lone surrogate (not a character)")]
)
def test_an_argument_no_program_can_be_given_is_a_located_error(escape: str, problem: str) -> None:
    text = HEAD + f'  - name: main\n    container:\n      image: a\n      args: [echo, "a{escape}b"]\n'
    assert errors(text) == (
        f"wf.yaml:10:20: error: args[1] contains {problem}, which no program can be given\n"
        "  hint: a process's arguments and environment are C strings: remove it"
    )


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 2 * * *", None),
        ("*/15 9-17 * * MON-FRI", None),
        ("0 0 ? * SUN", None),  # robfig's '?' (any), which Kubernetes accepts
        ("@daily", None),
        ("@every 90s", None),
        ("61 * * * *", "bad minute"),
        ("0 24 * * *", "bad hour"),
        ("0 0 1 13 *", "bad month"),
        ("*/0 * * * *", "bad minute"),
        ("0 0 L * *", "L, W and # are not cron fields Kubernetes reads"),
        ("0 0 * * *  *", "6 fields, not 5"),
        ("@every soon", 'invalid duration "soon"'),
        ("@every 10ms", "@every needs at least 1s"),
    ],
)
def test_cron_schedules_are_read_as_kubernetes_reads_them(schedule: str, problem: str | None) -> None:
    """Once only the shape was checked: '61 * * * *' passed lint and would fail at apply."""
    from kjob.spec.build_cron import schedule_problem

    assert schedule_problem(schedule) == problem


def test_an_unknown_template_lists_the_defined_ones_shortly() -> None:
    """The fuzzer's find: a 5,000-character template name was quoted whole in the list of names."""
    from kjob.spec import load_text

    names = ["t" * 5000, *(f"t{i}" for i in range(20))]
    templates = "".join(f"  - name: {n}\n    container: {{image: a, command: ['true']}}\n" for n in names)
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n"
        f"  entrypoint: nope\n  templates:\n{templates}"
    )
    with pytest.raises(SpecErrors) as caught:
        load_text(text, path="w.yaml")
    message = str(caught.value)
    assert "unknown entrypoint 'nope' (defined: " in message
    assert "and 11 more)" in message
    assert len(message.splitlines()[0]) < 400


def test_a_literal_with_param_nested_deeper_than_json_reads_is_a_located_error() -> None:
    """Found by the engine fuzzer: at lint, a deep enough literal withParam raised RecursionError
    (how deep is too deep depends on the stack the loader is called from)."""
    import sys

    from kjob.spec import load_text

    depth = sys.getrecursionlimit() + 10
    text = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  entrypoint: main\n"
        "  templates:\n  - name: main\n    dag:\n      tasks:\n"
        f"      - {{name: f, template: t, withParam: '{'[' * depth}{']' * depth}'}}\n"
        "  - name: t\n    container: {image: a, command: ['true']}\n"
    )
    with pytest.raises(SpecErrors) as caught:
        load_text(text, path="w.yaml")
    assert str(caught.value).startswith("w.yaml:10:")
    assert "withParam is JSON nested too deep to read" in str(caught.value)
