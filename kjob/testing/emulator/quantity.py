"""Resource quantities (``"250m"``, ``"32Gi"``, ``"1e3"``) as ``k8s.io/apimachinery/pkg/api/resource``
reads them, reduced to the integers the scheduler compares: milli-units for ``cpu`` (``MilliValue``),
whole units for everything else (``Value``), both rounded up.
"""

from __future__ import annotations

import math
from typing import Any

from kjob.quantity import QUANTITY_PATTERN, parse_quantity

__all__ = ["QUANTITY_PATTERN", "parse_quantity", "scheduler_units"]


def scheduler_units(resource: str, value: Any) -> int:
    """What the scheduler compares: ``MilliValue()`` for cpu, ``Value()`` otherwise (rounded up)."""
    exact = parse_quantity(value)
    return math.ceil(exact * 1000) if resource == "cpu" else math.ceil(exact)
