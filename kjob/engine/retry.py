"""When a failed attempt is tried again, and after how long (Argo's ``retryStrategy``).

Kept pure so that the exact backoff schedule can be tested and reused by the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from kjob.backends.base import AttemptPhase
from kjob.spec.durations import LONGEST
from kjob.spec.model import Backoff, RetryPolicy, RetryStrategy


def backoff_delay(backoff: Backoff | None, retry_index: int) -> float:
    """Seconds to wait before retry number ``retry_index`` (0 for the first retry).

    ``duration * factor**retry_index``, never more than ``cap``; ``inf`` where that product is
    beyond any float (a huge factor: the retry never comes, rather than an ``OverflowError``).
    """
    if backoff is None or backoff.duration <= 0:
        return 0.0
    try:
        delay = backoff.duration * backoff.factor**retry_index
    except OverflowError:
        delay = math.inf
    if backoff.cap is not None:
        delay = min(delay, backoff.cap)
    return float(delay)


def policy_allows(policy: RetryPolicy, phase: AttemptPhase, *, transient: bool) -> bool:
    """Whether an attempt that ended in ``phase`` may be retried under ``policy``."""
    if phase is AttemptPhase.SUCCEEDED:
        return False
    if policy is RetryPolicy.ALWAYS:
        return True
    if policy is RetryPolicy.ON_FAILURE:
        return phase is AttemptPhase.FAILED
    if policy is RetryPolicy.ON_ERROR:
        return phase is AttemptPhase.ERROR
    return phase is AttemptPhase.ERROR and transient


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """``at`` is when the next attempt starts, or ``None`` when there is none; ``reason`` says why not."""

    at: float | None
    reason: str = ""


def decide_retry(
    strategy: RetryStrategy | None,
    *,
    phase: AttemptPhase,
    transient: bool,
    attempts_done: int,
    first_started_at: float,
    finished_at: float,
    expression_holds: Callable[[], bool] | None = None,
) -> RetryDecision:
    """Decide the next attempt after one ended, from the attempts so far.

    ``expression_holds`` is ``retryStrategy.expression`` evaluated for the attempt that ended, asked
    once the policy and the limit allow a retry, as in Argo: false means no retry.

    ``maxDuration`` bounds the whole retry window: a retry whose start (finish of the last attempt plus
    its backoff) would fall later than ``first_started_at + maxDuration`` does not happen, as in Argo.
    """
    if strategy is None or phase is AttemptPhase.SUCCEEDED:
        return RetryDecision(None)
    if not policy_allows(strategy.policy, phase, transient=transient):
        return RetryDecision(None, f"retryPolicy {strategy.policy.value} does not retry {phase.value}")
    retries_done = attempts_done - 1
    if strategy.limit is not None and retries_done >= strategy.limit:
        return RetryDecision(None, f"retry limit {strategy.limit} reached")
    if expression_holds is not None and not expression_holds():
        return RetryDecision(None, "retryStrategy.expression evaluated to false")
    delay = backoff_delay(strategy.backoff, retries_done)
    if delay > LONGEST:
        length = f"{delay:.3g}s" if math.isfinite(delay) else "more seconds than a float holds"
        return RetryDecision(None, f"the next backoff ({length}) is longer than any wait (292 years)")
    at = finished_at + delay
    window = strategy.backoff.max_duration if strategy.backoff is not None else None
    if window is not None and at > first_started_at + window:
        return RetryDecision(None, "the next backoff would exceed maxDuration")
    return RetryDecision(at)


@dataclass(frozen=True, slots=True)
class LastRetry:
    """The attempt that ended, as ``retryStrategy.expression`` reads it (``lastRetry.*``)."""

    exit_code: int | None
    phase: AttemptPhase
    seconds: float
    message: str
    retries: int  # retries done so far (0 after the first attempt)

    def env(self) -> dict[str, object]:
        """Argo's variables: every value a string; the duration in whole seconds (Argo's node times
        have one-second resolution, so ``asInt(lastRetry.duration)`` works)."""
        return {
            "lastRetry": {
                "exitCode": "-1" if self.exit_code is None else str(self.exit_code),
                "status": self.phase.value,
                "duration": str(int(self.seconds)),
                "message": self.message,
            },
            "retries": str(self.retries),
        }


def retry_expression_holds(expression: str, last: LastRetry, render: Callable[[str], str]) -> bool:
    """``retryStrategy.expression`` for ``last``: its references rendered by ``render`` first (as Argo
    substitutes the template), then evaluated; TemplateError when it fails or is not true or false."""
    from kjob.errors import TemplateError
    from kjob.expr import compile_expression

    text = render(expression)
    value = compile_expression(text).evaluate(last.env())
    if not isinstance(value, bool):
        raise TemplateError(
            "retryStrategy.expression must be true or false", text=text, column=0, hint="compare the value"
        )
    return value
