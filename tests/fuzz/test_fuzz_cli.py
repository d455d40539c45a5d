"""Fuzzing the command line: ``kjob lint``, ``plan``, ``run --dry-run`` and ``sim`` with edited
workflow files (:mod:`tests.fuzz.corpus`), missing, empty, binary and directory paths, and argv drawn
from every option with hostile values, then shuffled, repeated and cut.  Whatever is drawn, the exit
code is 0, 1 or 2 and no traceback is printed: a mistake is a one-line message.

In process through click's ``CliRunner`` for the many, and a handful through the real ``kjob``
command (a subprocess: the interpreter's own last-resort printing counts too).  ``run`` is always a
``--dry-run``: nothing is executed.  Bounded and reproducible (``derandomize``, fixed example counts
scaled by ``KJOB_FUZZ_EXAMPLES``); the module prints how many inputs it tried.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kjob.cli import cli
from tests.fuzz.budget import bounded, report_tally
from tests.fuzz.corpus import SEEDS, mutated_workflows

TRIED: Counter[str] = Counter()
EXIT_CODES = (0, 1, 2)


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from report_tally(request, "cli", TRIED)


# ------------------------------------------------------------------------------------ argv pieces
# No NUL anywhere in argv: a real command line cannot carry one (C strings end there).
NUMBERS = ("0", "1", "-1", "3", "1e9", "1e999", "nan", "abc", "", "9" * 400)
COMMON = {
    "--workflow": ("", "main", "nope", "\ud800"),
    "--lenient": None,
}
OPTIONS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "lint": {"--lenient": None},
    "plan": {**COMMON, "--levels": None, "-o": ("yaml", "json", "xml", "")},
    "run": {
        **COMMON,
        "-p": ("a=b", "=", "x", "message=\x01", "message=" + "x" * 10_000, "message={{", "\ud800=1"),
        "--parallelism": NUMBERS,
        "-o": ("yaml", "json", "xml"),
        "--ttl-seconds-after-finished": NUMBERS,
        "--no-indexed-jobs": None,
        "--queue": ("q", "", "UPPER", "x" * 300),
        "-n": ("ns", "", "Bad_Name", "x" * 300),
        "--kubeconfig": ("/nonexistent", "/dev/null", "."),
        "--context": ("", "nope"),
        "--backend": ("auto", "local", "kubernetes", "bogus"),
        "--workspace-pvc": ("claim", ""),
    },
    "sim": {
        **COMMON,
        "--nodes": NUMBERS,
        "--cpu": ("8", "7500m", "-1", "1e999", "x"),
        "--memory": ("32Gi", "1e999Ei", "-1Gi", "x"),
        "--slots": NUMBERS,
        "--policy": ("eager", "levels", "critical-path", "largest-first", "heft", "bogus"),
        "--parallelism": NUMBERS,
        "--startup": ("3s", "1e999s", "-1s", "normal(1,2)", "x"),
        "--qps": NUMBERS,
        "--default-duration": ("1s", "1e999s", "-5s", "x"),
        "--fail-prob": ("0", "0.5", "1", "2", "nan"),
        "--request": ("cpu=1", "cpu=-1", "x", "cpu=1e999"),
        "--seed": NUMBERS,
        "--runs": ("1", "2", "0", "-1"),
        "--sweep": ("parallelism=1,2", "nodes=", "x=1", "parallelism=" + ",".join(["1"] * 50)),
        "-o": ("text", "json", "xml"),
        "--tasks": None,
        "--gantt": ("/nonexistent/dir/g.png", "g.txt", "g.png", ""),
        "--utilisation": ("/nonexistent/dir/u.svg", "u.bogus", ""),
    },
}
SIM_SOURCES: tuple[str, ...] = (
    "chain:5",
    "fanout:4",
    "layered:20",
    "layered:10,width=3,deps=2",
    "montage-like:9",
    "chain:-1",
)
SIM_SOURCES += ("chain:abc", "bogus:3", "layered:5,width=0", "chain:99999", "chain:" + "9" * 30, "chain:²")


@st.composite
def argvs(draw: st.DrawFn, workflow_file: str) -> list[str]:
    """A verb, its file (or a sim generator) and a few options, then lightly mutated."""
    verb = draw(st.sampled_from(tuple(OPTIONS)))
    source = draw(st.sampled_from(SIM_SOURCES)) if verb == "sim" and draw(st.booleans()) else workflow_file
    argv = [verb, source]
    for _ in range(draw(st.integers(0, 4))):
        option = draw(st.sampled_from(tuple(OPTIONS[verb])))
        values = OPTIONS[verb][option]
        argv += [option] if values is None else [option, draw(st.sampled_from(values))]
    mutation = draw(st.sampled_from(("none", "none", "shuffle", "repeat", "cut", "junk")))
    if mutation == "shuffle":
        argv = [argv[0], *draw(st.permutations(argv[1:]))]
    elif mutation == "repeat" and len(argv) > 1:
        argv.append(draw(st.sampled_from(argv[1:])))
    elif mutation == "cut" and len(argv) > 2:
        argv = argv[: draw(st.integers(1, len(argv) - 1))]
    elif mutation == "junk":
        argv.insert(
            draw(st.integers(1, len(argv))), draw(st.sampled_from(("--", "-", "--bogus", "-x", "\x7f")))
        )
    if verb == "run":
        argv.append("--dry-run")  # never run anything
    return argv


def invoke(argv: list[str], home: Path) -> None:
    """Run ``kjob argv`` in process and check the exit code and the output."""
    runner = CliRunner(
        env={"NO_COLOR": "1", "COLUMNS": "120", "KJOB_HOME": str(home), "KUBECONFIG": "/nonexistent"}
    )
    result = runner.invoke(cli, argv, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"kjob {argv!r} raised {result.exception!r}") from result.exception
    assert result.exit_code in EXIT_CODES, (argv, result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output, (argv, result.output[-2000:])


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-cli")


@bounded(160)
@given(mutated_workflows(max_edits=2), st.data())
def test_any_argv_and_file_exits_0_1_or_2_without_a_traceback(
    place: Path, seed: tuple[str, str], data: st.DataObject
) -> None:
    TRIED["argv"] += 1
    path = place / "wf.yaml"
    path.write_text(seed[1], encoding="utf-8", errors="surrogatepass")
    invoke(data.draw(argvs(str(path))), place / "home")


ODD_FILES: dict[str, bytes | None] = {
    "missing.yaml": None,
    "empty.yaml": b"",
    "binary.yaml": bytes(range(256)) * 4,
    "latin1.yaml": "name: caf\u00e9\n".encode("latin-1"),
    "bom.yaml": b"\xef\xbb\xbf" + SEEDS[0][1].encode(),
    "nul.yaml": SEEDS[0][1].encode().replace(b"\n", b"\n\x00", 1),
}


@pytest.mark.parametrize("name", [*ODD_FILES, "a directory"])
@pytest.mark.parametrize("verb", ["lint", "plan", "run", "sim"])
def test_odd_files_are_one_line_errors(place: Path, verb: str, name: str) -> None:
    path = place / name
    content = ODD_FILES.get(name)
    if name == "a directory":
        path.mkdir(exist_ok=True)
    elif content is not None:
        path.write_bytes(content)
    TRIED["odd files"] += 1
    invoke([verb, str(path), *(["--dry-run"] if verb == "run" else [])], place / "home")


SUBPROCESS_CASES = (
    ["lint", "binary.yaml"],
    ["plan", "nul.yaml", "-o", "json"],
    ["run", "latin1.yaml", "--dry-run", "-p", "a=\udcff"],
    ["sim", "chain:" + "9" * 30],
    ["sim", "layered:" + "9" * 7 + ",width=" + "9" * 6 + ",deps=" + "9" * 6],
    ["lint", "missing.yaml", "bom.yaml"],
)


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=lambda a: " ".join(a)[:40])
def test_the_real_command_exits_0_1_or_2_without_a_traceback(place: Path, argv: list[str]) -> None:
    for name, content in ODD_FILES.items():
        if content is not None and not (place / name).exists():
            (place / name).write_bytes(content)
    env = {**os.environ, "NO_COLOR": "1", "KJOB_HOME": str(place / "home"), "KUBECONFIG": "/nonexistent"}
    args = [os.fsencode(a) if "\udcff" not in a else a.encode("utf-8", "surrogateescape") for a in argv]
    TRIED["subprocess"] += 1
    done = subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        cwd=place,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode in EXIT_CODES, (argv, done.returncode, output[-2000:])
    assert "Traceback" not in output, (argv, output[-2000:])
