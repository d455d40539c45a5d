"""Kubernetes resource quantities (``"250m"``, ``"32Gi"``, ``"1e3"``): the one parser kjob, its API
emulator and ``sim/`` share, exact as ``k8s.io/apimachinery/pkg/api/resource`` reads them, and the
short human form that messages print.
"""

from __future__ import annotations

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
    """The exact value of a quantity (a number or its text); ``ValueError`` for anything else."""
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


def human(resource: str, value: Fraction) -> str:
    """``value`` of ``resource`` short and readable: cpu in cores or ``m``, memory and storage in
    binary units (``1.5Gi``), counts and other resources as plain numbers."""
    if resource.endswith("cpu"):
        return f"{float(value):g}" if value.denominator == 1 else f"{float(value * 1000):g}m"
    if resource.endswith(("memory", "storage")):
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            unit = _SUFFIXES[suffix]
            if abs(value) >= unit:
                return f"{float(value / unit):.3g}{suffix}"
    return f"{float(value):g}"
