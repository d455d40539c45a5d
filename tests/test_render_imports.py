"""The render layer stays pure: it imports nothing above it, and not the ``kubernetes`` client.

Render turns a workflow into objects; the backends send them and the engine decides when.  If render
imported either, a plan or a dry run would depend on a cluster, and the layers would point both ways.
``kjob.backends.base`` is the exception: it is the neutral vocabulary (attempt specs) that the
engine, the backends and render all share.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kjob.render

RENDER = Path(kjob.render.__file__).parent
FORBIDDEN = ("kjob.backends", "kjob.engine", "kjob.cli", "kjob.testing", "kjob.sim", "kubernetes")
ALLOWED = ("kjob.backends.base",)


def forbidden_imports(path: Path) -> list[str]:
    """``file:line: module`` of every import of a module render must not use (relative ones stay)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            allowed = any(module == a or module.startswith(a + ".") for a in ALLOWED)
            if not allowed and any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
                found.append(f"{path.name}:{node.lineno}: {module}")
    return found


@pytest.mark.parametrize("path", sorted(RENDER.glob("*.py")), ids=lambda p: p.name)
def test_render_module_imports_nothing_above_it(path: Path) -> None:
    assert forbidden_imports(path) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from kjob.backends.kubernetes.cluster import Cluster\nimport kubernetes.client\n"
        "from kjob.engine.engine import Engine\nfrom kjob.backends.base import AttemptSpec\n"
        "from kjob.spec.model import Workflow\nfrom . import names\n"
        "def f():\n    from kjob.cli import console\n"
    )
    assert forbidden_imports(bad) == [
        "bad.py:1: kjob.backends.kubernetes.cluster",
        "bad.py:2: kubernetes.client",
        "bad.py:3: kjob.engine.engine",
        "bad.py:8: kjob.cli",
    ]


def test_importing_render_loads_no_backend_engine_or_client() -> None:
    """Transitively too: a fresh interpreter that imports every render module has loaded none."""
    modules = sorted(p.stem for p in RENDER.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('kjob.render.' + m)\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout.split()
    assert "kjob.render.manifests" in loaded
    parents = {a.rpartition(".")[0] for a in ALLOWED}  # kjob.backends: a namespace package, no code
    bad = [m for m in loaded if m.startswith(FORBIDDEN) and not m.startswith(ALLOWED) and m not in parents]
    assert bad == []
