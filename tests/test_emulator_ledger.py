"""Errors inside an emulator reach the test that caused them (the ledger and tests/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kjob.testing.emulator import Emulator, PodScript, PodView
from kjob.testing.emulator.ledger import ErrorLedger

CONFTEST = Path(__file__).with_name("conftest.py")


class Source:
    def __init__(self, name: str) -> None:
        self.name = name
        self.errors: list[str] = []

    def describe(self) -> str:
        return self.name


def test_each_error_is_taken_once_from_open_and_closed_sources() -> None:
    ledger = ErrorLedger()
    a, b = Source("a"), Source("b")
    ledger.register(a)
    ledger.register(b)
    assert ledger.take() == []
    a.errors.append("first")
    assert ledger.take() == ["a: first"]
    assert ledger.take() == []
    a.errors.append("second")
    b.errors.append("late")
    ledger.close(b)  # closed before anyone looked: its error is kept
    assert sorted(ledger.take()) == ["a: second", "b: late"]
    b.errors.append("after close")  # no longer watched
    assert ledger.take() == []


def broken(pod: PodView) -> PodScript:
    raise RuntimeError("behaviour exploded")


@pytest.mark.emulator_errors_expected(reason="the behaviour raises inside the kubelet on purpose")
def test_an_internal_error_is_recorded_with_the_emulator_that_had_it() -> None:
    with Emulator(broken, tick=0.005) as emu:
        k = emu.clients()
        k.core.create_namespaced_pod(
            "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        )
        emu.wait_for(lambda: emu.errors)
        assert "RuntimeError: behaviour exploded" in emu.errors[0]


FAILING_TEST = """
    from kjob.testing.emulator import Emulator

    def broken(pod):
        raise RuntimeError("behaviour exploded")

    def provoke():
        with Emulator(broken, tick=0.005) as emu:
            emu.clients().core.create_namespaced_pod(
                "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
            )
            emu.wait_for(lambda: emu.errors)

    def test_unmarked():
        provoke()

    @pytest.mark.emulator_errors_expected(reason="on purpose")
    def test_marked():
        provoke()

    @pytest.mark.emulator_errors_expected
    def test_marked_without_reason():
        pass

    def test_clean():
        with Emulator(tick=0.005):
            pass
"""


def test_the_shared_fixture_fails_an_unmarked_test_and_spares_a_marked_one(tmp_path: Path) -> None:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_provoke.py").write_text("import pytest\n" + textwrap.dedent(FAILING_TEST))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "ERROR test_provoke.py::test_unmarked" in out
    assert "emulator errors recorded during this test:" in out and "behaviour exploded" in out
    assert "PASSED test_provoke.py::test_marked\n" in out
    assert "ERROR test_provoke.py::test_marked_without_reason" in out and "needs a reason" in out
    assert "PASSED test_provoke.py::test_clean\n" in out
