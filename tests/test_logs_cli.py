"""``kjob logs`` on local runs, output exact (``NO_COLOR``, ``COLUMNS``): tasks in the order they ran,
``--tail``, ``--since``, ``--timestamps``, ``--attempt``, ``--all-attempts``, ``-f``.

Most cases read a run directory written here (its record, logs and line times as kjob writes them), so
times are known; one follows a real local run from another process until it ends."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, kjob_env

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def attempt(attempt_id: str, started: float, phase: str = "Succeeded", code: int = 0) -> dict[str, Any]:
    return {
        "id": attempt_id,
        "queued": started - 1,
        "started": started,
        "finished": started + 5,
        "phase": phase,
        "exit_code": code,
        "message": "",
        "log": f"logs/{attempt_id}.log",
    }


def node(node_id: str, task: str, *attempts: dict[str, Any], phase: str = "Succeeded") -> dict[str, Any]:
    return {"id": node_id, "task": task, "template": task, "phase": phase, "attempts": list(attempts)}


def write_run(
    home: Path, run_id: str, nodes: list[dict[str, Any]], logs: dict[str, list[tuple[float | None, str]]]
) -> Path:
    """A finished local run: ``logs`` maps each attempt id to its (time written, line) pairs."""
    run = home / "runs" / run_id
    (run / "logs").mkdir(parents=True)
    (run / "node").mkdir()
    record = {"run_id": run_id, "backend": "local", "phase": "Succeeded", "started": T0, "nodes": nodes}
    (run / "run.json").write_text(json.dumps(record))
    times = []
    for attempt_id, lines in logs.items():
        data = b""
        for at, text in lines:
            data += text.encode() + b"\n"
            if at is not None:  # None: a line of unknown time (a log kept by an older kjob)
                times.append(f"{attempt_id} {len(data)} {at:.6f}\n")
        (run / "logs" / f"{attempt_id}.log").write_bytes(data)
    (run / "node" / "log-times").write_text("".join(times))
    return run


@pytest.fixture
def stored(kjob_home: Path) -> Path:
    """Three tasks recorded in another order than they ran; ``flaky`` failed once, then succeeded."""
    return write_run(
        kjob_home,
        "stored",
        [
            node("late", "late", attempt("late-0", T0 + 20)),
            node("early", "early", attempt("early-0", T0 + 1)),
            node("flaky", "flaky", attempt("flaky-0", T0 + 5, "Failed", 1), attempt("flaky-1", T0 + 10)),
        ],
        {
            "early-0": [(T0 + 1.5, "early one"), (T0 + 2.25, "early two")],
            "flaky-0": [(T0 + 5.5, "try 0 :100: [bold]markup[/bold]"), (T0 + 6, "Traceback: boom")],
            "flaky-1": [(T0 + 10.5, "try 1 fine")],
            "late-0": [(T0 + 21, "late one"), (T0 + 22, "late two"), (T0 + 23, "late three")],
        },
    )


def test_every_task_in_the_order_it_ran_each_line_prefixed(kjob: Any, stored: Path) -> None:
    done = kjob("logs", "stored")
    assert (done.code, done.stderr) == (0, "")
    assert done.stdout == (
        "early: early one\n"
        "early: early two\n"
        "flaky: try 1 fine\n"
        "late: late one\n"
        "late: late two\n"
        "late: late three\n"
    )


def test_one_task_as_it_printed_it_and_only_its_last_lines_with_tail(kjob: Any, stored: Path) -> None:
    assert kjob("logs", "stored", "late").stdout == "late one\nlate two\nlate three\n"
    assert kjob("logs", "stored", "late", "--tail", "2").stdout == "late two\nlate three\n"
    assert (
        kjob("logs", "stored", "--tail", "1").stdout
        == "early: early two\nflaky: try 1 fine\nlate: late three\n"
    )
    assert kjob("logs", "stored", "late", "--tail", "0").stdout == ""


def test_timestamps_are_when_each_line_was_written_in_utc(kjob: Any, stored: Path) -> None:
    assert kjob("logs", "stored", "--timestamps", "--tail", "1").stdout == (
        "early: 2027-01-15T08:00:02.250000Z early two\n"
        "flaky: 2027-01-15T08:00:10.500000Z try 1 fine\n"
        "late: 2027-01-15T08:00:23.000000Z late three\n"
    )
    assert kjob("logs", "stored", "early", "--timestamps").stdout == (
        "2027-01-15T08:00:01.500000Z early one\n2027-01-15T08:00:02.250000Z early two\n"
    )


def test_attempts_one_by_number_or_all_of_them_and_task_text_is_never_markup(kjob: Any, stored: Path) -> None:
    assert kjob("logs", "stored", "flaky", "--attempt", "0").stdout == (
        "try 0 :100: [bold]markup[/bold]\nTraceback: boom\n"
    )
    assert kjob("logs", "stored", "flaky", "--all-attempts").stdout == (
        "flaky#0: try 0 :100: [bold]markup[/bold]\nflaky#0: Traceback: boom\nflaky#1: try 1 fine\n"
    )
    missing = kjob("logs", "stored", "flaky", "--attempt", "2")
    assert (missing.code, missing.stdout) == (2, "")
    assert missing.stderr == (
        "error: task 'flaky' has no attempt 2\n  hint: attempts are numbered from 0; the most any task made is 2 (0 to 1)\n"
    )


def test_through_rich_on_a_terminal_task_text_is_still_not_markup_or_emoji(
    kjob: Any, stored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws as for a terminal (TERM=dumb: no styles)
    out = kjob("logs", "stored", "flaky", "--all-attempts", "--tail", "2").stdout
    assert out == "flaky#0: try 0 :100: [bold]markup[/bold]\nflaky#0: Traceback: boom\nflaky#1: try 1 fine\n"


def test_since_shows_only_lines_written_within_the_duration(kjob: Any, kjob_home: Path) -> None:
    now = time.time()
    write_run(
        kjob_home,
        "recent",
        [
            node("old", "old", attempt("old-0", now - 3600)),
            node("undated", "undated", attempt("undated-0", now - 3000)),
            node("new", "new", attempt("new-0", now - 400)),
        ],
        {
            "old-0": [(now - 3600, "an hour ago")],
            "undated-0": [(None, "ended 50 minutes ago")],
            "new-0": [(now - 400, "seven minutes ago"), (now - 60, "a minute ago"), (now - 1, "just now")],
        },
    )
    assert kjob("logs", "recent", "--since", "5m").stdout == "new: a minute ago\nnew: just now\n"
    assert kjob("logs", "recent", "--since", "2h", "--tail", "1").stdout == (
        "old: an hour ago\nundated: ended 50 minutes ago\nnew: just now\n"
    )
    bad = kjob("logs", "recent", "--since", "soon")
    assert bad.code == 2, bad.stderr
    assert "Invalid value for '--since': invalid duration \"soon\" (e.g. 30s, 5m, 1h30m)" in bad.stderr


def test_follow_on_a_finished_run_prints_and_exits(kjob: Any, stored: Path) -> None:
    done = kjob("logs", "stored", "early", "-f")
    assert (done.code, done.stdout) == (0, "early one\nearly two\n")


def test_an_unknown_task_names_the_tasks_that_have_logs(kjob: Any, stored: Path) -> None:
    done = kjob("logs", "stored", "nope")
    assert (done.code, done.stderr) == (
        2,
        "error: run stored has no task 'nope'\n  hint: tasks with logs: early, flaky, late\n",
    )


FOLLOWED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: followed}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: first}
      - {name: second, depends: first, template: second}
  - name: first
    container:
      image: alpine
      command: [sh, -c, 'echo one; while [ ! -e "$GO" ]; do sleep 0.05; done; echo two']
      env: [{name: GO, value: "GO_FILE"}]
  - name: second
    container: {image: alpine, command: [echo, three]}
"""


def follow_run(home: Path, tmp_path: Path, workflow: str, first: str, *task: str) -> tuple[str, str, int]:
    """Start ``workflow`` (its text naming ``GO_FILE``); once task ``first`` has printed, start
    ``kjob logs RUN [TASK] -f``, read its first line (none when TASK is given: it has not started), then
    make the file the run waits for.  Returns that first line, the rest of what logs printed, and the
    run's exit code."""
    go = tmp_path / "go"
    wf = tmp_path / "wf.yaml"
    wf.write_text(workflow.replace("GO_FILE", str(go)).replace("MARK_FILE", str(tmp_path / "mark")))
    run_id = yaml.safe_load(workflow)["metadata"]["name"]
    env = kjob_env(home)
    run = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(wf), "--backend", "local"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    follow: subprocess.Popen[str] | None = None
    try:
        log = home / "runs" / run_id / "logs"
        deadline = time.monotonic() + 60
        while not any(p.read_bytes() for p in log.glob(f"{first}-*.log")) if log.is_dir() else True:
            assert time.monotonic() < deadline and run.poll() is None, f"{first} never printed"
            time.sleep(0.05)
        follow = subprocess.Popen(
            [sys.executable, "-m", "kjob", "logs", run_id, *task, "-f"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        head = "" if task else follow.stdout.readline()  # read while the task still runs
        go.touch()
        out, err = follow.communicate(timeout=60)
        assert (follow.returncode, err) == (0, "")
        return head, out, run.wait(timeout=60)
    finally:
        for proc in (run, follow):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_follow_prints_new_lines_and_new_tasks_until_the_run_ends(kjob_home: Path, tmp_path: Path) -> None:
    head, rest, code = follow_run(kjob_home, tmp_path, FOLLOWED, "first")
    assert (head, rest, code) == ("first: one\n", "first: two\nsecond: three\n", 0)


def test_follow_of_a_task_not_started_yet_waits_for_it(kjob_home: Path, tmp_path: Path) -> None:
    assert follow_run(kjob_home, tmp_path, FOLLOWED, "first", "second") == ("", "three\n", 0)


RETRIED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: retried}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flaky, template: flaky}
  - name: flaky
    retryStrategy: {limit: 1}
    container:
      image: alpine
      command:
      - sh
      - -c
      - |
        if [ -e "$MARK" ]; then echo second try; exit 0; fi
        touch "$MARK"; echo first try
        while [ ! -e "$GO" ]; do sleep 0.05; done
        echo giving up; exit 1
      env: [{name: GO, value: "GO_FILE"}, {name: MARK, value: "MARK_FILE"}]
"""


def test_follow_reads_an_attempt_to_its_end_before_its_retry(kjob_home: Path, tmp_path: Path) -> None:
    head, rest, code = follow_run(kjob_home, tmp_path, RETRIED, "flaky")
    assert (head, rest, code) == ("flaky: first try\n", "flaky: giving up\nflaky: second try\n", 0)


def test_a_log_larger_than_a_read_block_is_printed_whole_and_its_tail_exactly(
    kjob: Any, kjob_home: Path
) -> None:
    lines = [f"line {i:06d} " + "x" * (i % 37) for i in range(200_000)]  # about 8 MiB
    run = write_run(kjob_home, "big", [node("big", "big", attempt("big-0", T0))], {"big-0": []})
    (run / "logs" / "big-0.log").write_text("\n".join(lines) + "\nno newline at the end")
    assert (
        kjob("logs", "big", "big", "--tail", "3").stdout
        == f"{lines[-2]}\n{lines[-1]}\nno newline at the end\n"
    )
    whole = kjob("logs", "big", "big").stdout.split("\n")
    assert whole == [*lines, "no newline at the end", ""]


PIPED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: piped}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: talk, template: talk}
  - name: talk
    container:
      image: alpine
      command:
      - sh
      - -c
      - |
        echo one
        while [ ! -e "$GO" ]; do sleep 0.05; done
        echo two
        while [ ! -e "$GO.end" ]; do sleep 0.05; done
      env: [{name: GO, value: "GO_FILE"}]
"""


def test_follow_stops_when_its_reader_goes_away(kjob_home: Path, tmp_path: Path) -> None:
    """``kjob logs -f RUN | head -1`` ends with head, not with the run."""
    go = tmp_path / "go"
    wf = tmp_path / "wf.yaml"
    wf.write_text(PIPED.replace("GO_FILE", str(go)))
    env = kjob_env(kjob_home)
    run = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(wf), "--backend", "local"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    follow: subprocess.Popen[str] | None = None
    try:
        log = kjob_home / "runs" / "piped" / "logs"
        deadline = time.monotonic() + 60
        while not any(p.read_bytes() for p in log.glob("talk-*.log")) if log.is_dir() else True:
            assert time.monotonic() < deadline and run.poll() is None, "talk never printed"
            time.sleep(0.05)
        follow = subprocess.Popen(
            [sys.executable, "-m", "kjob", "logs", "piped", "-f"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follow.stdout is not None
        assert follow.stdout.readline() == "talk: one\n"
        follow.stdout.close()  # the reader goes away
        go.touch()  # the task prints again, and keeps running
        assert follow.wait(timeout=60) == 0
        assert run.poll() is None  # the run goes on
    finally:
        Path(f"{go}.end").touch()
        assert run.wait(timeout=60) == 0
        if follow is not None and follow.poll() is None:
            follow.kill()
            follow.wait()
