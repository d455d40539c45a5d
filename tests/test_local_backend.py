"""The local backend with real processes and files: private /tmp, deadlines, interrupts, retries
timed by the real clock, and the errors a user meets."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kjob.sandbox import detect_isolation
from tests.conftest import EXAMPLES, REPO, kjob_env

private_tmp = pytest.mark.skipif(
    not detect_isolation().private_tmp, reason=f"no private /tmp here: {detect_isolation().reason}"
)


def write(tmp_path: Path, body: str, name: str = "wf.yaml") -> str:
    path = tmp_path / name
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: t-\nspec:\n" + body
    )
    return str(path)


COLLIDE = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: left, template: write, arguments: {parameters: [{name: v, value: left}]}}
      - {name: right, template: write, arguments: {parameters: [{name: v, value: right}]}}
  - name: write
    inputs: {parameters: [{name: v}]}
    container:
      image: python:3.9
      command: [python, -c]
      args:
      - |
        import time, os
        open('/tmp/data.json', 'w').write('{{inputs.parameters.v}}')
        time.sleep(0.5)
        print(open('/tmp/data.json').read(), sorted(os.listdir('/tmp')))
    outputs:
      parameters:
      - name: seen
        valueFrom: {path: /tmp/data.json}
"""


@private_tmp
def test_parallel_tasks_writing_the_same_tmp_file_never_collide(kjob: Any, tmp_path: Path) -> None:
    before = set(os.listdir("/tmp"))
    done = kjob("run", write(tmp_path, COLLIDE))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["left"]["outputs"]["parameters"] == {"seen": "left"}
    assert nodes["right"]["outputs"]["parameters"] == {"seen": "right"}
    assert nodes["left"]["started"] < nodes["right"]["finished"]  # they really overlapped
    assert nodes["right"]["started"] < nodes["left"]["finished"]
    assert "data.json" not in set(os.listdir("/tmp")) - before


def test_without_isolation_the_user_is_warned(kjob: Any, tmp_path: Path, kjob_home: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: hi\n  templates:\n  - name: hi\n    container: {image: x, command: [echo, hi]}\n",
    )
    env = kjob_env(kjob_home) | {"KJOB_LOCAL_ISOLATION": "none"}
    done = subprocess.run(
        [sys.executable, "-m", "kjob", "run", wf], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "warning: no private /tmp per task" in done.stderr


def test_a_failing_task_fails_the_run_with_exit_1(kjob: Any, tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: boom\n  templates:\n  - name: boom\n"
        "    container: {image: x, command: [sh, -c, 'echo going down >&2; exit 7']}\n",
    )
    done = kjob("run", wf)
    assert done.code == 1
    node = done.nodes()["boom"]
    assert (node["phase"], node["message"]) == ("Failed", "exit code 7")
    assert "✖ boom Failed" in done.stdout
    assert kjob("logs", done.run_id(), "boom").stdout.strip() == "going down"


@pytest.mark.parametrize(("number", "name"), [(9, "SIGKILL"), (33, "signal 33"), (40, "SIGRTMIN+6")])
def test_a_task_killed_by_any_signal_fails_with_its_name(
    kjob: Any, tmp_path: Path, number: int, name: str
) -> None:
    """Signals Python does not name (32, 33, 35-63) once killed the watcher and hung the run."""
    wf = write(
        tmp_path,
        "  entrypoint: shot\n  templates:\n  - name: shot\n"
        # $$$$: the kubelet makes $$ one $, as on Kubernetes, so the shell sees $$
        f"    container: {{image: x, command: [sh, -c, 'kill -{number} $$$$']}}\n",
    )
    done = kjob("run", wf, timeout=60)
    assert done.code == 1, done.stdout + done.stderr
    node = done.nodes()["shot"]
    assert (node["phase"], node["message"]) == ("Failed", f"killed by signal {name}")


def test_a_command_missing_on_the_host_is_an_error_that_says_so(kjob: Any, tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: t\n  templates:\n  - name: t\n    container: {image: aws, command: [no-such-tool-kjob]}\n",
    )
    done = kjob("run", wf)
    assert done.code == 1
    assert (
        "command 'no-such-tool-kjob' of template 't' is not installed on this host"
        in done.nodes()["t"]["message"]
    )


def test_deadline_kills_the_process(kjob: Any, tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: slow\n  templates:\n  - name: slow\n    activeDeadlineSeconds: 1\n"
        "    container: {image: x, command: [sleep, '30']}\n",
    )
    started = time.monotonic()
    done = kjob("run", wf)
    assert time.monotonic() - started < 15
    assert done.code == 1
    assert done.nodes()["slow"]["message"] == "exceeded its deadline of 1s"


RETRIES = """\
  entrypoint: flaky
  templates:
  - name: flaky
    retryStrategy:
      limit: 3
      retryPolicy: OnFailure
      backoff: {duration: "1s", factor: 2}
    container:
      image: x
      command: [python, -c]
      args: ["import sys; print('attempt {{retries}}'); sys.exit(0 if {{retries}} >= 2 else 1)"]
"""


def test_retries_wait_the_backoff_between_real_attempts(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, RETRIES))
    assert done.code == 0, done.stdout + done.stderr
    attempts = done.nodes()["flaky"]["attempts"]
    assert [a["phase"] for a in attempts] == ["Failed", "Failed", "Succeeded"]
    gaps = [b["queued"] - a["finished"] for a, b in itertools.pairwise(attempts)]
    assert gaps[0] == pytest.approx(1.0, abs=0.3)
    assert gaps[1] == pytest.approx(2.0, abs=0.3)
    assert kjob("logs", done.run_id(), "flaky").stdout.strip() == "attempt 2"


def test_ctrl_c_stops_running_tasks_and_exits_130(kjob_home: Path, tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
        "      - {name: a, template: sleep}\n      - {name: b, template: sleep}\n"
        "  - name: sleep\n    container: {image: x, command: [sh, -c, 'echo $$$$ > pid; sleep 60']}\n",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", wf],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kjob_env(kjob_home),
        cwd=REPO,
    )
    deadline = time.monotonic() + 20
    pids: list[int] = []
    while time.monotonic() < deadline and len(pids) < 2:
        pids = [int(p.read_text()) for p in kjob_home.glob("runs/*/work/*/pid") if p.read_text().strip()]
        time.sleep(0.1)
    assert len(pids) == 2, "tasks did not start"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert "stopped" in err


def test_bad_input_exits_2_with_file_line_col_and_no_traceback(kjob: Any, tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n"
        "      - {name: a, template: nope}\n",
    )
    done = kjob("run", wf)
    assert done.code == 2
    assert f"{wf}:11:29: error: unknown template 'nope' (defined: main)" in done.stderr
    assert "unknown template 'nope'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_missing_file_and_unknown_run_are_one_line_errors(kjob: Any) -> None:
    missing = kjob("run", "does-not-exist.yaml")
    assert missing.code == 2 and "does-not-exist.yaml" in missing.stderr and "Traceback" not in missing.stderr
    logs = kjob("logs", "no-such-run")
    assert logs.code == 2 and "no run 'no-such-run'" in logs.stderr


def test_bad_parameter_flag_is_a_usage_error(kjob: Any) -> None:
    done = kjob("run", "examples/04-retries.yaml", "-p", "nonsense")
    assert done.code == 2 and "'nonsense' is not NAME=VALUE" in done.stderr
    unknown = kjob("run", "examples/04-retries.yaml", "-p", "rate=1")
    assert unknown.code == 2 and "no parameter 'rate' (declared: failure-rate)" in unknown.stderr


@private_tmp
def test_an_output_path_outside_tmp_is_refused_before_the_task_runs(kjob: Any, tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        "  entrypoint: t\n  templates:\n  - name: t\n    container: {image: x, command: [touch, ran]}\n"
        "    outputs: {parameters: [{name: p, valueFrom: {path: /data/p.txt}}]}\n",
    )
    done = kjob("run", wf)
    assert done.code == 1
    node = done.nodes()["t"]
    assert node["phase"] == "Error"
    assert "path /data/p.txt is outside /tmp" in node["message"]
    assert not list((done.home / "runs" / done.run_id() / "work").glob("*/ran"))


NUL_OUTPUT = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: make, template: make}
      - {name: use, template: use, dependencies: [make], arguments: {parameters: [{name: x, value: "{{tasks.make.outputs.parameters.o}}"}]}}
  - name: make
    container: {image: a, command: [sh, -c, "printf 'a\\\\000b' > /tmp/o"]}
    outputs: {parameters: [{name: o, valueFrom: {path: /tmp/o}}]}
  - name: use
    inputs: {parameters: [{name: x}]}
    container: {image: a, command: [echo, "{{inputs.parameters.x}}"]}
"""


def test_an_output_with_a_nul_passed_as_an_argument_is_a_task_error(kjob: Any, tmp_path: Path) -> None:
    """Once a ValueError traceback from the process spawn; now the dependent errors, saying why."""
    done = kjob("run", write(tmp_path, NUL_OUTPUT))
    assert done.code == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.nodes()["make"]["outputs"]["parameters"] == {"o": "a\x00b"}
    use = done.nodes()["use"]
    assert (use["phase"], use["message"]) == (
        "Error",
        "an argument of the task contains a NUL character, which no program can be given",
    )
    assert done.record()["phase"] == "Error"


def test_a_reader_that_goes_away_does_not_stop_the_run(kjob_home: Path) -> None:
    """``kjob run FILE | head -1``: once the run died of a BrokenPipeError (rc 1, no record)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(EXAMPLES / "01-basic-dag.yaml")],
        env=kjob_env(kjob_home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().decode()
    proc.stdout.close()  # what head does after its first line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    run_id = first.split()[1]
    record = json.loads((kjob_home / "runs" / run_id / "run.json").read_text())
    assert record["phase"] == "Succeeded"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("-n", "prod", "--queue", "team-a"),
            "error: --queue, --namespace: only for the kubernetes backend, and no cluster is configured "
            "(no kubeconfig, not in a pod), so this would run on this machine\n"
            "  hint: name one with --kubeconfig FILE (or $KUBECONFIG), or drop the option to run locally\n",
        ),
        (
            ("--backend", "local", "--workspace-pvc", "work"),
            "error: --workspace-pvc: only for the kubernetes backend, and --backend local was chosen\n",
        ),
    ],
)
def test_cluster_options_without_a_cluster_are_refused_not_ignored(
    kjob: Any, args: tuple[str, ...], message: str
) -> None:
    """Once silently ignored: the workflow then ran on this machine instead of in namespace prod."""
    done = kjob("run", str(EXAMPLES / "01-basic-dag.yaml"), *args)
    assert (done.code, done.stdout, done.stderr) == (2, "", message)


DOLLARS = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: one, template: show}
      - {name: each, template: show, withItems: [a, b]}
  - name: show
    container:
      image: alpine
      env:
      - {name: X, value: hi}
      - {name: Y, value: "$(X)-y"}
      - {name: Z, value: "$$(X)"}
      command: [sh, -c]
      args:
      - printf '%s|' '$(Y)' '$$(X)' '$(NOPE)' '$$' "$0" "$Z" "$1" > /tmp/seen
      - $(X)
      - $((1 + 2))
    outputs: {parameters: [{name: seen, valueFrom: {path: /tmp/seen}}]}
"""


def test_dollar_references_read_the_same_locally_as_on_kubernetes(kjob: Any, tmp_path: Path) -> None:
    """``$(VAR)`` and ``$$`` by the kubelet's rules on the local backend, in a Job of its own and in an
    Indexed Job's items (the API emulator's kubelet follows the real one: a contract test)."""
    from kjob.testing.emulator import Emulator, host_process

    wf = write(tmp_path, DOLLARS)
    local = kjob("run", wf)
    assert local.code == 0, local.stdout + local.stderr
    expected = "hi-y|$(X)|$(NOPE)|$|hi|$(X)|$((1 + 2))|"
    seen = {k: n["outputs"]["parameters"].get("seen") for k, n in local.nodes().items() if k != "main"}
    assert {k: v for k, v in seen.items() if k != "each"} == dict.fromkeys(
        ["one", "each(0:a)", "each(1:b)"], expected
    )
    with Emulator(host_process()) as emu:
        config = emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
        remote = kjob("run", wf, "--backend", "kubernetes", "--kubeconfig", str(config))
    assert remote.code == 0, remote.stdout + remote.stderr
    assert {k: n["outputs"]["parameters"].get("seen") for k, n in remote.nodes().items() if k in seen} == seen
