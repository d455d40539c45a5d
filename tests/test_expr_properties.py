"""Properties of the expression layer, checked with hypothesis.

* any string either parses/evaluates or raises TemplateError (with a column inside the text);
* in Argo mode a "<<" never fails, and text kjob mode accepts reads the same in Argo mode;
* template structure → kjob source → parse gives the same structure back;
* ``when`` and ``depends`` agree with Python's own arithmetic and logic on generated inputs.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kjob.errors import TemplateError
from kjob.expr import Part, Ref, Template, evaluate_when, parse_depends, parse_template, template_source

SPECIAL = list("<>{}\\=!~&|()'\".-_ %*+/$,:\n\t") + list("abAZ09")
texts = st.text(alphabet=st.sampled_from(SPECIAL), max_size=60) | st.text(max_size=40)
WHEN_OPERANDS = ["a", "b", "partition-3", "1", "0", "1.5", "-", "'x'", '"y"', "'('", "true", "false"]
WHEN_OPERATORS = ["==", "!=", "<", ">", "<=", ">=", "=~", "!~", "&&", "||", "!", "(", ")", "+", "*", "/", "%"]
WHEN_TOKENS = [*WHEN_OPERANDS, *WHEN_OPERATORS, "{{x}}", "<<x>>", "{{", "}}", "\\<<"]
when_texts = st.lists(st.sampled_from(WHEN_TOKENS), max_size=12).map(" ".join)
DEPENDS_TOKENS = [
    "a",
    "b-c",
    "d_1",
    "a.Succeeded",
    "b-c.Failed",
    "a.AllFailed",
    "x.Bogus",
    "&&",
    "||",
    "!",
    "(",
    ")",
]
depends_texts = st.lists(st.sampled_from(DEPENDS_TOKENS), max_size=12).map(" ".join)


def _check_error(err: TemplateError, text: str) -> None:
    assert isinstance(err.message, str) and err.message
    assert 0 <= err.column <= len(err.text)
    assert err.render()
    assert str(err)


# ------------------------------------------------------------------------------- never crash


@given(texts, st.booleans())
@example("<<", True)
@example("{{=", True)
@example("\\\\\\<<<<{{{", True)
def test_parse_template_returns_or_raises_template_error(text: str, argo: bool) -> None:
    try:
        template = parse_template(text, argo_braces=argo)
    except TemplateError as err:
        _check_error(err, text)
        assert err.text == text
        return
    assert isinstance(template, Template)
    for ref in template.refs:
        assert text[ref.column : ref.column + len(ref.path)] == ref.path


heredoc_texts = st.lists(
    st.sampled_from(
        ["cat", " ", "<<", "<<<", "<<-", "'EOF'", "EOF", "\n", "x", ">>", "<< x >>", "\\", "$((1", ")))"]
    ),
    max_size=12,
).map("".join)


@given(texts | heredoc_texts)
@example("cat <<EOF\nhello\nEOF")
@example("<< x <<y>> >>")
def test_argo_text_without_braces_always_parses(text: str) -> None:
    """In Argo mode only "{{" can fail: any "<<" is either a whole reference or text."""
    if "{{" in text:
        return
    template = parse_template(text, argo_braces=True)
    for ref in template.refs:
        assert text[ref.column : ref.column + len(ref.path)] == ref.path


@given(texts | heredoc_texts)
@example("<<<x>> \\<< y >>")
def test_argo_mode_reads_kjob_text_the_same(text: str) -> None:
    """Whatever parses in kjob mode (and has no "{") parses to the same parts in Argo mode."""
    if "{" in text:
        return
    try:
        kjob = parse_template(text, argo_braces=False)
    except TemplateError:
        return
    assert parse_template(text, argo_braces=True).parts == kjob.parts


@given(texts | when_texts, texts, st.booleans())
@example("{{x}} < 1", "abc", True)
@example("a =~ {{x}}", "'('", True)
@example("{{x}} % 1 == 0", "9" * 5000, True)
@example("{{x}} % 1 == 0", "9" * 400 + ".5", True)
@example("'a' =~ {{x}}", "'a{4294967296}'", True)
def test_evaluate_when_returns_or_raises_template_error(text: str, value: str, argo: bool) -> None:
    try:
        result = evaluate_when(text, lambda _: value, argo_braces=argo)
    except TemplateError as err:
        _check_error(err, err.text)
        return
    assert isinstance(result, bool)


@given(texts | depends_texts)
@example("a" + " && a" * 3000)
@example("(" * 3000 + "a" + ")" * 3000)
def test_parse_depends_returns_or_raises_template_error(text: str) -> None:
    try:
        depends = parse_depends(text)
    except TemplateError as err:
        _check_error(err, text)
        assert err.text == text
        return
    assert depends.tasks
    try:
        assert isinstance(depends.evaluate(lambda _: "Succeeded"), bool)
    except TemplateError as err:  # only for absurd nesting
        assert err.message == "expression is nested too deeply"


# ------------------------------------------------------------------------------- round trips

segments = st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True)
paths = st.lists(segments, min_size=1, max_size=4).map(".".join)
refs = paths.map(lambda p: Ref(p, 0))
tricky_literals = st.text(alphabet=st.sampled_from(list("<{>}\\ a=")), min_size=1, max_size=8)
literals = tricky_literals | st.text(min_size=1, max_size=6)
parts_lists = st.lists(st.one_of(literals, refs), max_size=8)


def _structure(parts: list[Part] | tuple[Part, ...]) -> list[str | tuple[str]]:
    """Parts with columns dropped and adjacent text merged."""
    out: list[str | tuple[str]] = []
    for part in parts:
        if isinstance(part, Ref):
            out.append((part.path,))
        elif part and out and isinstance(out[-1], str):
            out[-1] += part
        elif part:
            out.append(part)
    return out


@given(parts_lists, st.booleans())
@example(["\\", Ref("x", 0)], True)
@example(["\\<", Ref("x", 0)], True)
@example(["<<<", Ref("x", 0), ">"], True)
@example(["{{=", Ref("x", 0)], True)
@example(["\\{{", "\\"], False)
@example(["<<", "x>>"], True)
@example(["<< ", Ref("x", 0), " >>"], True)
@example(["cat <<EOF\n", Ref("x", 0), "\nEOF"], True)
@example(["\\<<", Ref("x", 0)], True)
def test_source_then_parse_gives_the_same_structure(parts: list[Part], argo: bool) -> None:
    source = template_source(parts, argo_braces=argo)
    template = parse_template(source, argo_braces=argo)
    assert _structure(template.parts) == _structure(parts)
    assert template.source() == source
    for ref in template.refs:
        assert source[ref.column : ref.column + len(ref.path)] == ref.path


plain_literals = st.text(alphabet=st.characters(blacklist_characters="<{\\"), min_size=1, max_size=8)


@given(st.lists(st.one_of(plain_literals, refs), max_size=8), st.booleans())
def test_render_with_an_identity_lookup_gives_the_source_back(parts: list[Part], argo: bool) -> None:
    source = template_source(parts, argo_braces=argo)
    assert parse_template(source, argo_braces=argo).render(lambda path: f"<< {path} >>") == source


@given(st.lists(st.one_of(literals, refs), max_size=8), st.booleans())
def test_render_substitutes_every_reference(parts: list[Part], argo: bool) -> None:
    source = template_source(parts, argo_braces=argo)
    rendered = parse_template(source, argo_braces=argo).render(lambda path: path.upper())
    expected = "".join(p.path.upper() if isinstance(p, Ref) else p for p in parts)
    assert rendered == expected


# ------------------------------------------------------------------------------- when semantics

ORDER: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
ints = st.integers(min_value=-(10**12), max_value=10**12)


@given(ints, st.sampled_from(sorted(ORDER)), ints)
def test_numbers_compare_like_python(a: int, op: str, b: int) -> None:
    values = {"a": str(a), "b": str(b)}
    assert evaluate_when(f"{{{{a}}}} {op} {{{{b}}}}", values.__getitem__) is ORDER[op](a, b)


@given(ints, ints, ints)
def test_arithmetic_precedence(a: int, b: int, c: int) -> None:
    assert evaluate_when(f"{a} + {b} * {c} - {a} == {a + b * c - a}", lambda _: "") is True


words = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,10}", fullmatch=True).filter(
    lambda w: w not in ("true", "false")
)


@given(words, words)
def test_bare_words_are_strings(x: str, y: str) -> None:
    assert evaluate_when(f"{x} == {y}", lambda _: "") is (x == y)
    assert evaluate_when(f"'{x}' == {x}", lambda _: "") is True


@given(st.text(alphabet=st.characters(blacklist_characters="'\\<{"), max_size=20))
def test_quoted_strings_hold_anything(s: str) -> None:
    assert evaluate_when(f"'{s}' == '{s}'", lambda _: "") is True


# ------------------------------------------------------------------------------- depends semantics

TASKS = ["a", "b-1", "c_2"]
RESULTS = ["Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned"]
Expr = tuple[str, Callable[[dict[str, str]], bool]]


def _operand(task: str, result: str | None) -> Expr:
    if result is None:
        return task, lambda r: r[task] in ("Succeeded", "Skipped", "Daemoned")
    return f"{task}.{result}", lambda r: r[task] == result


operands = st.builds(_operand, st.sampled_from(TASKS), st.none() | st.sampled_from(RESULTS))


def _combine(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def both(op: str, x: Expr, y: Expr) -> Expr:
        if op == "&&":
            return f"({x[0]} && {y[0]})", lambda r: x[1](r) and y[1](r)
        return f"({x[0]} || {y[0]})", lambda r: x[1](r) or y[1](r)

    def negate(x: Expr) -> Expr:
        return f"!{x[0]}", lambda r: not x[1](r)

    return st.builds(both, st.sampled_from(["&&", "||"]), children, children) | st.builds(negate, children)


@given(
    st.recursive(operands, _combine, max_leaves=12),
    st.fixed_dictionaries({t: st.sampled_from(RESULTS) for t in TASKS}),
)
@settings(max_examples=300)
def test_depends_agrees_with_python(expr: Expr, results: dict[str, str]) -> None:
    text, truth = expr
    assert parse_depends(text).evaluate(results.__getitem__) is truth(results)
