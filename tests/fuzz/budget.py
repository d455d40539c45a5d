"""The bounds and the tally shared by fuzz suites: a fixed number of examples per test, drawn
reproducibly (``derandomize``), scaled by ``KJOB_FUZZ_EXAMPLES``; and a count of the inputs tried,
printed once a module is done so a closing note can quote it."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator, Mapping

import pytest
from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("KJOB_FUZZ_EXAMPLES", "1") or 1)
TALLY_KEY = "kjob_fuzz_tally"  # the tally lines a pytest-xdist worker hands to the controller


def bounded(examples: int) -> settings:
    """Settings for a fuzz test that tries ``examples`` inputs (times ``KJOB_FUZZ_EXAMPLES``)."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def report_tally(request: pytest.FixtureRequest, suite: str, tried: Counter[str]) -> Iterator[None]:
    """The body of a module fixture: after the module's tests, say how many inputs each tried (under
    pytest-xdist each worker hands its share to the controller, which adds them up and says it)."""
    yield
    workeroutput = getattr(request.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: see tests/conftest.py
        workeroutput.setdefault(TALLY_KEY, []).append((suite, dict(tried)))
        return
    line = tally_line(suite, tried)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # said after the summary: output captured during teardown is not shown
        request.config.add_cleanup(lambda: reporter.write_line(line))
    else:  # pragma: no cover - pytest without its terminal
        print(line, file=sys.stderr)


def tally_line(suite: str, tried: Mapping[str, int]) -> str:
    total = sum(tried.values())
    parts = ", ".join(f"{name} {count:,}" for name, count in sorted(tried.items()))
    return f"fuzz {suite}: {total:,} inputs tried ({parts}), no exception but kjob's own"
