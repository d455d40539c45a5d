"""Objects as text: YAML that every reader (1.1 like kubectl's, or 1.2) reads back unchanged, and JSON.

The same object always gives the same bytes, so rendered output can be compared and committed.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import yaml

try:
    from yaml import CSafeDumper as _SafeDumper  # libyaml, in every PyYAML wheel
except ImportError:  # pragma: no cover - a PyYAML built without libyaml (slower)
    from yaml import SafeDumper as _SafeDumper  # type: ignore[assignment]


def yaml_text(doc: Mapping[str, Any]) -> str:
    """One object as YAML that every YAML reader (1.1 like kubectl's, or 1.2) reads back unchanged.

    Emitted by libyaml (PyYAML's C emitter, fed events straight from the object: many times faster
    than ruamel's pure-Python emitter on a big dry run), each string in the style
    :func:`_string_style` picks.  libyaml refuses a literal block to some texts ruamel writes as one
    (a tab, a space before a line break, blank lines at the end), and writes keys that need escapes
    and ``None`` items differently: an object holding such a value is emitted by ruamel instead, so
    the output is the same bytes either way."""
    events: list[yaml.Event] = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False)]
    try:
        _events(doc, events)
    except _NotForLibyaml:
        return _ruamel_text(doc)
    events += [yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return yaml.emit(events, Dumper=_SafeDumper, allow_unicode=True, width=_WIDTH)  # type: ignore[no-any-return]


def json_text(value: Any, *, indent: bool = False) -> str:
    """JSON text by orjson (C: twelve times the standard library's indenting encoder, which is pure
    Python), or by the standard library where orjson refuses a value (a lone surrogate, an integer
    past 64 bits).  Indented, both write the same bytes."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, indent=2 if indent else None, ensure_ascii=False)


def comment(lines: Sequence[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for text in lines for line in text.splitlines() or [""])


@functools.lru_cache(maxsize=2**14)  # a manifest repeats its keys and labels
def _string_style(value: str) -> str | None:
    """The style of a string (keys too), so that any YAML reader, 1.1 or 1.2, reads it back as the
    same string: plain (``None``) only for a safe word (never ``yes``, ``on``, ``1e3``, ``0o12``),
    a literal block (``|``) for multi-line text, so scripts read as written; double quotes (escapes)
    for control characters and the line breaks YAML readers disagree on (none of them printable);
    single quotes otherwise."""
    if not value.isprintable() and not value.replace("\n", "").replace("\t", "").isprintable():
        return '"'
    if "\n" in value:
        return "|"
    if _PLAIN.fullmatch(value) and value.lower() not in _YAML11_WORDS:
        return None
    return "'"


class _NotForLibyaml(Exception):
    """A value libyaml would not write as ruamel does (see :func:`yaml_text`)."""


def _libyaml_keeps(value: str, style: str | None, *, key: bool) -> bool:
    if key:
        return style is None or style == "'"
    if style != "|":
        return True
    return not ("\t" in value or " \n" in value or value.endswith((" ", "\n\n")) or value == "\n")


def _events(value: Any, out: list[yaml.Event], *, key: bool = False) -> None:
    """The YAML events of ``value``, appended to ``out``: block collections, each string in its
    style, ``None`` as nothing; no tags (every reader resolves the values to their types)."""
    if isinstance(value, str):
        style = _string_style(value)
        if not _libyaml_keeps(value, style, key=key):
            raise _NotForLibyaml
        out.append(yaml.ScalarEvent(None, None, (True, True), value, style=style))
    elif isinstance(value, dict):
        out.append(yaml.MappingStartEvent(None, None, True, flow_style=False))
        for k, v in value.items():
            _events(k, out, key=True)
            _events(v, out)
        out.append(yaml.MappingEndEvent())
    elif isinstance(value, list):
        out.append(yaml.SequenceStartEvent(None, None, True, flow_style=False))
        for v in value:
            if v is None:  # ruamel writes "- " where libyaml writes "-"
                raise _NotForLibyaml
            _events(v, out)
        out.append(yaml.SequenceEndEvent())
    elif isinstance(value, bool):
        out.append(yaml.ScalarEvent(None, None, (True, False), "true" if value else "false"))
    elif isinstance(value, int):
        out.append(yaml.ScalarEvent(None, None, (True, False), str(value)))
    elif value is None:
        out.append(yaml.ScalarEvent(None, None, (True, False), ""))
    else:  # a float or anything else: written as ruamel writes it
        raise _NotForLibyaml


_WIDTH = 100_000  # never fold a line: scripts and commands stay as written


def _ruamel_text(doc: Mapping[str, Any]) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    styles = {'"': DoubleQuotedScalarString, "|": LiteralScalarString, "'": SingleQuotedScalarString}

    def styled(value: Any) -> Any:
        if isinstance(value, dict):
            return {styled(k): styled(v) for k, v in value.items()}
        if isinstance(value, list):
            return [styled(v) for v in value]
        if not isinstance(value, str):
            return value
        style = _string_style(value)
        return value if style is None else styles[style](value)

    emitter = YAML()
    emitter.default_flow_style = False
    emitter.width = _WIDTH
    buffer = io.StringIO()
    emitter.dump(styled(doc), buffer)
    return buffer.getvalue()


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:-]*(?<!:)")  # no YAML reader takes these as non-strings
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
