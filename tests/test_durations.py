"""parse_duration: seconds from numbers and Go duration strings."""

from __future__ import annotations

import pytest

from kjob.errors import KjobError, SpecError
from kjob.spec import parse_duration
from kjob.spec.model import Mark


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10s", 10.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("2h45m30.5s", 9930.5),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("250us", 0.00025),
        ("250\u00b5s", 0.00025),
        ("100ns", 1e-7),
        ("0", 0.0),
        ("0s", 0.0),
        ("+3s", 3.0),
        (" 7s ", 7.0),
        (30, 30.0),
        (2.5, 2.5),
        ("30", 30.0),
        ("1.5", 1.5),
    ],
)
def test_valid(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "s",
        "10x",
        "1h 30m",
        "abc",
        "10S",
        "5 m",
        "-5s",
        "--1s",
        ".s",
        "1..5s",
        -1,
        True,
        None,
        [1],
        {"s": 1},
    ],
)
def test_invalid(value: object) -> None:
    with pytest.raises(KjobError):
        parse_duration(value)


def test_error_points_at_the_mark() -> None:
    with pytest.raises(SpecError) as caught:
        parse_duration("ten seconds", mark=Mark("wf.yaml", 4, 12))
    assert caught.value.render() == (
        'wf.yaml:4:12: error: invalid duration "ten seconds"\n'
        '  hint: use a number of seconds or a duration like "30s", "5m", "1h30m" or "500ms"'
    )


def test_negative_number_is_named() -> None:
    with pytest.raises(SpecError, match="must not be negative"):
        parse_duration(-3, mark=Mark("wf.yaml", 1, 1))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10**400, "10000000000000000000…(401 characters)"),
        ("9" * 400, '"99999999999999999999…(400 characters)"'),
        ("2562048h", '"2562048h"'),  # just past 2**63 ns
        (float("inf"), "inf"),
    ],
)
def test_longer_than_any_go_duration_is_refused_not_overflowed(value: object, shown: str) -> None:
    """Argo's durations are Go's (at most 2**63 ns, about 292 years): longer is an error here too,
    instead of an OverflowError traceback (a 400-digit number) or a wait that never ends (inf)."""
    with pytest.raises(KjobError) as err:
        parse_duration(value)
    assert err.value.message == f"duration {shown} is longer than any duration (about 292 years)"
    assert parse_duration("2562047h") == 2562047 * 3600  # just below
