"""Custom metrics (Argo's ``metrics.prometheus``), evaluated where Argo's controller emits them.

kjob has no controller and no ``/metrics`` endpoint: :class:`MetricsLog` evaluates each metric at the
moment Argo would (a template's as each of its nodes ends, reading the node's ``status``, ``duration``,
``exitCode``, ``inputs``/``outputs``, ``retries``; the workflow's as the run ends, reading
``workflow.status`` and ``workflow.duration`` too) and keeps what Prometheus would hold: a gauge's last
value (``operation`` Add/Sub move it), a counter's sum, a histogram's observations and bucket counts,
one series per name and labels.  The run record lists them (:meth:`MetricsLog.records`).

A ``realtime`` gauge is Argo's live duration; kjob reads it once, when its node (the run) ends.  A metric
Argo's controller would not emit (a reference that is not there, a value that is not a number) is
recorded with its ``error`` instead, as the controller logs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kjob.engine.lookup import Lookup, WorkflowInfo
from kjob.engine.state import AttemptRecord, Node, Phase
from kjob.errors import KjobError
from kjob.expr import evaluate_when, render
from kjob.spec.model import Metric


@dataclass
class _Series:
    """One metric name with one set of label values, as the run has made it so far."""

    name: str
    help: str
    type: str
    labels: dict[str, str]
    node: str
    realtime: bool = False
    value: float = 0.0
    observations: list[float] = field(default_factory=list)
    buckets: tuple[float, ...] = ()

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "name": self.name,
            "help": self.help,
            "type": self.type,
            "node": self.node,
        }
        if self.labels:
            record["labels"] = dict(self.labels)
        if self.type == "histogram":
            record["observations"] = list(self.observations)
            record["buckets"] = [
                {"le": bound, "count": sum(1 for v in self.observations if v <= bound)}
                for bound in self.buckets
            ]
        else:
            record["value"] = self.value
        if self.realtime:
            record["realtime"] = True
        return record


def node_lookup(
    node: Node, info: WorkflowInfo, now: float, run_started: float, attempt: AttemptRecord | None = None
) -> Lookup:
    """What a template's metric reads about ``node`` (Argo's metric scope), then ``workflow.*``: its
    ``status`` is ``Running`` and its ``duration`` the time since ``run_started`` until the run ends.
    With ``attempt``: that attempt's status, duration and exit code (a failed try that is retried,
    which Argo's controller emits the template's metrics for as its child node ends)."""
    end = node.finished_at if node.finished_at is not None else now
    start = node.started_at if node.started_at is not None else end
    status = node.phase.value
    exit_code = node.exit_code
    if attempt is not None:
        end = attempt.finished_at if attempt.finished_at is not None else now
        start = attempt.started_at if attempt.started_at is not None else end
        status = Phase.of_attempt(attempt.phase).value if attempt.phase is not None else status
        exit_code = attempt.exit_code
    scope: dict[str, str] = {
        "workflow.status": info.status or "Running",
        "workflow.duration": info.duration or f"{now - run_started:f}",
        "duration": f"{end - start:f}",
        "status": status,
        "resourcesDuration.cpu": "0",
        "resourcesDuration.memory": "0",
    }
    if node.template.retry_strategy is not None and node.attempts:
        scope["retries"] = str(len(node.attempts) - 1)
    for name, value in node.inputs.items():
        scope[f"inputs.parameters.{name}"] = value
    if node.result is not None:
        scope["outputs.result"] = node.result
    if exit_code is not None:
        scope["exitCode"] = str(exit_code)
    for name, value in node.parameters.items():
        scope[f"outputs.parameters.{name}"] = value

    def lookup(ref: str) -> str:
        if ref in scope:
            return scope[ref]
        parts = ref.split(".")
        if parts[0] == "workflow":
            return info.get(parts[1:])
        raise KeyError(ref)

    return lookup


class MetricsLog:
    """The run's metrics as evaluated so far; ``render`` renders a text with a lookup (the engine's)."""

    def __init__(self, render_text: Callable[[str, Lookup], str] | None = None, *, argo: bool = True) -> None:
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], _Series] = {}
        self._errors: list[dict[str, Any]] = []
        self._argo = argo
        self._render = render_text or (lambda text, lookup: render(text, lookup, argo_braces=argo))

    def __bool__(self) -> bool:
        return bool(self._series or self._errors)

    def emit(self, metrics: Sequence[Metric], lookup: Lookup, node: str) -> None:
        """Evaluate ``metrics`` over ``lookup`` for ``node`` (its id; ``""`` for the workflow's)."""
        for metric in metrics:
            try:
                self._emit(metric, lookup, node)
            except KjobError as err:
                self._errors.append({"name": metric.name, "node": node, "error": err.message})

    def _emit(self, metric: Metric, lookup: Lookup, node: str) -> None:
        name = self._render(metric.name, lookup)
        help_text = self._render(metric.help, lookup)
        labels = {key: self._render(value, lookup) for key, value in metric.labels}
        if metric.when is not None and not evaluate_when(metric.when, lookup, argo_braces=self._argo):
            return
        text = self._render(metric.value, lookup).strip()
        try:
            value = float(text)
        except ValueError:
            raise KjobError(f"value '{text}' (from '{metric.value}') is not a number") from None
        key = (name, tuple(sorted(labels.items())))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(
                name, help_text, metric.type, labels, node, metric.realtime, buckets=metric.buckets
            )
        series.node = node
        if metric.type == "histogram":
            series.observations.append(value)
        elif metric.type == "counter" or metric.operation == "Add":
            series.value += value
        elif metric.operation == "Sub":
            series.value -= value
        else:
            series.value = value

    def records(self) -> list[dict[str, Any]]:
        """Each series as the run record shows it, then each metric that could not be emitted."""
        return [series.as_record() for series in self._series.values()] + list(self._errors)
