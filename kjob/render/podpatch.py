"""``podSpecPatch``: a JSON or YAML text strategic-merge-patched onto a rendered pod spec, as Argo does.

Kubernetes' strategic merge for the fields of a pod spec: mappings merge key by key (``null``
removes a key); a list whose items Kubernetes keys by a field (containers and volumes by ``name``,
a container's ``env`` by ``name``, ``volumeMounts`` by ``mountPath``, ``ports`` by
``containerPort``, ...) merges item by item, a new item appended; any other list is replaced.  The
directives ``$patch: replace`` (a mapping or keyed list item taken as it is) and ``$patch: delete``
(a keyed item removed) are honoured; ``$retainKeys`` and ``$setElementOrder`` are not needed for a
pod spec kjob renders and are dropped.

Patches apply after kjob's own rendering, the workflow's first, then the template's: one that sets a
container's ``command`` or ``args`` replaces what kjob wraps around them (outputs, containerSet
order), unlike Argo, whose executor wraps the patched pod.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from kjob.errors import KjobError

# list field -> the field its items are keyed by (Kubernetes' patchMergeKey), for the lists of a pod
# spec and of its containers
MERGE_KEYS: Mapping[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey",
}
_DROPPED = ("$retainKeys", "$setElementOrder")


def parse(text: str, template: str) -> dict[str, Any]:
    """One patch text as a mapping; a :class:`KjobError` saying what is wrong with it."""
    from ruamel.yaml import YAML  # here: only a run with a podSpecPatch needs it
    from ruamel.yaml.error import YAMLError

    try:
        value = YAML(typ="safe", pure=True).load(text)
    except YAMLError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise KjobError(
            f"podSpecPatch of template '{template}' is neither JSON nor YAML: {first}",
            hint="write the pod spec fields to patch, e.g. "
            '{"containers": [{"name": "main", "resources": {"limits": {"cpu": "1"}}}]}',
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KjobError(
            f"podSpecPatch of template '{template}' must be a mapping of pod spec fields, "
            f"not {type(value).__name__}",
            hint='e.g. {"containers": [{"name": "main", "resources": {"limits": {"cpu": "1"}}}]}',
        )
    plain: dict[str, Any] = json.loads(json.dumps(value))  # plain dicts, lists and scalars only
    return plain


def patched(pod_spec: Mapping[str, Any], texts: Sequence[str], template: str) -> dict[str, Any]:
    """``pod_spec`` with each patch of ``texts`` applied in turn (the input is not changed)."""
    result: dict[str, Any] = copy.deepcopy(dict(pod_spec))
    for text in texts:
        result = merge(result, parse(text, template))
    return result


def merge(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The strategic merge of ``patch`` onto the mapping ``target``."""
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    out = dict(target)
    for key, value in patch.items():
        if key in _DROPPED or key == "$patch":
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(out.get(key), list):
            out[key] = _merge_list(out[key], value, MERGE_KEYS[key])
        else:
            out[key] = _clean(value)
    return out


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    out = list(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            out.append(_clean(item))
            continue
        at = next((i for i, t in enumerate(out) if isinstance(t, dict) and t.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del out[at]
            continue
        if at is None:
            out.append(_clean(item))
        else:
            out[at] = merge(out[at], item)
    return out


def _clean(value: Any) -> Any:
    """A patch value taken as it is: its directives removed, its ``null``s kept out."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and not k.startswith("$")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
