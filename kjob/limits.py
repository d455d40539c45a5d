"""Limits no real workflow reaches, so that a typo or a hostile input fails at once with a clear
error instead of exhausting memory or time.  Each is checked before the work it bounds, and each can
be raised with its environment variable.

The loader reports a limit it meets as a located error (``file:line:col``) through :meth:`Limit.problem`;
the engine, meeting one in a rendered value, raises :meth:`Limit.check`'s error, which ends that task.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass

from kjob.errors import KjobError


@dataclass(frozen=True, slots=True)
class Limit:
    what: str  # "items per fan-out"
    default: int
    env: str  # the variable that raises it

    @property
    def value(self) -> int:
        """The limit in force: read from the environment at every check (a test or an embedding
        program may change it), its text parsed once."""
        return _read(os.environ.get(self.env), self.default)

    def problem(self, count: int, subject: str, *, at_least: bool = False) -> str | None:
        """Why ``count`` is too many (``None`` when it is within the limit); ``subject`` names what was
        counted, and ``at_least`` says the counting stopped once it passed the limit."""
        if count <= self.value:
            return None
        shown = f"{count:,}" if count < 10**15 else f"a {_digits(count)}-digit number of"
        if at_least:
            shown = f"more than {self.value:,}"
            return f"{subject} has {shown} {self.what}, kjob's limit (set {self.env} to raise it)"
        return (
            f"{subject} has {shown} {self.what}, more than kjob's limit of {self.value:,} "
            f"(set {self.env} to raise it)"
        )

    def check(self, count: int, subject: str) -> None:
        """Raise if ``count`` is over the limit; ``subject`` names what was counted."""
        message = self.problem(count, subject)
        if message is not None:
            raise KjobError(message)


@functools.lru_cache(maxsize=64)
def _read(text: str | None, default: int) -> int:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else default


def _digits(number: int) -> int:
    """How many digits ``number`` has (Python will not write out more than 4,300 of them)."""
    if number.bit_length() < 13_000:  # under 3,914 digits
        return len(str(number))
    return math.floor(math.log10(number)) + 1


FAN_OUT_ITEMS = Limit("items per fan-out", 1_000_000, "KJOB_MAX_FAN_OUT")
FILE_CHARS = Limit("characters", 30_000_000, "KJOB_MAX_FILE_CHARS")
YAML_NODES = Limit("YAML nodes (each use of an alias counted again)", 5_000_000, "KJOB_MAX_YAML_NODES")
EXPRESSION_CHARS = Limit("characters", 1_000_000, "KJOB_MAX_EXPRESSION_CHARS")
RENDERED_CHARS = Limit("characters", 20_000_000, "KJOB_MAX_RENDERED_CHARS")
FORMAT_WIDTH = Limit("characters", 100, "KJOB_MAX_FORMAT_WIDTH")  # of a printf width or precision
NESTING = Limit("dag or steps templates around it", 100, "KJOB_MAX_NESTING")  # a template calling itself
