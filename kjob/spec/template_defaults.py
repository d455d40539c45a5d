"""``spec.templateDefaults``: settings every template gets unless it sets them itself, as in Argo.

Argo lays each template over the defaults with a Kubernetes strategic merge patch: mappings merge key by
key, the template's value wins, and the lists Argo declares mergeable (``volumes``, ``tolerations``, the
parameters and artifacts of ``inputs``/``outputs``...) merge item by item on their key (``name``,
``key``); any other list is the template's own.  A default body (``container``, ``script``, ``dag``...)
applies only to the templates of that kind.  The merge happens on the positioned YAML tree, before the
templates are built, so a mistake in a default points at ``templateDefaults`` in the file.  Inline
templates of tasks and steps get the defaults too.
"""

from __future__ import annotations

from typing import Any

from kjob.spec import fields as F
from kjob.spec.reader import Reader
from kjob.spec.yamlnodes import YamlMap, YamlSeq

KEY = "templateDefaults"
BODIES = frozenset(F.TEMPLATE_BODIES) | F.UNSUPPORTED_BODIES
# the lists Argo's Template declares ``patchStrategy: merge`` (and their ``patchMergeKey``), by field
MERGED_LISTS = {
    "volumes": "name",
    "tolerations": "key",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "initContainers": "name",
    "sidecars": "name",
    "parameters": "name",
    "artifacts": "name",
    "env": "name",  # a container's env and volumeMounts merge as Kubernetes' own types declare
    "volumeMounts": "mountPath",
}


def applied(r: Reader, spec: YamlMap) -> YamlMap:
    """``spec`` with its templates (and their inline templates) laid over ``templateDefaults``."""
    defaults = r.mapping(spec, KEY)
    templates = spec.get("templates")
    if defaults is None or not isinstance(templates, YamlSeq):
        return spec
    r.fields(defaults, F.TEMPLATE, KEY)
    usable = _copy_map(defaults, {k for k in defaults if k in F.TEMPLATE.allowed and k != "name"})
    merged = _copy_seq(templates, [_template(usable, t) for t in templates])
    out = _copy_map(spec, set(spec))
    out["templates"] = merged
    return out


def _template(defaults: YamlMap, node: Any) -> Any:
    if not isinstance(node, YamlMap):
        return node
    kinds = {k for k in node if k in BODIES}
    own = _copy_map(defaults, {k for k in defaults if k not in BODIES or k in kinds})
    result = _merge(own, node)
    for kind in ("dag", "steps"):
        if isinstance(result.get(kind), YamlMap | YamlSeq):
            result[kind] = _inline(defaults, result[kind])
    return result


def _inline(defaults: YamlMap, body: Any) -> Any:
    """A dag or steps body whose tasks' ``inline`` templates have the defaults too."""
    if isinstance(body, YamlSeq):
        return _copy_seq(body, [_inline(defaults, item) for item in body])
    if not isinstance(body, YamlMap):
        return body
    out = _copy_map(body, set(body))
    if isinstance(body.get("inline"), YamlMap):
        out["inline"] = _template(defaults, body["inline"])
    if isinstance(body.get("tasks"), YamlSeq):
        out["tasks"] = _inline(defaults, body["tasks"])
    return out


def _merge(base: Any, over: Any, key: str | None = None) -> Any:
    """``over`` laid over ``base`` (a strategic merge); ``key`` is the field both are the value of."""
    if isinstance(base, YamlMap) and isinstance(over, YamlMap):
        merged = _copy_map(over, set(over))
        for name, value in base.items():
            if name not in over:
                merged[name] = value
                merged.places[name] = base.places.get(name, (*base.start, *base.start))
            elif over[name] is not None:
                merged[name] = _merge(value, over[name], str(name))
        return merged
    merge_key = MERGED_LISTS.get(key or "")
    if merge_key and isinstance(base, YamlSeq) and isinstance(over, YamlSeq):
        given = {item.get(merge_key) for item in over if isinstance(item, YamlMap)}
        kept = [
            (item, place)
            for item, place in zip(base, base.places, strict=False)
            if _keyed(item, merge_key) not in given
        ]
        out = _copy_seq(over, list(over))
        out.extend(item for item, _ in kept)
        out.places.extend(place for _, place in kept)
        return out
    return over


def _keyed(item: Any, merge_key: str) -> Any:
    return item.get(merge_key) if isinstance(item, YamlMap) else None


def _copy_map(node: YamlMap, keys: set[Any]) -> YamlMap:
    out = YamlMap(node.start)
    for key in node:
        if key in keys:
            out[key] = node[key]
            if key in node.places:
                out.places[key] = node.places[key]
    return out


def _copy_seq(node: YamlSeq, items: list[Any]) -> YamlSeq:
    out = YamlSeq(node.start)
    out.extend(items)
    out.places.extend(node.places[: len(items)])
    return out
