r"""Template strings: literal text with ``<< ref >>`` references (and ``{{ ref }}`` in Argo files).

A reference is a dotted path whose segments are letters, digits, ``-`` and ``_``
(``tasks.check-data-size.outputs.parameters.size``); whitespace inside the delimiters is allowed.
Parsing accepts any such path; what it means is up to the ``lookup`` given to :meth:`Template.render`.

The rest of the text is literal.  A lone ``<`` or ``{`` and any ``>>`` or ``}}`` stay as they are, so
``a < b`` and JSON such as ``{"a": 1}`` pass through untouched.  In a run of three or more ``<``
(or ``{``) the last two open the reference: ``<<<x>>`` is ``<`` followed by the reference ``x``.

The two modes differ in how strict ``<<`` is:

* kjob mode (``argo_braces=False``): every ``<<`` opens a reference, and one that is not closed
  properly is an error.  ``{{`` is plain text (a Helm-style ``{{ .Values.x }}`` passes through).
* Argo mode (``argo_braces=True``): ``{{ ref }}`` is strict as ``<<`` is in kjob mode, but a ``<<`` is
  a reference only when a whole ``<< path >>`` follows; any other ``<<`` is literal text, so Argo
  scripts with heredocs (``cat <<EOF``, ``python - <<'PY'``), shifts (``$((1 << 4))``) and here-strings
  (``<<<``) run unchanged.

Escaping: a backslash before a delimiter makes it literal: ``\<<`` is the text ``<<`` (in kjob mode a
shell heredoc is written ``cat \<<EOF``), and in Argo mode ``\{{`` is the text ``{{``.  Only
backslashes right before ``<<`` (in Argo mode also ``{{``) are special, whether or not a reference
follows: there each pair ``\\`` stands for one literal backslash and an odd one left over escapes the
delimiter (``\\<<x>>`` is a backslash followed by the reference ``x``).  Every other backslash is
literal, so shell and regex text keeps its backslashes.

In Argo mode an expression tag ``{{= expression }}`` (up to the first ``}}``) is an Argo expression
(:mod:`kjob.expr.expression`), parsed with the template and evaluated when it is rendered, with the
template's references as its variables (``{{= asInt(inputs.parameters.n) * 10 }}``); a string value is
written as it is, any other as JSON.  The variables it reads are among the template's ``refs``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kjob.errors import TemplateError
from kjob.expr import _grammar
from kjob.expr._grammar import SyntaxProblem, describe_char
from kjob.expr.expression import Absent, Compiled, Unresolved, compile_expression, lookup_env
from kjob.limits import EXPRESSION_CHARS, RENDERED_CHARS

if TYPE_CHECKING:  # lark is imported by the first parse (kjob.expr._grammar)
    from lark import Token

Lookup = Callable[[str], str]

# How a dry run shows a value known only at run time (kjob.backends.dryrun): an expression that reads
# one is shown as such a value too, as Argo leaves an expression over a placeholder unresolved.
RUN_TIME = "<run-time: "

_PATH = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")
_PATH_IN_REF = re.compile(r"[A-Za-z0-9_./-]+")  # the path inside a whole-reference token
_OPENERS = {"_ANGLES_OPEN": ("<<", ">>"), "_BRACES_OPEN": ("{{", "}}")}
_CLOSERS = {"_ANGLES_CLOSE": ">>", "_BRACES_CLOSE": "}}"}
_REF_TERMINALS = ("PATH", "_ANGLES_CLOSE", "_BRACES_CLOSE")
_REF_SHAPE = (
    "a reference is a dotted name of letters, digits, '-', '_' (and '/' in a label key), "
    "e.g. << inputs.parameters.name >>"
)


class AbsentValueError(TemplateError):
    """A reference rendered to an absent value (see :class:`Absent`); ``path`` is the reference."""

    def __init__(self, message: str, *, path: str, text: str, column: int, hint: str | None = None) -> None:
        super().__init__(message, text=text, column=column, hint=hint)
        self.path = path


@dataclass(frozen=True)
class Ref:
    """One reference in a template: its dotted ``path`` and the 0-based ``column`` where it starts."""

    path: str
    column: int


@dataclass(frozen=True)
class Expr:
    """An expression tag ``{{= ...}}``: its ``source`` (between ``{{=`` and ``}}``), the 0-based
    ``column`` where the tag starts, and the parsed expression."""

    source: str
    column: int
    compiled: Compiled = field(repr=False, compare=False)

    @property
    def offset(self) -> int:
        """The column in the template of the expression's first character."""
        return self.column + 3

    def refs(self) -> tuple[Ref, ...]:
        return tuple(Ref(path, self.offset + column) for path, column in self.compiled.variables)


Part = str | Ref | Expr


@dataclass(frozen=True)
class Template:
    """An immutable parsed template: ``parts`` alternate literal text (escapes already undone) and refs.

    Adjacent literal text is merged and empty text dropped, so two templates with the same meaning
    have equal ``parts``.
    """

    text: str
    parts: tuple[Part, ...]
    argo_braces: bool = True
    refs: tuple[Ref, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        refs: list[Ref] = []
        for part in self.parts:
            if isinstance(part, Ref):
                refs.append(part)
            elif isinstance(part, Expr):
                refs.extend(part.refs())
        object.__setattr__(self, "refs", tuple(refs))

    @property
    def is_literal(self) -> bool:
        """No references and no expressions: rendering gives the same text for every lookup."""
        return not self.refs and not self.has_expressions

    @property
    def has_expressions(self) -> bool:
        return any(isinstance(p, Expr) for p in self.parts)

    def render(self, lookup: Lookup, *, max_chars: int | None = None) -> str:
        """The text with each reference replaced by ``lookup(path)``.

        A ``KeyError`` from ``lookup`` becomes a TemplateError pointing at the reference.  A result
        longer than ``max_chars`` (by default the limit in force, :data:`~kjob.limits.RENDERED_CHARS`;
        a caller rendering many texts at once may read it once and pass it) is a TemplateError too.
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if isinstance(part, Expr):
                out.append(self._evaluate(part, lookup))
                continue
            try:
                out.append(lookup(part.path))
            except Absent:
                raise self._absent(part) from None
            except KeyError:
                raise TemplateError(
                    f"cannot resolve '{_grammar.clip(part.path)}'",
                    text=self.text,
                    column=part.column,
                    hint=unresolved_hint(part.path),
                ) from None
        if any(not isinstance(p, str) for p in self.parts):
            size = sum(map(len, out))  # before joining: the values may repeat one long text many times
            if size > (RENDERED_CHARS.value if max_chars is None else max_chars):
                too_long = RENDERED_CHARS.problem(size, "the rendered text") or "the text is too long"
                raise TemplateError(too_long, text=_grammar.clip(self.text), column=0)
        return "".join(out)

    @property
    def single_ref(self) -> Ref | None:
        """The reference when the text is one reference and nothing else (``{{ tasks.a.outputs.result }}``
        alone)."""
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Ref) else None

    def _evaluate(self, part: Expr, lookup: Lookup) -> str:
        """An expression tag's text; its errors point into this template."""
        try:
            return render_expression(part.compiled, lookup, shown=f"{{{{={part.source}}}}}")
        except Absent as absent:
            path = str(absent.args[0]) if absent.args else part.source.strip()
            raise self._absent(Ref(path, part.offset)) from None
        except Unresolved as err:
            raise TemplateError(
                err.message, text=self.text, column=part.offset + err.column, hint=unresolved_hint(err.path)
            ) from None
        except TemplateError as err:
            raise TemplateError(
                err.message, text=self.text, column=part.offset + err.column, hint=err.hint
            ) from None

    def _absent(self, part: Ref) -> AbsentValueError:
        shown = f"{{{{{part.path}}}}}" if self.argo_braces else f"<< {part.path} >>"
        # Argo's words (util/template/simple_template.go, v4.1.2).
        return AbsentValueError(
            f"unable to substitute {_grammar.clip(shown)}: output is an absent optional "
            "(skipped/omitted node with no default)",
            path=part.path,
            text=self.text,
            column=part.column,
            hint="give the output a valueFrom.default, or pass the value alone as an argument to an "
            "input that has a default",
        )

    def source(self) -> str:
        """kjob text that parses back to these parts (see :func:`template_source`)."""
        return template_source(self.parts, argo_braces=self.argo_braces)


def render_expression(compiled: Compiled, lookup: Lookup, *, shown: str | None = None) -> str:
    """``compiled``'s value as text, its variables read with ``lookup``; when one of them is a dry
    run's run-time placeholder, the placeholder of the expression itself (``shown`` as written)."""
    read: list[str] = []

    def recording(path: str) -> str:
        value = lookup(path)
        read.append(value)
        return value

    try:
        text = compiled.render(lookup_env(recording))
    except TemplateError:
        if not any(value.startswith(RUN_TIME) for value in read):
            raise
        text = RUN_TIME
    if any(value.startswith(RUN_TIME) for value in read):
        return f"{RUN_TIME}{shown or compiled.text}>"
    return text


def parse_template(text: str, *, argo_braces: bool = True) -> Template:
    """Parse ``text`` once (the result is cached); raise TemplateError if it is malformed.

    A text with no delimiter at all (``<<``, and ``{{`` in Argo mode) is literal as a whole and never
    goes to the lexer.
    """
    if "<<" not in text and (not argo_braces or "{{" not in text):
        return Template(text, (text,) if text else (), argo_braces)
    if len(text) <= _SHORT_CHARS:
        return _parse_short_cached(text, argo_braces)
    if len(text) > _grammar.CACHED_CHARS:
        return _parse_template(text, argo_braces)
    return _parse_long_cached(text, argo_braces)


def _parse_template(text: str, argo_braces: bool) -> Template:
    simple = _simple_template(text, argo_braces)
    if simple is not None:
        return simple
    start: _grammar.Start = "template_argo" if argo_braces else "template_kjob"
    parts = _grammar.build(text, start, _TemplateParts, _word_problem)
    return Template(text, tuple(parts), argo_braces)


def _simple_template(text: str, argo_braces: bool) -> Template | None:
    """The parts of a text whose references are all plain ``{{ path }}`` (``<< path >>`` in kjob
    mode) and that holds nothing else the grammar treats specially (no backslash, no other opener, no
    run of three): nearly every text of a real workflow, split by one regular expression instead of
    the lexer and parser (five times faster).  ``None`` for any other text: the grammar decides."""
    if "\\" in text or (argo_braces and "<<" in text) or len(text) > EXPRESSION_CHARS.value:
        return None
    opener = "{{" if argo_braces else "<<"
    parts: list[Part] = []
    end = 0
    for match in _SIMPLE_REFS[argo_braces].finditer(text):
        literal = text[end : match.start()]
        if opener in literal or literal.endswith(opener[0]):
            return None
        if literal:
            parts.append(literal)
        parts.append(Ref(match.group(1), match.start(1)))
        end = match.end()
    rest = text[end:]
    if opener in rest:
        return None
    if rest:
        parts.append(rest)
    return Template(text, tuple(parts), argo_braces)


_SIMPLE_PATH = r"[ \t]*([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)[ \t]*"
_SIMPLE_REFS = {
    True: re.compile(r"\{\{" + _SIMPLE_PATH + r"\}\}"),
    False: re.compile("<<" + _SIMPLE_PATH + ">>"),
}

# A big workflow's texts are read three times (the loader's checks, the dry run's analysis, the
# engine), each pass in the same order: a cache smaller than the distinct texts misses every time.
# Short texts (nearly all) get room for a 100,000-task DAG; a parsed text of up to 256 characters
# takes about 1.2 KB, so the short cache stays under ~320 MB at worst and the long one under ~70 MB.
_SHORT_CHARS = 256
_parse_short_cached = functools.lru_cache(maxsize=2**18)(_parse_template)
_parse_long_cached = functools.lru_cache(maxsize=2**12)(_parse_template)


def render(text: str, lookup: Lookup, *, argo_braces: bool = True, max_chars: int | None = None) -> str:
    """Parse (cached) and render ``text`` in one call (``max_chars``: see :meth:`Template.render`)."""
    if "<<" not in text and (not argo_braces or "{{" not in text):
        return text  # literal as a whole (see parse_template): nothing to parse or build
    return parse_template(text, argo_braces=argo_braces).render(lookup, max_chars=max_chars)


def template_source(parts: Iterable[Part], *, argo_braces: bool = True) -> str:
    """kjob text for ``parts``: the inverse of :func:`parse_template`.

    References are written ``<< path >>``; literal text is escaped so that it reads back unchanged
    (``<<`` as ``\\<<``, ``{{`` as ``\\{{`` when ``argo_braces``, backslashes before them doubled).
    Every literal ``<<`` is escaped, in Argo mode too (where one that starts no whole reference would
    read back as text anyway), so whether it is never depends on the text after it.
    """
    normal = _normalise(parts)
    pieces: list[str] = []
    follow = ""  # the source already written for everything after the current part
    for part in reversed(normal):
        if isinstance(part, Ref):
            if not _PATH.match(part.path):
                raise ValueError(f"not a reference path: {part.path!r}")
            piece = f"<< {part.path} >>"
        elif isinstance(part, Expr):
            piece = f"{{{{={part.source}}}}}"
        else:
            piece = _escape(part, follow, argo_braces)
        pieces.append(piece)
        follow = piece + follow
    return "".join(reversed(pieces))


def unresolved_hint(path: str) -> str:
    """What the references under ``path``'s first segment can be."""
    root = path.split(".", 1)[0]
    if root in ("tasks", "steps"):
        return (
            f"use {root}.NAME.outputs.parameters.NAME, .outputs.artifacts.NAME, .outputs.result, .status or "
            ".exitCode of a task this one depends on"
        )
    if root == "inputs":
        return "declare it under inputs.parameters (or inputs.artifacts) of this template"
    if root == "item":
        return "'item' exists only in a task with withItems, withParam or withSequence"
    if root == "workflow":
        return (
            "use workflow.name, workflow.namespace, workflow.uid, workflow.parameters.NAME, "
            "workflow.labels.KEY or workflow.annotations.KEY"
        )
    return "references start with inputs., tasks., item, workflow. or retries"


# ---------------------------------------------------------------------------------------- internals


class _TemplateParts:
    """Tree → list of parts, undoing escapes; refuses ``{{=`` (the rules of :func:`_grammar.build`)."""

    def __init__(self, text: str) -> None:
        self._text = text

    def template_kjob(self, children: list[Part]) -> list[Part]:
        return _normalise(children)

    template_argo = template_kjob

    def ref_angles(self, children: list[Token]) -> Ref:
        (path,) = children
        return Ref(str(path), path.start_pos or 0)

    aref_braces = ref_angles

    def AREF_ANGLES(self, token: Token) -> Ref:
        """A whole ``<< path >>`` lexed as one token (Argo mode); the column is where the path starts."""
        path = _PATH_IN_REF.search(token)
        assert path is not None  # the token is "<<", spaces, PATH, spaces, ">>"
        return Ref(path.group(), (token.start_pos or 0) + path.start())

    def KTEXT(self, token: Token) -> str:
        return str(token)

    ATEXT = KTEXT
    LONE_ANGLES = KTEXT  # Argo mode: a "<<" that starts no whole reference

    def KBACKSLASHES(self, token: Token) -> str:
        return "\\" * (len(token) // 2)

    ABACKSLASHES = KBACKSLASHES

    def ESC_ANGLES(self, token: Token) -> str:
        return "<<"

    def ESC_BRACES(self, token: Token) -> str:
        return "{{"

    def EXPR_TAG(self, token: Token) -> Expr:
        """``{{= expression }}``: the expression parsed now, its errors located in the template."""
        column = token.start_pos or 0
        source = str(token)[3:-2]
        try:
            compiled = compile_expression(source)
        except TemplateError as err:
            raise TemplateError(
                err.message, text=self._text, column=column + 3 + err.column, hint=err.hint
            ) from None
        return Expr(source, column, compiled)

    def EXPR_OPEN(self, token: Token) -> str:
        raise TemplateError(
            "expression tag '{{=' is not closed",
            text=self._text,
            column=token.start_pos or 0,
            hint="end it with '}}', e.g. '{{= asInt(inputs.parameters.n) + 1 }}'",
        )


def _normalise(parts: Iterable[Part]) -> list[Part]:
    """Merge adjacent text, drop empty text."""
    out: list[Part] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += part
                continue
        out.append(part)
    return out


_RUNS_KJOB = re.compile(r"\\+|<+|[^\\<]+")
_RUNS_ARGO = re.compile(r"\\+|<+|\{+|[^\\<{]+")
_BEFORE_DELIMITER_KJOB = re.compile(r"\\*<<")
_BEFORE_DELIMITER_ARGO = re.compile(r"\\*(?:<<|\{\{)")


def _escape(literal: str, follow: str, argo_braces: bool) -> str:
    """Source text for ``literal`` when ``follow`` is the source written after it."""
    runs = (_RUNS_ARGO if argo_braces else _RUNS_KJOB).findall(literal)
    before_delimiter = _BEFORE_DELIMITER_ARGO if argo_braces else _BEFORE_DELIMITER_KJOB
    pieces: list[str] = []
    for run in reversed(runs):
        if run[0] in "<{" and (run[0] == "<" or argo_braces):
            piece = ("\\" + run[0] * 2) * (len(run) // 2) + run[0] * (len(run) % 2)
        elif run[0] == "\\" and before_delimiter.match(follow):
            piece = run * 2  # a backslash run right before a delimiter is read in pairs
        else:
            piece = run
        pieces.append(piece)
        follow = piece + follow
    return "".join(reversed(pieces))


def _word_problem(text: str, problem: SyntaxProblem) -> TemplateError:
    """Plain words for a template that does not parse (the problem is always inside a reference)."""
    opener_token = next((t for t in reversed(problem.history) if t.type in _OPENERS), None)
    opener, closer = _OPENERS[opener_token.type] if opener_token is not None else ("<<", ">>")
    opened_at = (opener_token.start_pos or 0) if opener_token is not None else problem.pos
    previous = problem.previous
    path = _grammar.clip(str(previous)) if previous is not None and previous.type == "PATH" else None
    escape = f"write '\\{opener}' for a literal '{opener}'" + (
        " (e.g. a shell heredoc)" if opener == "<<" else ""
    )
    found = problem.found
    if found is not None and found.type not in _REF_TERMINALS:
        found = None  # the contextual lexer's fallback named it after text outside references
    if found is None and problem.pos < len(text):
        found = _grammar.match_terminal(text, problem.pos, _REF_TERMINALS)

    if found is None and problem.pos >= len(text):
        return TemplateError(
            f"unclosed '{opener}': no matching '{closer}'",
            text=text,
            column=opened_at,
            hint=f"close the reference with '{closer}', or {escape}",
        )
    if found is not None and found.type in _CLOSERS:
        if path is None:
            return TemplateError(
                f"empty reference: expected a name between '{opener}' and '{found}'",
                text=text,
                column=opened_at,
                hint=_REF_SHAPE,
            )
        return TemplateError(
            f"'{opener}' is closed by '{closer}', not '{_grammar.clip(found)}'",
            text=text,
            column=problem.pos,
            hint=escape,
        )
    if found is not None and found.type == "PATH" and path is not None:
        return TemplateError(
            f"expected '{closer}' after '{opener} {path}', found '{_grammar.clip(found)}'",
            text=text,
            column=problem.pos,
            hint=f"a reference is one dotted name without spaces; {escape}",
        )
    shown = describe_char(text[problem.pos]) if problem.pos < len(text) else "the end"
    if path is None:
        message = f"expected a reference after '{opener}', found {shown}"
    else:
        message = f"unexpected {shown} in reference '{opener} {path}': expected '{closer}'"
    hint = f"{_REF_SHAPE}; {escape}"
    if opener == "{{" and path is None and text.startswith("=", problem.pos):
        hint = "expression templates '{{= ...}}' are not supported yet; use a plain reference"
    return TemplateError(message, text=text, column=problem.pos, hint=hint)
