"""Building custom metrics: a template's or the workflow spec's ``metrics.prometheus``.

What Argo's validation refuses is reported at its place: a name or label key that is not a Prometheus
name (letters, digits and '_', not starting with a digit), a metric without ``help``, none or more than
one of ``gauge``/``counter``/``histogram``, a missing ``value``.  kjob also checks at lint what Argo's
controller would only log when it emits the metric: a ``when`` that does not parse, a ``realtime`` gauge
whose value is not one metric variable, an unknown gauge ``operation``, buckets that are not numbers.
"""

from __future__ import annotations

import re

from kjob.errors import TemplateError
from kjob.expr import check_when
from kjob.spec import fields as F
from kjob.spec.model import Mark, Metric, Workflow
from kjob.spec.reader import Reader
from kjob.spec.yamlnodes import YamlMap

METRIC_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_TYPES = ("gauge", "counter", "histogram")
GAUGE_OPERATIONS = ("Set", "Add", "Sub")
# what a realtime gauge may read: Argo's real-time metric variables
REALTIME_VALUES = ("{{duration}}", "{{workflow.duration}}")
NOTICE = "metrics are recorded in the run record (kjob get RUN -o json); kjob exposes no Prometheus endpoint"
_KINDS = {"gauge": F.GAUGE, "counter": F.COUNTER, "histogram": F.HISTOGRAM}


def metrics(r: Reader, node: YamlMap, where: str) -> tuple[Metric, ...]:
    """The metrics of ``node`` (a template or the workflow spec), in file order."""
    body = r.mapping(node, "metrics")
    if body is None:
        return ()
    r.fields(body, F.METRICS, f"metrics of {where}")
    built: list[Metric] = []
    for item, mark in r.items(r.sequence(body, "prometheus"), "metric"):
        metric = _metric(r, item, mark, where)
        if metric is not None:
            built.append(metric)
    return tuple(built)


def notice(r: Reader, workflow: Workflow) -> None:
    """One notice per workflow that has metrics, at its first: where kjob puts them."""
    found = [*workflow.metrics, *(m for t in workflow.templates.values() for m in t.metrics)]
    if found:
        r.diag.warn(NOTICE, found[0].mark)


def _metric(r: Reader, node: YamlMap, mark: Mark, where: str) -> Metric | None:
    name = r.string(node, "name") or ""
    what = f"metric '{name}' of {where}" if name else f"metric of {where}"
    r.fields(node, F.PROMETHEUS, what)
    ok = True
    if not name:
        r.diag.error(f"{what} has no name", mark, hint="add `name: ...` (letters, digits and '_')")
        ok = False
    elif not METRIC_NAME.fullmatch(name):
        r.diag.error(
            f"invalid metric name '{name}'",
            r.src.value(node, "name"),
            hint="Prometheus names have only letters, digits and '_', and do not start with a digit",
        )
        ok = False
    help_text = r.string(node, "help")
    if not help_text:
        r.diag.error(f"{what} has no help", mark, hint="add `help: ...`: what the metric measures")
        ok = False
    kinds = [kind for kind in METRIC_TYPES if node.get(kind) is not None]
    if len(kinds) != 1:
        place = r.src.key(node, kinds[1]) if len(kinds) > 1 else mark
        given = f"has {' and '.join(kinds)}" if kinds else "has none of gauge, counter and histogram"
        r.diag.error(f"{what} {given}", place, hint="give exactly one of `gauge:`, `counter:`, `histogram:`")
        return None
    kind = kinds[0]
    body = r.mapping(node, kind)
    if body is None:
        return None
    r.fields(body, _KINDS[kind], f"{kind} of {what}")
    value = r.string(body, "value")
    if not value:
        r.diag.error(
            f"{what} has no {kind}.value", r.src.key(node, kind), hint=f"add `value:` under `{kind}:`"
        )
        ok = False
    realtime = bool(r.boolean(body, "realtime")) if kind == "gauge" else False
    if realtime and value and value.replace(" ", "") not in REALTIME_VALUES:
        r.diag.error(
            f"a realtime gauge's value must be one metric variable, not '{value}'",
            r.src.value(body, "value"),
            hint="use '{{duration}}' or '{{workflow.duration}}', or drop `realtime: true`",
        )
        ok = False
    operation = (r.string(body, "operation") if kind == "gauge" else None) or "Set"
    if operation not in GAUGE_OPERATIONS:
        r.diag.error(
            f"unknown gauge operation '{operation}'",
            r.src.value(body, "operation"),
            hint="use Set, Add or Sub",
        )
        ok = False
    buckets = _buckets(r, body) if kind == "histogram" else ()
    labels = _labels(r, node, what)
    when = r.string(node, "when")
    if when is not None:
        _check_when(r, when, r.src.value(node, "when"))
    if not ok or value is None or help_text is None or labels is None:
        return None
    return Metric(name, help_text, kind, value, labels, when, realtime, operation, buckets, mark)


def _labels(r: Reader, node: YamlMap, what: str) -> tuple[tuple[str, str], ...] | None:
    labels: list[tuple[str, str]] = []
    ok = True
    for item, mark in r.items(r.sequence(node, "labels"), "metric label"):
        r.fields(item, F.METRIC_LABEL, f"label of {what}")
        key = r.string(item, "key")
        value = r.string(item, "value")
        if not key or not METRIC_NAME.fullmatch(key):
            place = r.src.value(item, "key") if key else mark
            r.diag.error(
                f"invalid metric label key '{key or ''}'",
                place,
                hint="label keys have only letters, digits and '_', and do not start with a digit",
            )
            ok = False
            continue
        if value is None:
            r.diag.error(f"label '{key}' of {what} has no value", mark, hint="add `value: ...`")
            ok = False
            continue
        labels.append((key, value))
    return tuple(labels) if ok else None


def _buckets(r: Reader, body: YamlMap) -> tuple[float, ...]:
    seq = r.sequence(body, "buckets")
    if seq is None:
        return ()
    found: list[float] = []
    for index, item in enumerate(seq):
        try:
            if isinstance(item, bool) or not isinstance(item, int | float | str):
                raise ValueError
            found.append(float(item))
        except ValueError:
            r.diag.error(f"histogram bucket {item!r} is not a number", r.src.item(seq, index))
    return tuple(sorted(found))


def _check_when(r: Reader, text: str, mark: Mark) -> None:
    """Report a malformed ``when`` at its place (its references are the metric's own variables)."""
    try:
        check_when(text)
    except TemplateError as err:
        r.diag.error(
            f"invalid metric when: {err.message}",
            r.src.locator(mark, text).at(text, err.column),
            hint=err.hint,
        )
