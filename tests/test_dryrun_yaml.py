"""The ``--dry-run`` YAML of any object reads back as that object, in YAML 1.1 (kubectl's reader) and
1.2, with scripts kept as literal blocks whichever emitter (libyaml, or ruamel for the strings
libyaml would write otherwise) wrote them."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kjob.render.yamltext import yaml_text

# Characters YAML gives a meaning to, line breaks of every kind, control characters, a BOM, non-ASCII.
SPECIAL = list(" \t\n\r:#'\"-?|>&*!%@`,[]{}~\\\x00\x07\x85\u2028\ufeffé✓")
WORDS = ["yes", "No", "on", "null", "~", "1e3", "0o12", "012", "1:20", "true", "- x", "a: b", "x" * 130]
texts = st.lists(
    st.one_of(st.sampled_from(SPECIAL), st.sampled_from(WORDS), st.text(max_size=3)), max_size=8
).map("".join)
scalars = st.one_of(texts, st.integers(-(2**40), 2**40), st.booleans(), st.none())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
).map(lambda value: {"data": value})

_pure_12 = YAML(typ="safe", pure=True)


@settings(max_examples=400)
@given(documents)
@example({"data": {"script": "set -e\n\techo 'tab' \n"}})  # libyaml would double-quote it
@example({"data": {"a\rb": "x", "k": "last\n\n"}})  # an escaped key; blank lines at the end
def test_every_object_reads_back_unchanged(doc: dict[str, Any]) -> None:
    text = yaml_text(doc)
    assert yaml.safe_load(text) == doc
    assert _pure_12.load(text) == doc


@given(st.lists(st.text(st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]), max_size=20)))
def test_a_multi_line_script_is_a_literal_block(lines: list[str]) -> None:
    script = "\n".join(["#!/bin/sh", *lines]) + "\n"
    text = yaml_text({"source": script})
    assert text.startswith("source: |")
    assert yaml.safe_load(text) == {"source": script}
