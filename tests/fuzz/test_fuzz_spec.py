"""Fuzzing the loader and the expression grammar: whatever the input, the only exceptions are kjob's
own, the loader's are located (``file:line:col`` inside the file) and short, and nothing hangs or
takes the machine's memory.

Inputs are edits of every example and seed workflow (:mod:`tests.fuzz.corpus`) for the loader, and
texts built from the grammar's own tokens, hostile numbers and characters for templates, ``when`` and
``depends``.  The run is bounded and reproducible: a fixed number of examples per test
(``KJOB_FUZZ_EXAMPLES`` scales them) drawn with ``derandomize=True``.  At the end the suite says how
many inputs it tried ("fuzz spec: N inputs ...").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kjob.errors import SpecError, SpecErrors, TemplateError
from kjob.expr import TASK_RESULTS, check_when, evaluate_when, parse_depends, parse_template
from kjob.spec import load_text
from tests.fuzz.budget import bounded, report_tally
from tests.fuzz.corpus import RENDERED_VALUES, SEEDS, expression_texts, mutated_workflows

MESSAGE_CHARS = 1000  # an error that quotes more of its input than this is a defect too
TRIED: Counter[str] = Counter()
fuzz = bounded


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from report_tally(request, "spec", TRIED)


def test_the_corpus_has_every_example_and_seed() -> None:
    names = [name for name, _ in SEEDS]
    assert sum(name.startswith("examples/") for name in names) >= 7, names


# ------------------------------------------------------------------------------------------ loader


@fuzz(1200)
@given(mutated_workflows(), st.booleans())
def test_any_edit_of_a_workflow_loads_or_gives_located_spec_errors(
    seed: tuple[str, str], lenient: bool
) -> None:
    _, text = seed
    TRIED["loader"] += 1
    try:
        load_text(text, path="fuzz.yaml", lenient=lenient)
    except SpecErrors as errors:
        assert errors.errors
        lines = text.count("\n") + text.count("\r") + 2
        for error in errors.errors:
            _check_located(error, lines)


def _check_located(error: SpecError, lines: int) -> None:
    assert error.path == "fuzz.yaml"
    assert 1 <= error.line <= lines, error
    assert error.col >= 1, error
    assert error.message and len(error.message) <= MESSAGE_CHARS, error.message[:200]
    assert len(error.render()) <= 4 * MESSAGE_CHARS


# ---------------------------------------------------------------------------------------- grammar


def _lookup(value: str) -> Callable[[str], str]:
    def lookup(path: str) -> str:
        if path.startswith("workflow."):
            raise KeyError(path)  # a reference the run cannot resolve
        return value

    return lookup


def _check_expression_error(error: TemplateError) -> None:
    assert error.message and len(error.message) <= MESSAGE_CHARS, error.message[:200]
    assert 0 <= error.column <= len(error.text)
    assert error.render() and str(error)


@fuzz(1000)
@given(expression_texts, st.booleans(), st.sampled_from(RENDERED_VALUES))
def test_any_template_parses_and_renders_or_gives_a_template_error(text: str, argo: bool, value: str) -> None:
    TRIED["templates"] += 1
    try:
        parse_template(text, argo_braces=argo).render(_lookup(value))
    except TemplateError as error:
        _check_expression_error(error)


@fuzz(1000)
@given(expression_texts, st.booleans(), st.sampled_from(RENDERED_VALUES))
def test_any_when_is_checked_and_decided_or_gives_a_template_error(text: str, argo: bool, value: str) -> None:
    TRIED["when"] += 1
    try:
        check_when(text, argo_braces=argo)
    except TemplateError as error:
        _check_expression_error(error)
    try:
        assert isinstance(evaluate_when(text, _lookup(value), argo_braces=argo), bool)
    except TemplateError as error:
        _check_expression_error(error)


@fuzz(1000)
@given(expression_texts, st.sampled_from(TASK_RESULTS), st.booleans())
def test_any_depends_is_decided_or_gives_a_template_error(text: str, result: str, fanned_out: bool) -> None:
    TRIED["depends"] += 1

    def result_of(task: str) -> str:
        if task.startswith("b"):
            raise KeyError(task)  # a task outside the DAG
        return result

    try:
        depends = parse_depends(text)
        children = (lambda task: [result, "Failed"]) if fanned_out else None
        assert isinstance(depends.evaluate(result_of, children_of=children), bool)
    except TemplateError as error:
        _check_expression_error(error)
