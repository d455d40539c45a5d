"""``.ci/run`` around the real cluster, run in a copy of the checkout where every program it calls is a
stub that notes how it was called (``python3``, the venv's tools, realk8s's start and stop scripts):
the cluster starts from a fresh state dir with the venv's python, the tests see its kubeconfig, and it
is stopped whether the tests pass or fail; without ``../shared/realk8s`` the rest runs and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

# Each stub appends "NAME ARGS | KJOB_TEST_KUBECONFIG REALK8S KUBELET_PYTHON" to $CALLS.
NOTE = 'printf "%s %s | %s %s %s\\n" "${0##*/}" "$*" "${KJOB_TEST_KUBECONFIG-}" "${REALK8S-}" "${KUBELET_PYTHON-}" >> "$CALLS"\n'
TOOL = "#!/bin/sh\n" + NOTE + 'exit "$(cat "$CALLS.${0##*/}" 2>/dev/null || echo 0)"\n'
PYTHON3 = (
    "#!/bin/sh\n"
    + NOTE
    + '[ "$1 $2" = "-m venv" ] || exit 9\n'
    + 'mkdir -p "$3/bin" && for t in pip pytest ruff mypy python; do cp "$TOOL" "$3/bin/$t"; done\n'
)
START = "#!/bin/sh\n" + NOTE + 'mkdir -p "$REALK8S" && echo "$REALK8S/kubeconfig"\n' + TOOL.split("\n", 2)[2]


@dataclass
class CiRun:
    code: int
    stderr: str
    calls: list[
        tuple[str, str, str, str, str]
    ]  # (program, args, KJOB_TEST_KUBECONFIG, REALK8S, KUBELET_PYTHON)
    checkout: Path

    def programs(self) -> list[str]:
        return [c[0] for c in self.calls]


def ci_run(tmp_path: Path, *, realk8s: bool = True, fail: dict[str, int] | None = None) -> CiRun:
    """``.ci/run`` in a copy of the checkout under ``tmp_path``; ``fail`` gives programs an exit code."""
    checkout, stubs = tmp_path / "main", tmp_path / "stubs"
    for d in (checkout / ".ci", stubs):
        d.mkdir(parents=True)
    shutil.copy(REPO / ".ci" / "run", checkout / ".ci" / "run")
    calls = tmp_path / "calls"
    calls.touch()
    for name, code in (fail or {}).items():
        Path(f"{calls}.{name}").write_text(str(code))

    def stub(path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o755)

    stub(stubs / "python3", PYTHON3)
    stub(tmp_path / "tool", TOOL)
    if realk8s:
        shared = tmp_path / "shared" / "realk8s"
        shared.mkdir(parents=True)
        stub(shared / "start-cluster.sh", START)
        stub(shared / "stop-cluster.sh", TOOL)
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CALLS": str(calls),
        "TOOL": str(tmp_path / "tool"),
    }
    done = subprocess.run(
        ["bash", str(checkout / ".ci" / "run")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    rows = []
    for line in calls.read_text().splitlines():
        head, _, tail = line.partition(" | ")
        program, _, args = head.partition(" ")
        kubeconfig, realk8s_dir, python = tail.split(" ")
        rows.append((program, args, kubeconfig, realk8s_dir, python))
    return CiRun(done.returncode, done.stderr, rows, checkout)


def test_readme_test_command_is_the_venvs_pytest_without_arguments() -> None:
    """What the tests below expect ``.ci/run`` to call."""
    line = next(line for line in (REPO / "README.md").read_text().splitlines() if "'.[test]'" in line)
    assert line.endswith("&& .venv/bin/pytest"), line


def test_the_tests_run_on_a_fresh_cluster_that_is_stopped_afterwards(tmp_path: Path) -> None:
    run = ci_run(tmp_path)
    assert run.code == 0, run.stderr
    assert run.programs() == [
        "python3",
        "pip",
        "start-cluster.sh",
        "pytest",
        "ruff",
        "ruff",
        "mypy",
        "stop-cluster.sh",
    ]
    start, pytest_call, stop = run.calls[2], run.calls[3], run.calls[-1]
    state = Path(start[3])
    assert state.parent == tmp_path / ".cache"  # a fresh state dir of its own, not ~/.cache/realk8s
    assert state.name.startswith("kjob-ci-realk8s.")
    assert start[1] == "--print-kubeconfig"
    assert start[4] == str(run.checkout / ".venv" / "bin" / "python")
    assert pytest_call[1:3] == ("", str(state / "kubeconfig"))  # README's command, with the kubeconfig
    assert stop[3] == str(state)
    assert not state.exists()  # removed after a clean run


@pytest.mark.parametrize("failing", ["pytest", "mypy"])
def test_the_cluster_is_stopped_when_ci_fails(tmp_path: Path, failing: str) -> None:
    run = ci_run(tmp_path, fail={failing: 3})
    assert run.code == 3
    assert run.programs()[-2:] == [failing, "stop-cluster.sh"]
    assert run.calls[-1][3] == run.calls[2][3]
    assert f"the cluster's logs are in {run.calls[2][3]}/logs" in run.stderr
    assert Path(run.calls[2][3]).is_dir()  # kept, to read why


def test_a_cluster_that_does_not_start_fails_ci(tmp_path: Path) -> None:
    run = ci_run(tmp_path, fail={"start-cluster.sh": 1})
    assert run.code == 1
    assert "pytest" not in run.programs()
    assert run.programs()[-1] == "stop-cluster.sh"


def test_without_realk8s_the_rest_runs_and_says_why(tmp_path: Path) -> None:
    run = ci_run(tmp_path, realk8s=False)
    assert run.code == 0, run.stderr
    assert run.programs() == ["python3", "pip", "pytest", "ruff", "ruff", "mypy"]
    assert run.calls[2][2] == ""  # no KJOB_TEST_KUBECONFIG: the real_cluster tests skip
    assert "shared/realk8s/start-cluster.sh not found" in run.stderr
    assert "real_cluster tests SKIP" in run.stderr


def test_ci_run_is_executable() -> None:
    assert os.access(REPO / ".ci" / "run", os.X_OK)
