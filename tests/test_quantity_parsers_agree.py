"""kjob's quantity parser (:mod:`kjob.quantity`) and the API emulator's, written apart so that the
emulator stays an independent stand-in for the apiserver, read every quantity alike."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kjob.quantity import parse_quantity as kjob_parse
from kjob.testing.emulator.quantity import parse_quantity as emulator_parse

SUFFIXES = [
    "",
    "m",
    "k",
    "M",
    "G",
    "T",
    "P",
    "E",
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Pi",
    "Ei",
    "n",
    "u",
    "e3",
    "E-2",
    "x",
]
numbers = st.from_regex(r"[+-]?([0-9]{1,6}(\.[0-9]{0,3})?|\.[0-9]{1,3})", fullmatch=True)


def outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except ValueError:
        return ValueError


@given(numbers, st.sampled_from(SUFFIXES))
def test_both_parsers_read_a_quantity_alike(number: str, suffix: str) -> None:
    text = number + suffix
    assert outcome(kjob_parse, text) == outcome(emulator_parse, text)


@given(st.text(max_size=12))
def test_both_parsers_refuse_the_same_text(text: str) -> None:
    assert outcome(kjob_parse, text) == outcome(emulator_parse, text)
