"""What ``kjob --version`` and ``kjob lint`` load: a verb imports only what it uses, so that asking for
the version or checking a file does not wait for numpy, the engine, the simulator or the Kubernetes
client.  (How long start-up takes is measured in ``bench/bench_startup.py``, not asserted here.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kjob import __version__
from kjob.expr import _grammar
from kjob.spec import codecache
from tests.conftest import EXAMPLES, REPO

# Prints the modules loaded once the command ran (click's exit included) as JSON on stderr's last line.
PROBE = """\
import json, sys
from kjob.cli import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)) + "\\n")
"""


def loaded_by(*args: str, home: Path | None = None) -> tuple[set[str], str]:
    """The modules ``kjob ARGS`` imported, and what it printed, with its output going to a pipe (no
    cluster configured; runs recorded under ``home``)."""
    home = home or REPO / ".no-such-kjob-home"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            "NO_COLOR": "1",
            "PATH": "/usr/bin:/bin",
            "KJOB_HOME": str(home),
            "KUBECONFIG": str(home / "none"),
        },
        timeout=120,
        check=False,
    )
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    return modules, done.stdout


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} | {".".join(name.split(".")[:2]) for name in modules}


def test_version_loads_nothing_but_click() -> None:
    modules, out = loaded_by("--version")
    assert out.strip() == f"kjob, version {__version__}"
    heavy = {"numpy", "rich", "kubernetes", "lark", "ruamel", "sim", "kjob.spec", "kjob.engine"}
    assert packages(modules) & heavy == set()


@pytest.mark.parametrize("example", ["01-basic-dag.yaml", "05-parallel-withparam.yaml"])
def test_lint_loads_the_spec_but_not_the_engine_the_simulator_numpy_or_the_cluster_client(
    example: str,
) -> None:
    modules, out = loaded_by("lint", str(EXAMPLES / example))
    assert f"{example}: ok (" in out
    assert {"kjob.spec", "ruamel"} <= packages(modules)
    unwanted = {"numpy", "kubernetes", "urllib3", "sim", "kjob.engine", "kjob.backends.local", "kjob.plan"}
    unwanted |= {"lark"}  # plain references and `dependencies` need no parser
    unwanted |= {"re2", "cronsim", "zoneinfo"}  # for =~ in a when, and a CronWorkflow's schedule and zone
    assert packages(modules) & unwanted == set()


def test_a_local_run_loads_the_engine_but_not_numpy_the_simulator_or_the_cluster_client(
    tmp_path: Path,
) -> None:
    modules, out = loaded_by("run", str(EXAMPLES / "01-basic-dag.yaml"), home=tmp_path)
    assert "Succeeded" in out
    assert {"kjob.engine", "kjob.backends"} <= packages(modules)
    assert packages(modules) & {"numpy", "sim", "kubernetes", "urllib3", "kjob.plan"} == set()


def test_the_grammar_is_loaded_for_a_file_with_expressions_to_parse() -> None:
    modules, out = loaded_by("lint", str(EXAMPLES / "03-conditional.yaml"))
    assert "03-conditional.yaml: ok (" in out
    assert "lark" in packages(modules)


def test_lint_into_a_pipe_is_written_without_rich_and_on_a_terminal_with_it() -> None:
    piped, _ = loaded_by("lint", str(EXAMPLES / "01-basic-dag.yaml"))
    assert "rich" not in packages(piped)
    # FORCE_COLOR makes rich (and so kjob) treat the pipe as a terminal: styled output, through rich.
    done = subprocess.run(
        [sys.executable, "-m", "kjob", "lint", str(EXAMPLES / "01-basic-dag.yaml"), "/no/such.yaml"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"FORCE_COLOR": "1", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("\x1b[31merror: cannot read /no/such.yaml: no such file")


def lint(cache_home: Path) -> subprocess.CompletedProcess[str]:
    """``kjob lint`` of a file whose ``when``s are parsed by the grammar (a plain ``{{ path }}`` alone
    is split without it)."""
    return subprocess.run(
        [sys.executable, "-m", "kjob", "lint", str(EXAMPLES / "03-conditional.yaml")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"XDG_CACHE_HOME": str(cache_home), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )


def test_the_built_grammar_is_kept_for_the_next_start_and_a_damaged_copy_is_rebuilt(tmp_path: Path) -> None:
    first = lint(tmp_path)
    assert first.returncode == 0 and first.stderr == ""
    (cached,) = (tmp_path / "kjob").glob("grammar-*")
    assert oct(cached.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "kjob").stat().st_mode & 0o777) == "0o700"
    again = lint(tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")
    cached.write_bytes(b"not a parser")
    damaged = lint(tmp_path)
    assert (damaged.returncode, damaged.stdout, damaged.stderr) == (0, first.stdout, "")
    assert _grammar._load_parser(cached) is not None  # rebuilt and saved whole


def test_without_a_writable_cache_lint_works_and_says_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    done = lint(blocked)  # its "kjob" directory cannot be made inside a file
    assert (done.returncode, done.stderr) == (0, "")
    assert ": ok (" in done.stdout


def test_a_cached_grammar_others_could_have_written_is_not_loaded(tmp_path: Path) -> None:
    _grammar.parser()  # make sure a good parser exists to save
    path = tmp_path / "grammar.lark-parser"
    _grammar._save_parser(_grammar.parser(), path)
    assert _grammar._load_parser(path) is not None
    path.chmod(0o622)
    assert _grammar._load_parser(path) is None


def test_dataclass_methods_are_compiled_once_per_user_and_a_damaged_cache_is_rewritten(
    tmp_path: Path,
) -> None:
    first = lint(tmp_path)
    assert first.returncode == 0 and first.stderr == ""
    (cached,) = (tmp_path / "kjob").glob("dataclasses-*.code")
    assert oct(cached.stat().st_mode & 0o777) == "0o600"
    assert len(codecache.load(cached)) > 100  # the methods of every dataclass the loader uses
    written = cached.stat().st_ino
    again = lint(tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")
    assert cached.stat().st_ino == written  # everything was found: nothing compiled, nothing rewritten
    cached.write_bytes(b"not marshalled code")
    damaged = lint(tmp_path)
    assert (damaged.returncode, damaged.stdout, damaged.stderr) == (0, first.stdout, "")
    assert len(codecache.load(cached)) > 100


def test_cached_dataclass_code_others_could_have_written_is_never_run(tmp_path: Path) -> None:
    assert lint(tmp_path).returncode == 0
    (cached,) = (tmp_path / "kjob").glob("dataclasses-*.code")
    poison = compile("raise SystemExit(99)", "<string>", "exec")
    codecache.save(cached, dict.fromkeys(codecache.load(cached), poison))
    cached.chmod(0o666)
    assert codecache.load(cached) == {}
    done = lint(tmp_path)
    assert (done.returncode, done.stderr) == (0, "")  # the poisoned code never ran
    assert ": ok (" in done.stdout


def test_importing_the_loader_leaves_dataclasses_as_it_was() -> None:
    import dataclasses

    import kjob.spec  # noqa: F401

    assert not hasattr(dataclasses, "exec")


def test_help_still_lists_every_verb() -> None:
    _, out = loaded_by("--help")
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    from kjob.cli import VERBS

    assert listed == list(VERBS) and {
        "run",
        "resume",
        "lint",
        "plan",
        "logs",
        "sim",
        "cron",
        "list",
        "get",
    } <= set(listed)


def test_list_and_get_of_local_runs_load_neither_the_engine_nor_the_cluster_client(tmp_path: Path) -> None:
    from kjob.rundir import RunDir
    from kjob.runrecord import NodeRecord, RunRecord

    record = RunRecord(
        run_id="r1", phase="Succeeded", started=1.0, finished=2.0, nodes=(NodeRecord(id="main"),)
    )
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    RunDir(tmp_path / "runs" / "r1").write_record_text(record.to_json())
    heavy = {"numpy", "rich", "kubernetes", "lark", "ruamel", "yaml", "sim", "kjob.spec", "kjob.engine"}
    for verb in (["list"], ["get", "r1"]):
        modules, out = loaded_by(*verb, home=tmp_path)
        assert "r1" in out
        assert not packages(modules) & heavy, verb
