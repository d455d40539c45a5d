"""Finding, loading and running kjob's one lark grammar (``kjob.lark``).

The grammar is a file, not a string in the code.  An installed wheel ships it as package data at
``kjob/_grammar/kjob.lark``; a source or editable checkout keeps it at ``<repo>/grammar/kjob.lark``.
The LALR parser is built once and serves every start rule; the built parser is kept in the user's
cache directory, so later processes load it instead of building it again.

This module also turns lark's failures into plain facts (:class:`SyntaxProblem`) that each concern
(template, when, depends) words for its users; no lark exception leaves the ``kjob.expr`` package.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import kjob
from kjob.errors import KjobError, TemplateError
from kjob.limits import EXPRESSION_CHARS

if TYPE_CHECKING:  # lark itself is imported by the first parse: a file without expressions needs none
    from importlib.resources.abc import Traversable
    from pathlib import Path

    from lark import Lark, Token, Transformer, Tree

Start = Literal["template_kjob", "template_argo", "when", "depends", "expression"]
STARTS: tuple[Start, ...] = ("template_kjob", "template_argo", "when", "depends", "expression")
GRAMMAR_NAME = "kjob.lark"
CACHED_CHARS = 4096  # longer texts are parsed every time, not kept by the per-text caches
_SUBJECTS: dict[Start, str] = {
    "template_kjob": "this text with references",
    "template_argo": "this text with references",
    "when": "this when expression",
    "depends": "this depends expression",
    "expression": "this expression",
}


def grammar_path(
    package_root: Traversable | None = None, source_root: Path | None = None
) -> Traversable | Path:
    """The grammar file: the wheel's package data first, else the source checkout's ``grammar/``.

    The arguments exist for tests; by default they are the installed ``kjob`` package and the
    directory above it.
    """
    import importlib.resources  # here, like pathlib: only parsing an expression needs them
    from pathlib import Path

    if package_root is None:
        package_root = importlib.resources.files("kjob")
    if source_root is None:
        source_root = Path(kjob.__file__).resolve().parent.parent
    shipped = package_root / "_grammar" / GRAMMAR_NAME
    if shipped.is_file():
        return shipped
    checkout = source_root / "grammar" / GRAMMAR_NAME
    if checkout.is_file():
        return checkout
    raise KjobError(
        f"kjob's grammar file is missing: looked for {shipped} and {checkout}",
        hint="reinstall kjob; a wheel ships it as kjob/_grammar/kjob.lark",
    )


@functools.cache
def parser() -> Lark:
    """The one LALR parser for every start rule, built on first use.

    Building it is about half of ``kjob lint``'s start-up, so the built parser is kept in the user's
    cache directory (:func:`parser_cache`) and loaded from there next time, in a few milliseconds.
    """
    from lark import Lark

    text = grammar_path().read_text(encoding="utf-8")
    cache = parser_cache(text)
    if cache is not None:
        loaded = _load_parser(cache)
        if loaded is not None:
            return loaded
    built = Lark(text, parser="lalr", lexer="contextual", start=list(STARTS))
    if cache is not None:
        _save_parser(built, cache)
    return built


def parser_cache(grammar: str) -> Path | None:
    """Where the parser built from ``grammar`` is kept: ``$XDG_CACHE_HOME/kjob`` (else ``~/.cache/kjob``),
    named by a hash of the grammar, its start rules, lark's version and Python's, so a change of any is a
    new file."""
    import hashlib  # here, like lark: hashlib and tempfile cost a lint that parses nothing ~6%
    from pathlib import Path

    import lark

    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home directory: no cache
        return None
    starts = ",".join(STARTS)  # the start rules are built into the parser too
    key = hashlib.sha256(f"{grammar}\0{starts}\0{lark.__version__}\0{sys.version}".encode()).hexdigest()[:20]
    return root / "kjob" / f"grammar-{key}.lark-parser"


def _load_parser(path: Path) -> Lark | None:
    """The cached parser, or ``None`` when there is none that this user alone could have written."""
    from lark import Lark

    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            if info.st_uid != os.getuid() or info.st_mode & 0o022:
                return None  # a pickle others could have written is never loaded
            return Lark.load(file)
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign cache file must never stop kjob: build the parser anew
        return None


def _save_parser(parser: Lark, path: Path) -> None:
    """Write the cache file whole or not at all (a temporary file moved into place)."""
    import tempfile

    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".grammar-")
        try:
            with os.fdopen(fd, "wb") as file:
                parser.save(file)
            os.replace(scratch, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(scratch)


def build(
    text: str,
    start: Start,
    rules: Callable[[str], object],
    word: Callable[[str, SyntaxProblem], TemplateError],
) -> Any:
    """``text`` parsed from ``start`` and transformed by ``rules(text)``: an object with a method per
    rule (taking the list of its children) and per terminal (taking the token) that it turns into
    something of its own, as a lark ``Transformer`` has; a syntax error is the TemplateError ``word``
    makes of what :func:`diagnose` found."""
    from lark.exceptions import LarkError

    try:
        tree = parse(text, start)
    except LarkError:
        raise syntax_error(text, start, word) from None
    return transform(_adapter()(rules(text)), tree, text)


@functools.cache
def _adapter() -> Callable[[object], Transformer[Token, Any]]:
    """A lark ``Transformer`` that finds its rule and terminal methods on a plain object (made on
    first use, so that the classes of kjob's languages need no lark to be defined)."""
    from lark import Token, Transformer

    class Adapter(Transformer[Token, Any]):
        def __init__(self, rules: object) -> None:
            super().__init__()
            self._rules = rules

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            return getattr(self._rules, name)

    return Adapter


def parse(text: str, start: Start) -> Tree[Token]:
    """Parse ``text`` from ``start``; lark's exceptions propagate (callers use :func:`diagnose`).

    A text longer than :data:`~kjob.limits.EXPRESSION_CHARS` is refused before it is lexed (lark's
    lexer needs about 180 bytes per character of a long text): a TemplateError at column 0.
    """
    too_long = EXPRESSION_CHARS.problem(len(text), _SUBJECTS[start])
    if too_long is not None:
        raise TemplateError(too_long, text=clip(text), column=0)
    return parser().parse(text, start=start)


def clip(text: str, width: int = 60) -> str:
    """The start of a long ``text``, to quote in a message."""
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class SyntaxProblem:
    """Where and why ``text`` stopped parsing, in lark-free terms.

    ``pos`` is the 0-based offset of the offending input (``len(text)`` at the end), ``found`` the
    token there (``None`` at the end or for a character no terminal matches), ``char`` the offending
    character for the latter, ``expected`` the terminal names the parser could have accepted, and
    ``history`` the tokens accepted before it.
    """

    pos: int
    found: Token | None
    char: str | None
    expected: frozenset[str]
    history: tuple[Token, ...]

    @property
    def previous(self) -> Token | None:
        return self.history[-1] if self.history else None


def diagnose(text: str, start: Start) -> SyntaxProblem | None:
    """Re-parse ``text`` step by step to describe its first syntax problem (``None`` if it parses).

    Only called on the error path, so the token-by-token walk costs nothing in the common case.
    """
    from lark import Token
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    interactive = parser().parse_interactive(text, start=start)
    tokens = interactive.lexer_thread.lex(interactive.parser_state)  # type: ignore[no-untyped-call]
    history: list[Token] = []
    try:
        while True:
            try:
                token = next(tokens)
            except StopIteration:
                break
            interactive.feed_token(token)
            history.append(token)
        interactive.feed_eof(history[-1] if history else None)  # type: ignore[no-untyped-call]
    except UnexpectedCharacters as err:
        pos: int = err.pos_in_stream if isinstance(err.pos_in_stream, int) else 0
        return SyntaxProblem(pos, None, err.char, frozenset(err.allowed or ()), tuple(history))
    except UnexpectedEOF as err:
        return SyntaxProblem(len(text), None, None, frozenset(str(e) for e in err.expected), tuple(history))
    except UnexpectedToken as err:
        token = err.token
        expected = frozenset(err.expected or ())
        if isinstance(token, Token) and token.type != "$END" and token.start_pos is not None:
            return SyntaxProblem(token.start_pos, token, None, expected, tuple(history))
        return SyntaxProblem(len(text), None, None, expected, tuple(history))
    return None


def syntax_error(
    text: str, start: Start, word: Callable[[str, SyntaxProblem], TemplateError]
) -> TemplateError:
    """The TemplateError for a ``text`` that failed to parse from ``start``, worded by ``word``."""
    problem = diagnose(text, start)
    if problem is None:  # pragma: no cover - parse() and the step-by-step parse always agree
        return TemplateError("cannot parse this expression", text=text, column=0)
    return word(text, problem)


def transform(transformer: Transformer[Token, Any], tree: Tree[Token], text: str) -> Any:
    """Apply ``transformer``; a TemplateError raised inside comes out as itself, never wrapped."""
    from lark.exceptions import VisitError

    try:
        return transformer.transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, TemplateError):
            raise err.orig_exc from None
        if isinstance(err.orig_exc, RecursionError):
            raise _too_deep(text) from None
        raise
    except RecursionError:
        raise _too_deep(text) from None


def _too_deep(text: str) -> TemplateError:
    return TemplateError(
        "expression is nested too deeply", text=text, column=0, hint="use fewer nested parentheses"
    )


def quote(text: str) -> str:
    """``text`` quoted for a message: in single quotes, or double quotes if it holds a single one; a
    long one is cut (see :func:`clip`)."""
    text = clip(text)
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return repr(text)


def describe_char(char: str) -> str:
    """A character as a message shows it: quoted, with invisible ones spelled out."""
    if char.isprintable() and not char.isspace():
        return quote(char)
    return repr(char)


@functools.cache
def _terminal_regex(name: str) -> re.Pattern[str]:
    return re.compile(parser().get_terminal(name).pattern.to_regexp())


def match_terminal(text: str, pos: int, names: Iterable[str]) -> Token | None:
    """The longest token of one of the terminals ``names`` at ``pos`` (``None`` if none matches).

    Used on the error path to name what was found in a language's own terms, whatever the
    contextual lexer's fallback made of it.
    """
    from lark import Token

    best: Token | None = None
    for name in names:
        match = _terminal_regex(name).match(text, pos)
        if match and match.end() > pos and (best is None or match.end() - pos > len(best)):
            best = Token(name, match.group(), start_pos=pos)
    return best
