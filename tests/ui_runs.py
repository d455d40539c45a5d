"""Runs for the DAG page's tests and bench: a local run whose ``gate`` task waits for a file the test
creates (so a page can be watched while a task finishes), big workflows, and ``kjob ui`` served from
this process on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kjob.ui.server import UiServer
from kjob.ui.source import RunSource
from tests.conftest import REPO, kjob_env

#: a fan-out item that would be markup if anything read it as HTML, and one rich would make an emoji
HOSTILE_ITEM = '<img src=x onerror="window.pwned=1">'
EMOJI_ITEM = ":100:"

GATED = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: gated-}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {{name: first, template: say, arguments: {{parameters: [{{name: word, value: hello}}]}}}}
      - name: fan
        template: say
        depends: first
        arguments: {{parameters: [{{name: word, value: "{{{{item}}}}"}}]}}
        withItems: [plain, {json.dumps(HOSTILE_ITEM)}, {json.dumps(EMOJI_ITEM)}]
      - {{name: gate, template: gate, depends: first}}
      - {{name: last, template: say, depends: gate && fan, arguments: {{parameters: [{{name: word, value: bye}}]}}}}
  - name: say
    inputs: {{parameters: [{{name: word}}]}}
    container: {{image: alpine, command: [echo, "said {{{{inputs.parameters.word}}}}"]}}
  - name: gate
    container:
      image: alpine
      command: [sh, -c, "echo gate waiting; while [ ! -e go ]; do sleep 0.05; done; echo gate opened"]
"""


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll ``predicate`` until it returns something true (returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def record(home: Path, run_id: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((home / "runs" / run_id / "run.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data


class GatedRun:
    """``kjob run`` of :data:`GATED` on the local backend, in the background, until :meth:`open_gate`."""

    def __init__(self, home: Path, workdir: Path) -> None:
        self.home = home
        path = workdir / "gated.yaml"
        path.write_text(GATED)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kjob", "run", str(path), "--backend", "local"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=kjob_env(home),
            cwd=REPO,
        )
        self.run_id = wait_for("the run to start", self._run_id, 60)

    def _run_id(self) -> str | None:
        runs = list((self.home / "runs").glob("gated-*/run.json"))
        return runs[0].parent.name if runs else None

    def record(self) -> dict[str, Any]:
        return record(self.home, self.run_id)

    def gate_attempt(self) -> str:
        """The id of the gate's attempt, once it is running."""

        def running() -> str | None:
            nodes = {n["id"]: n for n in self.record().get("nodes", [])}
            gate = nodes.get("gate")
            if gate and gate["phase"] == "Running" and gate["attempts"]:
                return str(gate["attempts"][0]["id"])
            return None

        return str(wait_for("the gate task to run", running, 60))

    def open_gate(self) -> None:
        (self.home / "runs" / self.run_id / "work" / self.gate_attempt() / "go").touch()

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        out, err = self.process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)


@contextlib.contextmanager
def served(home: Path, **source: Any) -> Iterator[UiServer]:
    """``kjob ui`` on a free port of 127.0.0.1, reading runs under ``home`` (and from the cluster of
    ``kubeconfig=`` when given; without it, no cluster is configured, whatever this machine has)."""
    changed = {"KJOB_HOME": str(home), "KUBECONFIG": str(home / "no-kubeconfig")}
    previous = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    server = UiServer(0, RunSource(**source))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wide_workflow(tasks: int, per_level: int = 100) -> str:
    """``tasks`` distinct tasks, ``per_level`` to a level, each waiting for two of the level before."""
    lines = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        "metadata: {name: wide}",
        "spec:",
        "  entrypoint: main",
        "  templates:",
        "  - name: work",
        "    container: {image: alpine, command: ['true']}",
        "  - name: main",
        "    dag:",
        "      tasks:",
    ]
    for i in range(tasks):
        level, index = divmod(i, per_level)
        if level == 0:
            lines.append(f"      - {{name: t{i}, template: work}}")
        else:
            a = (level - 1) * per_level + index
            b = (level - 1) * per_level + (index * 7 + 3) % per_level
            deps = sorted({f"t{a}", f"t{b}"})
            lines.append(f"      - {{name: t{i}, template: work, dependencies: [{', '.join(deps)}]}}")
    return "\n".join(lines) + "\n"


def fan_workflow(items: int) -> str:
    """A task, a fan-out of ``items`` items after it, and a task after them."""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: fan}}
spec:
  entrypoint: main
  templates:
  - name: work
    container: {{image: alpine, command: ['true']}}
  - name: main
    dag:
      tasks:
      - {{name: start, template: work}}
      - {{name: many, template: work, depends: start, withSequence: {{count: "{items}"}}}}
      - {{name: end, template: work, depends: many}}
"""


def virtual_run(home: Path, text: str, run_id: str, failing: tuple[str, ...] = ()) -> None:
    """Run ``text`` in virtual time (no processes) and record it as ``run_id`` under ``home``: a big
    run's record in a second."""
    from kjob.backends.virtual import Outcome, VirtualBackend, scripted
    from kjob.engine.engine import Engine
    from kjob.engine.record import RunRecorder
    from kjob.rundir import RunDir
    from kjob.spec import load_text

    previous = os.environ.get("KJOB_HOME")
    os.environ["KJOB_HOME"] = str(home)
    try:
        workflow = load_text(text, path=f"{run_id}.yaml").workflows[0]
        outcomes: dict[str, Outcome] = {name: Outcome(exit_code=1, stdout="boom") for name in failing}
        backend = VirtualBackend(scripted(outcomes, default=Outcome(duration=2.0)), start_latency=0.5)
        run_dir = RunDir.create(run_id)
        header = {"run_id": run_id, "workflow_name": run_id, "backend": "local"}
        recorder = RunRecorder(run_dir, header=header, clock_now=0.0)
        result = Engine(workflow, backend, run_id=run_id, observers=[recorder]).run()
        recorder.finish(result)
    finally:
        if previous is None:
            os.environ.pop("KJOB_HOME", None)
        else:
            os.environ["KJOB_HOME"] = previous
