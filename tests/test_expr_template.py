"""Template strings: parsing, rendering, escapes, errors, and finding the grammar file."""

from __future__ import annotations

from pathlib import Path

import pytest

import kjob
from kjob.errors import KjobError, TemplateError
from kjob.expr import Part, Ref, Template, parse_template, render, template_source
from kjob.expr._grammar import grammar_path, parser

VALUES = {
    "inputs.parameters.name": "world",
    "tasks.check-data-size.outputs.parameters.size": "1500",
    "tasks.a_b.outputs.result": "ok",
    "item": "3",
    "item.key": "v",
    "workflow.name": "wf-1",
    "retries": "2",
    "x": "X",
}


def lookup(path: str) -> str:
    return VALUES[path]


def shape(template: Template) -> list[str | tuple[str, int]]:
    return [p if isinstance(p, str) else (p.path, p.column) for p in template.parts]


# (text, argo_braces, parts as literal strings and (path, column) pairs)
PARSE_CASES: list[tuple[str, bool, list[str | tuple[str, int]]]] = [
    ("", True, []),
    ("plain text", True, ["plain text"]),
    ("<<x>>", True, [("x", 2)]),
    ("<< x >>", False, [("x", 3)]),
    ("{{x}}", True, [("x", 2)]),
    ("{{ x }}", False, ["{{ x }}"]),
    ("hello << inputs.parameters.name >>!", True, ["hello ", ("inputs.parameters.name", 9), "!"]),
    (
        "{{tasks.check-data-size.outputs.parameters.size}} < 1000",
        True,
        [("tasks.check-data-size.outputs.parameters.size", 2), " < 1000"],
    ),
    ("<<\n  item.key\t>>", True, [("item.key", 5)]),
    ("<<a>><<b>>", True, [("a", 2), ("b", 7)]),
    ("<<x>>{{x}}", False, [("x", 2), "{{x}}"]),
    # lone delimiter characters and closers are literal
    ("a < b", True, ["a < b"]),
    ("a<b>c", True, ["a<b>c"]),
    ('{"a": 1}', True, ['{"a": 1}']),
    ('{"a": {"b": 1}}', True, ['{"a": {"b": 1}}']),
    ("x >> y }} z", True, ["x >> y }} z"]),
    ('{"a": {{x}}}', True, ['{"a": ', ("x", 8), "}"]),
    # a run of three or more: the last two open
    ("<<<x>>>", True, ["<", ("x", 3), ">"]),
    ("{{{x}}}", True, ["{", ("x", 3), "}"]),
    ("<<<<x>>", True, ["<<", ("x", 4)]),
    # escapes
    (r"\<<x>>", True, ["<<x>>"]),
    (r"\{{x}}", True, ["{{x}}"]),
    (r"\{{x}}", False, [r"\{{x}}"]),
    (r"cat \<<EOF", True, ["cat <<EOF"]),
    (r"\\<<x>>", True, ["\\", ("x", 4)]),
    (r"\\\<<x>>", True, ["\\<<x>>"]),
    (r"\\\\<<x>>", True, ["\\\\", ("x", 6)]),
    (r"a\b \\ \n", True, [r"a\b \\ \n"]),
    (r"\<<<x>>", True, ["<<<x>>"]),
    (r"\\<<<x>>", True, ["\\<", ("x", 5)]),
    (r"a\{{b}}", True, ["a{{b}}"]),
    # kjob mode: "{{" is plain text, so Helm-style templates pass through
    ("{{ .Values.x }}", False, ["{{ .Values.x }}"]),
    ("{{ x", False, ["{{ x"]),
    # Argo mode: "<<" is a reference only when a whole "<< path >>" follows, else it is text
    ("cat <<EOF\nhello\nEOF", True, ["cat <<EOF\nhello\nEOF"]),
    ("cat <<'EOF' > f\nhi\nEOF", True, ["cat <<'EOF' > f\nhi\nEOF"]),
    ('cat <<"EOF"', True, ['cat <<"EOF"']),
    ("cat <<-EOF", True, ["cat <<-EOF"]),
    ("echo $((1 << 4))", True, ["echo $((1 << 4))"]),
    ("echo $((1<<4))", True, ["echo $((1<<4))"]),
    ("<<<", True, ["<<<"]),
    ('cat <<< "$x"', True, ['cat <<< "$x"']),
    ("python - <<PY\nprint(1)\nPY", True, ["python - <<PY\nprint(1)\nPY"]),
    ("a << b", True, ["a << b"]),
    ("a <<", True, ["a <<"]),
    ("<<\n", True, ["<<\n"]),
    ("<< >>", True, ["<< >>"]),
    ("<< x y >>", True, ["<< x y >>"]),
    ("<<$x>>", True, ["<<$x>>"]),
    ("<< a. >>", True, ["<< a. >>"]),
    ("<< a.b >", True, ["<< a.b >"]),
    ("<< x }}", True, ["<< x }}"]),
    ("<< inputs.parameters.x >>", True, [("inputs.parameters.x", 3)]),
    ("{{a}} and << b >>", True, [("a", 2), " and ", ("b", 13)]),
    ("<<EOF <<x>>", True, ["<<EOF ", ("x", 8)]),
    ("cat <<EOF\n<< x >> {{y}}\nEOF", True, ["cat <<EOF\n", ("x", 13), " ", ("y", 20), "\nEOF"]),
    ("<<<EOF <<<x>>", True, ["<<<EOF <", ("x", 10)]),
    # backslashes before any "<<" are read in pairs, a reference following or not
    (r"\\<<EOF", True, ["\\<<EOF"]),
    (r"\\\<<EOF", True, ["\\<<EOF"]),
]


@pytest.mark.parametrize(("text", "argo", "expected"), PARSE_CASES)
def test_parse(text: str, argo: bool, expected: list[str | tuple[str, int]]) -> None:
    template = parse_template(text, argo_braces=argo)
    assert shape(template) == expected
    assert template.text == text
    assert template.is_literal == (not any(isinstance(p, tuple) for p in expected))
    assert [r.path for r in template.refs] == [p[0] for p in expected if isinstance(p, tuple)]


@pytest.mark.parametrize(("text", "argo", "expected"), PARSE_CASES)
def test_source_round_trip(text: str, argo: bool, expected: list[str | tuple[str, int]]) -> None:
    template = parse_template(text, argo_braces=argo)
    again = parse_template(template.source(), argo_braces=argo)
    assert [p if isinstance(p, str) else p.path for p in again.parts] == [
        p if isinstance(p, str) else p.path for p in template.parts
    ]


RENDER_CASES = [
    ("hello << inputs.parameters.name >>", "hello world"),
    ("{{tasks.check-data-size.outputs.parameters.size}} < 1000", "1500 < 1000"),
    ("{{workflow.name}}-{{item}}-<<retries>>", "wf-1-3-2"),
    ("<<tasks.a_b.outputs.result>>", "ok"),
    ("{{item.key}}", "v"),
    (r"\<<x>> is <<x>>", "<<x>> is X"),
    (r"\{{x}} is {{x}}", "{{x}} is X"),
    ('{"k": "{{x}}"}', '{"k": "X"}'),
    ("no refs", "no refs"),
]


@pytest.mark.parametrize(("text", "expected"), RENDER_CASES)
def test_render(text: str, expected: str) -> None:
    assert render(text, lookup) == expected
    assert parse_template(text).render(lookup) == expected


def test_kjob_mode_keeps_braces() -> None:
    assert render("{{x}} <<x>>", lookup, argo_braces=False) == "{{x}} X"
    helm = 'replicas: {{ .Values.replicas }}\nname: {{ include "app.name" . }}'
    assert render(helm, lookup, argo_braces=False) == helm


def test_argo_scripts_with_heredocs_run_unchanged() -> None:
    script = (
        "cat <<'EOF' > /tmp/in.json\n"
        '{"name": "{{inputs.parameters.name}}", "n": << item >>}\n'
        "EOF\n"
        "echo $((1 << 4)) <<< x\n"
        "python - <<PY\nprint('<<x>>')\nPY\n"
    )
    expected = (
        "cat <<'EOF' > /tmp/in.json\n"
        '{"name": "world", "n": 3}\n'
        "EOF\n"
        "echo $((1 << 4)) <<< x\n"
        "python - <<PY\nprint('X')\nPY\n"
    )
    assert render(script, lookup) == expected


def test_parse_is_cached_and_immutable() -> None:
    first = parse_template("a <<x>>")
    assert parse_template("a <<x>>") is first
    with pytest.raises(AttributeError):
        first.text = "b"  # type: ignore[misc]


def test_template_source_writes_kjob_references() -> None:
    parts: list[Part] = ["a <<", Ref("tasks.x.outputs.result", 0), "{{b}}\\"]
    assert template_source(parts) == "a \\<<<< tasks.x.outputs.result >>\\{{b}}\\"
    assert template_source(parts, argo_braces=False) == "a \\<<<< tasks.x.outputs.result >>{{b}}\\"
    # a backslash right before a reference is doubled, elsewhere it stays single
    assert template_source(["a\\", Ref("x", 0), "\\b"]) == "a\\\\<< x >>\\b"
    assert template_source(["x", "", "y"]) == "xy"
    # every literal "<<" is escaped, in Argo mode too: "<<x>>" as text must not read back as a reference
    assert template_source(["<<", "x>>"]) == "\\<<x>>"
    assert template_source(["cat <<EOF"]) == "cat \\<<EOF"
    assert parse_template(template_source(["<<", Ref("x", 0)])).parts == ("<<", Ref("x", 6))
    with pytest.raises(ValueError, match="not a reference path"):
        template_source([Ref("a b", 0)])


def test_unresolved_reference_points_at_it() -> None:
    text = "echo {{ inputs.parameters.missing }}"
    with pytest.raises(TemplateError) as info:
        render(text, lookup)
    err = info.value
    assert err.message == "cannot resolve 'inputs.parameters.missing'"
    assert err.column == 8
    assert err.text == text
    assert err.hint == "declare it under inputs.parameters (or inputs.artifacts) of this template"
    assert err.context() == f"    {text}\n            ^"


@pytest.mark.parametrize(
    ("path", "hint_part"),
    [
        ("tasks.a.outputs.result", "of a task this one depends on"),
        ("item.missing", "withItems"),
        ("workflow.bogus", "workflow.parameters.NAME"),
        ("bogus", "references start with"),
    ],
)
def test_unresolved_hints(path: str, hint_part: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(f"<<{path}>>", lookup)
    assert hint_part in (info.value.hint or "")


# (text, argo_braces, message, column)
ERROR_CASES = [
    # kjob mode: every "<<" opens a reference
    ("a <<", False, "unclosed '<<': no matching '>>'", 2),
    ("a << x", False, "unclosed '<<': no matching '>>'", 2),
    ("<< >>", False, "empty reference: expected a name between '<<' and '>>'", 0),
    ("<< x y >>", False, "expected '>>' after '<< x', found 'y'", 5),
    ("cat <<EOF\nhello\nEOF", False, "expected '>>' after '<< EOF', found 'hello'", 10),
    ("echo $((1 << 4))", False, "unexpected ')' in reference '<< 4': expected '>>'", 14),
    ("<<<", False, "unclosed '<<': no matching '>>'", 1),
    ("<<$x>>", False, "expected a reference after '<<', found '$'", 2),
    ("<< <<x>> >>", False, "expected a reference after '<<', found '<'", 3),
    ("<< a. >>", False, "unexpected '.' in reference '<< a': expected '>>'", 4),
    ("<< a.b >", False, "unexpected '>' in reference '<< a.b': expected '>>'", 7),
    ("<< x }}", False, "'<<' is closed by '>>', not '}}'", 5),
    ("<<x}}", False, "'<<' is closed by '>>', not '}}'", 3),
    ("<<\n", False, "unclosed '<<': no matching '>>'", 0),
    # Argo mode: "{{" is as strict
    ("a {{ x", True, "unclosed '{{': no matching '}}'", 2),
    ("ok <<x>> then {{y", True, "unclosed '{{': no matching '}}'", 14),
    ("cat <<EOF\n{{ x\nEOF", True, "expected '}}' after '{{ x', found 'EOF'", 15),
    ("x {{}}", True, "empty reference: expected a name between '{{' and '}}'", 2),
    ("{{ x y }}", True, "expected '}}' after '{{ x', found 'y'", 5),
    ("{{ x >>", True, "'{{' is closed by '}}', not '>>'", 5),
    ("{{ <<x>> }}", True, "expected a reference after '{{', found '<'", 3),
    ("run {{=inputs.parameters.x + 1", True, "expression tag '{{=' is not closed", 4),
    ("run {{=inputs.parameters.x +}}", True, "expected an operand after '+'", 28),
    ("{{ =x }}", True, "expected a reference after '{{', found '='", 3),
]


@pytest.mark.parametrize(("text", "argo", "message", "column"), ERROR_CASES)
def test_errors(text: str, argo: bool, message: str, column: int) -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(text, argo_braces=argo)
    assert info.value.message == message
    assert info.value.column == column
    assert info.value.text == text
    assert info.value.hint


def test_heredoc_hint_says_how_to_escape() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template("cat <<EOF\nhi\nEOF", argo_braces=False)
    assert "write '\\<<' for a literal '<<' (e.g. a shell heredoc)" in (info.value.hint or "")


def test_expression_template_hint() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template("{{ =x }}")
    assert "not supported" in (info.value.hint or "")


def test_error_render_draws_a_caret() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template("echo << oops", argo_braces=False)
    assert info.value.render().splitlines()[:3] == [
        "error: unclosed '<<': no matching '>>'",
        "    echo << oops",
        "         ^",
    ]


# ----------------------------------------------------------------------------- finding the grammar


def test_the_grammar_is_found() -> None:
    path = grammar_path()
    assert path.is_file()
    assert "template_kjob" in path.read_text(encoding="utf-8")
    assert parser() is parser()


def test_source_checkout_layout() -> None:
    repo = Path(kjob.__file__).resolve().parent.parent
    assert (repo / "grammar" / "kjob.lark").is_file()


def test_packaged_grammar_wins(tmp_path: Path) -> None:
    package = tmp_path / "site" / "kjob"
    (package / "_grammar").mkdir(parents=True)
    (package / "_grammar" / "kjob.lark").write_text("// shipped\n")
    checkout = tmp_path / "repo"
    (checkout / "grammar").mkdir(parents=True)
    (checkout / "grammar" / "kjob.lark").write_text("// checkout\n")
    assert grammar_path(package, checkout).read_text() == "// shipped\n"
    assert grammar_path(tmp_path / "nowhere", checkout).read_text() == "// checkout\n"


def test_missing_grammar_is_a_kjob_error(tmp_path: Path) -> None:
    with pytest.raises(KjobError, match="grammar file is missing") as info:
        grammar_path(tmp_path / "a", tmp_path / "b")
    assert not isinstance(info.value, TemplateError)
    assert info.value.hint
