"""``when`` conditions: substitution, then govaluate-like evaluation."""

from __future__ import annotations

import pytest

from kjob.errors import TemplateError
from kjob.expr import Ref, check_when, evaluate_when, parse_when

VALUES = {
    "tasks.check-data-size.outputs.parameters.size": "1500",
    "tasks.flip.outputs.result": "heads",
    "tasks.flip.status": "Succeeded",
    "inputs.parameters.n": "7",
    "inputs.parameters.empty": "",
    "inputs.parameters.words": "two words",
    "inputs.parameters.flag": "true",
    "item": "partition-3",
}


def lookup(path: str) -> str:
    return VALUES[path]


TRUE_FALSE_CASES: list[tuple[str, bool]] = [
    # literals and bare words
    ("true", True),
    ("false", False),
    ("heads == heads", True),
    ("heads == tails", False),
    ("heads != tails", True),
    ("partition-3 == partition-3", True),
    ("v1.2.3 == v1.2.3", True),
    ("_x == _x", True),
    ("'a b' == \"a b\"", True),
    ("'it\\'s' == \"it's\"", True),
    ("'true' == true", False),
    # numbers
    ("1500 >= 1000", True),
    ("1500 < 1000", False),
    ("1.5 == 1.50", True),
    ("2 == 2.0", True),
    ("10 > 9", True),
    ("'10' > '9'", False),  # quoted: compared as strings
    ("'abc' < 'abd'", True),
    ("1000 == '1000'", False),
    ("1000 != '1000'", True),
    ("5 == five", False),
    ("5 != five", True),
    ("true == 1", False),
    ("2023-01-05 == 2017", True),  # digits and dashes are arithmetic, as in Argo
    ("1000abc == 1000abc", True),
    # arithmetic
    ("5 % 2 == 1", True),
    ("-5 % 3 == -2", True),
    ("5.5 % 2 == 1.5", True),
    ("5 / 2 == 2.5", True),
    ("4 / 2 == 2", True),
    ("1 + 2 * 3 == 7", True),
    ("(1 + 2) * 3 == 9", True),
    ("10 - 2 - 3 == 5", True),
    ("2 * 3 % 4 == 2", True),
    ("-2 * -3 == 6", True),
    ("--1 == 1", True),
    ("'ab' + 'cd' == abcd", True),
    ("1 + 2 > 2", True),
    # regex
    ("'abc' =~ '^a'", True),
    ("'abc' !~ '^a'", False),
    ("abc =~ 'b'", True),
    ("1500 =~ '^15'", True),
    ("1.50 =~ '50$'", True),
    (r"'a1' =~ '^[a-z]\d$'", True),
    ("true =~ tru", True),
    # logic and precedence
    ("!(a == b)", True),
    ("!false", True),
    ("!!true", True),
    ("true || false && false", True),  # && binds tighter
    ("(true || false) && false", False),
    ("false && true || true", True),
    ("1 < 2 && 2 < 3", True),
    ("a == a && b == b && c == c && d == d", True),
    ("a == b || b == c || c == c", True),
    ("!(1 > 2) && 3 % 2 == 1 || false", True),
    # short-circuit: the right side is never evaluated
    ("false && 'x' < 1", False),
    ("true || 'x' < 1", True),
    # with references
    ("{{tasks.check-data-size.outputs.parameters.size}} < 1000", False),
    ("{{tasks.check-data-size.outputs.parameters.size}} >= 1000", True),
    ("<<tasks.flip.outputs.result>> == heads", True),
    ("{{tasks.flip.outputs.result}} == tails", False),
    ("{{tasks.flip.status}} == Succeeded", True),
    ("{{inputs.parameters.n}} % 2 == 1", True),
    ("'{{inputs.parameters.empty}}' == ''", True),
    ("'{{inputs.parameters.words}}' == 'two words'", True),
    ("{{inputs.parameters.flag}}", True),
    ("{{item}} =~ '^partition-'", True),
    ("{{ item }} == partition-3", True),
]


@pytest.mark.parametrize(("text", "expected"), TRUE_FALSE_CASES)
def test_evaluate(text: str, expected: bool) -> None:
    assert evaluate_when(text, lookup) is expected


def test_comparisons_do_not_chain() -> None:
    with pytest.raises(TemplateError, match="comparisons cannot be chained"):
        evaluate_when("1 < 2 == true", lookup)


def test_kjob_mode_leaves_braces_alone() -> None:
    assert evaluate_when("<<tasks.flip.outputs.result>> == heads", lookup, argo_braces=False)
    with pytest.raises(TemplateError, match="unexpected character"):
        evaluate_when("{{tasks.flip.outputs.result}} == heads", lookup, argo_braces=False)


def test_parse_is_cached() -> None:
    assert parse_when("a == b") is parse_when("a == b")
    assert parse_when("a == b").evaluate() is False


# (text, message, column) — the column is into the substituted text
ERROR_CASES = [
    ("", "empty when expression", 0),
    ("   ", "empty when expression", 3),
    ("a &&", "expected an operand after '&&'", 4),
    ("&& a", "expected an operand at the start, found '&&'", 0),
    ("a == ", "expected an operand after '=='", 5),
    ("a b", "expected an operator after 'a', found 'b'", 2),
    ("a == b == c", "comparisons cannot be chained", 7),
    ("(a == b", "missing ')'", 7),
    ("a == b)", "unmatched ')'", 6),
    ("a = b", "unexpected character '='", 2),
    ("a & b", "unexpected character '&'", 2),
    ("a == 'b", "unterminated string", 5),
    ("a == $b", "unexpected character '$'", 5),
    ("a !b", "expected an operator after 'a', found '!'", 2),
    ("()", "expected an operand after '(', found ')'", 1),
    ("1 < abc", "cannot compare the number 1 with the string 'abc' using '<'", 2),
    ("'1000' < 1000", "cannot compare the string '1000' with the number 1000 using '<'", 7),
    ("true < false", "cannot compare true with false using '<'", 5),
    ("heads", "when must be true or false, got the string 'heads'", 0),
    ("1 + 1", "when must be true or false, got the number 2", 0),
    ("!a", "'!' needs true or false, got the string 'a'", 0),
    ("a && true", "'&&' needs true or false, got the string 'a'", 2),
    ("true && 1 == 1 && 5", "'&&' needs true or false, got the number 5", 15),
    ("1 / 0 == 1", "division by zero", 2),
    ("1 % 0 == 1", "division by zero", 2),
    ("a - 1 == 1", "cannot use '-' on the string 'a' and the number 1", 2),
    ("-a == 1", "cannot negate the string 'a'", 0),
    ("'a' + 1 == 1", "cannot use '+' on the string 'a' and the number 1", 4),
    ("a =~ '('", "invalid regular expression '(': missing ): (", 5),
    ("a =~ '(?<=a)b'", "invalid regular expression '(?<=a)b': invalid perl operator: (?<=", 5),
    ("1.2.3 == 1", "unexpected character '.'", 3),
]


@pytest.mark.parametrize(("text", "message", "column"), ERROR_CASES)
def test_errors(text: str, message: str, column: int) -> None:
    with pytest.raises(TemplateError) as info:
        evaluate_when(text, lookup)
    assert info.value.message == message
    assert info.value.column == column
    assert info.value.text == text


def test_error_after_substitution_points_into_the_substituted_text() -> None:
    text = "{{inputs.parameters.words}} == x"
    with pytest.raises(TemplateError) as info:
        evaluate_when(text, lookup)
    err = info.value
    assert err.text == "two words == x"
    assert err.message == "expected an operator after 'two', found 'words'"
    assert err.column == 4
    assert (
        err.hint == f"quote text that contains spaces or symbols, e.g. 'two words'; substituted from '{text}'"
    )


def test_unresolved_reference_points_into_the_original_text() -> None:
    with pytest.raises(TemplateError) as info:
        evaluate_when("x == {{tasks.other.outputs.result}}", lookup)
    assert info.value.message == "cannot resolve 'tasks.other.outputs.result'"
    assert info.value.column == 7


def test_a_when_may_be_an_expression_tag() -> None:
    assert evaluate_when("{{=asInt(inputs.parameters.n) > 1}}", {"inputs.parameters.n": "2"}.__getitem__)
    assert not evaluate_when("{{= inputs.parameters['n'] == '3' }}", {"inputs.parameters.n": "2"}.__getitem__)


def test_long_chains_do_not_recurse() -> None:
    text = " && ".join(["a == a"] * 3000)
    assert evaluate_when(text, lookup) is True
    assert evaluate_when(" + ".join(["1"] * 3000) + " == 3000", lookup) is True


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    text = "(" * 5000 + "true" + ")" * 5000
    try:
        assert evaluate_when(text, lookup) is True
    except TemplateError as err:
        assert err.message == "expression is nested too deeply"


def test_check_when_returns_refs_without_values() -> None:
    refs = check_when("{{tasks.a.outputs.result}} == x && <<item>> != y")
    assert refs == (Ref("tasks.a.outputs.result", 2), Ref("item", 37))
    assert check_when("a == b") == ()


def test_check_when_checks_literal_expressions() -> None:
    with pytest.raises(TemplateError, match="expected an operand after '&&'"):
        check_when("a == b &&")
    with pytest.raises(TemplateError, match="unclosed"):
        check_when("{{tasks.a.outputs.result")
    # with references too: each stands in as one operand
    with pytest.raises(TemplateError, match="expected an operand after '&&'"):
        check_when("{{x}} &&")
    assert check_when("{{x}} && y") == (Ref("x", 2),)


def test_a_catastrophic_pattern_cannot_hang_a_run() -> None:
    """``(a+)+$`` on 40 a's and a b backtracks 2**40 times in Python's ``re``; RE2 (Go's, so Argo's
    engine) is linear in the text.  Run in a thread so a regression fails instead of hanging."""
    import threading

    answer: list[bool] = []
    worker = threading.Thread(
        target=lambda: answer.append(
            evaluate_when("{{inputs.parameters.words}} =~ '(a+)+$'", lambda _: "a" * 40 + "b")
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=20)
    assert answer == [False]


def test_re2_patterns_are_go_patterns() -> None:
    assert evaluate_when("'Hello' =~ '(?i)^hello$'", lookup) is True
    assert evaluate_when("'café' =~ '^caf.$'", lookup) is True  # . is one character, not one byte
    with pytest.raises(TemplateError) as info:
        evaluate_when("aa =~ '(a)\\\\1'", lookup)
    assert info.value.hint == "patterns are RE2, as Argo's (Go) are: no backreferences or lookaround"


@pytest.mark.parametrize(
    "text",
    [
        "{{tasks.flip.outputs.result}} == heads",
        "{{tasks.flip.outputs.result}} =~ 'hea.*'",
        "'{{inputs.parameters.x}}' != ''",
        "{{workflow.status}} == Succeeded && {{inputs.parameters.n}} > 5",
        "!{{inputs.parameters.skip}}",
        "{{inputs.parameters.a}}{{inputs.parameters.b}} == ab",
        "({{item}} + 1) * 2 >= -{{inputs.parameters.n}}",
        "{{inputs.parameters.condition}}",
    ],
)
def test_a_when_with_references_that_can_hold_values_passes_the_check(text: str) -> None:
    check_when(text, argo_braces=True)


def test_a_when_with_references_is_checked_before_values_exist() -> None:
    """The expression around the references is parsed at lint (references stand in as one word),
    and the error points into the text as written."""
    text = "{{tasks.a.outputs.result}} == == 3"
    with pytest.raises(TemplateError) as caught:
        check_when(text, argo_braces=True)
    assert caught.value.text == text
    assert caught.value.column == text.index("== 3")
    assert "vvv" not in caught.value.message
    with pytest.raises(TemplateError) as dangling:
        check_when("{{tasks.a.outputs.result}} ==", argo_braces=True)
    assert "vvv" not in dangling.value.message
