"""The JSON of the node agent's pipe, its journal and ``run.json``: whatever kjob writes reads back
the same, including what orjson refuses (a lone surrogate, an integer beyond 64 bits)."""

from __future__ import annotations

from typing import Any

import pytest

from kjob import jsonlines


@pytest.mark.parametrize(
    "value",
    [
        {"op": "start", "argv": ["sh", "-c", "echo ü"], "at": 1.5, "n": None},
        {"tail": "half a character \udcff and a lone \ud800"},
        {"big": 2**70, "small": -(2**70)},
        ["line\nbreak", "tab\t", 'quote"', "nul\x00"],
    ],
)
def test_what_is_written_reads_back_the_same_on_one_line(value: Any) -> None:
    text = jsonlines.dumps(value)
    assert b"\n" not in text
    assert jsonlines.loads(text) == value


def test_keys_can_be_sorted_and_bad_text_is_a_value_error() -> None:
    assert jsonlines.dumps({"b": 1, "a": 2}, sort_keys=True) == b'{"a":2,"b":1}'
    with pytest.raises(ValueError):
        jsonlines.loads(b'{"cut short": ')
