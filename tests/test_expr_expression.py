"""Argo expressions (kjob.expr.expression): operators, functions, sprig, jsonpath, errors."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kjob.errors import TemplateError
from kjob.expr import Absent, compile_expression, lookup_env, parse_template, result_text

VALUES = {
    "inputs.parameters.n": "3",
    "inputs.parameters.my-name": "true",
    "inputs.parameters.weather": "eyJ0ZW1wcyI6IFsxLCAyXX0=",  # {"temps": [1, 2]}
    "workflow.parameters.config": '{"people": [{"name": "ann", "age": 43}, {"name": "bo", "age": 30}], "a": "1"}',
    "steps.flip.outputs.result": "heads",
    "steps.heads.outputs.result": "H",
    "item": "7",
}


def _lookup(path: str) -> str:
    if path == "tasks.skipped.outputs.parameters.msg":
        raise Absent(path)
    return VALUES[path]


ENV = lookup_env(_lookup)


def value(text: str, env: Any = ENV) -> Any:
    return compile_expression(text).evaluate(env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # arithmetic: int stays int, / divides exactly, % is Go's (sign of the dividend), ** is float
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("-7 % 3", -1),
        ("2 ** 3", 8.0),
        ("-2 ** 2", -4.0),
        ("1.5 + 1", 2.5),
        ("0x10 + 1_000", 1016),
        # strings and arrays
        ("'a' + \"b\"", "ab"),
        ("'tab\\there'", "tab\there"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("'hello'[1:3]", "el"),
        ("[1, 2, 3][-1]", 3),
        ("[1, 2, 3][1:]", [2, 3]),
        ("1..3", [1, 2, 3]),
        ("{a: 1, 'b-c': [true, nil]}", {"a": 1, "b-c": [True, None]}),
        # comparison and logic
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("1 < 2 < 3", True),
        ("'abc' < 'abd'", True),
        ("!true || false", False),
        ("not false and true", True),
        ("2 in [1, 2]", True),
        ("'x' not in ['y']", True),
        ("'k' in {k: 1}", True),
        ("'abc' matches '^a.c$'", True),
        ("'abc' not matches 'z'", True),
        ("'abc' contains 'b' && 'abc' startsWith 'a' && 'abc' endsWith 'c'", True),
        ("true ? 1 : 2", 1),
        ("false ? 1 : true ? 2 : 3", 2),
        ("nil ?? 'd'", "d"),
        ("{a: 1}.b ?? 2", 2),
        ("{a: nil}?.a?.b", None),
        # variables: dotted, bracketed names with dashes, item
        ("asInt(inputs.parameters.n) * 10", 30),
        ("inputs.parameters['my-name'] == 'true'", True),
        ('inputs.parameters["my-name"]', "true"),
        ("asInt(item) + 1", 8),
        (
            "steps['flip'].outputs.result == 'heads' ? steps.heads.outputs.result : steps.tails.outputs.result",
            "H",
        ),
        ("tasks.skipped.outputs.parameters.msg ?? 'fallback'", "fallback"),
        # builtins
        ("asFloat('2.5') * 2", 5.0),
        ("int(3.9)", 3),
        ("float(2)", 2.0),
        ("string(2.0) + string(true)", "2true"),
        ("len('abc') + len([1]) + len({a: 1})", 5),
        ("toJson({b: [1, 2.5], a: '<'})", '{"a":"\\u003c","b":[1,2.5]}'),
        ("fromJSON('[1, 2]')", [1.0, 2.0]),
        ("filter([1, 2, 3], {# > 1})", [2, 3]),
        ("map([1, 2], # * 2)", [2, 4]),
        ("all([1, 2], {# > 0}) && any([1, 2], {# > 1}) && none([1], {# > 1}) && one([1, 2], {# > 1})", True),
        ("count([1, 2, 3], # > 1)", 2),
        ("map([[1, 2]], {#[0] + #[1]})", [3]),
        ("upper('a') + lower('B') + trim('  c ')", "Abc"),
        ("split('a,b', ',')", ["a", "b"]),
        ("join(['a', 'b'], '-')", "a-b"),
        ("max(1, 5, 2) + min([4, 3])", 8),
        ("sum([1, 2]) + abs(-1)", 4),
        ("first([1, 2]) + last([1, 2])", 3),
        ("keys({a: 1})", ["a"]),
        ("fromBase64(toBase64('hi'))", "hi"),
        # jsonpath
        ("jsonpath(workflow.parameters.config, '$.a')", "1"),
        ("jsonpath(workflow.parameters.config, '$.people[0].age')", 43.0),
        ("jsonpath(workflow.parameters.config, '$.people[*].name')", ["ann", "bo"]),
        ("jsonpath(workflow.parameters.config, '$.people[?(@.name==\"ann\")].age')", [43.0]),
        ("jsonpath(workflow.parameters.config, '$.people[?(@.age>40 && @.age<44)].name')", ["ann"]),
        ("jsonpath(workflow.parameters.config, '$.people[0:1]')", [{"name": "ann", "age": 43.0}]),
        ("jsonpath(workflow.parameters.config, \"$['a']\")", "1"),
        ("jsonpath(workflow.parameters.config, '$..name')", ["ann", "bo"]),
        ("jsonpath('[{\"value\": \"true\"}]', '$[0].value')", "true"),
        # sprig: the subject last, int64 arithmetic, strings read as numbers
        ("sprig.add(1, '2', 3.9)", 6),
        ("sprig.sub(5, 2) + sprig.mul(2, 3) + sprig.div(7, 2) + sprig.mod(7, 4)", 15),
        ("sprig.max(1, '9', 3) - sprig.min(4, 2)", 7),
        ("sprig.replace('a', 'b', 'aXa')", "bXb"),
        ("sprig.contains('b', 'abc') && sprig.hasPrefix('a', 'abc') && sprig.hasSuffix('c', 'abc')", True),
        ("sprig.trim(' x ') + sprig.upper('y') + sprig.lower('Z')", "xYz"),
        ("sprig.b64dec(sprig.b64enc('hi'))", "hi"),
        ("sprig.int('42') + sprig.atoi('x')", 42),
        ("sprig.default('d', '') + sprig.default('d', 'v')", "dv"),
        ("sprig.toJson([1]) + sprig.toString(sprig.fromJson('{\"a\": 1}').a)", "[1]1"),
        ("sprig.date('2006-01-02', 0)", "1970-01-01"),
        ("sprig.substr(1, 3, 'hello') + sprig.trunc(2, 'hello')", "elhe"),
    ],
)
def test_value(text: str, expected: object) -> None:
    assert value(text) == expected


def test_verbose_snippet_map_over_one_element() -> None:
    text = """
        map([
            jsonpath(sprig.b64dec(inputs.parameters.weather), '$.temps')
          ], {
            toJson({total: sprig.add(#[0], #[1]), avg: sprig.add(#[0], #[1]) / 2})
        })[0]
    """
    assert value(text) == '{"avg":1.5,"total":3}'


@pytest.mark.parametrize(
    ("value_", "text"),
    [
        ("x", "x"),
        (3, "3"),
        (3.0, "3"),
        (2.5, "2.5"),
        (1e-5, "0.00001"),
        (1e21, "1e+21"),
        (True, "true"),
        ([1, "a"], '[1,"a"]'),
        ({"b": 1, "a": {"c": None}}, '{"a":{"c":null},"b":1}'),
    ],
)
def test_result_text_is_go_json(value_: object, text: str) -> None:
    assert result_text(value_) == text


def test_variables_are_the_dotted_paths_read() -> None:
    compiled = compile_expression(
        "asInt(inputs.parameters.n) > 1 && steps['flip'].outputs.result == x.y['z'] ?? {k: #}.k"
    )
    assert compiled.variables == (
        ("inputs.parameters.n", 6),
        ("steps.flip.outputs.result", 34),
        ("x.y.z", 66),
    )


def test_a_plain_mapping_env() -> None:
    compiled = compile_expression("lastRetry.status != 'Error' && asInt(lastRetry.exitCode) > 1")
    assert compiled.evaluate({"lastRetry": {"status": "Failed", "exitCode": "2"}}) is True
    assert compiled.evaluate({"lastRetry": {"status": "Error", "exitCode": "2"}}) is False


def test_absent_without_a_fallback_comes_out_as_absent() -> None:
    with pytest.raises(Absent):
        value("tasks.skipped.outputs.parameters.msg")


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("1 +", "expected an operand after '+'", 3),
        ("(1", "missing ')'", 2),
        ("'abc", "unterminated string", 0),
        ("1 2", "expected an operator after '1', found '2'", 2),
        ("a = b", "unexpected character '='", 2),
        ("foo(1)", "unknown function 'foo'", 0),
        ("sprig.nope(1)", "sprig.nope is not supported by kjob yet", 6),
        ("#index", "'#index' is not supported by kjob yet", 0),
    ],
)
def test_syntax_errors_are_located(text: str, message: str, column: int) -> None:
    with pytest.raises(TemplateError) as info:
        compile_expression(text)
    assert (info.value.message, info.value.column) == (message, column)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("asInt('x')", "cannot convert the string 'x' to int", 5),
        ("1 + 'a'", "invalid operation: int + string", 2),
        ("1 < 'a'", "invalid operation: int < string", 2),
        ("1 && true", "'&&' needs true or false, got the number 1", 2),
        ("1 ? 2 : 3", "'?:' needs true or false, got the number 1", 2),
        ("1 / 0", "division by zero", 2),
        ("1.5 % 2", "'%' needs integers, got the number 1.5 and the number 2", 4),
        ("nil.a", "cannot fetch 'a' from nil", 4),
        ("[1][3]", "index out of range: 3 (length 1)", 3),
        ("inputs.parameters.missing", "cannot resolve 'inputs.parameters.missing'", 0),
        ("'a' matches '('", "invalid regular expression '(': missing ): (", 4),
        ("#", "'#' is only defined inside a predicate", 0),
        ("filter([1], {# + 1})", "the predicate of filter must be true or false, got the number 2", 6),
        ("jsonpath('{}', '$.a')", "jsonpath: key 'a' not found", 8),
    ],
)
def test_evaluation_errors_are_located(text: str, message: str, column: int) -> None:
    with pytest.raises(TemplateError) as info:
        value(text)
    assert (info.value.message, info.value.column) == (message, column)


def test_expression_tags_in_templates() -> None:
    template = parse_template("n={{=asInt(inputs.parameters.n) * 10}} {{inputs.parameters.n}} {{= [1, 2] }}")
    assert [r.path for r in template.refs] == ["inputs.parameters.n", "inputs.parameters.n"]
    assert not template.is_literal
    assert template.render(_lookup) == "n=30 3 [1,2]"
    assert parse_template("{{= toJson(filter([1, 3], {# > 1})) }}").render(_lookup) == "[3]"


def test_expression_tag_errors_point_into_the_template() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template("ab {{= 1 + }}")
    assert info.value.column == 11
    with pytest.raises(TemplateError) as info:
        parse_template("ab {{= x").render(_lookup)
    assert (info.value.message, info.value.column) == ("expression tag '{{=' is not closed", 3)
    with pytest.raises(TemplateError) as info:
        parse_template("ab {{= asInt(inputs.parameters.zz) }}").render(_lookup)
    assert (info.value.message, info.value.column) == ("cannot resolve 'inputs.parameters.zz'", 13)
    with pytest.raises(TemplateError) as info:
        parse_template("ab {{= nil }}").render(_lookup)
    assert info.value.message == "the expression's value is nil"


_INTS = st.integers(min_value=-1000, max_value=1000)


@settings(max_examples=60, deadline=None)
@given(_INTS, _INTS, _INTS, st.sampled_from(["+", "-", "*"]), st.sampled_from(["+", "-", "*"]))
def test_integer_arithmetic_agrees_with_python(a: int, b: int, c: int, op1: str, op2: str) -> None:
    text = f"({a}) {op1} ({b}) {op2} ({c})"
    assert value(text) == eval(text)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="ab1 +-*/%()[]{}#'.?:!=<>&|,", max_size=20))
def test_any_text_parses_or_raises_a_template_error(text: str) -> None:
    try:
        compiled = compile_expression(text)
    except TemplateError:
        return
    with contextlib.suppress(TemplateError):  # any problem is a TemplateError, never a crash
        compiled.evaluate({"a": 1, "b": "x"})


def test_an_expression_over_a_dry_runs_placeholder_is_a_placeholder() -> None:
    values = {"tasks.a.outputs.result": "<run-time: a.outputs.result>", "inputs.parameters.n": "3"}
    template = parse_template("x {{= asInt(tasks.a.outputs.result) * 2 }} {{= asInt(inputs.parameters.n) }}")
    assert template.render(values.__getitem__) == "x <run-time: {{= asInt(tasks.a.outputs.result) * 2 }}> 3"
