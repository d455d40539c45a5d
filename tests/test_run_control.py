"""`kjob stop`, `terminate`, `retry`, `resubmit`, `delete` and `kjob run --wait=false` on the local
backend, as a user drives them from another terminal: each task appends its name to a ledger file,
so what ran (and what ran again) is read from the ledger, not from kjob's own account."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import Completed

# a -> b -> c, a -> d; b fails until the file `fixed` exists; the exit handler writes "exit".
# The task named by the parameter `hold` waits for the file `go` (so a test decides when it may end,
# without sleeping).
WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ledger-}
spec:
  entrypoint: main
  onExit: bye
  arguments:
    parameters: [{name: dir}, {name: hold, value: "no"}]
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: step, arguments: {parameters: [{name: n, value: a}]}}
      - {name: b, template: step, dependencies: [a], arguments: {parameters: [{name: n, value: b}]}}
      - {name: c, template: step, dependencies: [b], arguments: {parameters: [{name: n, value: c}]}}
      - {name: d, template: step, dependencies: [a], arguments: {parameters: [{name: n, value: d}]}}
  - name: step
    inputs: {parameters: [{name: n}]}
    container:
      image: alpine
      command: [sh, -c]
      args:
      - |
        echo "$N" >> "$DIR/ledger"
        if [ "$HOLD" = "$N" ]; then while [ ! -e "$DIR/go" ]; do sleep 0.05; done; fi
        if [ "$N" = b ] && [ ! -e "$DIR/fixed" ]; then exit 3; fi
      env:
      - {name: N, value: "{{inputs.parameters.n}}"}
      - {name: DIR, value: "{{workflow.parameters.dir}}"}
      - {name: HOLD, value: "{{workflow.parameters.hold}}"}
  - name: bye
    container:
      image: alpine
      command: [sh, -c, 'echo exit >> "$DIR/ledger"']
      env: [{name: DIR, value: "{{workflow.parameters.dir}}"}]
"""


def setup(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    shared = tmp_path / "shared"
    shared.mkdir()
    return tmp_path / "wf.yaml", shared


def ledger(shared: Path) -> list[str]:
    path = shared / "ledger"
    return path.read_text().split() if path.exists() else []


def record(home: Path, run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "runs" / run_id / "run.json").read_text())
    return data


def wait_for(what: str, predicate: Any, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def submitted(done: Completed) -> str:
    """The run id `kjob run --wait=false` printed: its whole stdout."""
    assert done.code == 0, done.stderr
    run_id = done.stdout.strip()
    assert run_id and "\n" not in run_id, done.stdout
    return run_id


def test_retry_runs_only_the_failed_task_and_what_it_held_up(kjob: Any, tmp_path: Path) -> None:
    wf, shared = setup(tmp_path)
    first = kjob("run", str(wf), "-p", f"dir={shared}")
    assert first.code == 1, first.stderr
    run_id = first.run_id()
    assert sorted(ledger(shared)) == ["a", "b", "d", "exit"]
    (shared / "fixed").touch()
    (shared / "ledger").unlink()

    again = kjob("retry", run_id)
    assert again.code == 0, again.stdout + again.stderr
    # b ran again, c (omitted before) ran, the exit handler ran again; a and d did not run again
    assert ledger(shared) == ["b", "c", "exit"]
    nodes = {n["id"]: n for n in record(first.home, run_id)["nodes"]}
    assert [a["id"].rsplit("-", 1)[1] for a in nodes["b"]["attempts"]] == ["1"]  # a new attempt
    assert nodes["a"]["phase"] == nodes["d"]["phase"] == "Succeeded"
    # a replayed task keeps when it ran: it ended before the retry began (not when it was replayed)
    assert nodes["a"]["finished"] <= record(first.home, run_id)["resumed"][-1]
    assert record(first.home, run_id)["phase"] == "Succeeded"
    assert (first.home / "runs" / run_id / "logs" / f"{nodes['b']['attempts'][0]['id'][:-2]}-0.log").exists()

    refused = kjob("retry", run_id)
    assert refused.code == 2
    assert f"run {run_id} succeeded: nothing to retry" in refused.stderr


def test_retry_with_a_node_field_selector_runs_only_the_chosen_task(kjob: Any, tmp_path: Path) -> None:
    text = WORKFLOW.replace('[ "$N" = b ]', '{ [ "$N" = b ] || [ "$N" = d ]; }')
    wf, shared = setup(tmp_path)
    wf.write_text(text)
    first = kjob("run", str(wf), "-p", f"dir={shared}")
    assert first.code == 1
    (shared / "fixed").touch()
    (shared / "ledger").unlink()

    again = kjob("retry", first.run_id(), "--node-field-selector", "displayName=d")
    assert again.code == 1  # b failed again: it was not chosen, its failure is kept
    assert ledger(shared) == ["d", "exit"]

    bad = kjob("retry", first.run_id(), "--node-field-selector", "colour=red")
    assert bad.code == 2
    assert "--node-field-selector: 'colour=red' is not FIELD=VALUE" in bad.stderr


def test_run_wait_false_returns_before_the_run_ends_and_the_run_completes(kjob: Any, tmp_path: Path) -> None:
    wf, shared = setup(tmp_path)
    (shared / "fixed").touch()
    run_id = submitted(kjob("run", "--wait=false", str(wf), "-p", f"dir={shared}", "-p", "hold=a"))
    # it returned while task a still waits for `go`: the run goes on without the command that started it
    wait_for("task a to start", lambda: ledger(shared) == ["a"])
    kjob_home = tmp_path / "kjob-home"
    assert record(kjob_home, run_id)["phase"] in ("Pending", "Running")
    (shared / "go").touch()
    wait_for("the run to end", lambda: record(kjob_home, run_id)["phase"] == "Succeeded")
    assert sorted(ledger(shared)) == ["a", "b", "c", "d", "exit"]
    log = kjob_home / "runs" / run_id / "kjob.log"  # the detached kjob writes its summary after the record
    wait_for("the detached kjob's summary", lambda: "Workflow " + run_id + " Succeeded" in log.read_text())
    assert record(kjob_home, run_id)["resumed"] == []  # submitted, then watched: never resumed


def test_stop_runs_the_exit_handler_and_terminate_does_not(kjob: Any, tmp_path: Path) -> None:
    wf, shared = setup(tmp_path)
    home = tmp_path / "kjob-home"
    for verb, expected in (("stop", ["a", "exit"]), ("terminate", ["a"])):
        (shared / "ledger").unlink(missing_ok=True)
        run_id = submitted(kjob("run", "--wait=false", str(wf), "-p", f"dir={shared}", "-p", "hold=a"))
        wait_for("task a to start", lambda: ledger(shared) == ["a"])
        done = kjob(verb, run_id)
        assert done.code == 0, done.stderr
        past = "stopped" if verb == "stop" else "terminated"
        assert done.stdout == f"run {run_id} {past} (Failed: {past})\n"
        assert ledger(shared) == expected
        phases = {n["id"]: n["phase"] for n in record(home, run_id)["nodes"]}
        assert (phases["a"], phases["b"]) == ("Failed", "Omitted")
        assert ("onExit" in phases) is (verb == "stop")

        late = kjob(verb, run_id)
        assert late.code == 2
        assert f"run {run_id} has already ended (Failed)" in late.stderr


def test_a_stopped_run_can_be_retried_to_the_end(kjob: Any, tmp_path: Path) -> None:
    wf, shared = setup(tmp_path)
    (shared / "fixed").touch()
    run_id = submitted(kjob("run", "--wait=false", str(wf), "-p", f"dir={shared}", "-p", "hold=a"))
    wait_for("task a to start", lambda: ledger(shared) == ["a"])
    assert kjob("terminate", run_id).code == 0
    (shared / "go").touch()
    again = kjob("retry", run_id)
    assert again.code == 0, again.stdout + again.stderr
    found = ledger(shared)  # a (stopped), then the whole run again from a
    assert found[:2] == ["a", "a"] and sorted(found[2:]) == ["b", "c", "d", "exit"]


def test_delete_refuses_a_running_run_unless_forced_and_removes_its_directory(
    kjob: Any, tmp_path: Path
) -> None:
    wf, shared = setup(tmp_path)
    home = tmp_path / "kjob-home"
    run_id = submitted(kjob("run", "--wait=false", str(wf), "-p", f"dir={shared}", "-p", "hold=a"))
    wait_for("task a to start", lambda: ledger(shared) == ["a"])
    refused = kjob("delete", run_id)
    assert refused.code == 2
    assert f"error: run {run_id} is running" in refused.stderr
    assert (home / "runs" / run_id).is_dir()

    forced = kjob("delete", "--force", run_id)
    assert forced.code == 0, forced.stderr
    assert forced.stdout == f"deleted run {run_id} ({home / 'runs' / run_id})\n"
    assert not (home / "runs" / run_id).exists()
    assert kjob("delete", run_id).code == 2


def test_resubmit_starts_a_fresh_run_with_the_same_parameters(kjob: Any, tmp_path: Path) -> None:
    wf, shared = setup(tmp_path)
    first = kjob("run", str(wf), "-p", f"dir={shared}")
    assert first.code == 1
    (shared / "fixed").touch()
    (shared / "ledger").unlink()
    again = kjob("resubmit", first.run_id())
    assert again.code == 0, again.stderr
    assert sorted(ledger(shared)) == ["a", "b", "c", "d", "exit"]  # everything, from the start
    new_id = again.run_id()
    assert new_id != first.run_id() and new_id.startswith("ledger-")
    assert record(first.home, new_id)["parameters"] == {"dir": str(shared)}
    assert record(first.home, first.run_id())["phase"] == "Failed"  # the old run is left as it was


def test_a_stop_of_a_run_nobody_watches_is_carried_out_by_resume(kjob: Any, tmp_path: Path) -> None:
    wf, shared = setup(tmp_path)
    home = tmp_path / "kjob-home"
    (shared / "fixed").touch()
    started = kjob("run", "--wait=false", str(wf), "-p", f"dir={shared}", "-p", "hold=b")
    run_id = submitted(started)
    wait_for("a and d to end and b to start", lambda: sorted(ledger(shared)) == ["a", "b", "d"])
    wait_for(
        "d recorded",
        lambda: {n["id"]: n["phase"] for n in record(home, run_id)["nodes"]}.get("d") == "Succeeded",
    )
    watcher = int(re.search(r"\(pid (\d+),", started.stderr).group(1))  # type: ignore[union-attr]
    os.kill(watcher, signal.SIGKILL)  # its node agent keeps b running
    wait_for(
        "the watcher to go",
        lambda: not _locked(home, run_id),
    )

    asked = kjob("stop", run_id)
    assert asked.code == 0, asked.stderr
    assert (
        asked.stdout
        == f"run {run_id}: stop requested, but no kjob watches it now; `kjob resume {run_id}` carries it out\n"
    )
    resumed = kjob("resume", run_id)
    assert resumed.code == 1, resumed.stdout + resumed.stderr
    assert sorted(ledger(shared)) == ["a", "b", "d", "exit"]  # nothing ran again, c never started
    phases = {n["id"]: n["phase"] for n in record(home, run_id)["nodes"]}
    assert phases == {
        "main": "Failed",
        "a": "Succeeded",
        "b": "Failed",
        "c": "Omitted",
        "d": "Succeeded",
        "onExit": "Succeeded",
    }
    assert record(home, run_id)["message"] == "stopped"


def _locked(home: Path, run_id: str) -> bool:
    from kjob.rundir import RunDir

    return RunDir(home / "runs" / run_id).watched()
