"""The emulator imports none of kjob's own client code, so that it can catch kjob's mistakes.

If the emulator shared a module with kjob's backend (an index-string format, a name rule), a bug in
that module would be on both sides of every test and no test could see it. The only kjob module
outside the emulator it may use are :mod:`kjob.sandbox` (the host-isolation probe) and
:mod:`kjob.kubelet_expansion` (the kubelet's ``$(VAR)`` rules, checked against a real cluster by the
contract tests), which have no kjob imports of their own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kjob.testing.emulator

EMULATOR = Path(kjob.testing.emulator.__file__).parent
FORBIDDEN = ("kjob.backends", "kjob.engine", "kjob.spec", "kjob.expr", "kjob.plan", "kjob.cli")
ALLOWED = ("kjob.testing.emulator", "kjob.sandbox", "kjob.kubelet_expansion")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import in a source file (relative ones stay inside)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def kjob_imports_outside(path: Path) -> list[str]:
    return [
        f"{path.name}:{line}: {module}"
        for line, module in imported_modules(path)
        if (module == "kjob" or module.startswith("kjob."))
        and not any(module == a or module.startswith(a + ".") for a in ALLOWED)
    ]


@pytest.mark.parametrize("path", sorted(EMULATOR.glob("*.py")), ids=lambda p: p.name)
def test_emulator_module_imports_nothing_of_kjob_outside_it(path: Path) -> None:
    assert kjob_imports_outside(path) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from kjob.backends.kubernetes.intervals import parse_indexes\nimport kjob.engine.engine\n"
        "from kjob.testing.emulator.util import Obj\nfrom . import sibling\n"
    )
    assert kjob_imports_outside(bad) == [
        "bad.py:1: kjob.backends.kubernetes.intervals",
        "bad.py:2: kjob.engine.engine",
    ]


def test_importing_the_emulator_loads_no_client_code() -> None:
    """Transitively too: a fresh interpreter that imports the emulator has loaded none of them."""
    code = "import sys, kjob.testing.emulator; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout.split()
    assert "kjob.testing.emulator.kubelet" in loaded
    assert [m for m in loaded if m.startswith(FORBIDDEN)] == []
