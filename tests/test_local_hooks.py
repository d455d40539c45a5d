"""Lifecycle hooks, task-level onExit, http templates and suspend nodes on the local backend (issue 12).

kjob runs http requests and suspends itself (Argo's agent and controller do), so these run through
the engine on every backend; the real-cluster run is in tests/test_hooks_real.py.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, kjob_env
from tests.test_local_backend import write
from tests.test_spec_errors import errors

HOOKS = """\
  entrypoint: main
  hooks:
    exit: {template: say, arguments: {parameters: [{name: msg, value: "workflow {{workflow.status}}"}]}}
    started:
      expression: workflow.status == "Running"
      template: say
      arguments: {parameters: [{name: msg, value: started}]}
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: produce
        hooks:
          exit:
            template: say
            arguments: {parameters: [{name: msg, value: "a said {{tasks.a.outputs.result}}"}]}
          done:
            expression: tasks.a.status == "Succeeded"
            template: say
            arguments: {parameters: [{name: msg, value: "a succeeded"}]}
          never:
            expression: tasks.a.status == "Failed"
            template: say
            arguments: {parameters: [{name: msg, value: "a failed"}]}
      - name: b
        depends: a
        template: fail
        onExit: say-bye
      - name: c
        depends: b.Failed
        template: say
        arguments: {parameters: [{name: msg, value: "after b"}]}
      - name: skipped
        template: say
        when: "1 == 2"
        arguments: {parameters: [{name: msg, value: never}]}
        onExit: say-bye
      - name: each
        template: say
        withItems: [x, y]
        arguments: {parameters: [{name: msg, value: "{{item}}"}]}
        hooks:
          exit:
            template: say
            arguments: {parameters: [{name: msg, value: "each said {{tasks.each.outputs.result}}"}]}
  - name: produce
    script: {image: python, command: [python], source: "print('hello')"}
  - name: fail
    container: {image: alpine, command: [sh, -c, "exit 3"]}
  - name: say
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
  - name: say-bye
    container: {image: alpine, command: [sh, -c, "echo bye; exit 1"]}
"""


def test_hooks_run_with_the_task_outputs_and_dependents_wait_for_them(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, HOOKS))
    nodes = done.nodes()
    # b failed, but c (b.Failed) ran, so the DAG succeeded; b's failing exit hook changes nothing
    assert done.code == 0, done.stdout + done.stderr
    assert nodes["a.onExit"]["outputs"]["result"] == "a said hello"
    assert nodes["a.hooks.done"]["outputs"]["result"] == "a succeeded"
    assert "a.hooks.never" not in nodes
    assert nodes["b"]["phase"] == "Failed"
    assert nodes["b.onExit"]["phase"] == "Failed"
    # c (b.Failed) starts only once b's exit hook has ended, as Argo waits for a task's hooks
    assert nodes["c"]["started"] >= nodes["b.onExit"]["finished"]
    # a loop's hooks are its items', each reading its own item's output, as in Argo
    assert nodes["each(0:x).onExit"]["outputs"]["result"] == "each said x"
    assert nodes["each(1:y).onExit"]["outputs"]["result"] == "each said y"
    assert "each.onExit" not in nodes
    assert "skipped.onExit" not in nodes  # as Argo: an exit hook follows a node that ran
    assert nodes["hooks.started"]["outputs"]["result"] == "started"
    assert nodes["onExit"]["outputs"]["result"] == "workflow Succeeded"


def _lint_errors(body: str) -> str:
    return errors(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: t-\nspec:\n" + body
    )


def test_a_hook_without_expression_or_with_an_unknown_template_is_a_located_error() -> None:
    body = HOOKS.replace('            expression: tasks.a.status == "Failed"\n', "")
    out = _lint_errors(body.replace("onExit: say-bye", "onExit: say-by"))
    assert "wf.yaml:27:11: error: hook 'never' of task 'a' has no expression" in out
    assert "wf.yaml:33:17: error: unknown template 'say-by' of hook 'exit'" in out
    out = _lint_errors(HOOKS.replace("onExit: say-bye", "onExit: say"))
    assert (
        "wf.yaml:34:17: error: hook 'exit' does not pass input parameter 'msg' required by template 'say'"
        in out
    )
    out = _lint_errors(HOOKS.replace('tasks.a.status == "Succeeded"', 'tasks.a.status == == "Succeeded"'))
    assert "wf.yaml:24:43: error: invalid expression: expected an operand after '=='" in out


# ------------------------------------------------------------------------------------------ http
class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode()
        status = 404 if self.path.startswith("/missing") else 200
        body = json.dumps({"path": self.path, "token": self.headers.get("X-Token"), "sent": sent})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Served-By", "kjob-test")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


HTTP = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: get
        template: call
        arguments: {parameters: [{name: path, value: /hello}]}
    - - name: post
        template: post
        arguments: {parameters: [{name: got, value: "{{steps.get.outputs.result}}"}]}
      - name: missing
        template: call
        arguments: {parameters: [{name: path, value: /missing}]}
        continueOn: {failed: true}
      - name: judged
        template: judged
      - name: raw
        template: raw
  - name: call
    inputs: {parameters: [{name: path}]}
    http:
      url: "URL{{inputs.parameters.path}}"
      headers: [{name: X-Token, value: secret-ish}]
  - name: post
    inputs: {parameters: [{name: got}]}
    http:
      url: "URL/post"
      method: POST
      body: "{{inputs.parameters.got}}"
      successCondition: response.statusCode == 200 && response.headers["X-Served-By"][0] == "kjob-test"
  - name: raw
    http: {url: "URL/raw", method: PUT, bodyFrom: {bytes: aGVsbG8gYnl0ZXM=}, timeoutSeconds: 20}
  - name: judged
    retryStrategy: {limit: 1}
    http:
      url: "URL/judged"
      successCondition: response.body contains "nothing like this"
"""


def test_http_templates_send_requests_and_judge_the_answers(kjob: Any, tmp_path: Path, server: str) -> None:
    done = kjob("run", write(tmp_path, HTTP.replace("URL", server)))
    nodes = done.nodes()
    assert json.loads(nodes["get"]["outputs"]["result"]) == {
        "path": "/hello",
        "token": "secret-ish",
        "sent": "",
    }
    posted = json.loads(nodes["post"]["outputs"]["result"])
    assert json.loads(posted["sent"])["path"] == "/hello"
    assert json.loads(nodes["raw"]["outputs"]["result"])["sent"] == "hello bytes"  # bodyFrom.bytes decoded
    assert nodes["missing"]["phase"] == "Failed"
    assert "received non-2xx response code: 404" in nodes["missing"]["message"]
    judged = nodes["judged"]
    assert judged["phase"] == "Failed" and len(judged["attempts"]) == 2  # its retry was a second request
    assert "successCondition" in judged["message"]
    assert done.code == 1


def test_an_http_header_from_a_secret_is_refused_on_the_local_backend(kjob: Any, tmp_path: Path) -> None:
    body = HTTP.replace("URL", "http://127.0.0.1:9").replace(
        "[{name: X-Token, value: secret-ish}]",
        "[{name: X-Token, valueFrom: {secretKeyRef: {name: api, key: token}}}]",
    )
    done = kjob("run", write(tmp_path, body))
    assert done.code == 2
    assert (
        "wf.yaml:26:5: error: template 'call': header 'X-Token' reads Secret 'api' (key 'token'), "
        "and the local backend has no cluster to read it from"
    ) in done.stderr
    assert not (done.home / "runs").exists() or not any((done.home / "runs").iterdir())
    linted = kjob("lint", write(tmp_path, body))
    assert linted.code == 0 and "warning: on the local backend: template 'call': header" in linted.stderr


# --------------------------------------------------------------------------------------- suspend
SUSPEND = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: approve
        template: approve
      - name: pause
        template: pause
    - - name: release
        template: say
        when: "{{steps.approve.outputs.parameters.answer}} == YES"
        arguments: {parameters: [{name: msg, value: "{{steps.approve.outputs.parameters.note}}"}]}
  - name: approve
    suspend: {}
    inputs:
      parameters:
      - {name: answer, default: "NO", enum: ["YES", "NO"]}
    outputs:
      parameters:
      - {name: answer, valueFrom: {supplied: {}}}
      - {name: note, valueFrom: {supplied: {}, default: none}}
  - name: pause
    suspend: {duration: "1s"}
  - name: say
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
"""


def _wait_for(path: Path, check: Any, process: subprocess.Popen[str]) -> dict[str, Any]:
    for _ in range(600):
        if path.exists():
            try:
                record = json.loads(path.read_text())
            except ValueError:
                record = None
            if record is not None and check(record):
                return dict(record)
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"{path} never showed what was awaited")


@pytest.mark.slow
def test_a_suspended_node_is_resumed_from_another_process(kjob: Any, kjob_home: Path, tmp_path: Path) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", "--run-id", "suspended-1", write(tmp_path, SUSPEND)],
        env=kjob_env(kjob_home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        record_path = kjob_home / "runs" / "suspended-1" / "run.json"

        def suspended(record: dict[str, Any]) -> bool:
            nodes = {n["id"]: n for n in record["nodes"]}
            pause = nodes.get("pause", {})
            return (
                "approve" in nodes
                and "suspended:" in nodes["approve"]["message"]
                and pause.get("phase") == "Succeeded"
            )

        record = _wait_for(record_path, suspended, run)
        approve = {n["id"]: n for n in record["nodes"]}["approve"]
        assert "`kjob resume suspended-1 --node approve` resumes it" in approve["message"]
        shown = kjob("get", "suspended-1")
        assert "kjob resume suspended-1 --node approve" in shown.stdout
        refused = kjob("resume", "suspended-1", "--node", "nobody")
        assert refused.code == 2 and "has no node 'nobody'" in refused.stderr
        ended = kjob("resume", "suspended-1", "--node", "pause")
        assert ended.code == 2 and "is not suspended: it has ended (Succeeded)" in ended.stderr
        ok = kjob("resume", "suspended-1", "--node", "approve", "-p", "answer=YES", "--set", "note=shipped")
        assert ok.code == 0, ok.stderr
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, out + err
    nodes = {n["id"]: n for n in json.loads(record_path.read_text())["nodes"]}
    assert nodes["approve"]["outputs"]["parameters"] == {"answer": "YES", "note": "shipped"}
    assert nodes["pause"]["message"] == "resumed after its duration"
    assert nodes["release"]["outputs"]["result"] == "shipped"


def test_a_suspend_node_with_a_bad_duration_is_a_located_error() -> None:
    out = _lint_errors(SUSPEND.replace('duration: "1s"', 'duration: "soon"'))
    assert 'wf.yaml:28:25: error: invalid duration "soon"' in out


def test_resume_values_fill_supplied_outputs_and_are_checked_against_the_inputs() -> None:
    from kjob.engine.hooks import supplied_outputs
    from kjob.spec.loader import load_text

    workflow = load_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: s}\nspec:\n" + SUSPEND
    )
    outputs = supplied_outputs(workflow.workflows[0].templates["approve"], {"answer": "NO"})
    assert outputs({}) == ({"answer": "NO", "note": "none"}, "")  # the input, the default
    assert outputs({"answer": "YES", "note": "go"}) == ({"answer": "YES", "note": "go"}, "")
    assert outputs({"answer": "MAYBE"})[1] == "--set answer=MAYBE: not one of YES, NO"
    assert "no supplied output or input of that name" in outputs({"other": "x"})[1]


RETRIED = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: stamp, hooks: {exit: {template: stamp}}}
      - {name: b, template: flaky, depends: a, onExit: stamp}
  - name: stamp
    script: {image: python, command: [python], source: "import time; print(time.time_ns())"}
  - name: flaky
    container: {image: alpine, command: [sh, -c, "[ -e FLAG ] || { touch FLAG; exit 1; }"]}
"""


def test_kjob_retry_runs_the_hooks_of_the_tasks_it_runs_again(kjob: Any, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    first = kjob("run", "--run-id", "hooked-1", write(tmp_path, RETRIED.replace("FLAG", str(flag))))
    assert first.code == 1, first.stdout + first.stderr
    before = first.nodes()
    again = kjob("retry", "hooked-1")
    assert again.code == 0, again.stdout + again.stderr
    after = again.nodes()
    # b ran again, so its exit hook did too (as Argo resets a retried node's hook children); a's did not
    assert after["b.onExit"]["outputs"]["result"] != before["b.onExit"]["outputs"]["result"]
    assert after["a.onExit"]["outputs"]["result"] == before["a.onExit"]["outputs"]["result"]


def test_a_waves_plan_refuses_what_only_a_running_kjob_does() -> None:
    from kjob.render.waves import problems
    from kjob.spec.loader import load_text

    text = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n" + SUSPEND
    workflow = load_text(
        text.replace(
            "- - name: release",
            "- - name: call\n        template: ping\n        hooks: {exit: {template: pause}}\n      - name: release",
        ).replace(
            "  - name: say\n", "  - name: ping\n    http: {url: 'http://127.0.0.1:9'}\n  - name: say\n"
        ),
        path="wf.yaml",
    ).workflows[0]
    found = sorted(e.message for e in problems(workflow))
    assert "template 'approve' is a suspend, which only a kjob running the workflow does" in found
    assert "template 'ping' is an http request, which only a kjob running the workflow does" in found
    assert "task 'call' has a hook 'exit': a GitOps tool runs no hooks" in found
