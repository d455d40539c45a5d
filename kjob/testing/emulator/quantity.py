"""Resource quantities (``"250m"``, ``"32Gi"``, ``"1e3"``) as ``k8s.io/apimachinery/pkg/api/resource``
reads them, reduced to the integers the scheduler compares: milli-units for ``cpu`` (``MilliValue``),
whole units for everything else (``Value``), both rounded up.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

_SUFFIXES: dict[str, Fraction] = {
    **{s: Fraction(1024**i) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), start=1)},
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?$"
)
#: The apiserver's message for a string that is not a quantity.
QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


def parse_quantity(value: Any) -> Fraction:
    """The exact value of a quantity; ``ValueError`` for anything else.

    kjob has its own parser (:mod:`kjob.quantity`); this one is the emulator's, written apart on
    purpose: the emulator stands in for the apiserver that kjob is tested against, so it shares none
    of kjob's code (``tests/test_emulator_imports.py``) and a mistake in one is caught by the other.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value))
    m = _QUANTITY.match(str(value).strip())
    if m is None:
        raise ValueError(f"quantities must match the regular expression '{QUANTITY_PATTERN}'")
    number = Fraction(m.group("number"))
    if m.group("exponent") is not None:
        return number * Fraction(10) ** int(m.group("exponent"))
    return number * _SUFFIXES[m.group("suffix") or ""]


def scheduler_units(resource: str, value: Any) -> int:
    """What the scheduler compares: ``MilliValue()`` for cpu, ``Value()`` otherwise (rounded up)."""
    exact = parse_quantity(value)
    return math.ceil(exact * 1000) if resource == "cpu" else math.ceil(exact)
