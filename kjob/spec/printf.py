"""``withSequence``'s ``format``: a printf-style format of one number, checked before any item is made.

Argo formats each number with Go's ``fmt.Sprintf``; kjob with Python's ``%`` operator, which reads Go's
conversions of a whole number the same way (``%d``, ``%03d``, ``%x``, ``%X``, ``%o``; Go writes any
other, ``%s`` or ``%f``, as an error text such as ``%!f(int=5)``).  A format is accepted when it has
exactly one such conversion (``%%`` is a literal ``%``) and its width and precision are within
:data:`kjob.limits.FORMAT_WIDTH`: ``%099999999d`` would make every item 100 MB.
"""

from __future__ import annotations

import re

from kjob.limits import FORMAT_WIDTH

_DIRECTIVE = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?:\.(?P<precision>\d*))?(?P<kind>.?)", re.DOTALL)
NUMBER_KINDS = "doxX"
HINT = "write one conversion of the number, e.g. 'shard-%03d'"


def format_problem(fmt: str) -> str | None:
    """What keeps ``fmt`` from formatting one whole number within the limits, or ``None``."""
    conversions = 0
    for match in _DIRECTIVE.finditer(fmt):
        kind = match.group("kind")
        if kind == "%" and match.end() - match.start() == 2:
            continue  # "%%"
        if not kind or kind not in NUMBER_KINDS:
            shown = match.group()
            return f"'{shown}' is not a conversion of a number (use one of %{', %'.join(NUMBER_KINDS)})"
        conversions += 1
        for part in ("width", "precision"):
            digits = match.group(part) or ""
            size = int(digits or "0") if len(digits) < 16 else 10 ** (len(digits) - 1)
            too_wide = FORMAT_WIDTH.problem(size, f"the {part} of '{_clip(match.group())}'")
            if too_wide is not None:
                return too_wide
    if conversions != 1:
        return f"it has {conversions} conversions of the number, not 1"
    return None


def _clip(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."
