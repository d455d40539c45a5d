"""Argo's smaller spec features on the local backend (issue 12): inline templates, templateDefaults,
template failFast and annotations, templated timeouts, volumeClaimTemplates, workflowMetadata, podGC and
ttlStrategy, global outputs, configMapKeyRef parameters and the exit handler's workflow variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.test_local_backend import write

INLINE = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        arguments: {parameters: [{name: word, value: hello}]}
        inline:
          inputs: {parameters: [{name: word}]}
          outputs: {parameters: [{name: said, valueFrom: {path: /tmp/said}}]}
          container:
            image: alpine
            command: [sh, -c, 'echo "$WORD" > /tmp/said']
            env: [{name: WORD, value: "{{inputs.parameters.word}}"}]
      - name: b
        depends: a
        arguments: {parameters: [{name: got, value: "{{tasks.a.outputs.parameters.said}}"}]}
        inline:
          inputs: {parameters: [{name: got}]}
          steps:
          - - name: inner
              arguments: {parameters: [{name: got, value: "{{inputs.parameters.got}}"}]}
              inline:
                inputs: {parameters: [{name: got}]}
                script:
                  image: python:alpine
                  command: [python]
                  source: print("inner got {{inputs.parameters.got}}")
"""


def test_inline_templates_run_nested_and_pass_parameters(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, INLINE))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["a"]["outputs"]["parameters"] == {"said": "hello"}
    assert nodes["b.inner"]["outputs"]["result"] == "inner got hello"


def test_an_inline_template_sees_only_its_own_inputs(kjob: Any, tmp_path: Path) -> None:
    body = INLINE.replace('arguments: {parameters: [{name: got, value: "{{inputs.parameters.got}}"}]}', "")
    body = body.replace("                inputs: {parameters: [{name: got}]}\n", "")
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "template 'main/b/inner' has no input parameter 'got'" in done.stdout + done.stderr


def test_a_task_with_both_template_and_inline_is_refused(kjob: Any, tmp_path: Path) -> None:
    body = INLINE.replace("      - name: a\n", "      - name: a\n        template: main\n")
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "wf.yaml:14:9: error: task 'a' has both template and inline" in done.stdout + done.stderr


TEMPLATE_DEFAULTS = """\
  entrypoint: main
  templateDefaults:
    retryStrategy: {limit: "2"}
    inputs: {parameters: [{name: greeting, value: hi}]}
    container:
      image: alpine
      env: [{name: FROM_DEFAULT, value: d}, {name: OVERRIDDEN, value: d}]
  templates:
  - name: main
    dag:
      tasks:
      - {name: flaky, template: flaky}
      - name: greet
        inline:
          container:
            command: [sh, -c, 'echo "$GREETING $FROM_DEFAULT $OVERRIDDEN"']
            env: [{name: OVERRIDDEN, value: own}, {name: GREETING, value: "{{inputs.parameters.greeting}}"}]
  - name: flaky
    container:
      command: [sh, -c, 'test {{retries}} -ge 1']
"""


def test_template_defaults_are_merged_into_every_template(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, TEMPLATE_DEFAULTS))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["greet"]["outputs"]["result"] == "hi d own"  # env merged by name, the template's wins
    assert len(nodes["flaky"]["attempts"]) == 2  # the default retryStrategy


def test_a_mistake_in_template_defaults_points_at_it(kjob: Any, tmp_path: Path) -> None:
    body = TEMPLATE_DEFAULTS.replace('retryStrategy: {limit: "2"}', "retryStrategy: {limit: many}")
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "wf.yaml:8:28: error: 'limit' must be a whole number" in done.stderr
    assert done.stderr.count("must be a whole number") == 1  # not once per template


LOOP_FAIL_FAST = """\
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    failFast: true
    steps:
    - - name: item
        template: exit
        arguments: {parameters: [{name: code, value: "{{item}}"}]}
        withItems: [0, 0, 1, 0, 0]
  - name: exit
    inputs: {parameters: [{name: code}]}
    annotations: {workflows.argoproj.io/display-name: "exit-{{inputs.parameters.code}}"}
    container: {image: alpine, command: [sh, -c, 'exit {{inputs.parameters.code}}']}
"""


def test_a_failing_fast_template_starts_no_item_after_a_failure(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, LOOP_FAIL_FAST))
    assert done.code == 1, done.stdout + done.stderr
    nodes = done.nodes()
    phases = [nodes[f"item({i}:{c})"]["phase"] for i, c in enumerate([0, 0, 1, 0, 0])]
    assert phases == ["Succeeded", "Succeeded", "Failed", "Omitted", "Omitted"]
    assert nodes["item(2:1)"]["display_name"] == "exit-1"
    without = kjob("run", write(tmp_path, LOOP_FAIL_FAST.replace("failFast: true", "failFast: false")))
    assert [n["phase"] for k, n in without.nodes().items() if k.startswith("item(")].count("Succeeded") == 4


TEMPLATED_TIMEOUT = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: quick, template: sleep, arguments: {parameters: [{name: timeout, value: 30s}]}}
      - {name: slow, template: sleep, arguments: {parameters: [{name: timeout, value: 300ms}]}}
  - name: sleep
    timeout: "{{inputs.parameters.timeout}}"
    inputs: {parameters: [{name: timeout}]}
    container: {image: alpine, command: [sleep, "1"]}
"""


def test_a_templated_timeout_is_rendered_per_node(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, TEMPLATED_TIMEOUT))
    assert done.code == 1, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["quick"]["phase"] == "Succeeded"
    assert nodes["slow"]["phase"] == "Failed"
    assert "deadline of 0.3s" in nodes["slow"]["message"]


def test_a_templated_timeout_that_is_no_duration_is_the_nodes_error(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, TEMPLATED_TIMEOUT.replace("value: 300ms", "value: soon")))
    assert done.code == 1, done.stdout + done.stderr
    assert done.nodes()["slow"]["phase"] == "Error"


CLAIMS = """\
  entrypoint: main
  volumeClaimTemplates:
  - metadata: {name: work}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
  templates:
  - name: main
    steps:
    - - {name: write, template: write}
    - - {name: read, template: read}
  - name: write
    container:
      image: alpine
      command: [sh, -c, 'echo shared > /tmp/work/file']
      volumeMounts: [{name: work, mountPath: /tmp/work}]
  - name: read
    container:
      image: alpine
      command: [cat, /tmp/work/file]
      volumeMounts: [{name: work, mountPath: /tmp/work}]
"""


def test_a_volume_claim_template_is_a_directory_all_tasks_of_the_run_share(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, CLAIMS))
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["read"]["outputs"]["result"] == "shared"


def test_a_volume_claim_template_needs_a_name(kjob: Any, tmp_path: Path) -> None:
    done = kjob("lint", write(tmp_path, CLAIMS.replace("metadata: {name: work}", "metadata: {}")))
    assert done.code == 2
    assert "wf.yaml:8:5: error: a volume claim template needs metadata.name" in done.stderr


METADATA_AND_GC = """\
  entrypoint: main
  arguments: {parameters: [{name: team, value: blue}]}
  workflowMetadata:
    labels: {kind: nightly}
    annotations: {example.com/owner: ops}
    labelsFrom:
      team: {expression: workflow.parameters.team}
  podGC: {strategy: OnPodSuccess, labelSelector: {matchLabels: {gc: "yes"}}}
  ttlStrategy: {secondsAfterSuccess: 0, secondsAfterCompletion: 60}
  templates:
  - name: main
    container: {image: alpine, command: ["true"]}
"""


def test_workflow_metadata_labels_the_run_record(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, METADATA_AND_GC))
    assert done.code == 0, done.stdout + done.stderr
    assert done.record()["labels"] == {"kind": "nightly", "team": "blue"}
    assert done.record()["annotations"] == {"example.com/owner": "ops"}


def test_pod_gc_and_ttl_are_read_and_said_to_do_nothing_locally(kjob: Any, tmp_path: Path) -> None:
    done = kjob("lint", write(tmp_path, METADATA_AND_GC))
    assert done.code == 0, done.stdout + done.stderr
    assert "wf.yaml:13:3: warning: on the local backend: podGC does nothing" in done.stderr
    assert "wf.yaml:14:3: warning: on the local backend: ttlStrategy does nothing" in done.stderr
    bad = METADATA_AND_GC.replace("OnPodSuccess", "OnPodSucess")
    done = kjob("lint", write(tmp_path, bad))
    assert done.code == 2
    assert "wf.yaml:13:21: error: unknown podGC strategy 'OnPodSucess'" in done.stderr


GLOBAL_OUTPUTS = """\
  entrypoint: main
  onExit: report
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: use
        arguments:
          parameters: [{name: word, value: "{{workflow.outputs.parameters.word}}"}]
          artifacts: [{name: file, from: "{{workflow.outputs.artifacts.file}}"}]
  - name: make
    container: {image: alpine, command: [sh, -c, 'echo hi > /tmp/word; echo art > /tmp/file']}
    outputs:
      parameters: [{name: word, globalName: word, valueFrom: {path: /tmp/word}}]
      artifacts: [{name: file, globalName: file, path: /tmp/file}]
  - name: use
    inputs:
      parameters: [{name: word}]
      artifacts: [{name: file, path: /tmp/in}]
    container: {image: alpine, command: [sh, -c, 'echo "$W $(cat /tmp/in)"'], env: [{name: W, value: "{{inputs.parameters.word}}"}]}
  - name: report
    container:
      image: alpine
      command: [echo, "exit handler read {{workflow.outputs.parameters.word}}"]
"""


def test_global_outputs_are_read_by_later_tasks_and_the_exit_handler(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, GLOBAL_OUTPUTS))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["use"]["outputs"]["result"] == "hi art"
    assert nodes["onExit"]["outputs"]["result"] == "exit handler read hi"
    assert done.record()["outputs"]["parameters"] == {"word": "hi"}


def test_a_global_output_no_template_declares_is_a_located_error(kjob: Any, tmp_path: Path) -> None:
    done = kjob(
        "lint",
        write(tmp_path, GLOBAL_OUTPUTS.replace('outputs.parameters.word}}"]', 'outputs.parameters.wrd}}"]')),
    )
    assert done.code == 2
    assert "no output parameter has globalName 'wrd'" in done.stderr
    assert "did you mean 'word'?" in done.stderr


FROM_CONFIG_MAP = """\
  entrypoint: main
  arguments:
    parameters: [{name: greeting, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}]
  templates:
  - name: main
    inputs:
      parameters: [{name: who, valueFrom: {configMapKeyRef: {name: settings, key: who}, default: nobody}}]
    container: {image: alpine, command: [echo, "{{workflow.parameters.greeting}} {{inputs.parameters.who}}"]}
"""


def test_a_config_map_parameter_lints_and_needs_a_cluster_to_run(kjob: Any, tmp_path: Path) -> None:
    path = write(tmp_path, FROM_CONFIG_MAP)
    assert kjob("lint", path).code == 0
    done = kjob("run", path, "--backend", "local")
    assert done.code != 0
    assert "workflow.parameters.greeting comes from ConfigMap 'settings' (configMapKeyRef)" in done.stderr
    done = kjob("run", path, "--backend", "local", "-p", "greeting=hello")
    assert "inputs.parameters.who comes from ConfigMap 'settings'" in done.stdout + done.stderr


EXIT_VARIABLES = """\
  entrypoint: main
  serviceAccountName: runner
  onExit: report
  templates:
  - name: main
    dag:
      tasks:
      - {name: ok, template: exit, arguments: {parameters: [{name: code, value: "0"}]}}
      - {name: broken, template: exit, arguments: {parameters: [{name: code, value: "3"}]}}
  - name: exit
    inputs: {parameters: [{name: code}]}
    container: {image: alpine, command: [sh, -c, 'exit {{inputs.parameters.code}}']}
  - name: report
    container:
      image: alpine
      command: [sh, -c, 'printf "%s\\n" "$F" "$D" "$E"']
      env:
      - {name: F, value: "{{workflow.failures}}"}
      - {name: D, value: "{{workflow.duration}}"}
      - {name: E, value: "{{workflow.mainEntrypoint}} {{workflow.serviceAccountName}} {{workflow.status}} {{workflow.creationTimestamp}}"}
"""


def test_the_exit_handler_reads_failures_duration_and_the_entrypoint(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, EXIT_VARIABLES))
    assert done.code == 1, done.stdout + done.stderr
    quoted, duration, rest = done.nodes()["onExit"]["outputs"]["result"].split("\n")
    failures = json.loads(json.loads(quoted))  # Go-quoted JSON, as Argo writes it
    assert [(f["templateName"], f["phase"]) for f in failures] == [("main", "Failed"), ("exit", "Failed")]
    assert failures[0]["displayName"] == done.run_id() and failures[1]["displayName"] == "broken"
    assert list(failures[1]) == ["displayName", "message", "templateName", "phase", "podName", "finishedAt"]
    assert failures[1]["finishedAt"] > "2020"  # wall-clock time, RFC 3339
    assert float(duration) >= 0 and len(duration.split(".")[1]) == 6  # Go's %f
    entrypoint, account, status, created = rest.split(" ")
    assert (entrypoint, account, status) == ("main", "runner", "Failed")
    assert created > "2020"  # wall-clock time, though the backend's clock is monotonic


def test_a_dry_run_shows_the_runs_claim_and_the_pods_that_mount_it(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", "--dry-run", "-o", "yaml", write(tmp_path, CLAIMS))
    assert done.code == 0, done.stdout + done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    (claim,) = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    run_id = claim["metadata"]["ownerReferences"][0]["name"]
    assert claim["metadata"]["name"] == f"{run_id}-work"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    for job in (d for d in docs if d["kind"] == "Job"):
        volumes = job["spec"]["template"]["spec"]["volumes"]
        assert {"name": "work", "persistentVolumeClaim": {"claimName": f"{run_id}-work"}} in volumes


OUTPUT_PATHS = """\
  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      command: [sh, -c, 'echo hi > "{{outputs.parameters.said.path}}"; echo "{{outputs.artifacts.file.path}}"']
    outputs:
      parameters: [{name: said, valueFrom: {path: /tmp/said}}]
      artifacts: [{name: file, path: /tmp/file, optional: true}]
"""


def test_a_container_reads_where_its_outputs_are_written(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, OUTPUT_PATHS))
    assert done.code == 0, done.stdout + done.stderr
    main = done.nodes()["main"]
    assert main["outputs"]["parameters"] == {"said": "hi"}
    assert main["outputs"]["result"] == "/tmp/file"
    done = kjob("lint", write(tmp_path, OUTPUT_PATHS.replace("parameters.said.path", "parameters.sad.path")))
    assert done.code == 2
    assert "'{{outputs.parameters.sad.path}}' is not supported by kjob yet" in done.stderr


def test_a_waves_plan_refuses_claims_it_cannot_create(kjob: Any, tmp_path: Path) -> None:
    done = kjob("plan", write(tmp_path, CLAIMS), "-o", str(tmp_path / "plan"))
    assert done.code == 2
    assert "the workflow has volumeClaimTemplates: a waves plan has no kjob" in done.stderr
    assert "--mode driver" in done.stderr


def test_claims_and_pod_gc_are_in_the_permissions_a_run_needs(tmp_path: Path) -> None:
    from kjob.render.permissions import Need, needed, workflow_needs
    from kjob.spec.loader import load_file

    path = write(
        tmp_path, CLAIMS.replace("  templates:", "  podGC: {strategy: OnPodSuccess}\n  templates:", 1)
    )
    (workflow,) = load_file(path).workflows
    needs = workflow_needs(workflow)
    assert {Need.CLAIMS, Need.POD_GC} <= needs
    granted = {(p.resource, p.verb) for p in needed(needs)}
    assert {("persistentvolumeclaims", "create"), ("pods", "delete")} <= granted
