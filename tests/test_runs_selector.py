"""``kjob list -l``: label selectors read as Kubernetes reads them, and a mistake said with its place."""

from __future__ import annotations

import pytest

from kjob.errors import KjobError
from kjob.runs.selector import parse_selector

LABELS = {"kjob.dev/run": "etl-1", "kjob.dev/workflow": "etl", "tier": "gold"}


@pytest.mark.parametrize(
    ("selector", "picked"),
    [
        ("kjob.dev/workflow=etl", True),
        ("kjob.dev/workflow==etl", True),
        ("kjob.dev/workflow!=etl", False),
        ("missing!=x", True),
        ("tier in (gold, silver)", True),
        ("tier in (silver)", False),
        ("tier notin (silver)", True),
        ("missing notin (silver)", True),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("tier=gold,kjob.dev/run=etl-1", True),
        ("tier=gold, kjob.dev/run=etl-2", False),
        ("tier=", False),
        ("", True),
    ],
)
def test_a_selector_picks_as_kubernetes_would(selector: str, picked: bool) -> None:
    assert parse_selector(selector).matches(LABELS) is picked


@pytest.mark.parametrize(
    ("selector", "where"),
    [("tier in (gold", 1), ("tier=gold,,x=y", 11), ("tier=gold x", 1), ("=gold", 1), ("a=b,c d", 5)],
)
def test_a_selector_that_does_not_read_is_one_located_error(selector: str, where: int) -> None:
    with pytest.raises(KjobError) as caught:
        parse_selector(selector)
    assert caught.value.message.startswith(
        f"label selector {selector!r}: cannot read it from character {where} "
    )
    assert caught.value.hint is not None and "key=value" in caught.value.hint
