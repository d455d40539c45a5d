"""kjob's limits (kjob/limits.py): small hostile files are refused before the work they would cause,
with an error at the place in the file that names the limit and the variable that raises it; a value
that only a run renders too large ends that task with an Error.  Each case here used to take
gigabytes, hang or print a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kjob.errors import SpecErrors
from kjob.spec import load_text
from tests.conftest import Completed

HEAD = """apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: limits}
spec:
  entrypoint: main
"""


def workflow(*, spec: str = "", task: str = "{name: a, template: t}", args: str = '["hi"]') -> str:
    return (
        HEAD
        + spec
        + f"""  templates:
  - name: main
    dag:
      tasks:
      - {task}
  - name: t
    container: {{image: alpine, command: [echo], args: {args}}}
"""
    )


def laughs(levels: int, use: str = "") -> str:
    """A "billion laughs" under ``spec.affinity`` (a field passed on as written): each anchor a list of
    nine uses of the one before; ``use`` is more of the spec (``*lN`` uses the last list)."""
    lines = ["  affinity:", "    l0: &l0 lol"]
    lines += [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return workflow(spec="\n".join(lines) + "\n" + use)


def errors(text: str) -> list[str]:
    with pytest.raises(SpecErrors) as caught:
        load_text(text, path="wf.yaml")
    return [str(e) for e in caught.value.errors]


def only_error(text: str) -> str:
    found = errors(text)
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------------------------------ YAML


def test_billion_laughs_is_refused_where_it_is_used() -> None:
    text = laughs(9)
    assert text.count("*") == 81  # 81 aliases in 17 lines: 387 million nodes once expanded
    message = only_error(text)
    assert message.startswith("wf.yaml:")
    assert "more than 5,000,000 YAML nodes (each use of an alias counted again)" in message
    assert "KJOB_MAX_YAML_NODES" in message


def test_duplicate_key_holding_an_alias_bomb_is_refused_not_quoted_in_full() -> None:
    bomb = laughs(9).replace("    l9: &l9", "    l9: &l9 [*l8]\n    l9:")
    assert "KJOB_MAX_YAML_NODES" in only_error(bomb)
    small = only_error(laughs(3, "  entrypoint: *l3\n"))  # 729 nodes: within the limit
    assert 'found duplicate key "entrypoint" with value "[[[\'lol\'' in small
    assert len(small) < 300  # the value is cut, not written out


def test_the_node_limit_is_raised_or_lowered_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    text = laughs(3, "  tolerations: [{key: *l3}]\n")  # 9 + 81 + 729 nodes in the laughs
    load_text(text)
    monkeypatch.setenv("KJOB_MAX_YAML_NODES", "500")
    assert "more than 500 YAML nodes" in only_error(text)


@pytest.mark.parametrize("value", ["&a {x: *a}", "&a {x: [*a]}", "&a [[*a]]"])
def test_an_alias_inside_what_it_names_is_refused(value: str) -> None:
    message = only_error(workflow(spec=f"  affinity: {value}\n"))
    assert message.startswith("wf.yaml:6:")
    assert "a structure with no end" in message


def test_a_file_past_the_size_limit_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJOB_MAX_FILE_CHARS", "100")
    message = only_error(workflow())
    assert message == (
        f"wf.yaml:1:1: this file has {len(workflow()):,} characters, more than kjob's limit of 100 "
        "(set KJOB_MAX_FILE_CHARS to raise it)"
    )


def test_lint_reads_no_further_than_the_size_limit(kjob: Callable[..., Completed]) -> None:
    done = kjob("lint", "/dev/zero", timeout=60)
    assert done.code == 2
    assert "/dev/zero:1:1: error: this file has more than 30,000,000 characters" in done.stdout + done.stderr


# ----------------------------------------------------------------------------------- fan-out


@pytest.mark.parametrize(
    ("sequence", "shown"),
    [
        ("{count: 100000000}", "100,000,000 items"),
        ("{count: '100000000'}", "100,000,000 items"),
        ("{start: 5, end: '100000004'}", "100,000,000 items"),
        ("{count: " + "9" * 400 + "}", "a 400-digit number of items"),
    ],
)
def test_a_literal_sequence_past_the_fan_out_limit_is_a_lint_error(sequence: str, shown: str) -> None:
    message = only_error(workflow(task=f"{{name: a, template: t, withSequence: {sequence}}}"))
    assert message.startswith("wf.yaml:10:")
    assert f"withSequence has {shown} per fan-out, more than kjob's limit of 1,000,000" in message
    assert "KJOB_MAX_FAN_OUT" in message


def test_a_sequence_count_too_long_to_read_is_a_lint_error() -> None:
    message = only_error(workflow(task="{name: a, template: t, withSequence: {count: '" + "9" * 5000 + "'}}"))
    assert "withSequence count has 5,000 digits, more than any number kjob reads" in message


def test_with_items_past_the_fan_out_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJOB_MAX_FAN_OUT", "2")
    message = only_error(workflow(task="{name: a, template: t, withItems: [1, 2, 3]}"))
    assert "withItems has 3 items per fan-out, more than kjob's limit of 2" in message


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [
        (
            "%099999999d",
            "the width of '%099999999d' has 99,999,999 characters, more than kjob's limit of 100",
        ),
        ("%.1000d", "the precision of '%.1000d' has 1,000 characters, more than kjob's limit of 100"),
        ("%c", "'%c' is not a conversion of a number (use one of %d, %o, %x, %X)"),
        ("%s", "'%s' is not a conversion of a number"),
        ("%(x)d", "'%(' is not a conversion of a number"),
        ("part", "it has 0 conversions of the number, not 1"),
        ("%d-%d", "it has 2 conversions of the number, not 1"),
    ],
)
def test_a_sequence_format_is_one_bounded_number_conversion(fmt: str, problem: str) -> None:
    task = f"{{name: a, template: t, withSequence: {{count: 3, format: '{fmt}'}}}}"
    assert f"invalid withSequence format: {problem}" in only_error(workflow(task=task))


@pytest.mark.parametrize("fmt", ["part-%02d", "%x", "%%%d%%", "%-5d", "%+d", "%.3d"])
def test_usual_sequence_formats_load(fmt: str) -> None:
    load_text(workflow(task=f"{{name: a, template: t, withSequence: {{count: 3, format: '{fmt}'}}}}"))


# ------------------------------------------------------------------------------ long texts


def test_a_long_text_with_references_is_refused_before_it_is_lexed() -> None:
    args = '["' + "{{inputs.parameters.p}} x" * 40_001 + '"]'
    text = workflow(args=args).replace(
        "  - name: t\n", "  - name: t\n    inputs: {parameters: [{name: p}]}\n"
    )
    message = only_error(
        text.replace(
            "{name: a, template: t}", "{name: a, template: t, arguments: {parameters: [{name: p, value: v}]}}"
        )
    )
    assert (
        "invalid args[0]: this text with references has 1,000,025 characters, more than kjob's limit"
        in message
    )
    assert "KJOB_MAX_EXPRESSION_CHARS" in message


def test_a_long_text_without_references_is_never_lexed() -> None:
    load_text(workflow(args='["' + "x" * 3_000_000 + '"]'))


def test_long_when_and_depends_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJOB_MAX_EXPRESSION_CHARS", "50")
    when = "1 == 1" + " && 1 == 1" * 10
    found = errors(workflow(task=f"{{name: a, template: t, when: '{when}', depends: '{'b || ' * 20}b'}}"))
    assert any("invalid when: this when expression has 106 characters" in e for e in found), found
    assert any("this depends expression has 101 characters" in e for e in found), found


# --------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("spec", "task_template"),
    [
        ("  parallelism: " + "9" * 400 + "\n", ""),
        ("", "    retryStrategy: {limit: '" + "9" * 5000 + "'}\n"),
        ("", "    parallelism: 2147483648\n"),
    ],
)
def test_a_huge_integer_is_a_located_error(spec: str, task_template: str) -> None:
    text = workflow(spec=spec).replace("  - name: t\n", "  - name: t\n" + task_template)
    message = only_error(text)
    assert "must be at most 2,147,483,647" in message
    assert message.startswith("wf.yaml:")


def test_a_long_timezone_is_a_located_error() -> None:
    text = (Path(__file__).parents[1] / "examples" / "07-cronworkflow.yaml").read_text()
    message = only_error(text.replace("America/Los_Angeles", "A" * 300))
    assert message.startswith("wf.yaml:11:13: timezone 'AAAA")
    assert "is not a time zone name" in message
    assert "Etc/GMT+5" not in only_error(text.replace("America/Los_Angeles", "Mars/Olympus"))


# ---------------------------------------------------------------------------------- run time


def test_a_render_past_the_limit_ends_the_task_with_an_error(
    kjob: Callable[..., Completed], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = "  arguments: {parameters: [{name: p, value: '" + "x" * 100 + "'}]}\n"
    path = tmp_path / "wf.yaml"
    path.write_text(workflow(spec=spec, args='["' + "{{workflow.parameters.p}}" * 20 + '"]'))
    monkeypatch.setenv("KJOB_MAX_RENDERED_CHARS", "1000")  # the kjob fixture passes the environment on
    done = kjob("run", str(path))
    assert done.code == 1
    assert "the rendered text has 2,000 characters, more than kjob's limit of 1,000" in done.stdout
    assert done.record()["phase"] == "Error"


def test_a_rendered_sequence_past_the_fan_out_limit_ends_the_task(
    kjob: Callable[..., Completed], tmp_path: Path
) -> None:
    spec = "  arguments: {parameters: [{name: n, value: '3'}]}\n"
    path = tmp_path / "wf.yaml"
    path.write_text(
        workflow(spec=spec, task="{name: a, template: t, withSequence: {count: '{{workflow.parameters.n}}'}}")
    )
    done = kjob("run", str(path), "-p", "n=100000000")
    assert done.code == 1
    assert "withSequence has 100,000,000 items per fan-out" in done.stdout
