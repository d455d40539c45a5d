"""Plain words for syntax problems in ``when`` and ``depends`` expressions.

Both are small operator languages, so one wording serves them: what was expected (an operand, an
operator, a closing parenthesis), after what, and what was found instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kjob.errors import TemplateError
from kjob.expr._grammar import SyntaxProblem, describe_char, match_terminal, quote

if TYPE_CHECKING:
    from lark import Token


@dataclass(frozen=True)
class Language:
    """What the wording needs to know about one expression language."""

    what: str  # "when expression", "depends expression"
    operands: frozenset[str]  # terminals that can start an operand
    terminals: tuple[str, ...]  # every terminal of the language
    example: str  # an example for the "empty" and "expected an operand" hints
    join_hint: str  # hint when an operand follows an operand
    char_hints: Mapping[str, str]  # hint per unexpected character
    bad_char_hint: str  # hint for any other unexpected character


def word_problem(text: str, problem: SyntaxProblem, lang: Language) -> TemplateError:
    """The TemplateError for ``problem`` in ``text``, with the caret where the problem is."""
    pos = problem.pos
    found = problem.found
    if found is not None and found.type not in lang.terminals:
        found = None  # the contextual lexer's fallback used another language's terminal
    if found is None and pos < len(text):
        found = match_terminal(text, pos, lang.terminals)
        if found is None:
            return _bad_char(text, pos, lang)
    previous = problem.previous

    if found is None and not problem.history:
        return TemplateError(f"empty {lang.what}", text=text, column=pos, hint=f"e.g. {lang.example}")
    shown = quote(str(found)) if found is not None else "the end"
    if problem.expected and problem.expected <= lang.operands:
        where = "at the start" if previous is None else f"after {quote(str(previous))}"
        message = f"expected an operand {where}" + (f", found {shown}" if found is not None else "")
        return TemplateError(message, text=text, column=pos, hint=f"e.g. {lang.example}")
    if found is None and "RPAR" in problem.expected:
        opened = _unclosed_paren(problem.history)
        return TemplateError(
            "missing ')'",
            text=text,
            column=pos,
            hint=f"to close the '(' at column {opened + 1}" if opened is not None else None,
        )
    if found is not None and found.type == "RPAR":
        return TemplateError("unmatched ')'", text=text, column=pos, hint="remove it, or add a '(' before it")
    if found is not None and found.type == "CMP_OP":
        return TemplateError(
            "comparisons cannot be chained",
            text=text,
            column=pos,
            hint="join them with '&&', e.g. 'a < b && b < c'",
        )
    after = f" after {quote(str(previous))}" if previous is not None else ""
    hint = lang.join_hint if found is not None and found.type in lang.operands else None
    return TemplateError(f"expected an operator{after}, found {shown}", text=text, column=pos, hint=hint)


def _bad_char(text: str, pos: int, lang: Language) -> TemplateError:
    char = text[pos]
    if char in "'\"" and "STRING" in lang.terminals:
        return TemplateError(
            "unterminated string",
            text=text,
            column=pos,
            hint=f"close it with {char} (a backslash escapes it inside)",
        )
    hint = lang.char_hints.get(char, lang.bad_char_hint)
    return TemplateError(f"unexpected character {describe_char(char)}", text=text, column=pos, hint=hint)


def _unclosed_paren(history: tuple[Token, ...]) -> int | None:
    open_at: list[int] = []
    for token in history:
        if token.type == "LPAR":
            open_at.append(token.start_pos or 0)
        elif token.type == "RPAR" and open_at:
            open_at.pop()
    return open_at[-1] if open_at else None
