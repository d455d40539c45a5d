"""Argo's semantics on the local backend where kjob used to differ (issue 12): a script runs by an
absolute path, volumes are mapped or refused, undeclared arguments are ignored, workflow labels and
annotations resolve, and ``dag.target`` may be templated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.test_local_backend import write

SCRIPT_BY_PATH = """\
  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      command: [sh, -c]
      source: |
        echo from a script run by path
"""


def test_a_script_with_sh_c_runs_by_its_absolute_path(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, SCRIPT_BY_PATH))
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["main"]["outputs"]["result"] == "from a script run by path"


def test_the_rendered_job_runs_the_script_by_its_absolute_path(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", "--dry-run", "-o", "yaml", write(tmp_path, SCRIPT_BY_PATH))
    assert done.code == 0, done.stdout + done.stderr
    jobs = [d for d in yaml.safe_load_all(done.stdout) if d and d.get("kind") == "Job"]
    (container,) = jobs[0]["spec"]["template"]["spec"]["containers"]
    assert container["command"] + container["args"] == ["sh", "-c", "/kjob/script/script"]
