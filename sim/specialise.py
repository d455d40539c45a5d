"""One function, compiled once per combination of feature flags with the branches of the others removed.

The simulator's event loop (:meth:`sim.core.Simulator._loop`) is written once, every feature behind a
test of a flag on its ``on`` argument: ``if on.fails:``, ``a if on.fifo else b``, ``on.queue and x``.
Run as written it is correct for any combination.  :func:`specialise` returns the same function
recompiled from its source with each ``on.NAME`` replaced by that flag's value and the branches that
can no longer be taken dropped, so a run pays for no test of a feature it does not use (the loop as
written takes 1.4x as long on the plain first-in-first-out case, 1.2x with every feature on).
Nothing else changes: the statements that remain are the very ones written, at their own line
numbers, so results are identical to the letter and tracebacks and coverage point at the source.
Where the source cannot be read (an install without ``.py`` files), or is no longer the code that
runs (the file was edited since it was imported), the function is used as written.
"""

from __future__ import annotations

import ast
import inspect
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_compiled: dict[tuple[Callable[..., Any], Any], Callable[..., Any]] = {}


def specialise(func: F, flags: Any, name: str = "on") -> F:
    """``func`` with every ``<name>.FLAG`` fixed to ``getattr(flags, FLAG)`` (``flags`` hashable)."""
    done = _compiled.get((func, flags))
    if done is None:
        done = _compiled[(func, flags)] = _compile(func, flags, name)
    return done  # type: ignore[return-value]


def _compile(func: Callable[..., Any], flags: Any, name: str) -> Callable[..., Any]:
    """Recompile ``func``'s whole module with ``func`` folded, and take ``func``'s code from it (the
    module, so that the compiler sees what it saw at import).  ``func`` as it is if its source cannot
    be read or is not the code that runs (a file edited or replaced since it was imported)."""
    code = func.__code__
    try:
        filename = inspect.getsourcefile(func) or ""
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"), filename)
    except (OSError, TypeError, SyntaxError, UnicodeDecodeError):
        return func
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name == code.co_name
        and node.lineno == code.co_firstlineno
    ]
    if len(found) != 1 or not _same(_find(compile(tree, filename, "exec", dont_inherit=True), code), code):
        return func
    folded = _Fold(name, flags).visit(found[0])
    for node in ast.walk(folded):  # a block left with nothing in it takes a ``pass``
        if isinstance(getattr(node, "body", None), list) and not node.body:  # type: ignore[attr-defined]
            node.body = [ast.copy_location(ast.Pass(), node)]  # type: ignore[attr-defined]
    ast.fix_missing_locations(tree)
    new = _find(compile(tree, filename, "exec", dont_inherit=True), code)
    if new is None:
        return func
    out = types.FunctionType(new, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    out.__kwdefaults__ = func.__kwdefaults__
    out.__qualname__ = func.__qualname__
    out.__doc__ = func.__doc__
    return out


def _find(module: types.CodeType, code: types.CodeType) -> types.CodeType | None:
    """The code object in ``module`` (at any depth) with ``code``'s qualified name and first line."""
    for const in module.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_qualname == code.co_qualname and const.co_firstlineno == code.co_firstlineno:
                return const
            inner = _find(const, code)
            if inner is not None:
                return inner
    return None


def _same(a: types.CodeType | None, b: types.CodeType) -> bool:
    return (
        a is not None
        and a.co_code == b.co_code
        and a.co_names == b.co_names
        and a.co_varnames == b.co_varnames
        and [c for c in a.co_consts if not isinstance(c, types.CodeType)]
        == [c for c in b.co_consts if not isinstance(c, types.CodeType)]
    )


class _Fold(ast.NodeTransformer):
    """Replace ``name.FLAG`` by its value, then fold ``not``, ``and``/``or``, ``if`` and ``x if c else y``
    whose outcome that decides."""

    def __init__(self, name: str, flags: Any) -> None:
        self.name = name
        self.flags = flags

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == self.name:
            return ast.copy_location(ast.Constant(bool(getattr(self.flags, node.attr))), node)
        return self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Constant):
            return ast.copy_location(ast.Constant(not node.operand.value), node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        stops = isinstance(node.op, ast.Or)  # the value that decides an ``or`` (for ``and``: False)
        values: list[ast.expr] = []
        for k, v in enumerate(node.values):
            if not isinstance(v, ast.Constant):
                values.append(v)
            elif bool(v.value) == stops:  # it decides: what follows is never evaluated
                values.append(v)
                break
            elif k == len(node.values) - 1:  # the last value is the result when reached: keep it
                values.append(v)
        if isinstance(values[0], ast.Constant):  # a leading constant: the whole result
            return values[0]
        if len(values) == 1:
            return values[0]
        node.values = values
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt]:
        self.generic_visit(node)
        test = node.test
        if isinstance(test, ast.Constant):
            return node.body if test.value else node.orelse
        if (
            isinstance(test, ast.BoolOp)
            and isinstance(test.op, ast.And)
            and isinstance(test.values[-1], ast.Constant)
            and test.values[-1].value
        ):
            test.values.pop()  # ``if x and True:`` is ``if x:`` (only the truth of a test counts)
            node.test = test.values[0] if len(test.values) == 1 else test
        return node
