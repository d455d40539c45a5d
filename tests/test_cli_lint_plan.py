"""`kjob lint` and `kjob plan` through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES, REPO, SEED, needs_shared


def test_every_example_lints_clean(kjob: Any) -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    done = kjob("lint", *files)
    assert done.code == 0, done.stdout + done.stderr
    assert done.stdout.count(": ok (") == len(files)


def test_incomplete_seed_fragments_give_located_errors(kjob: Any) -> None:
    needs_shared()
    done = kjob("lint", str(SEED / "03-conditional.yaml"))
    assert done.code == 2
    assert "Traceback" not in done.stderr
    # The fragment's tasks name templates it never defines; the error points at the template value.
    assert f"{SEED / '03-conditional.yaml'}:11:19: error: unknown template 'small-batch'" in done.stderr
    assert "(defined: check-size, conditional-dag)" in done.stderr
    assert "apiVersion" in done.stderr
    withparam = kjob("lint", str(SEED / "05-parallel-withparam.yaml"))
    assert withparam.code == 2 and "unknown template 'merge'" in withparam.stderr


def test_the_complete_seed_lints_clean(kjob: Any) -> None:
    needs_shared()
    done = kjob("lint", str(SEED / "01-basic-dag.yaml"))
    assert done.code == 0, done.stderr


def test_plan_levels_of_the_basic_dag(kjob: Any) -> None:
    done = kjob("plan", str(EXAMPLES / "01-basic-dag.yaml"), "--levels")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "level 0: validate-input",
        "level 1: transform-data",
        "level 2: aggregate-orders, aggregate-users",
        "level 3: generate-report",
        "level 4: upload-results",
        "critical path (5 tasks): validate-input -> transform-data -> aggregate-users -> generate-report -> upload-results",
    ]


def test_plan_json_is_complete_and_byte_identical_under_any_hash_seed(kjob_home: Path) -> None:
    outputs = []
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, KJOB_HOME=str(kjob_home), NO_COLOR="1")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "kjob",
                "plan",
                str(EXAMPLES / "05-parallel-withparam.yaml"),
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=True,
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    plan = json.loads(outputs[0])
    assert plan["levels"] == 3
    by_name = {t["name"]: t for t in plan["tasks"]}
    assert by_name["process-partition"]["fanOut"] == "withParam (items known at run time)"
    assert by_name["merge-results"]["level"] == 2


def test_plan_yaml(kjob: Any) -> None:
    done = kjob("plan", str(EXAMPLES / "01-basic-dag.yaml"), "-o", "yaml")
    assert done.code == 0, done.stderr
    assert "levels: 5\n" in done.stdout
    assert "- name: generate-report\n" in done.stdout
