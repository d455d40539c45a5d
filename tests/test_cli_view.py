"""What ``kjob run``, ``kjob watch`` and ``kjob sim`` show, as a user sees it: bars and the live view
only on a terminal (``TTY_COMPATIBLE=1`` makes rich treat the pipe as one) and never with
``--quiet``; what a task printed or a user wrote shown as written; ``kjob watch`` ending with its
run's exit code."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kjob.runrecord import RunRecord
from tests.conftest import REPO, kjob_env

HIDE_CURSOR = "\x1b[?25l"  # what a live display does first on a terminal
BARS = ("█", "━")

FANOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fan}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: each, template: say, withItems: [":100:", "[bold]x[/]", "plain"], arguments: {parameters: [{name: v, value: "{{item}}"}]}}
      - {name: skipped, template: say, when: "'[red]:100:[/]' == 'never'", arguments: {parameters: [{name: v, value: "no"}]}}
  - name: say
    inputs: {parameters: [{name: v}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.v}} :100: [bold]x[/]"]}
"""


def kjob(
    home: Path, *args: str, terminal: bool = False, colour: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``kjob ARGS`` at 80x24 with ``NO_COLOR`` (unless ``colour``), piped or (``terminal``) as rich
    sees a terminal."""
    env = kjob_env(home)
    env.update(COLUMNS="80", LINES="24")
    if terminal:
        env.update(TTY_COMPATIBLE="1", TERM="xterm-256color")
    if colour:
        env.pop("NO_COLOR")
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


def write(tmp_path: Path, text: str, name: str = "wf.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_piped_run_prints_lines_but_no_bar_and_no_terminal_codes(kjob_home: Path, tmp_path: Path) -> None:
    done = kjob(kjob_home, "run", write(tmp_path, FANOUT))
    assert done.returncode == 0, done.stderr
    assert "✔ each(2:plain) Succeeded" in done.stdout
    for out in (done.stdout, done.stderr):
        assert "\x1b" not in out
        assert not any(bar in out for bar in BARS)


def test_on_a_terminal_the_live_view_is_drawn_and_quiet_draws_none(kjob_home: Path, tmp_path: Path) -> None:
    live = kjob(
        kjob_home, "run", write(tmp_path, FANOUT.replace("name: fan", "name: fan-live")), terminal=True
    )
    assert live.returncode == 0, live.stderr
    assert HIDE_CURSOR in live.stdout
    quiet = kjob(
        kjob_home, "run", "-q", write(tmp_path, FANOUT.replace("name: fan", "name: fan-q")), terminal=True
    )
    assert quiet.returncode == 0, quiet.stderr
    assert HIDE_CURSOR not in quiet.stdout
    assert "Workflow fan-q Succeeded" in quiet.stdout
    # the summary is the live view's: the fan-out is one row, counted
    assert "▸ each (3)  ✔ Succeeded" in quiet.stdout
    assert "3 done" in quiet.stdout


COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-7]|9[0-7])m")  # a foreground colour


def test_no_color_is_respected_on_a_terminal(kjob_home: Path, tmp_path: Path) -> None:
    plain = kjob(
        kjob_home, "run", "-q", write(tmp_path, FANOUT.replace("name: fan", "name: fan-nc")), terminal=True
    )
    coloured = kjob(
        kjob_home,
        "run",
        "-q",
        write(tmp_path, FANOUT.replace("name: fan", "name: fan-c")),
        terminal=True,
        colour=True,
    )
    assert plain.returncode == coloured.returncode == 0, plain.stderr + coloured.stderr
    assert COLOUR.search(coloured.stdout)  # green for what succeeded
    assert not COLOUR.search(plain.stdout + plain.stderr)
    assert "Workflow fan-nc Succeeded" in plain.stdout


def test_what_tasks_and_users_wrote_is_never_read_as_markup_or_emoji(kjob_home: Path, tmp_path: Path) -> None:
    done = kjob(kjob_home, "run", "-q", "--expand", "each", write(tmp_path, FANOUT), terminal=True)
    assert done.returncode == 0, done.stderr
    assert "💯" not in done.stdout + done.stderr
    assert "each(0::100:)" in done.stdout
    assert "each(1:[bold]x[/])" in done.stdout
    assert "[red]:100:[/]" in done.stdout  # the skipped task's message quotes its `when`
    logs = kjob(kjob_home, "logs", "fan", "each(1:[bold]x[/])", terminal=True)
    assert logs.returncode == 0, logs.stderr
    assert "[bold]x[/] :100: [bold]x[/]" in logs.stdout
    assert "💯" not in logs.stdout


SLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: NAME}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: work}
      - {name: second, template: work, dependencies: [first]}
  - name: work
    container: {image: alpine, command: [sh, -c, "sleep 1; exit CODE"]}
"""


@pytest.mark.parametrize(("code", "phase"), [(0, "Succeeded"), (3, "Failed")])
def test_watch_follows_a_local_run_to_its_end_and_exits_with_its_code(
    kjob_home: Path, tmp_path: Path, code: int, phase: str
) -> None:
    name = f"watched-{code}"
    path = write(tmp_path, SLOW.replace("NAME", name).replace("CODE", str(code)), f"{name}.yaml")
    env = kjob_env(kjob_home)
    running = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    try:
        record = kjob_home / "runs" / name / "run.json"
        for _ in range(600):  # until the run has a record to watch (at most a minute)
            if record.exists() or running.poll() is not None:
                break
            time.sleep(0.1)
        watched = kjob(kjob_home, "watch", name, "--interval", "0.2")
    finally:
        running.wait(timeout=120)
    assert running.returncode == (0 if code == 0 else 1)
    assert watched.returncode == (0 if code == 0 else 1), watched.stderr
    assert f"Workflow {name} {phase}" in watched.stdout
    assert "first" in watched.stdout and "second" in watched.stdout
    again = kjob(kjob_home, "watch", name[:-2], "-q")  # a finished run, by a prefix: at once, same code
    assert again.returncode == watched.returncode
    assert again.stdout.strip().startswith(f"Workflow {name} {phase}")


def test_watch_of_an_unknown_run_is_a_one_line_error(kjob_home: Path) -> None:
    done = kjob(kjob_home, "watch", "no-such-run")
    assert done.returncode == 2
    assert done.stderr.startswith("error: no run 'no-such-run'")
    assert "Traceback" not in done.stderr


def test_sim_shows_a_bar_only_on_a_terminal_and_without_quiet(kjob_home: Path) -> None:
    args = ("sim", "fanout:300", "--slots", "10", "--runs", "3")
    piped = kjob(kjob_home, *args)
    on_terminal = kjob(kjob_home, *args, terminal=True)
    quiet = kjob(kjob_home, *args, "-q", terminal=True)
    for done in (piped, on_terminal, quiet):
        assert done.returncode == 0, done.stderr
        assert "makespan" in done.stdout
        assert not any(bar in done.stdout for bar in BARS)
    assert "simulating 300 tasks" in on_terminal.stderr
    assert "simulating" not in piped.stderr + quiet.stderr


def test_watch_says_when_a_local_run_was_left_unfinished_by_its_kjob(kjob_home: Path) -> None:
    """A record still Running whose kjob holds no lock on it (it was killed): watch does not wait
    for ever, it says how to finish the run."""
    run_dir = kjob_home / "runs" / "left-behind"
    run_dir.mkdir(parents=True)
    record = RunRecord(run_id="left-behind", backend="local", phase="Running", started=time.time())
    (run_dir / "run.json").write_bytes(record.to_json())
    done = kjob(kjob_home, "watch", "left-behind", "--interval", "0.2")
    assert done.returncode == 1
    assert "`kjob resume left-behind` finishes it" in done.stderr
