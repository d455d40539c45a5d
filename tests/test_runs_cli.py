"""``kjob list`` and ``kjob get`` on runs of the local backend, as a user runs them: the exact text
(times and durations masked: they are the run's own), ``-o json`` read back, exit statuses a script
relies on, a damaged record, a run that is not there, and the Python API the verbs share."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Completed, kjob_env

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: shapes}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: hello, template: say, arguments: {parameters: [{name: word, value: hello}]}}
      - {name: fan, template: say, depends: hello, withItems: [a, b], arguments: {parameters: [{name: word, value: "{{item}}"}]}}
      - {name: polite, template: say, depends: hello, when: "{{tasks.hello.outputs.result}} == bye", arguments: {parameters: [{name: word, value: bye}]}}
      - {name: broken, template: broken, depends: fan}
  - name: say
    inputs: {parameters: [{name: word}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.word}}"]}
  - name: broken
    retryStrategy: {limit: 1}
    container: {image: alpine, command: [sh, -c, "echo doomed >&2; exit 3"]}
"""

FINE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fine}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [echo, "[bold]:100: not markup"]}
"""

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
DURATION = re.compile(r"(?<![\w.])\d+\.\ds\b")


def masked(text: str) -> str:
    """``text`` with wall-clock times and durations (which depend on when and how fast it ran) as
    placeholders of the same width below ten seconds."""
    return DURATION.sub("D.Ds", TIME.sub("YYYY-MM-DD hh:mm:ss", text))


@pytest.fixture
def runs(kjob: Any, tmp_path: Path) -> Any:
    """Two local runs recorded: ``shapes`` (failed) and then ``fine`` (succeeded)."""
    for name, text in (("shapes", WORKFLOW), ("fine", FINE)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        done: Completed = kjob("run", str(path))
        assert done.code == (1 if name == "shapes" else 0), done.stderr
    return kjob


def test_list_shows_the_runs_newest_first(runs: Any) -> None:
    done = runs("list")
    assert (done.code, done.stderr) == (0, "")
    assert masked(done.stdout) == (
        "NAME     STATUS      STARTED               DURATION   PROGRESS\n"
        "fine     Succeeded   YYYY-MM-DD hh:mm:ss   D.Ds       1/1\n"
        "shapes   Failed      YYYY-MM-DD hh:mm:ss   D.Ds       5/5\n"
    )
    assert runs("list", "-o", "name").stdout == "fine\nshapes\n"
    assert runs("list", "--status", "failed,Error", "-o", "name").stdout == "shapes\n"
    assert runs("list", "-l", "kjob.dev/workflow=fine", "-o", "name").stdout == "fine\n"
    assert (
        runs("list", "-l", "kjob.dev/workflow notin (fine),kjob.dev/backend", "-o", "name").stdout
        == "shapes\n"
    )
    assert runs("list", "--status", "Running").stderr == "no runs\n"


def test_list_wide_and_json(runs: Any) -> None:
    assert masked(runs("list", "-o", "wide").stdout) == (
        "NAME     STATUS      STARTED               DURATION   PROGRESS   BACKEND   NAMESPACE   WORKFLOW   MESSAGE\n"
        "fine     Succeeded   YYYY-MM-DD hh:mm:ss   D.Ds       1/1        local     -           fine\n"
        "shapes   Failed      YYYY-MM-DD hh:mm:ss   D.Ds       5/5        local     -           shapes     broken failed\n"
    )
    items = json.loads(runs("list", "-o", "json").stdout)["items"]
    assert [(i["run_id"], i["phase"], i["progress"]) for i in items] == [
        ("fine", "Succeeded", {"finished": 1, "total": 1}),
        ("shapes", "Failed", {"finished": 5, "total": 5}),
    ]
    assert items[1]["finished"] >= items[1]["started"] and items[1]["backend"] == "local"
    assert yaml.safe_load(runs("list", "-o", "yaml").stdout)["items"] == items


def test_get_draws_the_tree_and_its_exit_status_says_how_the_run_ended(runs: Any) -> None:
    done = runs("get", "shapes")
    assert done.code == 1, done.stderr
    assert masked(done.stdout).replace(done.home.as_posix(), "HOME") == (
        "Name:       shapes\n"
        f"Workflow:   shapes ({Path(done.stdout.split('(')[1].split(')')[0])})\n"
        "Backend:    local\n"
        "Status:     Failed\n"
        "Message:    broken failed\n"
        "Started:    YYYY-MM-DD hh:mm:ss\n"
        "Finished:   YYYY-MM-DD hh:mm:ss\n"
        "Duration:   D.Ds\n"
        "Progress:   5/5\n"
        "\n"
        "STEP             STATUS      DURATION   ATTEMPTS   MESSAGE\n"
        "✖ main           Failed      D.Ds                  broken failed\n"
        "├─✔ hello        Succeeded   D.Ds       1\n"
        "├─✔ fan          Succeeded   D.Ds\n"
        "│ ├─✔ fan(0:a)   Succeeded   D.Ds       1\n"
        "│ └─✔ fan(1:b)   Succeeded   D.Ds       1\n"
        '├─○ polite       Skipped                           when "{{tasks.hello.outputs.result}} == bye" was false: '
        'tasks.hello.outputs.result = "hello"\n'
        "└─✖ broken       Failed      D.Ds       2          exit code 3 (retry limit 1 reached)\n"
    )
    fine = runs("get", "fi")  # a unique prefix is enough
    assert fine.code == 0 and "[bold]:100: not markup" not in fine.stdout  # outputs are not in the tree
    assert masked(fine.stdout).endswith(
        "STEP     STATUS      DURATION   ATTEMPTS   MESSAGE\n✔ main   Succeeded   D.Ds       1\n"
    )


def test_get_one_task_and_its_items(runs: Any) -> None:
    fan = runs("get", "shapes", "fan")
    assert fan.code == 0
    assert masked(fan.stdout) == (
        "STEP           STATUS      DURATION   ATTEMPTS   MESSAGE\n"
        "✔ fan          Succeeded   D.Ds\n"
        "├─✔ fan(0:a)   Succeeded   D.Ds       1\n"
        "└─✔ fan(1:b)   Succeeded   D.Ds       1\n"
    )
    assert runs("get", "shapes", "broken").code == 1
    missing = runs("get", "shapes", "nope")
    assert (missing.code, missing.stdout) == (2, "")
    assert missing.stderr == (
        "error: run shapes has no task 'nope'\n  hint: its tasks: broken, fan, hello, main, polite\n"
    )


def test_get_json_is_the_record_and_reads_back(runs: Any) -> None:
    done = runs("get", "shapes", "-o", "json")
    assert done.code == 1
    data = json.loads(done.stdout)
    recorded = json.loads((done.home / "runs" / "shapes" / "run.json").read_text())
    assert data == {**recorded, "resumed": recorded.get("resumed", [])}
    nodes = {n["id"]: n for n in data["nodes"]}
    assert [a["exit_code"] for a in nodes["broken"]["attempts"]] == [3, 3]
    assert nodes["fan(1:b)"]["parent"] == "fan" and nodes["fan(1:b)"]["inputs"] == {"word": "b"}
    one = json.loads(runs("get", "shapes", "fan", "-o", "json").stdout)
    assert [n["id"] for n in one["nodes"]] == ["fan", "fan(0:a)", "fan(1:b)"]


def test_an_unknown_run_is_one_line_with_a_hint(runs: Any) -> None:
    done = runs("get", "nothing-like-it")
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == (
        "error: no run 'nothing-like-it' on this machine\n"
        "  hint: recent runs: fine, shapes; `kjob list` shows the runs\n"
    )


def test_a_damaged_record_is_said_and_the_other_runs_still_listed(runs: Any) -> None:
    home: Path = runs("list").home
    record = home / "runs" / "shapes" / "run.json"
    cut = record.read_bytes()[:100]  # where it breaks depends on the temporary paths recorded in it
    record.write_bytes(cut)
    with pytest.raises(json.JSONDecodeError) as broken:
        json.loads(cut)
    listed = runs("list", "-o", "name")
    assert (listed.code, listed.stdout) == (0, "fine\n")
    assert listed.stderr.startswith(f"warning: {record}: damaged run record (")
    assert len(listed.stderr.splitlines()) == 1
    got = runs("get", "shapes")
    assert got.code == 2 and got.stdout == ""
    assert got.stderr.splitlines()[0].startswith(f"error: {record}: damaged run record (")
    shutil.rmtree(home / "runs" / "fine")
    assert (
        runs("list").stderr
        == f"warning: {record}: damaged run record (byte {broken.value.pos}: {broken.value.msg})\nno runs\n"
    )


def test_the_python_api_returns_values(runs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    home: Path = runs("list").home
    monkeypatch.setenv("KJOB_HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(home / "none"))
    import kjob

    listed = kjob.runs.list_runs()
    assert [(r.run_id, r.phase, r.progress()) for r in listed.runs] == [
        ("fine", "Succeeded", (1, 1)),
        ("shapes", "Failed", (5, 5)),
    ]
    run = kjob.runs.get_run("shapes")
    broken = run.node("broken")
    assert broken is not None and [a.exit_code for a in broken.attempts] == [3, 3]
    with pytest.raises(kjob.errors.KjobError, match="no run 'zzz' on this machine"):
        kjob.runs.get_run("zzz")


def test_run_ids_and_task_names_complete(runs: Any) -> None:
    home: Path = runs("list").home

    def complete(*words: str) -> list[str]:
        env = {**kjob_env(home), "_KJOB_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(["kjob", *words])}
        env["COMP_CWORD"] = str(len(words))
        done = subprocess.run(
            [sys.executable, "-m", "kjob"], env=env, capture_output=True, text=True, check=False
        )
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("get", "sh") == ["shapes"]
    assert sorted(complete("get", "")) == ["fine", "shapes"]
    assert complete("get", "shapes", "fa") == ["fan", "fan(0:a)", "fan(1:b)"]


def test_a_run_not_finished_exits_3_and_is_listed_first(runs: Any) -> None:
    from kjob.rundir import RunDir
    from kjob.runrecord import AttemptRecord, NodeRecord, RunRecord

    home: Path = runs("list").home
    going = RunRecord(
        run_id="going",
        phase="Running",
        nodes=(
            NodeRecord(id="main", phase="Running"),
            NodeRecord(id="a", parent="main", phase="Running", attempts=(AttemptRecord(id="a-0"),)),
            NodeRecord(id="b", parent="main", phase="Succeeded", attempts=(AttemptRecord(id="b-0"),)),
        ),
    )
    (home / "runs" / "going").mkdir()
    RunDir(home / "runs" / "going").write_record_text(going.to_json())
    assert runs("list", "-o", "name").stdout == "going\nfine\nshapes\n"  # not started yet: first
    assert runs("list", "--status", "running").stdout.splitlines()[1].split() == ["going", "Running", "1/2"]
    done = runs("get", "going")
    assert done.code == 3
    assert done.stdout == (
        "Name:       going\n"
        "Workflow:   -\n"
        "Backend:    local\n"
        "Status:     Running\n"
        "Progress:   1/2\n"
        "\n"
        "STEP     STATUS      DURATION   ATTEMPTS   MESSAGE\n"
        "● main   Running\n"
        "├─● a    Running                1\n"
        "└─✔ b    Succeeded              1\n"
    )
