"""Argo's enhanced ``depends``."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kjob.errors import TemplateError
from kjob.expr import BARE_RESULTS, TASK_RESULTS, dependencies_to_depends, parse_depends

RESULTS = {
    "ok": "Succeeded",
    "bad": "Failed",
    "err": "Errored",
    "skip": "Skipped",
    "omit": "Omitted",
    "daemon": "Daemoned",
    "fan-mixed": "Failed",
    "fan_failed": "Failed",
    "fan-empty": "Succeeded",
}
CHILDREN: dict[str, Sequence[str]] = {
    "fan-mixed": ["Failed", "Succeeded", "Errored"],
    "fan_failed": ["Failed", "Failed"],
    "fan-empty": [],
}


def result_of(task: str) -> str:
    return RESULTS[task]


def children_of(task: str) -> Sequence[str]:
    return CHILDREN.get(task, [RESULTS[task]])


# (text, tasks, expected)
CASES: list[tuple[str, set[str], bool]] = [
    ("ok", {"ok"}, True),
    ("skip", {"skip"}, True),
    ("daemon", {"daemon"}, True),
    ("bad", {"bad"}, False),
    ("err", {"err"}, False),
    ("omit", {"omit"}, False),
    ("ok.Succeeded", {"ok"}, True),
    ("bad.Failed", {"bad"}, True),
    ("bad.Errored", {"bad"}, False),
    ("err.Errored", {"err"}, True),
    ("skip.Skipped", {"skip"}, True),
    ("skip.Succeeded", {"skip"}, False),
    ("omit.Omitted", {"omit"}, True),
    ("daemon.Daemoned", {"daemon"}, True),
    ("ok && skip", {"ok", "skip"}, True),
    ("ok && bad", {"ok", "bad"}, False),
    ("ok || bad", {"ok", "bad"}, True),
    ("!bad", {"bad"}, True),
    ("!ok", {"ok"}, False),
    ("!!ok", {"ok"}, True),
    ("ok && (bad.Failed || err.Errored)", {"ok", "bad", "err"}, True),
    ("(ok && bad) || err.Errored", {"ok", "bad", "err"}, True),
    ("bad || ok && omit", {"bad", "ok", "omit"}, False),  # && binds tighter
    ("(bad || ok) && !omit.Omitted", {"bad", "ok", "omit"}, False),
    ("bad.Failed || bad.Errored", {"bad"}, True),
    ("ok.Succeeded||bad.Failed&&err", {"ok", "bad", "err"}, True),
    ("  ok  \n && \t skip ", {"ok", "skip"}, True),
    # fan-out
    ("fan-mixed.AnySucceeded", {"fan-mixed"}, True),
    ("fan-mixed.AllFailed", {"fan-mixed"}, False),
    ("fan_failed.AnySucceeded", {"fan_failed"}, False),
    ("fan_failed.AllFailed", {"fan_failed"}, True),
    ("fan-empty.AnySucceeded", {"fan-empty"}, False),
    ("fan-empty.AllFailed", {"fan-empty"}, False),
    ("ok.AnySucceeded && bad.AllFailed", {"ok", "bad"}, True),
]


@pytest.mark.parametrize(("text", "tasks", "expected"), CASES)
def test_evaluate(text: str, tasks: set[str], expected: bool) -> None:
    depends = parse_depends(text)
    assert depends.tasks == frozenset(tasks)
    assert depends.evaluate(result_of, children_of=children_of) is expected


def test_without_children_of_a_task_is_its_own_child() -> None:
    assert parse_depends("ok.AnySucceeded").evaluate(result_of) is True
    assert parse_depends("bad.AllFailed").evaluate(result_of) is True
    assert parse_depends("fan-mixed.AllFailed").evaluate(result_of) is True


def test_every_result_word() -> None:
    for result in TASK_RESULTS:
        depends = parse_depends(f"t.{result}")
        assert depends.evaluate({"t": result}.__getitem__) is True
        assert depends.evaluate({"t": "Pending"}.__getitem__) is False
        assert parse_depends("t").evaluate({"t": result}.__getitem__) is (result in BARE_RESULTS)


def test_asks_only_what_it_needs() -> None:
    asked: list[str] = []

    def recording(task: str) -> str:
        asked.append(task)
        return RESULTS[task]

    assert parse_depends("bad && ok").evaluate(recording) is False
    assert asked == ["bad"]


def test_parse_is_cached_and_equal_by_text() -> None:
    assert parse_depends("a && b") is parse_depends("a && b")
    assert parse_depends("a && b").tasks == {"a", "b"}
    assert repr(parse_depends("a")) == "Depends(text='a', tasks=frozenset({'a'}))"


def test_results_named() -> None:
    depends = parse_depends("a.Failed || (a.Errored && b) || !c.AllFailed")
    assert depends.results_named("a") == {"Failed", "Errored"}
    assert depends.results_named("b") == BARE_RESULTS
    assert depends.results_named("c") == {"AllFailed"}
    assert depends.results_named("z") == frozenset()


def test_long_fan_in() -> None:
    names = [f"task-{i}" for i in range(5000)]
    text = dependencies_to_depends(names)
    depends = parse_depends(text)
    assert depends.tasks == frozenset(names)
    assert depends.evaluate(lambda _: "Succeeded") is True
    assert depends.evaluate(lambda t: "Failed" if t == "task-4999" else "Succeeded") is False


def test_dependencies_to_depends() -> None:
    assert dependencies_to_depends(["a", "b-c", "d_e"]) == "a && b-c && d_e"
    assert dependencies_to_depends(["a"]) == "a"
    assert dependencies_to_depends([]) == ""


def test_unknown_task_at_evaluation() -> None:
    with pytest.raises(TemplateError) as info:
        parse_depends("ok && ghost.Failed").evaluate(result_of)
    assert info.value.message == "unknown task 'ghost' in depends"
    assert info.value.column == 6


# (text, message, column, hint fragment)
ERROR_CASES = [
    ("", "empty depends expression", 0, "e.g."),
    ("A &&", "expected an operand after '&&'", 4, "e.g."),
    ("|| A", "expected an operand at the start, found '||'", 0, "e.g."),
    ("A B", "expected an operator after 'A', found 'B'", 2, "join tasks with '&&' or '||'"),
    ("A 123", "expected an operator after 'A', found '123'", 2, "join tasks"),
    ("A.succeeded", "unknown task result 'succeeded' in 'A.succeeded'", 2, "did you mean 'Succeeded'?"),
    ("A.Succeded", "unknown task result 'Succeded' in 'A.Succeded'", 2, "did you mean 'Succeeded'?"),
    ("x && A.Done", "unknown task result 'Done' in 'A.Done'", 7, "results are Succeeded"),
    ("A.", "expected a result after 'A.'", 2, "one of Succeeded"),
    ("a.b.c", "unknown task result 'b.c' in 'a.b.c'", 2, "results are"),
    ("A == B", "unexpected character '='", 2, "no comparisons"),
    ("A, B", "unexpected character ','", 1, "join tasks with '&&'"),
    ("A & B", "unexpected character '&'", 2, "did you mean '&&'?"),
    ("(A && B", "missing ')'", 7, "column 1"),
    ("A && B)", "unmatched ')'", 6, "remove it"),
    ("A && !", "expected an operand after '!'", 6, "e.g."),
    ("A.Succeeded.Failed", "unknown task result 'Succeeded.Failed' in 'A.Succeeded.Failed'", 2, "results"),
    ("tasks.A.Succeeded", "unknown task result 'A.Succeeded' in 'tasks.A.Succeeded'", 6, "results"),
]


@pytest.mark.parametrize(("text", "message", "column", "hint"), ERROR_CASES)
def test_errors(text: str, message: str, column: int, hint: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_depends(text)
    assert info.value.message == message
    assert info.value.column == column
    assert info.value.text == text
    assert hint in (info.value.hint or "")
