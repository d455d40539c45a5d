"""``when`` conditions, with Argo's meaning: substitute the references as plain text, then evaluate.

``{{tasks.flip.outputs.result}} == heads`` first becomes ``tails == heads`` and is then evaluated.
What the substituted text can contain:

* numbers ``12``, ``1.5`` (compared as numbers); quoted strings ``'x'`` or ``"x"`` (a backslash escapes
  the quote or a backslash, every other backslash stays, so ``'^\\d+$'`` is the regex ``^\\d+$``);
  ``true`` and ``false``; and **bare words**, which are strings: ``heads == heads`` is true.  A bare
  word is letters, digits, ``-``, ``_`` and ``.`` with at least one letter or ``_``
  (``partition-3``, ``v1.2``); ``2023-01-05`` has none, so it is arithmetic, as in Argo.
* operators, loosest first: ``||``; ``&&``; ``== != < > <= >= =~ !~`` (not chained); ``+ -``;
  ``* / %``; unary ``!`` and ``-``; parentheses.

Types follow govaluate (Argo's evaluator): ``==``/``!=`` across types are simply false/true (``1000``
is a number, ``'1000'`` a string, so ``1000 == '1000'`` is false); ordering needs two numbers or two
strings; ``=~``/``!~`` search the left side's text with the right side as an RE2 pattern (Go's, so
Argo's; linear in the text, so no pattern can hang a run); ``+`` adds numbers or
joins strings; ``/`` divides exactly (``5 / 2`` is ``2.5``); ``%`` takes the sign of the dividend
(``-5 % 3`` is ``-2``), as Go does; ``&&``, ``||`` and ``!`` need booleans and short-circuit.  The
result must be ``true`` or ``false``.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kjob.errors import TemplateError
from kjob.expr import _grammar
from kjob.expr._messages import Language, word_problem
from kjob.expr.template import Lookup, Ref, parse_template

if TYPE_CHECKING:  # lark is imported by the first parse (kjob.expr._grammar)
    from lark import Token

Value = bool | int | float | str

_OPERATORS = ("OR", "AND", "NOT", "PLUS", "MINUS", "MUL_OP", "CMP_OP", "RPAR")
_OPERANDS = ("NUMBER", "WORD", "STRING", "LPAR")
_LANGUAGE = Language(
    what="when expression",
    operands=frozenset({"NUMBER", "STRING", "WORD", "LPAR", "NOT", "MINUS"}),
    terminals=_OPERATORS + _OPERANDS,
    example="'{{inputs.parameters.size}} > 1000 && {{tasks.flip.outputs.result}} == heads'",
    join_hint="quote text that contains spaces or symbols, e.g. 'two words'",
    char_hints={
        "=": "'=' is not an operator; did you mean '=='?",
        "&": "did you mean '&&'?",
        "|": "did you mean '||'?",
    },
    bad_char_hint="quote text that contains symbols, e.g. 's3://bucket/key'",
)


class _Failure(Exception):
    """An evaluation problem at a column of the evaluated text; becomes a TemplateError."""

    def __init__(self, message: str, column: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


class _Node:
    column: int

    def value(self) -> Value:
        raise NotImplementedError


@dataclass(frozen=True)
class _Const(_Node):
    constant: Value
    column: int
    source: str  # the literal as written, e.g. "1.50", used when a number meets =~

    def value(self) -> Value:
        return self.constant


@dataclass(frozen=True)
class _Not(_Node):
    operand: _Node
    column: int

    def value(self) -> Value:
        return not _boolean(self.operand.value(), "!", self.column)


@dataclass(frozen=True)
class _Neg(_Node):
    operand: _Node
    column: int

    def value(self) -> Value:
        v = self.operand.value()
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _Failure(f"cannot negate {_show(v)}", self.column, "'-' needs a number")
        return -v


@dataclass(frozen=True)
class _Logic(_Node):
    """``a && b && c`` (or ``||``) as one flat node, evaluated left to right with short-circuit."""

    op: str
    operands: tuple[_Node, ...]
    op_columns: tuple[int, ...]  # column of the operator before operands[i + 1]
    column: int

    def value(self) -> Value:
        stop_at = self.op == "||"
        for i, node in enumerate(self.operands):
            where = self.op_columns[max(i - 1, 0)]
            if _boolean(node.value(), self.op, where) is stop_at:
                return stop_at
        return not stop_at


@dataclass(frozen=True)
class _Arith(_Node):
    """``a + b - c`` (or ``*  / %``) as one flat node, folded left to right."""

    first: _Node
    rest: tuple[tuple[str, int, _Node], ...]  # (operator, its column, operand)
    column: int

    def value(self) -> Value:
        acc = self.first.value()
        for op, column, node in self.rest:
            acc = _arithmetic(op, acc, node.value(), column)
        return acc


@dataclass(frozen=True)
class _Compare(_Node):
    left: _Node
    op: str
    op_column: int
    right: _Node
    column: int

    def value(self) -> Value:
        if self.op in ("=~", "!~"):
            return self._match()
        a, b = self.left.value(), self.right.value()
        same = _kind(a) == _kind(b)
        if self.op == "==":
            return same and a == b
        if self.op == "!=":
            return not (same and a == b)
        if not same or _kind(a) == "boolean":
            raise _Failure(
                f"cannot compare {_show(a)} with {_show(b)} using '{self.op}'",
                self.op_column,
                "ordering needs two numbers or two strings; quote both sides to compare them as text",
            )
        return bool(_ORDER[self.op](a, b))

    def _match(self) -> bool:
        import re2  # here, not at the top: only a when with =~ or !~ needs it (lint starts sooner)

        text = _text(self.left)
        pattern = _text(self.right)
        try:
            found = _regexp(pattern).search(text) is not None
        except re2.error as err:
            why = err.args[0].decode(errors="replace") if err.args and isinstance(err.args[0], bytes) else err
            raise _Failure(
                f"invalid regular expression {_grammar.clip(pattern)!r}: {why}",
                self.right.column,
                "patterns are RE2, as Argo's (Go) are: no backreferences or lookaround",
            ) from None
        return found if self.op == "=~" else not found


@functools.lru_cache(maxsize=256)
def _regexp(pattern: str) -> Any:
    """RE2 (linear time in the text, whatever the pattern: no catastrophic backtracking), the
    regular expressions of Go and so of Argo."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is ours to report, located
    return re2.compile(pattern, options)


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class When:
    """A parsed ``when`` expression (after substitution); :meth:`evaluate` walks the cached tree."""

    text: str
    _root: _Node = field(repr=False, compare=False)

    def evaluate(self) -> bool:
        """The condition's value; TemplateError for a type problem or a result that is not boolean."""
        try:
            result = self._root.value()
        except _Failure as err:
            raise TemplateError(err.message, text=self.text, column=err.column, hint=err.hint) from None
        except RecursionError:
            raise TemplateError("expression is nested too deeply", text=self.text, column=0) from None
        if not isinstance(result, bool):
            raise TemplateError(
                f"when must be true or false, got {_show(result)}",
                text=self.text,
                column=0,
                hint="compare the value, e.g. '{{tasks.flip.outputs.result}} == heads'",
            )
        return result


def parse_when(text: str) -> When:
    """Parse a substituted ``when`` text (cached by text); TemplateError if it is malformed."""
    if len(text) > _grammar.CACHED_CHARS:
        return _parse_when(text)
    return _parse_when_cached(text)


def _parse_when(text: str) -> When:
    return When(text, _grammar.build(text, "when", _WhenTree, lambda t, p: word_problem(t, p, _LANGUAGE)))


_parse_when_cached = functools.lru_cache(maxsize=8192)(_parse_when)


def evaluate_when(text: str, lookup: Lookup, *, argo_braces: bool = True) -> bool:
    """Substitute the references in ``text`` with ``lookup`` and evaluate the result.

    Errors in the references point into ``text``; errors in the expression point into the
    substituted text (their hint quotes ``text`` when the two differ).
    """
    substituted = parse_template(text, argo_braces=argo_braces).render(lookup)
    try:
        return parse_when(substituted).evaluate()
    except TemplateError as err:
        if substituted == text:
            raise
        hint = f"{err.hint}; " if err.hint else ""
        raise TemplateError(
            err.message, text=err.text, column=err.column, hint=f"{hint}substituted from '{text}'"
        ) from None


def check_when(text: str, *, argo_braces: bool = True) -> tuple[Ref, ...]:
    """Check what can be checked before values exist, and return the references.

    The template part is parsed; a ``when`` without references is also parsed as an expression.
    """
    template = parse_template(text, argo_braces=argo_braces)
    if template.is_literal:
        parse_when(template.render(_no_lookup))
    elif "\\" not in text and not template.has_expressions:  # escapes and expression tags: left to run time
        _check_with_stand_ins(text, template.refs, argo_braces)
    return template.refs


def _check_with_stand_ins(text: str, refs: tuple[Ref, ...], argo_braces: bool) -> None:
    """Parse ``text`` with each reference replaced by a word of the same length (one operand, as a
    value of one word renders): the expression around the references must hold whatever they are.
    Same length, so a syntax error's column is the column in ``text``."""
    opener, closer = ("{{", "}}") if argo_braces else ("<<", ">>")
    pieces: list[str] = []
    spans: list[tuple[str, str]] = []  # (stand-in, reference as written)
    end = 0
    for ref in refs:
        start = text.rfind(opener, end, ref.column)
        stop = text.find(closer, ref.column + len(ref.path))
        if start == -1 or stop == -1:
            return  # not a shape this check knows: the run will tell
        stop += len(closer)
        written = text[start:stop]
        stand_in = "v" * len(written)
        pieces += [text[end:start], stand_in]
        spans.append((stand_in, written))
        end = stop
    pieces.append(text[end:])
    try:
        parse_when("".join(pieces))
    except TemplateError as err:
        message = err.message
        for stand_in, written in spans:
            message = message.replace(f"'{stand_in}'", f"'{written}'")
        raise TemplateError(message, text=text, column=err.column, hint=err.hint) from None


def _no_lookup(path: str) -> str:  # pragma: no cover - only called for templates without references
    raise KeyError(path)


# ---------------------------------------------------------------------------------------- the tree


class _WhenTree:
    """Parse tree → evaluation nodes.  Chains of ``&&``, ``||``, ``+ -`` and ``* / %`` stay flat."""

    def __init__(self, text: str) -> None:
        self._text = text

    def when(self, children: list[_Node]) -> _Node:
        return children[0]

    def number(self, children: list[Token]) -> _Node:
        (token,) = children
        text = str(token)
        try:
            value = float(text) if "." in text else int(text)
        except ValueError:  # more digits than Python converts
            raise TemplateError("number too long", text=self._text, column=token.start_pos or 0) from None
        return _Const(value, token.start_pos or 0, text)

    def string(self, children: list[Token]) -> _Node:
        (token,) = children
        return _Const(_unquote(str(token)), token.start_pos or 0, str(token))

    def word(self, children: list[Token]) -> _Node:
        (token,) = children
        text = str(token)
        value: Value = {"true": True, "false": False}.get(text, text)
        return _Const(value, token.start_pos or 0, text)

    def not_op(self, children: list[Any]) -> _Node:
        op, operand = children
        return _Not(operand, op.start_pos or 0)

    def neg(self, children: list[Any]) -> _Node:
        op, operand = children
        return _Neg(operand, op.start_pos or 0)

    def or_test(self, children: list[Any]) -> _Node:
        return self._logic("||", children)

    def and_test(self, children: list[Any]) -> _Node:
        return self._logic("&&", children)

    def comparison(self, children: list[Any]) -> _Node:
        left, op, right = children
        return _Compare(left, str(op), op.start_pos or 0, right, left.column)

    def sum(self, children: list[Any]) -> _Node:
        first, *rest = children
        pairs = tuple((str(rest[i]), rest[i].start_pos or 0, rest[i + 1]) for i in range(0, len(rest), 2))
        return _Arith(first, pairs, first.column)

    product = sum

    @staticmethod
    def _logic(op: str, children: list[Any]) -> _Node:
        operands = tuple(children[0::2])
        columns = tuple(t.start_pos or 0 for t in children[1::2])
        return _Logic(op, operands, columns, operands[0].column)


_ESCAPE = re.compile(r"\\([\\'\"])")


def _unquote(token: str) -> str:
    return _ESCAPE.sub(r"\1", token[1:-1])


# ---------------------------------------------------------------------------------------- semantics


def _kind(v: Value) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    return "string"


def _show(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"the string {_grammar.clip(v)!r}"
    return f"the number {_grammar.clip(_number_text(v))}"


def _number_text(v: int | float) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    try:
        return str(v)
    except ValueError:  # an int with more digits than Python prints
        return "(a number too long to show)"


def _text(node: _Node) -> str:
    """A side of ``=~`` as text: literals as written, computed values in their plain form."""
    if isinstance(node, _Const) and _kind(node.constant) == "number":
        return node.source
    v = node.value()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    return _number_text(v)


def _number(v: Value) -> int | float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return v


def _boolean(v: Value, op: str, column: int) -> bool:
    if not isinstance(v, bool):
        raise _Failure(
            f"'{op}' needs true or false, got {_show(v)}", column, "compare the value first, e.g. 'x == yes'"
        )
    return v


def _arithmetic(op: str, a: Value, b: Value, column: int) -> Value:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    x, y = _number(a), _number(b)
    if x is None or y is None:
        raise _Failure(
            f"cannot use '{op}' on {_show(a)} and {_show(b)}",
            column,
            "'+' adds numbers or joins strings; '-', '*', '/' and '%' need numbers",
        )
    try:
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if y == 0:
            raise _Failure("division by zero", column)
        if op == "/":
            return x / y
        if isinstance(x, int) and isinstance(y, int):
            remainder = abs(x) % abs(y)
            return remainder if x >= 0 else -remainder
        return math.fmod(x, y)
    except OverflowError:
        raise _Failure("number too large", column) from None
    except ValueError:  # math.fmod of an infinite number
        raise _Failure(f"cannot use '{op}' on {_show(a)} and {_show(b)}", column) from None
