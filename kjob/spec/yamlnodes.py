"""The positioned YAML tree: ruamel's composed nodes -> dicts, lists and scalars that know where they are.

:func:`construct` walks one document's ``MappingNode``/``SequenceNode``/``ScalarNode`` graph directly,
without ruamel's round-trip constructor.  Scalars become ``str``, ``int``, ``float``, ``bool``, ``None``
or a date by their resolved tag, with the values ruamel's round-trip loader gives (``1000`` is an int,
``"1000"`` a string, ``0x10`` is 16); mappings become :class:`YamlMap` and sequences :class:`YamlSeq`,
which keep the 0-based line and column of themselves, of each key and value, and of each item.  Merge
keys (``<<``) are applied as ruamel applies them, an alias gives the very object of its anchor, and a
duplicate key or a bad merge raises :class:`NodeError`, worded like ruamel's own errors.

Aliases are not copied, but whatever reads the tree later (``plain()``, the builders) walks an alias as
often as it is used, so the nodes are counted as if every alias were expanded, and a file past
:data:`kjob.limits.YAML_NODES` is refused before anything walks it: a "billion laughs" of nine nested
aliases is 860 bytes of text and hundreds of millions of nodes.  An alias inside the collection it
names (a structure with no end) is refused too.

An explicit tag of a core type is followed (``!!str 5`` is the string "5", ``!!int "7"`` the number 7);
any other tag (``!foo``, ``!!binary``) is ignored and the node read by its kind, text for a scalar.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ruamel.yaml.error import MarkedYAMLError, StreamMark
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.timestamp import TimeStamp
from ruamel.yaml.util import create_timestamp, timestamp_regexp

from kjob.limits import YAML_NODES

Position = tuple[int, int]  # 0-based line and column, as ruamel's marks count them
_Number = TypeVar("_Number", int, float)

MAX_DEPTH = 100  # mappings and sequences inside each other; real workflows stay below 20
DEEP = (
    f"the YAML is nested more than {MAX_DEPTH} levels deep here; no workflow needs that "
    "(pass deep data as a JSON string instead)"
)
_YAML_TAG = "tag:yaml.org,2002:"
STR_TAG = _YAML_TAG + "str"
MERGE_TAG = _YAML_TAG + "merge"
VALUE_TAG = _YAML_TAG + "value"


class YamlMap(dict[Any, Any]):
    """A mapping that knows where it starts and, per key written in it, where the key and its value are.

    Keys brought in by a merge key (``<<``) come after the mapping's own keys and have no place here.
    """

    __slots__ = ("places", "start")

    def __init__(self, start: Position) -> None:
        super().__init__()
        self.start = start
        self.places: dict[Any, tuple[int, int, int, int]] = {}  # key -> key line, col, value line, col


class YamlSeq(list[Any]):
    """A sequence that knows where it starts and where each of its items is."""

    __slots__ = ("places", "start")

    def __init__(self, start: Position) -> None:
        super().__init__()
        self.start = start
        self.places: list[Position] = []


def empty_map() -> YamlMap:
    """An empty mapping placed at the top of the file: what a missing section is read as."""
    return YamlMap((0, 0))


class NodeError(MarkedYAMLError):
    """A mistake found while building the tree: a duplicate key, a bad merge, a scalar unfit for its tag."""


RECURSIVE = "this alias is used inside the very collection it names, which makes a structure with no end"
SHOWN_CHARS = 60  # of a value quoted in a message


class NodeCount:
    """The nodes of one file's documents built so far, each use of an alias counted again."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0


def construct(node: Node, *, yaml_11: bool = False, count: NodeCount | None = None) -> Any:
    """The tree of one composed document; ``yaml_11`` reads numbers the YAML 1.1 way (``%YAML 1.1``).

    ``count`` carries the node count from document to document, so :data:`~kjob.limits.YAML_NODES`
    bounds a whole file; without it the document is counted on its own.
    """
    builder = _Builder(yaml_11, count.total if count is not None else 0)
    tree = builder.build(node, node.start_mark)
    if count is not None:
        count.total = builder.nodes
    return tree


class _Builder:
    def __init__(self, yaml_11: bool, nodes: int) -> None:
        self.scalars: dict[str | None, Callable[[str], Any]] = {
            _YAML_TAG + "int": _int_11 if yaml_11 else _int,
            _YAML_TAG + "float": _float_11 if yaml_11 else _float,
            _YAML_TAG + "bool": _bool,
            _YAML_TAG + "null": _null,
            _YAML_TAG + "timestamp": _timestamp,
        }
        self.built: dict[int, YamlMap | YamlSeq] = {}  # by id of node: an alias is its anchor's node
        self.sizes: dict[int, int] = {}  # by id of node: its nodes, aliases expanded (once it is built)
        self.depth = 0
        self.nodes = nodes
        self.max_nodes = YAML_NODES.value

    def build(self, node: Node, used_at: StreamMark) -> Any:
        """The value of ``node``; ``used_at`` is where it is used, the place to blame for an alias."""
        if isinstance(node, ScalarNode):
            self.nodes += 1
            return self.scalar(node, node.tag)
        built = self.built.get(id(node))
        if built is not None:  # an alias
            size = self.sizes.get(id(node))
            if size is None:
                raise NodeError(None, None, RECURSIVE, used_at)
            self.count(size, used_at)
            return built
        if isinstance(node, MappingNode):
            return self.mapping(node)
        if isinstance(node, SequenceNode):
            return self.sequence(node)
        raise TypeError(f"not a YAML node: {node!r}")

    def scalar(self, node: ScalarNode, tag: str | None) -> Any:
        """The value of a scalar by its tag; the text itself for strings and tags kjob does not know."""
        text: str = node.value
        if tag == STR_TAG:
            return text
        convert = self.scalars.get(tag)
        if convert is None:
            return text
        try:
            return convert(text)
        except (ValueError, KeyError, IndexError):
            kind = tag.removeprefix(_YAML_TAG) if tag else "a scalar"
            raise NodeError(
                None, None, f'failed to construct {kind} from "{shown(text)}"', node.start_mark
            ) from None

    def count(self, nodes: int, mark: StreamMark) -> None:
        self.nodes += nodes
        if self.nodes > self.max_nodes:
            message = YAML_NODES.problem(self.nodes, "this file", at_least=True)
            raise NodeError(None, None, message, mark)

    def nest(self, node: Node) -> int:
        """One level deeper; a document nested deeper than any workflow needs is refused at the
        place it goes too deep (before Python's recursion limit is).  Gives the node count before
        this node, for :meth:`done`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NodeError(None, None, DEEP, node.start_mark)
        before = self.nodes
        self.count(1, node.start_mark)
        return before

    def done(self, node: Node, before: int) -> None:
        """Out of ``node`` again: its size (aliases expanded) is known from now on."""
        self.sizes[id(node)] = self.nodes - before
        self.depth -= 1

    def sequence(self, node: SequenceNode) -> YamlSeq:
        before = self.nest(node)
        start = node.start_mark
        seq = YamlSeq((start.line, start.column))
        self.built[id(node)] = seq
        places = seq.places
        for child in node.value:
            seq.append(self.build(child, start))
            mark = child.start_mark
            places.append((mark.line, mark.column))
        self.done(node, before)
        return seq

    def mapping(self, node: MappingNode) -> YamlMap:
        """Like ruamel's round-trip constructor: merge sources first, then the own keys in order, each
        checked for duplicates after its value is built; merged keys go last and never override."""
        before = self.nest(node)
        mark = node.start_mark
        mapping = YamlMap((mark.line, mark.column))
        self.built[id(node)] = mapping
        key_tags = [key_node.tag for key_node, _ in node.value]  # read once: a tag is costly to read
        sources = self.merge_sources(node, key_tags) if MERGE_TAG in key_tags else []
        places = mapping.places
        for (key_node, value_node), key_tag in zip(node.value, key_tags, strict=True):
            if key_tag == STR_TAG:
                key = key_node.value
            elif key_tag == MERGE_TAG:
                continue
            else:
                key = self.key(key_node, key_tag, node)
            value = self.build(value_node, key_node.start_mark)
            if key in mapping:
                raise NodeError(
                    "while constructing a mapping",
                    node.start_mark,
                    f'found duplicate key "{shown(key)}" with value "{shown(value)}" '
                    f'(original value: "{shown(mapping[key])}")',
                    key_node.start_mark,
                )
            mapping[key] = value
            key_mark, value_mark = key_node.start_mark, value_node.start_mark
            places[key] = (key_mark.line, key_mark.column, value_mark.line, value_mark.column)
        for source in sources:
            for key, value in source.items():
                if key not in mapping:
                    mapping[key] = value
        self.done(node, before)
        return mapping

    def key(self, key_node: Node, tag: str | None, node: MappingNode) -> Any:
        if isinstance(key_node, ScalarNode):
            return key_node.value if tag == VALUE_TAG else self.scalar(key_node, tag)
        key = self.build(key_node, key_node.start_mark)  # a complex key (``? [a, b]``), which ruamel allows
        key = tuple(key.items()) if isinstance(key, YamlMap) else tuple(key)
        try:
            hash(key)
        except TypeError:
            raise NodeError(
                "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
            ) from None
        return key

    def merge_sources(self, node: MappingNode, key_tags: list[str | None]) -> list[YamlMap]:
        """The mappings merged in with ``<<: *a`` or ``<<: [*a, *b]``, the first one winning."""
        sources: list[YamlMap] = []
        merged = False
        for (key_node, value_node), key_tag in zip(node.value, key_tags, strict=True):
            if key_tag != MERGE_TAG:
                continue
            if merged:
                raise NodeError(
                    "while constructing a mapping",
                    node.start_mark,
                    'found duplicate merge key "<<"',
                    key_node.start_mark,
                )
            merged = True
            if isinstance(value_node, MappingNode):
                sources.append(self.build(value_node, key_node.start_mark))
            elif isinstance(value_node, SequenceNode):
                for item in value_node.value:
                    if not isinstance(item, MappingNode):
                        raise NodeError(
                            "while constructing a mapping",
                            node.start_mark,
                            f"expected a mapping for merging, but found {item.id}",
                            item.start_mark,
                        )
                    sources.append(self.build(item, key_node.start_mark))
            else:
                raise NodeError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"expected a mapping or list of mappings for merging, but found {value_node.id}",
                    value_node.start_mark,
                )
        return sources


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``str(value)`` as a message quotes it, cut after ``limit`` characters without ever writing out
    more: the value may hold an alias used millions of times."""
    text = ""
    for piece in _pieces(value, top=True):
        text += piece
        if len(text) > limit:
            return text[:limit] + "..."
    return text


def _pieces(value: Any, *, top: bool) -> Iterator[str]:
    """``str(value)`` piece by piece, lazily (containers show their items' ``repr`` as ``str`` does)."""
    if isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield ", " if index else ""
            yield from _pieces(key, top=False)
            yield ": "
            yield from _pieces(item, top=False)
        yield "}"
    elif isinstance(value, list | tuple):
        brackets = "[]" if isinstance(value, list) else "()"
        yield brackets[0]
        for index, item in enumerate(value):
            yield ", " if index else ""
            yield from _pieces(item, top=False)
        yield "," + brackets[1] if isinstance(value, tuple) and len(value) == 1 else brackets[1]
    else:
        yield str(value) if top else repr(value)


# -- scalars, as ruamel's round-trip constructor reads them -----------------------------------------


def _signed(text: str) -> tuple[int, str]:
    digits = text.replace("_", "")
    sign = -1 if digits[0] == "-" else 1
    return sign, digits[1:] if digits[0] in "+-" else digits


def _int(text: str) -> int:
    sign, digits = _signed(text)
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)  # YAML 1.2: a leading zero is just a zero


def _int_11(text: str) -> int:
    sign, digits = _signed(text)
    if digits.startswith(("0b", "0x", "0o")):
        return _int(text)
    if len(digits) > 1 and digits[0] == "0":
        return sign * int(digits, 8)
    if ":" in digits:
        return sign * _base_60([int(part) for part in digits.split(":")])
    return sign * int(digits)


def _float(text: str) -> float:
    sign, digits = _signed(text.lower())
    if digits == ".inf":
        return sign * math.inf
    if digits == ".nan":
        return math.nan
    return sign * float(digits)


def _float_11(text: str) -> float:
    sign, digits = _signed(text.lower())
    if ":" in digits:
        return sign * _base_60([float(part) for part in digits.split(":")])
    return _float(text)


def _base_60(parts: list[_Number]) -> _Number:
    """``1:20:30`` -> 4830, summed from the last part as ruamel does (the same float rounding)."""
    total = parts[-1] * 0
    base = 1
    for part in reversed(parts):
        total += part * base
        base *= 60
    return total


_BOOLS = dict.fromkeys(("yes", "y", "true", "on"), True) | dict.fromkeys(("no", "n", "false", "off"), False)


def _bool(text: str) -> bool:
    return _BOOLS[text.lower()]


def _null(text: str) -> None:
    return None


def _timestamp(text: str) -> datetime.date:
    """A date, a datetime, or ruamel's ``TimeStamp`` for a time written with ``T`` or a zone (its
    ``str()`` keeps the ``T``, as messages quoting the value show)."""
    match = timestamp_regexp.match(text)
    if match is None:
        raise ValueError(text)
    values = match.groupdict()
    moment = create_timestamp(**values)
    if not isinstance(moment, datetime.datetime) or not any(
        values[part] for part in ("t", "tz_sign", "tz_hour", "tz_minute")
    ):
        return moment
    stamp = TimeStamp(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        moment.tzinfo,
    )
    stamp._yaml["t"] = bool(values["t"])
    return stamp
