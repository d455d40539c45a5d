"""Issue 12, on the local backend: a loop's outputs read as Argo reads them (a JSON array of the
succeeded items' values, each parsed when it is JSON, in item order), and an output of a task that
did not run reads as the producer's ``valueFrom.default``, else the consumer's input default, else the
consumer fails with Argo's message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.test_local_backend import write

# `emit` prints one JSON object per item (item 1 is skipped) and writes two output parameters: a
# plain word and a JSON object.  `each` loops over emit's result and reads item.word.  One at a time:
# the API emulator's pods are processes sharing one /tmp.
LOOP = """\
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    dag:
      tasks:
      - name: emit
        template: emit
        withItems: [red, green, blue]
        when: "{{item}} != green"
        arguments: {parameters: [{name: colour, value: "{{item}}"}]}
      - name: each
        dependencies: [emit]
        template: show
        withParam: "{{tasks.emit.outputs.result}}"
        arguments: {parameters: [{name: text, value: "{{item.word}}={{item.size}}"}]}
      - name: whole
        dependencies: [emit]
        template: show
        arguments:
          parameters:
          - {name: text, value: "{{tasks.emit.outputs.result}}"}
          - {name: words, value: "{{tasks.emit.outputs.parameters.word}}"}
          - {name: infos, value: "{{tasks.emit.outputs.parameters.info}}"}
          - {name: sets, value: "{{tasks.emit.outputs.parameters}}"}
  - name: emit
    inputs: {parameters: [{name: colour}]}
    outputs:
      parameters:
      - {name: word, valueFrom: {path: /tmp/word}}
      - {name: info, valueFrom: {path: /tmp/info}}
    script:
      image: alpine
      command: [sh]
      source: |
        c={{inputs.parameters.colour}}
        printf '%s' "$c" > /tmp/word
        printf '{"z": 1, "name": "%s"}' "$c" > /tmp/info
        printf '{"word": "%s", "size": %d}\\n' "$c" "${#c}"
  - name: show
    inputs:
      parameters:
      - name: text
      - {name: words, default: ""}
      - {name: infos, default: ""}
      - {name: sets, default: ""}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
"""


def test_a_loops_result_is_a_json_array_of_its_items_values_and_withparam_reads_their_keys(
    kjob: Any, tmp_path: Path
) -> None:
    done = kjob("run", write(tmp_path, LOOP))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    each = sorted(n["inputs"]["text"] for n in nodes.values() if n["task"] == "each" and not n["group"])
    assert each == ["blue=4", "red=3"]
    whole = nodes["whole"]["inputs"]
    # Objects stay objects and numbers numbers, in item order; the skipped item adds nothing.
    assert json.loads(whole["text"]) == [{"word": "red", "size": 3}, {"word": "blue", "size": 4}]
    assert whole["text"] == '[{"word":"red","size":3},{"word":"blue","size":4}]'
    # A parameter of plain words stays strings; one of JSON objects is parsed (keys sorted, as Argo).
    assert whole["words"] == '["red","blue"]'
    assert whole["infos"] == '[{"name":"red","z":1},{"name":"blue","z":1}]'
    assert json.loads(whole["sets"]) == [
        {"info": '{"z": 1, "name": "red"}', "word": "red"},
        {"info": '{"z": 1, "name": "blue"}', "word": "blue"},
    ]


NUMBERS = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: count
        template: say
        withSequence: {count: "3", start: "1"}
        arguments: {parameters: [{name: n, value: "{{item}}"}]}
    - - name: total
        template: total
        arguments: {parameters: [{name: all, value: "{{steps.count.outputs.result}}"}]}
  - name: say
    inputs: {parameters: [{name: n}]}
    container: {image: alpine, command: [sh, -c, "echo {{inputs.parameters.n}}; [ {{inputs.parameters.n}} != 2 ] || echo not json"]}
  - name: total
    inputs: {parameters: [{name: all}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.all}}"]}
"""


def test_a_steps_loop_keeps_numbers_as_numbers_and_text_that_is_not_json_as_strings(
    kjob: Any, tmp_path: Path
) -> None:
    done = kjob("run", write(tmp_path, NUMBERS))
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["total"]["inputs"]["all"] == '[1,"2\\nnot json",3]'


# `maybe` is skipped; `deflt` declares valueFrom.default, `bare` does not.
SKIPPED = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: maybe, template: produce, when: "1 == 2"}
      - name: from-producer
        dependencies: [maybe]
        template: show
        arguments: {parameters: [{name: text, value: "{{tasks.maybe.outputs.parameters.deflt}}"}]}
      - name: from-consumer
        dependencies: [maybe]
        template: show-or-default
        arguments: {parameters: [{name: text, value: "{{tasks.maybe.outputs.parameters.bare}}"}]}
      - name: no-default
        dependencies: [maybe]
        template: show
        arguments: {parameters: [{name: text, value: "{{tasks.maybe.outputs.parameters.bare}}"}]}
      - name: judged
        dependencies: [maybe]
        template: show-or-default
        when: "{{tasks.maybe.outputs.parameters.deflt}} == from-the-producer"
      - name: in-a-sentence
        dependencies: [maybe]
        template: show-or-default
        arguments: {parameters: [{name: text, value: "got {{tasks.maybe.outputs.parameters.bare}}"}]}
  - name: produce
    outputs:
      parameters:
      - {name: deflt, valueFrom: {path: /tmp/d, default: from-the-producer}}
      - {name: bare, valueFrom: {path: /tmp/b}}
    container: {image: alpine, command: [sh, -c, "echo x > /tmp/d; echo y > /tmp/b"]}
  - name: show
    inputs: {parameters: [{name: text}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
  - name: show-or-default
    inputs: {parameters: [{name: text, default: from-the-consumer}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
"""


def test_a_skipped_producers_output_reads_as_its_default_else_the_consumers_else_fails(
    kjob: Any, tmp_path: Path
) -> None:
    done = kjob("run", write(tmp_path, SKIPPED))
    assert done.code == 1, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["maybe"]["phase"] == "Skipped"
    assert nodes["from-producer"]["phase"] == "Succeeded"
    assert nodes["from-producer"]["inputs"]["text"] == "from-the-producer"
    assert nodes["from-consumer"]["phase"] == "Succeeded"
    assert nodes["from-consumer"]["inputs"]["text"] == "from-the-consumer"
    assert nodes["judged"]["phase"] == "Succeeded"  # a `when` reads the producer's default too
    assert nodes["no-default"]["phase"] == "Error"
    assert nodes["no-default"]["message"] == (
        "inputs.parameters.text: argument references an absent optional "
        "(skipped/omitted node output with no default)"
    )
    # Only an argument that is the reference alone takes the consumer's default, as in Argo.
    assert nodes["in-a-sentence"]["phase"] == "Error"
    assert nodes["in-a-sentence"]["message"].startswith(
        "unable to substitute {{tasks.maybe.outputs.parameters.bare}}: output is an absent optional"
    )


def test_only_json_argo_reads_is_parsed_and_the_rest_stays_text() -> None:
    from kjob.engine.aggregate import parameter, results

    # NaN, a bare word and a half object are not JSON: they stay strings; true and null are JSON.
    assert results(["NaN", "yes", '{"a": 1', "true", "null", None]) == '["NaN","yes","{\\"a\\": 1",true,null]'
    assert results(['{"b": [1, 2], "a": "ü"}']) == '[{"b":[1,2],"a":"ü"}]'  # key order kept
    assert parameter(["1", "2"]) == '["1","2"]'  # numbers of a parameter stay strings, as in Argo
    assert parameter(['{"b": 1, "a": 2}', "[3]"]) == '[{"a":2,"b":1},[3]]'
    assert parameter(['{"a": 1}', "plain"]) == '["{\\"a\\": 1}","plain"]'
