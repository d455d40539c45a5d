"""``kjob sim`` as a person uses it: text and JSON output, Monte Carlo, sweeps, pictures, errors,
byte-identical output under any hash seed, and calibration from a recorded run."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kjob.cli import KjobGroup, console
from kjob.cli.sim import command, write_picture
from sim.errors import SimError
from tests.conftest import EXAMPLES, NO_SHARED, REPO, SHARED

HEFT = SHARED / "data" / "heft-example.json"

# The verb as the lead registers it; a group of its own here so the test does not depend on that.
RUN_SIM = (
    "import sys; from kjob.cli import cli; from kjob.cli.sim import command; "
    "cli.add_command(command); cli(['sim', *sys.argv[1:]], prog_name='kjob')"
)


@click.group(cls=KjobGroup)
def cli() -> None:
    console.reset()


cli.add_command(command)


def sim(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    result = runner.invoke(cli, ["sim", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_text_output_names_the_figures() -> None:
    code, out, _ = sim("layered:400", "--nodes", "4", "--cpu", "4")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("layered:400: 400 tasks, 760 edges, 20 levels on 4 x nodes (cpu 4, pods 110)")
    for label in ("makespan", "lower bound", "upper bound", "utilisation", "queue wait", "busiest level"):
        assert any(line.strip().startswith(label) for line in lines), label
    assert "Graham's bound W/m + (1 - 1/m) L on m = 16 identical slots" in out


def test_json_output_carries_the_bounds_in_seconds() -> None:
    code, out, _ = sim("fanout:50", "--slots", "8", "--startup", "2s", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["lower_bound"] <= data["makespan"] <= data["upper_bound"]
    assert data["tasks"] == 50 and data["utilisation"]["slots"] > 0
    assert set(data["queue_wait"]) == {"mean", "p95", "max"}


def test_per_task_rows_and_monte_carlo_percentiles() -> None:
    code, out, _ = sim("chain:4", "--slots", "1", "--runs", "20", "-o", "json", "--tasks")
    data = json.loads(out)
    assert code == 0 and data["runs"] == 20
    assert data["makespan_p50"] <= data["makespan_p95"] <= data["makespan_p99"]
    assert data["within_bounds"] is True
    assert [row["task"] for row in data["task_list"]] == [0, 1, 2, 3]
    assert data["task_list"][0]["node"] == "slots"


def test_a_sweep_prints_one_row_per_value() -> None:
    code, out, _ = sim(
        "layered:300",
        "--nodes",
        "2",
        "--cpu",
        "2",
        "--sweep",
        "nodes=1,2,4",
        "--sweep",
        "policy=eager,levels",
    )
    assert code == 0
    lines = out.splitlines()
    columns = ["nodes", "policy", "makespan", "lower bound", "upper bound", "utilisation", "queue wait p95"]
    assert re.split(r"\s{2,}", lines[0].strip()) == columns
    assert all("e+" not in line for line in lines)
    assert [line.split()[:2] for line in lines[1:]] == [
        ["1", "eager"],
        ["1", "levels"],
        ["2", "eager"],
        ["2", "levels"],
        ["4", "eager"],
        ["4", "levels"],
    ]
    assert re.fullmatch(r"\d+h \d+m \d+s", re.split(r"\s{2,}", lines[1].strip())[2])  # human units
    code, out, _ = sim("layered:300", "--nodes", "2", "--cpu", "2", "--sweep", "nodes=1,2,4", "-o", "json")
    makespans = [row["makespan"] for row in json.loads(out)["sweep"]]
    assert makespans[0] >= makespans[1] >= makespans[2]


def test_a_sweep_in_json_and_with_runs() -> None:
    code, out, _ = sim("fanout:30", "--slots", "2", "--sweep", "slots=2,6", "--runs", "3", "-o", "json")
    rows = json.loads(out)["sweep"]
    assert code == 0 and [r["parameters"] for r in rows] == [{"slots": "2"}, {"slots": "6"}]
    assert rows[0]["makespan_p95"] > rows[1]["makespan_p95"]


def test_heft_on_the_published_example() -> None:
    if not HEFT.is_file():
        pytest.skip(NO_SHARED)
    code, out, _ = sim(str(HEFT), "--policy", "heft", "-o", "json")
    data = json.loads(out)
    assert code == 0 and data["makespan"] == 80 == data["published_heft_makespan"]


def test_a_workflow_with_a_durations_file(tmp_path: Path) -> None:
    durations = tmp_path / "d.yaml"
    durations.write_text("'*': 10s\ntransform: 1m\n")
    code, out, _ = sim(str(EXAMPLES / "01-basic-dag.yaml"), "--durations", str(durations), "-o", "json")
    assert code == 0 and json.loads(out)["makespan"] == 100.0  # 10 + 60 + 10 + 10 + 10 on the chain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope:3"], "error: SOURCE 'nope:3' is neither a file nor a generator"),
        (["chain:3", "--sweep", "colour=red"], "error: cannot sweep 'colour'"),
        (["chain:3", "--sweep", "nodes=0"], "error: --sweep nodes=0: 0 must be at least 1"),
        (["chain:3", "--cpu", "4"], "error: --cpu describes the nodes of --nodes N"),
        (["chain:3", "--policy", "heft"], "error: the heft policy needs a cluster"),
        (
            ["chain:3", "--nodes", "1", "--request", "cpu=2"],
            "error: task 0 requests cpu 2, more than any node has",
        ),
    ],
)
def test_mistakes_are_one_line_errors_with_exit_2(args: list[str], message: str) -> None:
    code, out, err = sim(*args)
    assert code == 2 and out == ""
    assert err.splitlines()[0] == message
    assert "Traceback" not in err


def test_a_bad_cluster_file_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("pools:\n- count: 2\n  cpu: fast\n")
    code, _, err = sim("chain:3", "--cluster", str(path))
    assert code == 2
    assert err.startswith(f"{path}:3:8: error: cpu: invalid cpu 'fast'")


def test_bad_option_values_are_usage_errors() -> None:
    code, _, err = sim("chain:3", "--startup", "soon")
    assert code == 2 and "Invalid value for '--startup'" in err


def test_pictures(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    gantt, util = tmp_path / "g.png", tmp_path / "u.png"
    code, _, err = sim(
        "montage-like:200", "--nodes", "3", "--cpu", "4", "--gantt", str(gantt), "--utilisation", str(util)
    )
    assert code == 0, err
    for png in (gantt, util):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


BAD_PICTURES = [
    pytest.param(
        ["--gantt", "{tmp}/no-such-dir/g.png"],
        "error: --gantt {tmp}/no-such-dir/g.png: no directory {tmp}/no-such-dir",
        id="missing directory",
    ),
    pytest.param(["--gantt", "{tmp}"], "error: --gantt {tmp}: names a directory", id="a directory"),
    pytest.param(
        ["--utilisation", "{tmp}/u.xyz"],
        "error: --utilisation {tmp}/u.xyz: '.xyz' is not a picture format kjob can write",
        id="unknown extension",
    ),
    pytest.param(
        ["--gantt", "{tmp}/g"], "error: --gantt {tmp}/g: no extension to tell the format", id="no extension"
    ),
    pytest.param(
        ["--gantt", "{tmp}/file/g.png"],
        "error: --gantt {tmp}/file/g.png: {tmp}/file is not a directory",
        id="a file as the directory",
    ),
    pytest.param(
        ["--gantt", "{tmp}/p.png", "--utilisation", "{tmp}/./p.png"],
        "error: --gantt and --utilisation name the same file ({tmp}/p.png)",
        id="one file twice",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_PICTURES)
def test_a_bad_picture_path_is_refused_before_the_simulation(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "file").write_text("")
    before = sorted(tmp_path.iterdir())
    code, out, err = sim("chain:3", *(a.format(tmp=tmp_path) for a in args))
    assert code == 2 and out == ""  # nothing simulated, nothing printed
    assert err.splitlines()[0] == message.format(tmp=tmp_path)
    assert err.count("\n") == 2 and err.splitlines()[1].startswith("  hint: ")
    assert sorted(tmp_path.iterdir()) == before  # nothing written, not even a probe


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, where no one can create a file")
def test_a_picture_where_no_file_can_be_made_is_refused() -> None:
    code, out, err = sim("chain:3", "--gantt", "/proc/kjob-gantt.png")
    assert code == 2 and out == ""
    assert err.startswith("error: --gantt /proc/kjob-gantt.png: cannot create a file in /proc (")
    assert "Traceback" not in err


def test_without_matplotlib_pictures_are_refused_before_the_simulation(tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is not None:
        pytest.skip("matplotlib is installed")
    code, out, err = sim("chain:3", "--gantt", str(tmp_path / "g.png"))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: --gantt needs matplotlib, which is not installed",
        "  hint: pip install 'kjob[plot]'",
    ]


def test_a_picture_that_fails_half_way_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "g.png"

    def disk_full(path: str) -> None:
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(SimError) as caught:
        write_picture("--gantt", str(target), disk_full)
    assert caught.value.message == f"--gantt {target}: could not write it (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_the_same_seed_gives_byte_identical_json_under_any_hash_seed(tmp_path: Path) -> None:
    args = ["montage-like:300", "--nodes", "3", "--cpu", "4", "--policy", "critical-path", "--startup"]
    args += ["lognormal:2s,0.5", "--fail-prob", "0.1", "--runs", "3", "--seed", "11", "-o", "json", "--tasks"]
    outputs = set()
    for hash_seed in ("0", "1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, NO_COLOR="1", COLUMNS="200")
        done = subprocess.run(
            [sys.executable, "-c", RUN_SIM, *args], capture_output=True, env=env, cwd=REPO, check=False
        )
        assert done.returncode == 0, done.stderr.decode()
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["seed"] == 11


def test_attempts_that_always_fail_use_every_retry_and_fail_the_task() -> None:
    code, out, err = sim(str(EXAMPLES / "04-retries.yaml"), "--fail-prob", "1")
    assert code == 0 and "Traceback" not in err  # the simulation ran; its workflow failed
    assert "0 succeeded, 1 failed, 0 not run (4 attempts)" in out  # retryStrategy limit 3: 4 attempts


@pytest.mark.parametrize("amount", ["1e999", "-1e999", "1e400"])
def test_a_request_beyond_any_number_is_a_usage_error(amount: str) -> None:
    code, out, err = sim(str(EXAMPLES / "02-artifacts.yaml"), "--request", f"cpu={amount}")
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"invalid cpu '{amount}': must be a finite number >= 0" in err
