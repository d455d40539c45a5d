"""Reading a workflow file: YAML text -> one positioned tree per document, and marks into the text.

:meth:`Source.documents` parses with ruamel.yaml's C parser (``ruamel.yaml.clib``) when it is installed:
the C code composes the nodes, scalars are resolved with YAML 1.2's rules (what ruamel's round-trip
loader uses), and :mod:`kjob.spec.yamlnodes` builds the tree from the nodes, with no round-trip
machinery in between.  ruamel's pure-Python round-trip parser is still used, feeding the same tree
builder, where the C parser cannot stand in for it: to word a syntax error as ruamel always has (the C
parser's messages differ, so a file it rejects is read again), for ``%YAML`` directives (the C parser
always resolves YAML 1.2) and YAML 1.1's extra line breaks (NEL, LS, PS: text to ruamel, line breaks to
the C parser), for lone surrogates, and where the C extension is missing.

A :class:`Source` also turns the 0-based positions the trees keep into 1-based :class:`Mark`\\ s.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import warnings
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode
from ruamel.yaml.resolver import VersionedResolver, implicit_resolvers
from ruamel.yaml.tag import Tag

from kjob.limits import FILE_CHARS
from kjob.spec.diagnostics import Diagnostics
from kjob.spec.loaded import Locator
from kjob.spec.model import Mark
from kjob.spec.yamlnodes import DEEP, MAX_DEPTH, NodeCount, NodeError, YamlMap, YamlSeq, construct

HAVE_C_PARSER = importlib.util.find_spec("_ruamel_yaml") is not None  # ruamel.yaml.clib
# What the C parser reads differently: a %YAML directive (it resolves YAML 1.2 all the same), the line
# breaks of YAML 1.1 (NEL, LS, PS), which YAML 1.2 and ruamel's own parser take as plain text, and lone
# surrogates, which it cannot even encode (ruamel's parser reports them as characters not allowed).
_PURE_ONLY = re.compile("^%YAML|[\x85\u2028\u2029\ud800-\udfff]", re.MULTILINE)


_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


def _flow_too_deep(text: str) -> tuple[int, int] | None:
    """Where ``[``/``{`` nest deeper than :data:`MAX_DEPTH`, counting every bracket (quoted or not):
    the C parser overflows its stack on flow collections nested tens of thousands deep, so such a
    text goes to ruamel's Python parser, whose recursion error can be caught.  A quoted bracket can
    only make this say yes wrongly, which costs speed, never a wrong reading."""
    depth = 0
    for match in _FLOW_BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                start = match.start()
                line = text.count("\n", 0, start)
                return line, start - (text.rfind("\n", 0, start) + 1)
        elif depth:
            depth -= 1
    return None


class Source:
    """The text of one file, its YAML documents and the marks of their nodes (1-based)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()

    def documents(self, diag: Diagnostics) -> list[Any]:
        """The non-empty documents; a syntax error is reported and ends the reading, and so does a
        text longer than :data:`~kjob.limits.FILE_CHARS`, before any of it is parsed."""
        found: list[Any] = []
        too_long = FILE_CHARS.problem(len(self.text), "this file")
        if too_long is not None:
            diag.error(too_long, Mark(self.path, 1, 1))
            return found
        too_deep = _flow_too_deep(self.text)
        fast = HAVE_C_PARSER and not _PURE_ONLY.search(self.text) and too_deep is None
        try:
            try:
                self._read(found, fast=fast)
            except NodeError:
                raise
            except YAMLError:
                if not fast:
                    raise
                found.clear()  # read it again for ruamel's own wording of the mistake
                self._read(found, fast=False)
        except MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            message = error.problem or "invalid YAML"
            context = error.context_mark
            if error.context and context is not None and mark is not None and context.line != mark.line:
                message = f"{message} ({error.context} that starts at line {context.line + 1})"
            elif error.context:
                message = f"{message} ({error.context})"
            diag.error(f"invalid YAML: {message}", Mark(self.path, line, col))
        except YAMLError as error:
            diag.error(f"invalid YAML: {error}", Mark(self.path, 1, 1))
        except RecursionError:  # ruamel's own composer, on flow collections nested thousands deep
            line, col = too_deep or (0, 0)
            diag.error(f"invalid YAML: {DEEP}", Mark(self.path, line + 1, col + 1))
        return found

    def _read(self, found: list[Any], *, fast: bool) -> None:
        """Append the tree of each non-empty document to ``found``, one document at a time."""
        count = NodeCount()  # for the whole file
        if fast:
            yaml = YAML(typ="safe", pure=False)
            yaml.Resolver = _Resolver12
            for node in yaml.compose_all(self.text):
                _keep(found, construct(node, count=count))
            return
        yaml = YAML(typ="rt")
        with warnings.catch_warnings():
            # A reused anchor is valid YAML (the later one counts); the C parser does not warn either.
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            for node in yaml.compose_all(self.text):
                _keep(found, construct(node, yaml_11=yaml.resolver.processing_version == (1, 1), count=count))

    def mark(self, line: int, col: int) -> Mark:
        return Mark(self.path, line + 1, col + 1)

    def node(self, node: Any) -> Mark:
        if isinstance(node, YamlMap | YamlSeq):
            return self.mark(*node.start)
        return Mark(self.path, 1, 1)

    def key(self, node: YamlMap, key: Any) -> Mark:
        place = node.places.get(key)
        if place is None:  # a merged key, or none at all
            return self.node(node)
        return self.mark(place[0], place[1])

    def value(self, node: YamlMap, key: Any) -> Mark:
        place = node.places.get(key)
        if place is None:
            return self.node(node)
        return self.mark(place[2], place[3])

    def item(self, node: YamlSeq, index: int) -> Mark:
        if not 0 <= index < len(node.places):
            return self.node(node)
        return self.mark(*node.places[index])

    def locator(self, start: Mark, text: str) -> Locator:
        """Where each line of ``text`` (a scalar starting at ``start``) is in the file, when that is sure."""
        row, col = start.line - 1, start.col - 1
        if not 0 <= row < len(self.lines) or col >= len(self.lines[row]):
            return Locator(start)
        line = self.lines[row]
        first = line[col]
        if first == "|":
            return self._literal(start, text)
        if "\n" in text or first == ">":
            return Locator(start)
        skip = 1 if first in "\"'" else 0
        if line[col + skip : col + skip + len(text)] == text:
            return Locator(start, ((start.line, start.col + skip),))
        return Locator(start)

    def _literal(self, start: Mark, text: str) -> Locator:
        header = self.lines[start.line - 1][start.col - 1 :]
        if re.match(r"\|[-+]?[1-9]|\|[1-9]", header):
            return Locator(start)  # an explicit indentation indicator: rare, not worth mapping
        body = self.lines[start.line :]
        indent = next((len(b) - len(b.lstrip(" ")) for b in body if b.strip()), None)
        if indent is None:
            return Locator(start)
        positions: list[tuple[int, int]] = []
        for index, piece in enumerate(text.split("\n")):
            row = start.line + index  # 0-based row of this piece
            if piece and (row >= len(self.lines) or self.lines[row][indent:] != piece):
                return Locator(start)
            positions.append((row + 1, indent + 1))
        return Locator(start, tuple(positions))


def _keep(found: list[Any], tree: Any) -> None:
    if tree is not None:  # an empty document
        found.append(tree)


def _implicit_rules_12() -> dict[str, list[tuple[Tag, Any]]]:
    """ruamel's YAML 1.2 implicit resolvers by first character, in ruamel's order: each a tag and
    ruamel's not yet compiled pattern that a plain scalar must match to take it (see :func:`_regex`)."""
    rules: dict[str, list[tuple[Tag, Any]]] = {}
    for versions, tag, regexp, first in implicit_resolvers:
        if (1, 2) in versions:
            rule = (Tag(suffix=tag), regexp)  # any attribute of regexp would compile it
            for char in first:
                rules.setdefault(char, []).append(rule)
    return rules


_IMPLICIT_12 = _implicit_rules_12()


@functools.cache
def _regex(regexp: Any) -> re.Pattern[str]:
    """A resolver's pattern, compiled once, on first use (ruamel's lazy wrapper costs a call per use):
    compiling all of them at import cost 2% of a lint's start-up, and a file needs only those of the
    first characters its plain scalars start with (a digit for the int, float and timestamp ones)."""
    return re.compile(regexp.pattern, regexp.flags)


class _Resolver12(VersionedResolver):
    """ruamel's YAML 1.2 resolution of untagged nodes, with the rules looked up once: ruamel's own
    resolver works out the version for every scalar, which costs more than the C parser's whole work."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if implicit[0]:  # plain (unquoted) scalar
                for tag, regexp in _IMPLICIT_12.get(value[:1], ()):
                    if _regex(regexp).match(value):
                        return tag
            return self.DEFAULT_SCALAR_TAG
        if kind is MappingNode:
            return self.DEFAULT_MAPPING_TAG
        return self.DEFAULT_SEQUENCE_TAG
