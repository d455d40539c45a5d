"""Fuzzing the engine in virtual time with hostile task outputs and parameters.

Each example is a small workflow whose producer task prints a hostile ``outputs.result`` and writes a
hostile output parameter (huge, JSON nested thousands deep, NUL, lone and escaped surrogates, ``{{``
and ``<<`` sequences, numbers past any float, lists of odd items) that flow into ``when``,
``withParam``, arguments of a plain and a nested template, ``depends``, retries with drawn backoffs,
deadlines, parallelism limits, failFast/continueOn and the exit handler.  Whatever is drawn:

* the only exception is kjob's own (a workflow the loader refuses), and never an internal error;
* every node ends in a final phase, and so does the run.

Bounded and reproducible for CI: a fixed number of examples (``KJOB_FUZZ_EXAMPLES`` scales it),
``derandomize=True``; the module prints how many inputs it tried.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kjob.backends.base import AttemptSpec
from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine, EngineOptions, RunResult
from kjob.engine.state import Phase
from kjob.errors import KjobError
from kjob.spec import load_text
from tests.fuzz.budget import bounded, report_tally
from tests.fuzz.corpus import RENDERED_VALUES, expression_texts

TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from report_tally(request, "engine", TRIED)


# --------------------------------------------------------------------------------- hostile values
DEEP = 5000
HOSTILE_OUTPUTS: tuple[str, ...] = (
    *RENDERED_VALUES,
    "x" * 300_000,
    "[" * DEEP + "]" * DEEP,
    '{"a":' * DEEP + "1" + "}" * DEEP,
    "[" * DEEP,
    json.dumps(list(range(2000))),
    "["
    + ",".join(["1e999", "9" * 400, "-0", "null", "true", '"\\u0000"', '"\\ud800"', "[[[]]]", "{}"])
    + "]",
    json.dumps([{"a": "{{item}}", "b": "<< item >>"}, {"a": "{{tasks.p.outputs.result}}"}]),
    json.dumps([{"": 1, "a.b": {"c": [1]}, "\x00": "\ud800"}]),
    "a\x00b",
    "\ud800",
    "\udcff\udc80 (bytes that were not UTF-8)",
    "{{",
    "}}",
    "<<",
    "{{tasks.p.outputs.result}}",
    "<< inputs.parameters.x >>",
    "{{=sprig.trim(x)}}",
    "{{workflow.status}}",
    "'(a+)+$'",
    "1 == 1",
    "true",
    "Succeeded",
    "\n\r\u2028",
)
hostile = st.sampled_from(HOSTILE_OUTPUTS) | st.text(max_size=12) | expression_texts
hostile_lists = st.lists(st.sampled_from(HOSTILE_OUTPUTS[:12]) | st.integers() | st.none(), max_size=6).map(
    json.dumps
)
output_values = hostile | hostile_lists

REFS = (
    "{{tasks.p.outputs.result}}",
    "{{tasks.p.outputs.parameters.out}}",
    "{{tasks.p.status}}",
    "{{tasks.p.exitCode}}",
    "{{workflow.parameters.g}}",
    "<< tasks.p.outputs.result >>",
)
WHENS = (
    "{ref} == 1",
    "'{ref}' == 'a'",
    "{ref} > 3",
    "'{ref}' =~ '^(a+)+$'",
    "{ref} != Succeeded",
    "!({ref})",
    "{ref}",
)
refs = st.sampled_from(REFS)
whens = st.builds(lambda form, ref: form.format(ref=ref), st.sampled_from(WHENS), refs) | expression_texts
arguments = st.builds(lambda a, b: a + b, refs | hostile, st.sampled_from(("", "-{{item}}", "/x"))) | refs
DEPENDS = (
    "p",
    "p.Succeeded || p.Failed",
    "w.Skipped || w.Succeeded",
    "f.AnySucceeded || r.Failed",
    "(p && !w)",
)
DURATIONS = ("0s", "1s", "10s", "5m", "2h")


# ------------------------------------------------------------------------------------ workflows
@st.composite
def workflows(draw: st.DrawFn) -> dict[str, Any]:
    """A workflow (as a dict; JSON is YAML) wiring the producer ``p``'s outputs into everything."""
    limit = draw(st.sampled_from((0, 1, 3, None)))
    backoff: dict[str, Any] = {
        "duration": draw(st.sampled_from(DURATIONS)),
        "factor": draw(st.sampled_from((1, 2, 1e300, 1e308))),
    }
    if draw(st.booleans()):
        backoff["cap"] = draw(st.sampled_from(DURATIONS))
    if draw(st.booleans()):
        backoff["maxDuration"] = draw(st.sampled_from(DURATIONS))
    spec: dict[str, Any] = {
        "entrypoint": "main",
        "arguments": {"parameters": [{"name": "g", "value": "g"}]},
        "templates": [
            {
                "name": "main",
                "dag": {
                    "failFast": draw(st.booleans()),
                    "tasks": [
                        {"name": "p", "template": "produce"},
                        {
                            "name": "w",
                            "template": "consume",
                            "dependencies": ["p"],
                            "when": draw(whens),
                            "arguments": {"parameters": [{"name": "x", "value": draw(arguments)}]},
                        },
                        {
                            "name": "f",
                            "template": "consume",
                            "dependencies": ["p"],
                            "withParam": draw(st.sampled_from(REFS[:2]) | arguments),
                            "arguments": {
                                "parameters": [
                                    {"name": "x", "value": draw(st.sampled_from(("{{item}}", "{{item.a}}")))}
                                ]
                            },
                        },
                        {
                            "name": "n",
                            "template": "inner",
                            "dependencies": ["p"],
                            "arguments": {"parameters": [{"name": "x", "value": draw(arguments)}]},
                        },
                        {
                            "name": "r",
                            "template": "flaky",
                            "depends": draw(st.sampled_from(DEPENDS[:3])),
                            "continueOn": {"failed": draw(st.booleans())},
                        },
                        {"name": "z", "template": "consume", "depends": draw(st.sampled_from(DEPENDS[3:]))},
                    ],
                },
            },
            {
                "name": "produce",
                "container": {"image": "alpine", "command": ["produce"]},
                "outputs": {"parameters": [{"name": "out", "valueFrom": _value_from(draw)}]},
            },
            {
                "name": "consume",
                "inputs": {"parameters": [{"name": "x", "default": "d"}]},
                "container": {
                    "image": "alpine",
                    "command": ["echo", "{{inputs.parameters.x}}"],
                    "env": [{"name": "X", "value": "{{inputs.parameters.x}}"}],
                },
            },
            {
                "name": "inner",
                "inputs": {"parameters": [{"name": "x"}]},
                "dag": {
                    "tasks": [
                        {
                            "name": "a",
                            "template": "consume",
                            "arguments": {"parameters": [{"name": "x", "value": "{{inputs.parameters.x}}"}]},
                        },
                        {
                            "name": "b",
                            "template": "consume",
                            "dependencies": ["a"],
                            "when": "'{{inputs.parameters.x}}' == '{{tasks.a.outputs.result}}'",
                        },
                    ]
                },
            },
            {
                "name": "flaky",
                "retryStrategy": {
                    **({"limit": limit} if limit is not None else {}),
                    "retryPolicy": draw(
                        st.sampled_from(("Always", "OnFailure", "OnError", "OnTransientError"))
                    ),
                    "backoff": backoff,
                },
                "container": {"image": "alpine", "command": ["flaky", "{{retries}}"]},
            },
            {"name": "exit", "container": {"image": "alpine", "command": ["echo", "{{workflow.status}}"]}},
        ],
    }
    parallelism = draw(st.sampled_from((None, 1, 2)))
    if parallelism is not None:
        spec["templates"][0]["parallelism"] = parallelism
    if draw(st.booleans()):
        spec["onExit"] = "exit"
    # An unlimited retry of a task that always fails ends only with the workflow's deadline.
    deadline = (
        draw(st.sampled_from((None, 1, 30, 100_000))) if limit is not None else draw(st.sampled_from((7, 30)))
    )
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "fz"},
        "spec": spec,
    }


def _value_from(draw: st.DrawFn) -> dict[str, str]:
    found = {"path": "/tmp/out"}
    if draw(st.booleans()):
        found["default"] = draw(st.sampled_from(("", "[]", "{{", "d")))
    return found


@st.composite
def outcomes(draw: st.DrawFn) -> dict[str, Any]:
    """What the producer prints and writes, and how every other attempt ends."""
    return {
        "result": draw(output_values),
        "out": draw(st.none() | output_values),  # None: the file was not written
        "produce_code": draw(st.sampled_from((0, 0, 0, 1))),
        "codes": draw(st.lists(st.sampled_from((0, 0, 1, 2, -1)), min_size=1, max_size=5)),
        "errors": draw(st.booleans()),
        "duration": draw(st.sampled_from((1.0, 5.0))),
        "parameter": draw(hostile),
    }


def script_of(drawn: dict[str, Any]) -> Any:
    def script(spec: AttemptSpec) -> Outcome:
        duration = drawn["duration"]
        if spec.template_name == "produce":
            written = {} if drawn["out"] is None else {"out": drawn["out"]}
            return Outcome(duration, drawn["produce_code"], drawn["result"], written)
        codes = drawn["codes"]
        code = codes[(zlib.crc32(spec.node_id.encode("utf-8", "surrogatepass")) + spec.attempt) % len(codes)]
        if code == -1 and drawn["errors"]:
            return Outcome(duration, error="the platform lost it", transient=spec.attempt % 2 == 0)
        return Outcome(duration, max(code, 0), stdout=spec.container.command[-1])

    return script


def check_run(wf_doc: dict[str, Any], drawn: dict[str, Any]) -> RunResult | None:
    try:
        wf = load_text(json.dumps(wf_doc), path="fuzz.yaml").workflows[0]
        engine = Engine(
            wf,
            VirtualBackend(script_of(drawn)),
            run_id="fz",
            options=EngineOptions(parameters={"g": drawn["parameter"]}),
        )
        result = engine.run()
    except KjobError as err:
        assert "internal error" not in str(err), err
        return None
    unfinished = [(n.id, n.phase.value) for n in result.nodes if not n.phase.finished]
    assert not unfinished, unfinished
    assert result.phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.ERROR), result.phase
    return result


@bounded(250)
@given(workflows(), outcomes())
@example(  # JSON nested thousands deep from a task into withParam: once a RecursionError mid-run
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "fz"},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "g", "value": "g"}]},
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": "p", "template": "produce"},
                            {
                                "name": "f",
                                "template": "consume",
                                "dependencies": ["p"],
                                "withParam": "{{tasks.p.outputs.result}}",
                            },
                        ]
                    },
                },
                {"name": "produce", "container": {"image": "alpine", "command": ["produce"]}},
                {"name": "consume", "container": {"image": "alpine", "command": ["echo", "{{item}}"]}},
            ],
        },
    },
    {
        "result": "[" * DEEP + "]" * DEEP,
        "out": None,
        "produce_code": 0,
        "codes": [0],
        "errors": False,
        "duration": 1.0,
        "parameter": "g",
    },
)
def test_hostile_outputs_and_parameters_end_every_node_and_the_run(
    wf_doc: dict[str, Any], drawn: dict[str, Any]
) -> None:
    TRIED["workflows"] += 1
    check_run(wf_doc, drawn)


# ------------------------------------------------------------------------ what the fuzzer found
def _load(text: str) -> Any:
    return load_text(text, path="found.yaml").workflows[0]


FAIL_OMITS_THE_LAST = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: found}
spec:
  entrypoint: main
  onExit: exit
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: a, template: inner}
      - {name: b, template: slow}
  - name: inner
    dag:
      tasks:
      - {name: x, template: fail}
      - {name: y, template: slow, dependencies: [x]}
  - name: fail
    container: {image: alpine, command: ["false"]}
  - name: slow
    container: {image: alpine, command: [sleep]}
  - name: exit
    container: {image: alpine, command: [echo, "{{workflow.status}}"]}
"""


def test_a_failure_that_omits_a_dags_last_task_ends_the_dag_once() -> None:
    """The omitted task finished the nested DAG, then its failed dependency finished it again: the
    outer DAG counted ``a`` twice, ended at t=1 while ``b`` ran until t=10, and the exit handler was
    made twice (one left Pending for ever)."""
    backend = VirtualBackend(scripted({"fail": Outcome(exit_code=1), "slow": Outcome(duration=10)}))
    result = Engine(_load(FAIL_OMITS_THE_LAST), backend, run_id="found").run()
    nodes = {n.id: n for n in result.nodes}
    assert [n.id for n in result.nodes].count("onExit") == 1
    assert nodes["onExit"].phase is Phase.SUCCEEDED
    assert nodes["main"].finished_at == 10.0  # when b ended, not when a did
    assert (nodes["a"].phase, nodes["b"].phase, nodes["main"].phase) == (
        Phase.FAILED,
        Phase.SUCCEEDED,
        Phase.FAILED,
    )
    assert [spec.node_id for _, spec in backend.submitted][-1] == "onExit"  # after b, not beside it
