"""Argo's expression language (expr-lang/expr, as Argo v4.1.2 uses it), parsed by kjob's one grammar.

Public API (other modules build on exactly this)::

    compile_expression(text: str) -> Compiled       # parsed once per text (cached); a syntax error,
                                                     # an unknown function or sprig.NAME is a
                                                     # TemplateError whose column points into text
    Compiled.evaluate(env: Mapping[str, object], *, pointer=...) -> object
                                                     # a problem is a TemplateError (column in text);
                                                     # an absent value read without '??' is Absent
    Compiled.render(env) -> str                      # the value as an expression tag writes it: a
                                                     # string as it is, others as JSON, nil an error
    Compiled.variables -> tuple[(path, column), ...] # dotted paths it reads: inputs.parameters.x
    Compiled.text
    result_text(value) -> str                        # a value as an expression tag writes it
    lookup_env(lookup) -> Mapping[str, object]       # an env whose variables a kjob Lookup resolves
    Namespace                                        # base of lazy env values (see lookup_env)

A caller in the spec layer locates an error with ``locator.at(text, error.column)``.

``env`` maps root names to values: Python ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``,
``dict`` (a missing key reads as nil, as in expr-lang), or a :class:`Namespace`, whose members are
looked up only when read (``inputs.parameters['my-name']`` reads the path
``inputs.parameters.my-name``).  The functions (``asInt``, ``jsonpath``, ``filter``, ...,
``sprig.*``) come first: they are not looked up in ``env``.

The language: literals (``1``, ``2.5``, ``0x1f``, ``'text'``, ``"text"``, ``true``, ``false``,
``nil``, ``[1, 2]``, ``{key: value}``), member and index access (``a.b``, ``a?.b``, ``a['b-c']``,
``a[0]``, ``a[1:3]``), calls, ``#`` inside a predicate (``filter(xs, {# > 1})``), ``!``/``not``,
unary ``-``, ``**``, ``* / %`` (``/`` always divides exactly, ``%`` takes integers), ``+`` (numbers,
strings, arrays), ``-``, ``..`` (an integer range), comparisons, ``in``/``not in``,
``matches``/``not matches`` (RE2, linear time), ``contains``, ``startsWith``, ``endsWith``,
``&&``/``and``, ``||``/``or`` (booleans, short-circuit), ``??`` (the right side when the left is nil
or absent) and ``cond ? a : b``.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kjob.errors import TemplateError
from kjob.expr import _grammar
from kjob.expr._messages import Language, word_problem
from kjob.expr._values import EvalFailure, equal, is_number, kind, result_text, show
from kjob.expr.functions import BUILTINS, PREDICATE_BUILTINS
from kjob.expr.sprig import SPRIG

if TYPE_CHECKING:
    from lark import Token

__all__ = [
    "Absent",
    "Compiled",
    "Namespace",
    "Unresolved",
    "compile_expression",
    "lookup_env",
    "result_text",
]


class Absent(KeyError):
    """Raised by a lookup for a reference that names a real value which is absent: an output of a
    task that was skipped or omitted and declares no default.  An expression's ``??`` gives its right
    side instead; elsewhere it comes out of :meth:`Compiled.evaluate` as itself."""


class Unresolved(TemplateError):
    """A variable the expression reads does not exist; ``path`` is the dotted path."""

    def __init__(self, message: str, *, path: str, text: str, column: int) -> None:
        super().__init__(message, text=text, column=column)
        self.path = path


class Namespace:
    """A lazy value of an env: its members are namespaces or values, its own value is found only
    when the expression uses it (a ``KeyError`` then means there is none)."""

    def member(self, key: str) -> object:
        raise NotImplementedError

    def resolve(self) -> object:
        raise NotImplementedError

    @property
    def path(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class _PathNamespace(Namespace):
    _path: str
    _lookup: Callable[[str], str]

    def member(self, key: str) -> object:
        return _PathNamespace(f"{self._path}.{key}", self._lookup)

    def resolve(self) -> object:
        return self._lookup(self._path)

    @property
    def path(self) -> str:
        return self._path


class _LookupEnv(Mapping[str, object]):
    def __init__(self, lookup: Callable[[str], str]) -> None:
        self._lookup = lookup

    def __getitem__(self, key: str) -> object:
        return _PathNamespace(key, self._lookup)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def lookup_env(lookup: Callable[[str], str]) -> Mapping[str, object]:
    """An env in which every variable is the text ``lookup(dotted path)`` (a template's references:
    ``inputs.parameters.x``, ``tasks.a.outputs.result``, ``item``, ``workflow.name``, ...)."""
    return _LookupEnv(lookup)


_NO_POINTER = object()


@dataclass(frozen=True)
class Compiled:
    """A parsed expression; :meth:`evaluate` runs it against an env."""

    text: str
    variables: tuple[tuple[str, int], ...]
    _run: Callable[[_Context], object] = field(repr=False, compare=False)

    def evaluate(self, env: Mapping[str, object], *, pointer: object = _NO_POINTER) -> object:
        """The expression's value in ``env`` (``pointer`` is ``#``, for a predicate's body)."""
        try:
            return self._run(_Context(env, pointer))
        except _Missing as err:
            raise Unresolved(
                f"cannot resolve '{_grammar.clip(err.path)}'",
                path=err.path,
                text=self.text,
                column=err.column,
            ) from None
        except EvalFailure as err:
            raise TemplateError(err.message, text=self.text, column=err.column, hint=err.hint) from None
        except RecursionError:
            raise TemplateError("expression is nested too deeply", text=self.text, column=0) from None

    def render(self, env: Mapping[str, object]) -> str:
        """The value as an expression tag writes it (see :func:`result_text`)."""
        value = self.evaluate(env)
        try:
            return result_text(value)
        except EvalFailure as err:
            raise TemplateError(err.message, text=self.text, column=0, hint=err.hint) from None


def compile_expression(text: str) -> Compiled:
    """Parse ``text`` (cached by text); TemplateError, located in ``text``, if it is malformed."""
    if len(text) > _grammar.CACHED_CHARS:
        return _compile(text)
    return _compile_cached(text)


def _compile(text: str) -> Compiled:
    builder = _Builder(text)
    node: _Node = _grammar.build(text, "expression", lambda t: builder, _word)
    return Compiled(text, tuple(builder.paths.values()), _value_of(node))


_compile_cached = functools.lru_cache(maxsize=4096)(_compile)

_LANGUAGE = Language(
    what="expression",
    operands=frozenset(
        {"E_NAME", "POINTER", "E_NUMBER", "STRING", "E_TRUE", "E_FALSE", "E_NIL", "LSQB", "LBRACE", "LPAR"}
        | {"NOT", "E_NOT", "MINUS", "PLUS"}
    ),
    terminals=(
        "E_NAME",
        "POINTER",
        "E_NUMBER",
        "STRING",
        "E_TRUE",
        "E_FALSE",
        "E_NIL",
        "LSQB",
        "RSQB",
        "LBRACE",
        "RBRACE",
        "LPAR",
        "RPAR",
        "NOT",
        "E_NOT",
        "MINUS",
        "PLUS",
        "MUL_OP",
        "POW",
        "COALESCE",
        "QMARK",
        "COLON",
        "COMMA",
        "DOT",
        "OPT_DOT",
        "RANGE",
        "OR",
        "AND",
        "E_OR",
        "E_AND",
        "E_CMP",
        "E_IN",
        "E_MATCHES",
        "E_CONTAINS",
        "E_STARTS",
        "E_ENDS",
    ),
    example="asInt(inputs.parameters.count) > 2 ? 'many' : 'few'",
    join_hint="join operands with an operator, e.g. 'a + b' or 'a && b'",
    char_hints={
        "=": "'=' is not an operator; did you mean '=='?",
        "&": "did you mean '&&'?",
        "|": "did you mean '||'?",
    },
    bad_char_hint="quote text, e.g. 'some text'",
)


def _word(text: str, problem: _grammar.SyntaxProblem) -> TemplateError:
    return word_problem(text, problem, _LANGUAGE)


# ---------------------------------------------------------------------------------------- evaluation


class _Missing(EvalFailure):
    def __init__(self, path: str, column: int) -> None:
        super().__init__(f"cannot resolve '{path}'", column)
        self.path = path


@dataclass(frozen=True)
class _Context:
    env: Mapping[str, object]
    pointer: object

    def with_pointer(self, pointer: object) -> _Context:
        return _Context(self.env, pointer)


_Run = Callable[[_Context], object]


@dataclass(frozen=True, eq=False)
class _Node:
    run: _Run
    column: int
    name: str | None = None  # a bare name (a function or a root variable)
    path: str | None = None  # the dotted path of a variable chain (inputs.parameters.x)
    is_pointer_free: bool = True
    is_closure: bool = False  # a predicate: its value is a function of the element
    key: str | None = None  # a string literal's value (a static index: a['b-c'])


def _force(value: object, column: int) -> object:
    """A namespace's own value (the others as they are)."""
    if isinstance(value, Namespace):
        try:
            return value.resolve()
        except Absent:
            raise
        except KeyError:
            raise _Missing(value.path, column) from None
    return value


def _value_of(node: _Node) -> _Run:
    run, column = node.run, node.column
    return lambda ctx: _force(run(ctx), column)


def _boolean(value: object, what: str, column: int) -> bool:
    if not isinstance(value, bool):
        raise EvalFailure(f"{what} needs true or false, got {show(value)}", column)
    return value


def _number(value: object, op: str, column: int) -> int | float:
    if not is_number(value):
        raise EvalFailure(f"'{op}' needs numbers, got {show(value)}", column)
    return value  # type: ignore[return-value]


def _add(a: object, b: object, column: int) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if is_number(a) and is_number(b):
        return a + b  # type: ignore[operator]
    raise EvalFailure(
        f"invalid operation: {kind(a)} + {kind(b)}", column, "'+' adds numbers, strings or arrays"
    )


def _arithmetic(op: str, a: object, b: object, column: int) -> object:
    if op == "+":
        return _add(a, b, column)
    x, y = _number(a, op, column), _number(b, op, column)
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        if y == 0:
            raise EvalFailure("division by zero", column)
        return x / y
    if op == "%":
        if not isinstance(x, int) or not isinstance(y, int):
            raise EvalFailure(f"'%' needs integers, got {show(a)} and {show(b)}", column)
        if y == 0:
            raise EvalFailure("integer divide by zero", column)
        remainder = abs(x) % abs(y)
        return remainder if x >= 0 else -remainder
    try:
        return math.pow(x, y)
    except (OverflowError, ValueError):
        raise EvalFailure(f"cannot raise {show(a)} to {show(b)}", column) from None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _compare(op: str, a: object, b: object, column: int) -> bool:
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op in _ORDER:
        if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return _ORDER[op](a, b)
        raise EvalFailure(
            f"invalid operation: {kind(a)} {op} {kind(b)}", column, "compare two numbers or two strings"
        )
    if op in ("in", "not in"):
        return _contains(b, a, column) == (op == "in")
    if op in ("matches", "not matches"):
        return _matches(a, b, column) == (op == "matches")
    if not isinstance(a, str) or not isinstance(b, str):
        raise EvalFailure(f"'{op}' needs two strings, got {show(a)} and {show(b)}", column)
    if op == "contains":
        return b in a
    if op == "startsWith":
        return a.startswith(b)
    return a.endswith(b)


def _contains(container: object, element: object, column: int) -> bool:
    if isinstance(container, list | tuple):
        return any(equal(element, e) for e in container)
    if isinstance(container, Mapping):
        return element in container
    raise EvalFailure(f"'in' needs an array or a map on its right, got {show(container)}", column)


def _matches(text: object, pattern: object, column: int) -> bool:
    import re2  # here: only an expression with matches needs it

    if not isinstance(text, str) or not isinstance(pattern, str):
        raise EvalFailure(f"'matches' needs two strings, got {show(text)} and {show(pattern)}", column)
    try:
        return _regexp(pattern).search(text) is not None
    except re2.error as err:
        why = err.args[0].decode(errors="replace") if err.args and isinstance(err.args[0], bytes) else err
        raise EvalFailure(
            f"invalid regular expression {_grammar.clip(pattern)!r}: {why}",
            column,
            "patterns are RE2, as Argo's (Go) are: no backreferences or lookaround",
        ) from None


@functools.lru_cache(maxsize=256)
def _regexp(pattern: str) -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options)


def _member(value: object, key: object, column: int, optional: bool) -> object:
    if isinstance(value, Namespace) and isinstance(key, str):
        return value.member(key)
    value = _force(value, column)
    if value is None:
        if optional:
            return None
        raise EvalFailure(
            f"cannot fetch {_show_key(key)} from nil", column, "use '?.' or '??' for a value that may be nil"
        )
    if isinstance(value, Mapping):
        return value.get(key)
    if isinstance(value, list | tuple | str) and isinstance(key, int) and not isinstance(key, bool):
        if not -len(value) <= key < len(value):
            raise EvalFailure(f"index out of range: {key} (length {len(value)})", column)
        return value[key]
    raise EvalFailure(f"cannot fetch {_show_key(key)} from {show(value)}", column)


def _show_key(key: object) -> str:
    return repr(key) if isinstance(key, str) else show(key)


def _slice(value: object, start: object, end: object, column: int) -> object:
    if not isinstance(value, list | tuple | str):
        raise EvalFailure(f"cannot slice {show(value)}", column)
    bounds: list[int | None] = []
    for bound in (start, end):
        if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
            raise EvalFailure(f"slice bounds must be integers, got {show(bound)}", column)
        bounds.append(bound)
    return value[bounds[0] : bounds[1]]


def _call(function: object, args: list[object], column: int, name: str) -> object:
    if not callable(function):
        raise EvalFailure(f"{name} is not a function ({show(function)})", column)
    try:
        return function(*args)
    except EvalFailure as err:
        raise EvalFailure(err.message, column, err.hint) from None
    except TypeError:
        raise EvalFailure(f"wrong number or kind of arguments for {name}", column) from None


# ---------------------------------------------------------------------------------------- the tree


_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)", re.S)


def _unquote(token: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, "\\" + code)

    return _ESCAPE.sub(one, token[1:-1])


def _pos(token: Token) -> int:
    return token.start_pos or 0


class _Builder:
    """Parse tree → closures (the rules of :func:`_grammar.build`); collects the variable paths."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.paths: dict[_Node, tuple[str, int]] = {}

    def _error(self, message: str, column: int, hint: str | None = None) -> TemplateError:
        return TemplateError(message, text=self._text, column=column, hint=hint)

    def expression(self, children: list[_Node]) -> _Node:
        return children[0]

    # -- atoms

    def e_name(self, children: list[Token]) -> _Node:
        (token,) = children
        name, column = str(token), _pos(token)
        if name in BUILTINS:
            function = BUILTINS[name]
            return _Node(lambda ctx: function, column, name=name)
        if name == "sprig":
            return _Node(lambda ctx: SPRIG, column, name=name)

        def run(ctx: _Context) -> object:
            try:
                return ctx.env[name]
            except KeyError:
                raise _Missing(name, column) from None

        node = _Node(run, column, name=name, path=name)
        self.paths[node] = (name, column)
        return node

    def e_pointer(self, children: list[Token]) -> _Node:
        (token,) = children
        column = _pos(token)
        if str(token) != "#":
            raise self._error(
                f"{str(token)!r} is not supported by kjob yet", column, "use '#', the element itself"
            )

        def run(ctx: _Context) -> object:
            if ctx.pointer is _NO_POINTER:
                raise EvalFailure(
                    "'#' is only defined inside a predicate", column, "e.g. filter(list, {# > 1})"
                )
            return ctx.pointer

        return _Node(run, column, is_pointer_free=False)

    def e_number(self, children: list[Token]) -> _Node:
        (token,) = children
        text = str(token).replace("_", "")
        value: int | float
        try:
            if text.lower().startswith("0x"):
                value = int(text, 16)
            elif any(c in text for c in ".eE"):
                value = float(text)
            else:
                value = int(text)
        except ValueError:
            raise self._error("number too long", _pos(token)) from None
        return _Node(lambda ctx: value, _pos(token))

    def e_string(self, children: list[Token]) -> _Node:
        (token,) = children
        value = _unquote(str(token))
        return _Node(lambda ctx: value, _pos(token), key=value)

    def e_true(self, children: list[Token]) -> _Node:
        return _Node(lambda ctx: True, _pos(children[0]))

    def e_false(self, children: list[Token]) -> _Node:
        return _Node(lambda ctx: False, _pos(children[0]))

    def e_nil(self, children: list[Token]) -> _Node:
        return _Node(lambda ctx: None, _pos(children[0]))

    def e_array(self, children: list[Any]) -> _Node:
        runs = [_value_of(c) for c in children[1:-1] if isinstance(c, _Node)]
        return _Node(lambda ctx: [run(ctx) for run in runs], _pos(children[0]))

    def e_map(self, children: list[Any]) -> _Node:
        entries = [c for c in children[1:-1] if isinstance(c, tuple)]
        return _Node(lambda ctx: {key(ctx): value(ctx) for key, value in entries}, _pos(children[0]))

    def e_entry(self, children: list[Any]) -> tuple[_Run, _Run]:
        key, _, value = children
        if key.name is not None and key.path in (None, key.name):
            self.paths.pop(key, None)  # {avg: ...}: a bare name is the key itself
            name = key.name
            return (lambda ctx: name), _value_of(value)
        return _value_of(key), _value_of(value)

    def e_predicate(self, children: list[Any]) -> _Node:
        return self._closure(children[1], _pos(children[0]))

    @staticmethod
    def _closure(body: _Node, column: int) -> _Node:
        run = _value_of(body)
        return _Node(lambda ctx: lambda element: run(ctx.with_pointer(element)), column, is_closure=True)

    # -- postfix

    def e_member(self, children: list[Any]) -> _Node:
        target, dot, name = children
        key, optional = str(name), dot.type == "OPT_DOT"
        if target.name == "sprig" and target.path is None:
            if key not in SPRIG:
                raise self._error(
                    f"sprig.{key} is not supported by kjob yet", _pos(name), _suggest(key, SPRIG, "sprig.")
                )
            function = SPRIG[key]
            return _Node(lambda ctx: function, target.column, name=f"sprig.{key}")
        return self._access(target, lambda ctx: key, key, _pos(name), optional)

    def e_index(self, children: list[Any]) -> _Node:
        target, bracket, index, _ = children
        return self._access(target, _value_of(index), index.key, _pos(bracket), False)

    def _access(self, target: _Node, key: _Run, key_path: str | None, column: int, optional: bool) -> _Node:
        run = target.run

        def access(ctx: _Context) -> object:
            return _member(run(ctx), key(ctx), column, optional)

        path = f"{target.path}.{key_path}" if target.path is not None and key_path is not None else None
        node = _Node(access, target.column, path=path, is_pointer_free=target.is_pointer_free)
        if path is not None:
            self.paths.pop(target, None)
            self.paths[node] = (path, target.column)
        return node

    def e_slice(self, children: list[Any]) -> _Node:
        target, bracket = children[0], children[1]
        rest = children[2:-1]
        colon = next(i for i, c in enumerate(rest) if not isinstance(c, _Node))
        start = _value_of(rest[0]) if colon == 1 else (lambda ctx: None)
        end = _value_of(rest[colon + 1]) if len(rest) > colon + 1 else (lambda ctx: None)
        value, column = _value_of(target), _pos(bracket)
        return _Node(lambda ctx: _slice(value(ctx), start(ctx), end(ctx), column), target.column)

    def e_call(self, children: list[Any]) -> _Node:
        callee, paren = children[0], children[1]
        args: list[_Node] = [c for c in children[2:-1] if isinstance(c, _Node)]
        name = callee.name or "this value"
        column = _pos(paren)
        if callee.path is not None and "." not in callee.path:
            raise self._error(
                f"unknown function '{callee.path}'", callee.column, _suggest(callee.path, BUILTINS, "")
            )
        if name in PREDICATE_BUILTINS and len(args) >= 2 and not args[1].is_closure:
            args[1] = self._closure(args[1], args[1].column)  # filter(xs, # > 1): a bare predicate
        function = _value_of(callee)
        arg_runs = [_value_of(a) for a in args]
        return _Node(
            lambda ctx: _call(function(ctx), [a(ctx) for a in arg_runs], column, name), callee.column
        )

    # -- operators

    def e_neg(self, children: list[Any]) -> _Node:
        op, operand = children
        value, column = _value_of(operand), _pos(op)
        if op.type in ("NOT", "E_NOT"):
            return _Node(lambda ctx: not _boolean(value(ctx), f"'{op}'", column), column)
        sign = -1 if op.type == "MINUS" else 1
        return _Node(lambda ctx: sign * _number(value(ctx), str(op), column), column)

    def e_pow(self, children: list[Any]) -> _Node:
        base, op, exponent = children
        a, b, column = _value_of(base), _value_of(exponent), _pos(op)
        return _Node(lambda ctx: _arithmetic("**", a(ctx), b(ctx), column), base.column)

    def e_sum(self, children: list[Any]) -> _Node:
        first, *rest = children
        start = _value_of(first)
        steps = [(str(rest[i]), _pos(rest[i]), _value_of(rest[i + 1])) for i in range(0, len(rest), 2)]

        def run(ctx: _Context) -> object:
            acc = start(ctx)
            for op, column, operand in steps:
                acc = _arithmetic(op, acc, operand(ctx), column)
            return acc

        return _Node(run, first.column)

    e_product = e_sum

    def e_range(self, children: list[Any]) -> _Node:
        low, op, high = children
        a, b, column = _value_of(low), _value_of(high), _pos(op)

        def run(ctx: _Context) -> object:
            x, y = a(ctx), b(ctx)
            if not isinstance(x, int) or not isinstance(y, int) or isinstance(x, bool) or isinstance(y, bool):
                raise EvalFailure(f"'..' needs integers, got {show(x)} and {show(y)}", column)
            return list(range(x, y + 1))

        return _Node(run, low.column)

    def e_cmp_op(self, children: list[Token]) -> Token:
        if len(children) == 2:  # not in, not matches
            first, second = children
            return first.new_borrow_pos("E_CMP", f"not {second}", first)
        return children[0]

    def e_cmp(self, children: list[Any]) -> _Node:
        first, *rest = children
        start = _value_of(first)
        steps = [(str(rest[i]), _pos(rest[i]), _value_of(rest[i + 1])) for i in range(0, len(rest), 2)]

        def run(ctx: _Context) -> object:
            left = start(ctx)
            result = True
            for op, column, operand in steps:  # a < b < c is a < b && b < c, as in expr-lang
                right = operand(ctx)
                result = _compare(op, left, right, column)
                if not result:
                    return False
                left = right
            return result

        return _Node(run, first.column)

    def e_and(self, children: list[Any]) -> _Node:
        return self._logic(children, stop_at=False)

    def e_or(self, children: list[Any]) -> _Node:
        return self._logic(children, stop_at=True)

    @staticmethod
    def _logic(children: list[Any], *, stop_at: bool) -> _Node:
        """``a && b && c`` (or ``||``) left to right with short-circuit; each operand's type error
        points at the operator next to it."""
        operators: list[Token] = children[1::2]
        checks = [
            (_value_of(node), f"'{operators[max(i - 1, 0)]}'", _pos(operators[max(i - 1, 0)]))
            for i, node in enumerate(children[0::2])
        ]

        def run(ctx: _Context) -> object:
            for operand, what, column in checks:
                if _boolean(operand(ctx), what, column) is stop_at:
                    return stop_at
            return not stop_at

        return _Node(run, children[0].column)

    def e_coalesce(self, children: list[Any]) -> _Node:
        operands = [c for c in children if isinstance(c, _Node)]
        runs = [operand.run for operand in operands]
        columns = [operand.column for operand in operands]

        def run(ctx: _Context) -> object:
            for i, operand in enumerate(runs[:-1]):
                try:
                    value = _force(operand(ctx), columns[i])
                except (KeyError, _Missing):
                    continue
                if value is not None:
                    return value
            return _force(runs[-1](ctx), columns[-1])

        return _Node(run, operands[0].column)

    def e_cond(self, children: list[Any]) -> _Node:
        condition, mark, yes, _, no = children
        test, a, b, column = _value_of(condition), _value_of(yes), _value_of(no), _pos(mark)
        return _Node(lambda ctx: a(ctx) if _boolean(test(ctx), "'?:'", column) else b(ctx), condition.column)


def _suggest(name: str, known: Mapping[str, object], prefix: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    if close:
        return "did you mean " + " or ".join(f"'{prefix}{c}'" for c in close) + "?"
    examples = ", ".join(prefix + k for k in list(known)[:8])
    return f"kjob has {len(known)} {prefix or 'builtin '}functions, e.g. {examples}"
