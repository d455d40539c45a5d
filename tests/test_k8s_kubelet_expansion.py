"""``$(VAR)`` and ``$$`` as the kubelet reads them (:mod:`kjob.kubelet_expansion`), the rules the
local backend, an Indexed Job's items and one Job per item must all follow.  The table restates the
kubelet's Go ``expansion`` package case by case; the contract test
(``tests/contract/test_contract_expansion.py``) checks the common cases against a real cluster."""

from __future__ import annotations

import pytest

from kjob.kubelet_expansion import command, container_env, expand, references

ENV = {"A": "alpha", "B": "b$$b", "EMPTY": ""}

CASES = [
    ("no dollar", "plain text", "plain text"),
    ("a known variable", "x$(A)y", "xalphay"),
    ("its value is not expanded again", "$(B)", "b$$b"),
    ("an empty value", "[$(EMPTY)]", "[]"),
    ("an unknown variable stays as written", "$(NOPE)", "$(NOPE)"),
    ("escaped reference", "$$(A)", "$(A)"),
    ("a lone $$ is one $", "echo $$", "echo $"),
    ("$$$ then a reference", "$$$(A)", "$alpha"),
    ("four dollars are two", "$$$$", "$$"),
    ("a shell variable is untouched", "echo $HOME ${A}", "echo $HOME ${A}"),
    ("a trailing dollar", "cost 5$", "cost 5$"),
    ("unterminated: kept, and the scan goes on", "$(A $$", "$(A $"),
    ("the name runs to the first )", "$(A $$ $(A)", "$(A $$ $(A)"),
    ("a name may hold anything but )", "$(a b)", "$(a b)"),
    ("the empty name", "$()", "$()"),
    ("shell arithmetic is not a reference", "$((1 + 2))", "$((1 + 2))"),
    ("nested parentheses end at the first )", "$($(A))", "$($(A))"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_expand_follows_the_kubelet(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


def test_references_are_the_names_expand_would_look_up() -> None:
    assert references("$(A) $$(B) $(C $$ $(D)") == ["A", "C $$ $(D"]
    assert references("$(A $$") == []
    assert references("$$$(A)") == ["A"]
    assert references("no refs $ $$") == []


def test_env_values_see_only_the_variables_declared_before_them() -> None:
    env = container_env(
        [
            ("FIRST", "1"),
            ("BOTH", "$(FIRST)-$(LATER)"),
            ("LATER", "2"),
            ("ESC", "$$(FIRST)"),
            ("SELF", "$(SELF)x"),
        ]
    )
    assert env == {"FIRST": "1", "BOTH": "1-$(LATER)", "LATER": "2", "ESC": "$(FIRST)", "SELF": "$(SELF)x"}


def test_env_from_sources_come_first_and_a_declaration_overrides_them() -> None:
    env = container_env([("A", "mine:$(A)")], {"A": "from-configmap", "B": "b"})
    assert env == {"A": "mine:from-configmap", "B": "b"}


def test_command_and_args_use_the_final_environment() -> None:
    env = container_env([("N", "3"), ("M", "$(N)0")])
    assert command(["sh", "-c", "echo $(N) $(M) $$(N) $$ $(PATH)"], env) == [
        "sh",
        "-c",
        "echo 3 30 $(N) $ $(PATH)",  # PATH is the image's, not the container's: left as written
    ]
