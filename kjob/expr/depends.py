"""Argo's enhanced ``depends``: task results joined with ``&&``, ``||``, ``!`` and parentheses.

An operand is ``TASK`` or ``TASK.RESULT``; task names are letters, digits, ``-`` and ``_``.

* ``TASK.Succeeded``, ``.Failed``, ``.Errored``, ``.Skipped``, ``.Omitted``, ``.Daemoned`` are true
  when the task finished with that result (the words in :data:`TASK_RESULTS`);
* a bare ``TASK`` means ``(TASK.Succeeded || TASK.Skipped || TASK.Daemoned)``;
* ``TASK.AnySucceeded`` is true when at least one child of a fanned-out task succeeded, and
  ``TASK.AllFailed`` when it has children and every one of them failed (``Errored`` is not
  ``Failed``, as in Argo).

The engine evaluates a ``depends`` once every task it names has finished.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kjob.errors import TemplateError
from kjob.expr import _grammar
from kjob.expr._messages import Language, word_problem

if TYPE_CHECKING:  # lark is imported by the first parse (kjob.expr._grammar)
    from lark import Token

TASK_RESULTS: tuple[str, ...] = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned")
"""The results a ``result_of`` callable returns, spelled as ``depends`` spells them."""

FAN_OUT_RESULTS: tuple[str, ...] = ("AnySucceeded", "AllFailed")
"""Results about the children of a fanned-out task."""

BARE_RESULTS: frozenset[str] = frozenset({"Succeeded", "Skipped", "Daemoned"})
"""What a bare ``TASK`` accepts."""

ResultOf = Callable[[str], str]
ChildrenOf = Callable[[str], Sequence[str]]

_LANGUAGE = Language(
    what="depends expression",
    operands=frozenset({"DEP_OPERAND", "LPAR", "NOT"}),
    terminals=("OR", "AND", "NOT", "LPAR", "RPAR", "DEP_OPERAND"),
    example="'prepare && (train.Succeeded || train.Skipped)'",
    join_hint="join tasks with '&&' or '||', e.g. 'a && b'",
    char_hints={
        "=": "depends has no comparisons; write 'task.Succeeded', 'task.Failed', ...",
        ",": "join tasks with '&&', e.g. 'a && b'",
        "&": "did you mean '&&'?",
        "|": "did you mean '||'?",
    },
    bad_char_hint="task names are letters, digits, '-' and '_'",
)


class _Node:
    def holds(self, ask: _Asker) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class _Operand(_Node):
    task: str
    result: str | None  # None for a bare TASK
    column: int

    def holds(self, ask: _Asker) -> bool:
        if self.result is None:
            return ask.result(self) in BARE_RESULTS
        if self.result == "AnySucceeded":
            return any(r == "Succeeded" for r in ask.children(self))
        if self.result == "AllFailed":
            children = ask.children(self)
            return bool(children) and all(r == "Failed" for r in children)
        return ask.result(self) == self.result


@dataclass(frozen=True)
class _Not(_Node):
    operand: _Node

    def holds(self, ask: _Asker) -> bool:
        return not self.operand.holds(ask)


@dataclass(frozen=True)
class _All(_Node):
    operands: tuple[_Node, ...]

    def holds(self, ask: _Asker) -> bool:
        return all(node.holds(ask) for node in self.operands)


@dataclass(frozen=True)
class _Any(_Node):
    operands: tuple[_Node, ...]

    def holds(self, ask: _Asker) -> bool:
        return any(node.holds(ask) for node in self.operands)


class _Asker:
    """Asks the engine's callables about one operand, naming the operand if the task is unknown."""

    def __init__(self, text: str, result_of: ResultOf, children_of: ChildrenOf | None) -> None:
        self._text = text
        self._result_of = result_of
        self._children_of = children_of

    def result(self, operand: _Operand) -> str:
        try:
            return self._result_of(operand.task)
        except KeyError:
            raise self._unknown(operand) from None

    def children(self, operand: _Operand) -> Sequence[str]:
        if self._children_of is None:
            return [self.result(operand)]
        try:
            return self._children_of(operand.task)
        except KeyError:
            raise self._unknown(operand) from None

    def _unknown(self, operand: _Operand) -> TemplateError:
        return TemplateError(
            f"unknown task '{_grammar.clip(operand.task)}' in depends",
            text=self._text,
            column=operand.column,
            hint="depends can name only tasks of the same DAG",
        )


@dataclass(frozen=True)
class Depends:
    """A parsed ``depends`` expression.

    ``tasks`` is every task it names.  :meth:`evaluate` decides it from the tasks' results.
    """

    text: str
    tasks: frozenset[str]
    _root: _Node = field(repr=False, compare=False)
    _operands: tuple[_Operand, ...] = field(repr=False, compare=False)

    def evaluate(self, result_of: ResultOf, *, children_of: ChildrenOf | None = None) -> bool:
        """Whether the expression holds.

        ``result_of(task)`` returns one of :data:`TASK_RESULTS`; ``children_of(task)`` returns the
        results of a fanned-out task's children (without it, a task is its own only child).  A
        ``KeyError`` from either becomes a TemplateError naming the task.
        """
        ask = _Asker(self.text, result_of, children_of)
        try:
            return self._root.holds(ask)
        except RecursionError:
            raise TemplateError("expression is nested too deeply", text=self.text, column=0) from None

    def results_named(self, task: str) -> frozenset[str]:
        """The results the text names for ``task`` (a bare name counts as :data:`BARE_RESULTS`)."""
        named: set[str] = set()
        for operand in self._operands:
            if operand.task == task:
                named |= BARE_RESULTS if operand.result is None else {operand.result}
        return frozenset(named)


def parse_depends(text: str) -> Depends:
    """Parse ``text`` once (cached); TemplateError if it is malformed."""
    if len(text) > _grammar.CACHED_CHARS:
        return _parse_depends(text)
    return _parse_depends_cached(text)


def _parse_depends(text: str) -> Depends:
    builder = _DependsTree(text)
    root = _grammar.build(text, "depends", lambda _: builder, lambda t, p: word_problem(t, p, _LANGUAGE))
    operands = tuple(builder.operands)
    return Depends(text, frozenset(o.task for o in operands), root, operands)


_parse_depends_cached = functools.lru_cache(maxsize=8192)(_parse_depends)


def dependencies_to_depends(names: Sequence[str]) -> str:
    """The ``depends`` text equivalent to a ``dependencies`` list (``""`` for no names)."""
    return " && ".join(names)


class _DependsTree:
    """Parse tree → nodes; checks each result word.  Chains of ``&&`` / ``||`` stay flat."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.operands: list[_Operand] = []

    def depends(self, children: list[_Node]) -> _Node:
        return children[0]

    def dep_operand(self, children: list[Token]) -> _Node:
        (token,) = children
        column = token.start_pos or 0
        task, dot, result = str(token).partition(".")
        if dot and result not in TASK_RESULTS + FAN_OUT_RESULTS:
            raise self._bad_result(task, result, column + len(task) + 1)
        operand = _Operand(task, result if dot else None, column)
        self.operands.append(operand)
        return operand

    def dep_not(self, children: list[Token | _Node]) -> _Node:
        operand = children[1]
        assert isinstance(operand, _Node)
        return _Not(operand)

    def dep_and(self, children: list[Token | _Node]) -> _Node:
        return _All(tuple(_flatten(children, _All)))

    def dep_or(self, children: list[Token | _Node]) -> _Node:
        return _Any(tuple(_flatten(children, _Any)))

    def _bad_result(self, task: str, result: str, column: int) -> TemplateError:
        known = TASK_RESULTS + FAN_OUT_RESULTS
        if not result:
            return TemplateError(
                f"expected a result after '{_grammar.clip(task)}.'",
                text=self._text,
                column=column,
                hint=f"one of {', '.join(known)}",
            )
        import difflib  # here: only a mistake needs it, and it costs start-up

        close = difflib.get_close_matches(result, known, n=1) or [
            k for k in known if k.lower() == result.lower()
        ]
        guess = f"did you mean '{close[0]}'? " if close else ""
        return TemplateError(
            f"unknown task result '{_grammar.clip(result)}' in '{_grammar.clip(f'{task}.{result}')}'",
            text=self._text,
            column=column,
            hint=f"{guess}results are {', '.join(known)}",
        )


def _flatten(children: Iterable[Token | _Node], kind: type[_All] | type[_Any]) -> Iterable[_Node]:
    for child in children:
        if isinstance(child, kind):
            yield from child.operands
        elif isinstance(child, _Node):
            yield child
