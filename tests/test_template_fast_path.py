"""Texts with only plain references skip the grammar: what they parse to is exactly what the grammar
gives (parts, columns), and every other text (escapes, runs of openers, malformed or expression
references) still goes to the grammar, which accepts or reports it as before."""

from __future__ import annotations

from unittest import mock

from hypothesis import example, given
from hypothesis import strategies as st

from kjob.errors import TemplateError
from kjob.expr import template
from kjob.expr.template import Template, _simple_template

PIECES = [
    "{{",
    "}}",
    "{",
    "}",
    "<<",
    ">>",
    "<",
    ">",
    "\\",
    " ",
    "\t",
    "\n",
    "=",
    ".",
    "-",
    "a",
    "b1",
    "x.y",
    "é",
]
texts = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


def by_grammar(text: str, argo_braces: bool) -> Template | str:
    with mock.patch.object(template, "_simple_template", return_value=None):
        try:
            return template._parse_template(text, argo_braces)
        except TemplateError as error:
            return f"error: {error}"


@given(texts, st.booleans())
@example("{{a}}}", True)
@example("{{{a}}", True)
@example("<<<a>>", False)
@example("pre {{ tasks.t-1.outputs.result }}-{{x}} post", True)
@example("x << inputs.parameters.a >> {{ not.a.ref }}", False)
def test_the_fast_path_agrees_with_the_grammar(text: str, argo_braces: bool) -> None:
    fast = _simple_template(text, argo_braces)
    if fast is not None:
        assert by_grammar(text, argo_braces) == fast
        assert fast.refs == by_grammar(text, argo_braces).refs  # type: ignore[union-attr]


def test_plain_references_take_the_fast_path() -> None:
    assert _simple_template("{{workflow.parameters.size}}-7", True) is not None
    assert _simple_template("echo << inputs.parameters.msg >>", False) is not None
    assert _simple_template("{{= 1 + 1 }}", True) is None  # an expression: the grammar reports it
    assert _simple_template("cat \\<<EOF", False) is None  # an escape
