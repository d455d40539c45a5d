"""The API verbs a workflow's resource templates use on the objects they name, as permission-table
entries (:class:`~kjob.render.permissions.Permission`): checked before a run like kjob's own, and
granted by a driver's Role.

The kind comes from the manifest's ``apiVersion``/``kind`` (or the TYPE word of ``flags``); its
resource name is the lower-case plural the API uses for nearly every kind (``ConfigMap`` ->
``configmaps``, ``NetworkPolicy`` -> ``networkpolicies``), guessed without asking the cluster, as
Argo's executor guesses it.  A manifest whose kind is a reference cannot be known before the run:
nothing is added for it, and the run meets a refusal, if any, when the action is sent.
"""

from __future__ import annotations

import re

from kjob.render.permissions import Permission
from kjob.spec.model import Resource, Workflow
from kjob.spec.resource_flags import split_type

# what each action sends; waiting on conditions and reading outputs add get and watch
_VERBS = {
    "create": ("create",),
    "apply": ("get", "create", "patch"),
    "replace": ("update",),
    "patch": ("patch",),
    "get": ("get",),
    "delete": ("delete",),
}
_FIELD = re.compile(r"^(apiVersion|kind):[ \t]*['\"]?([A-Za-z0-9./-]+)['\"]?[ \t]*$", re.MULTILINE)


def resource_permissions(workflow: Workflow) -> list[Permission]:
    """The entries the resource templates of ``workflow`` need, one per group, resource and verb."""
    found: dict[tuple[str, str, str], Permission] = {}
    for template in workflow.templates.values():
        resource = template.resource
        if resource is None:
            continue
        target = _target(resource)
        if target is None:
            continue
        group, plural = target
        why = f"resource template '{template.name}' ({resource.action})"
        for verb in _verbs(resource, bool(template.outputs.parameters)):
            found.setdefault((group, plural, verb), Permission(group, plural, verb, why))
    return [found[key] for key in sorted(found)]


def plural(kind: str) -> str:
    """The resource name of ``kind``, as the API's usual plural."""
    word = kind.lower()
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _verbs(resource: Resource, outputs: bool) -> list[str]:
    verbs = list(_VERBS.get(resource.action, ()))
    if resource.action == "delete" and any(
        f in ("-l", "--selector") or f.startswith("--selector=") for f in resource.flags
    ):
        verbs += ["list", "deletecollection"]
    if resource.success_condition or resource.failure_condition:
        verbs += ["get", "watch"]
    if outputs:
        verbs.append("get")
    return sorted(set(verbs))


def _target(resource: Resource) -> tuple[str, str] | None:
    """The (group, plural) of the object ``resource`` acts on, when the file says it."""
    fields: dict[str, str] = {m.group(1): m.group(2) for m in _FIELD.finditer(resource.manifest)}
    if "kind" in fields and "apiVersion" in fields and not (resource.action == "patch" and resource.flags):
        api_version = fields["apiVersion"]
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        return group, plural(fields["kind"])
    words = [f for f in resource.flags if not f.startswith("-")]
    if words and "{{" not in words[0]:
        name, _, group = split_type(words[0])
        return group, name if name.endswith("s") else plural(name)
    return None
