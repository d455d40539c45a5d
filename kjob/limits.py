"""Limits no real workflow reaches, so that a typo or a hostile input fails at once with a clear
error instead of exhausting memory or time.  Each is checked before the work it bounds, and each can
be raised with its environment variable.
"""

from __future__ import annotations

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
        text = os.environ.get(self.env, "").strip()
        return int(text) if text.isdigit() else self.default

    def check(self, count: int, subject: str) -> None:
        """Raise if ``count`` is over the limit; ``subject`` names what was counted."""
        if count > self.value:
            shown = f"{count:,}" if count < 10**15 else f"a {len(str(count))}-digit number of"
            raise KjobError(
                f"{subject} has {shown} {self.what}, more than kjob's limit of {self.value:,} "
                f"(set {self.env} to raise it)"
            )


FAN_OUT_ITEMS = Limit("items per fan-out", 1_000_000, "KJOB_MAX_FAN_OUT")
