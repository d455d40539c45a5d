"""Which emulators exist, and which of the errors their controllers recorded nobody has looked at.

An emulator's controllers keep running when something goes wrong inside them (a pod they cannot
create, a bug in the emulator), and note the error in ``Emulator.errors`` instead of raising it in
a background thread where no test would see it. :data:`LEDGER` lets a test harness find those errors
without knowing which emulators a test made: every emulator registers when it is created, and when
it is closed its errors not yet taken are kept here. :meth:`ErrorLedger.take` returns the new ones
(from open and closed emulators alike) and marks them as taken.

``tests/conftest.py`` calls it after every test and fails the test if there were any.
"""

from __future__ import annotations

import threading
import weakref
from typing import Protocol


class ErrorSource(Protocol):
    """What the ledger needs of an emulator."""

    @property
    def errors(self) -> list[str]: ...

    def describe(self) -> str: ...


class ErrorLedger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: weakref.WeakKeyDictionary[ErrorSource, int] = weakref.WeakKeyDictionary()
        self._closed: list[str] = []

    def register(self, source: ErrorSource) -> None:
        with self._lock:
            self._open[source] = 0

    def close(self, source: ErrorSource) -> None:
        """``source`` stops: keep the errors not taken yet."""
        with self._lock:
            taken = self._open.pop(source, None)
            if taken is not None:
                self._closed += _label(source, source.errors[taken:])

    def take(self) -> list[str]:
        """The errors recorded since the last call, by every emulator, each prefixed by which one."""
        with self._lock:
            found, self._closed = self._closed, []
            for source, taken in list(self._open.items()):
                errors = source.errors
                found += _label(source, errors[taken:])
                self._open[source] = len(errors)
            return found


def _label(source: ErrorSource, errors: list[str]) -> list[str]:
    return [f"{source.describe()}: {e}" for e in errors]


LEDGER = ErrorLedger()
