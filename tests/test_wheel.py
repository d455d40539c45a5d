"""The built wheel carries the grammar: installed into a fresh venv, `kjob lint` works from outside
the source tree."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO


@pytest.mark.slow
def test_installed_wheel_lints_an_example_outside_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheel = next(dist.glob("kjob-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # kjob's dependencies from this venv (a path, so its editable kjob is not on it), the wheel's kjob
    # itself installed: what is checked is what the wheel carries, without downloading its dependencies
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    grammar = subprocess.run(
        [str(python), "-c", "import kjob.expr._grammar as g; print(g.grammar_path())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert grammar.returncode == 0, grammar.stderr
    assert str(env_dir) in grammar.stdout and "kjob/_grammar/kjob.lark" in grammar.stdout
    example = tmp_path / "pipeline.yaml"
    example.write_text((EXAMPLES / "03-conditional.yaml").read_text())
    lint = subprocess.run(
        [str(env_dir / "bin" / "kjob"), "lint", str(example)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "pipeline.yaml: ok" in lint.stdout
