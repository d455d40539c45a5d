"""Performing a resource template's action with the Kubernetes API, as Argo's ``kubectl ACTION`` would.

The object is found through the dynamic client's discovery, so any kind the server serves works
(custom resources included).  ``create``, ``replace`` and ``patch`` are their API verbs; ``apply`` is a
server-side apply (field manager ``kjob``, conflicts forced) where kubectl's default is a client-side
three-way merge; ``delete`` ignores a missing object, as Argo passes ``--ignore-not-found``; ``get``
reads the object.  A manifest without a namespace goes to the run's namespace (Argo's kubectl runs in
the workflow's namespace).  With ``set_owner_reference`` the object is owned by the run's ConfigMap,
so deleting the run deletes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes import client, dynamic, watch
from kubernetes.dynamic.resource import Resource as ApiResource

from kjob.errors import KjobError
from kjob.expr.requirements import Requirement, holds, parse_requirements
from kjob.spec.build_resource import manifest_problem
from kjob.spec.model import Resource
from kjob.spec.resource_flags import ResourceFlags, parse_flags, split_type

PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}
FIELD_MANAGER = "kjob"
Dynamic = Any  # kubernetes.dynamic.DynamicClient, which has no type hints


class ResourceFailed(KjobError):
    """The action was refused, or the object met its failure condition: the attempt failed."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The object that owns what ``setOwnerReference`` marks: the run's ConfigMap."""

    name: str
    uid: str
    namespace: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": self.name,
            "uid": self.uid,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """The object an action was about: its API, name and namespace (``None``: cluster-scoped)."""

    api: ApiResource
    name: str
    namespace: str | None


def perform(
    dyn: Dynamic, resource: Resource, namespace: str, owner: Owner | None
) -> tuple[dict[str, Any] | None, Target | None]:
    """Do ``resource``'s action; the object as the server answered (``None`` after a delete) and where
    it is, to wait on and read outputs from."""
    flags = _flags(resource.flags)
    manifest = _manifest(resource, bool(resource.flags))
    api, name, ns = _target(dyn, resource, manifest, flags, namespace)
    action = resource.action
    body = manifest
    if owner is not None and action in ("create", "apply", "replace") and isinstance(body, dict):
        body = _owned(body, owner, ns)
    try:
        if action == "create":
            answer = dyn.create(api, body=body, namespace=ns)
        elif action == "apply":
            answer = dyn.server_side_apply(
                api,
                body=body,
                name=name,
                namespace=ns,
                field_manager=flags.field_manager or FIELD_MANAGER,
                force_conflicts=True,
            )
        elif action == "replace":
            answer = dyn.replace(api, body=body, name=name, namespace=ns)
        elif action == "patch":
            answer = dyn.patch(
                api, body=body, name=name, namespace=ns, content_type=PATCH_TYPES[resource.merge_strategy]
            )
        elif action == "get":
            answer = dyn.get(api, name=name, namespace=ns)
        elif action == "delete":
            _delete(dyn, api, name, ns, flags)
            return None, None
        else:
            raise ResourceFailed(f"unknown resource action '{action}'")
    except client.ApiException as err:
        if err.status == 404 and flags.ignore_not_found and action == "get":
            return None, None
        raise ResourceFailed(f"{action} {_what(api, name, ns)}: {_api_message(err)}") from None
    obj: dict[str, Any] = answer.to_dict()
    meta = obj.get("metadata") or {}
    return obj, Target(api, str(meta.get("name") or name), meta.get("namespace") or ns)


def wait(
    dyn: Dynamic, resource: Resource, target: Target, obj: dict[str, Any], stopped: Any
) -> dict[str, Any]:
    """Wait until the failure condition holds (:class:`ResourceFailed`) or the success condition does
    (the object then).  Argo checks the failure condition first.  ``stopped()`` ends the wait early
    (``KjobError``)."""
    failure = _requirements(resource.failure_condition)
    success = _requirements(resource.success_condition)
    if not failure and not success:
        return obj
    for current in _versions(dyn, target, obj, stopped):
        for requirement in failure:
            if requirement.matches(current):
                raise ResourceFailed(f"failure condition '{requirement}' evaluated true")
        if holds(success, current):
            return current
    raise KjobError("stopped")


def read(dyn: Dynamic, target: Target) -> dict[str, Any]:
    """The object as it is now (what outputs are read from, as Argo reads them after the wait)."""
    try:
        found: dict[str, Any] = dyn.get(target.api, name=target.name, namespace=target.namespace).to_dict()
    except client.ApiException as err:
        raise ResourceFailed(
            f"read {_what(target.api, target.name, target.namespace)}: {_api_message(err)}"
        ) from None
    return found


def _versions(dyn: Dynamic, target: Target, obj: dict[str, Any], stopped: Any) -> Iterator[dict[str, Any]]:
    """``obj``, then each version of it the server reports, until ``stopped()``."""
    yield obj
    version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    while not stopped():
        watcher = watch.Watch()  # type: ignore[no-untyped-call]
        try:
            for event in dyn.watch(
                target.api,
                namespace=target.namespace,
                field_selector=f"metadata.name={target.name}",
                resource_version=version or None,
                timeout=5,
                watcher=watcher,
            ):
                if event["type"] == "DELETED":
                    raise ResourceFailed(
                        f"{_what(target.api, target.name, target.namespace)} was deleted while its status "
                        "was still being checked"
                    )
                if event["type"] == "ERROR":  # 410 Gone: start again from the object as it is now
                    version = ""
                    break
                current: dict[str, Any] = event["raw_object"]
                version = str((current.get("metadata") or {}).get("resourceVersion") or version)
                yield current
                if stopped():
                    return
        except client.ApiException as err:
            if err.status != 410:
                raise ResourceFailed(
                    f"watch {_what(target.api, target.name, target.namespace)}: {_api_message(err)}"
                ) from None
            version = ""
        finally:
            watcher.stop()  # type: ignore[no-untyped-call]
        if not version:
            current = read(dyn, target)
            version = str((current.get("metadata") or {}).get("resourceVersion") or "")
            yield current


def _delete(dyn: Dynamic, api: ApiResource, name: str | None, ns: str | None, flags: ResourceFlags) -> None:
    options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
    if flags.cascade is not None:
        options["propagationPolicy"] = flags.cascade.capitalize()
    if flags.grace_period is not None and flags.grace_period >= 0:
        options["gracePeriodSeconds"] = flags.grace_period
    try:
        if name:
            dyn.delete(api, name=name, namespace=ns, body=options)
        elif flags.selector is not None:
            dyn.delete(api, namespace=ns, label_selector=flags.selector, body=options)
        else:
            raise ResourceFailed(f"delete {api.kind}: name an object (flags: TYPE NAME) or a selector (-l)")
    except client.ApiException as err:
        if err.status != 404:  # Argo deletes with --ignore-not-found
            raise ResourceFailed(f"delete {_what(api, name, ns)}: {_api_message(err)}") from None


def _flags(flags: tuple[str, ...]) -> ResourceFlags:
    try:
        return parse_flags(flags)
    except KjobError as err:
        raise ResourceFailed(err.message, hint=err.hint) from None


def _manifest(resource: Resource, flags: bool) -> Any:
    if not resource.manifest.strip():
        return None
    try:
        documents = [d for d in yaml.safe_load_all(resource.manifest) if d is not None]
    except yaml.YAMLError as err:
        raise ResourceFailed(f"the manifest is not YAML: {(str(err).splitlines() or ['?'])[0]}") from None
    if len(documents) != 1:
        raise ResourceFailed(f"the manifest holds {len(documents)} objects; a resource template acts on one")
    problem = manifest_problem(documents[0], resource.action, resource.merge_strategy, flags)
    if problem is not None:
        raise ResourceFailed(problem)
    return documents[0]


def _target(
    dyn: Dynamic, resource: Resource, manifest: Any, flags: ResourceFlags, namespace: str
) -> tuple[ApiResource, str | None, str | None]:
    """The API of the object, its name and its namespace (``None`` for a cluster-scoped kind)."""
    if (
        isinstance(manifest, dict)
        and manifest.get("kind")
        and not (resource.action == "patch" and flags.words)
    ):
        try:
            api = dyn.resources.get(api_version=str(manifest["apiVersion"]), kind=str(manifest["kind"]))
        except (dynamic.exceptions.ResourceNotFoundError, dynamic.exceptions.ResourceNotUniqueError):
            raise ResourceFailed(
                f"the server has no kind {manifest['kind']} in {manifest.get('apiVersion')}"
            ) from None
        meta = manifest.get("metadata") or {}
        name = meta.get("name")
        ns = meta.get("namespace") or flags.namespace or namespace
    elif flags.words:
        kind, _, name_part = flags.words[0].partition("/")
        api = _api_named(dyn, kind)
        name = name_part or (flags.words[1] if len(flags.words) > 1 else None)
        ns = flags.namespace or namespace
    else:
        raise ResourceFailed("name the object: a manifest with kind and metadata.name, or flags TYPE NAME")
    return api, (str(name) if name else None), (str(ns) if api.namespaced else None)


def _api_named(dyn: Dynamic, word: str) -> ApiResource:
    """The API kubectl means by a TYPE word: a plural, singular or short name, optionally with its
    version and group (``jobs.batch``, ``configmaps.v1``)."""
    plain, version, group = split_type(word)
    found: list[ApiResource] = []
    for key in ("name", "singular_name", "short_names"):
        value: Any = [plain] if key == "short_names" else plain
        found += [r for r in dyn.resources.search(**{key: value}) if not r.kind.endswith("List")]
        if found:
            break
    if group or version:
        found = [r for r in found if r.group == group and (not version or r.api_version == version)]
    preferred = [r for r in found if getattr(r, "preferred", False)] or found
    if not preferred:
        raise ResourceFailed(f"the server has no resource type '{word}'")
    return preferred[0]


def _owned(body: dict[str, Any], owner: Owner, namespace: str | None) -> dict[str, Any]:
    if namespace != owner.namespace:
        where = f"namespace {namespace}" if namespace else "the cluster scope"
        raise ResourceFailed(
            f"setOwnerReference: the object is in {where}, but the run's ConfigMap in namespace "
            f"{owner.namespace}; an owner must be in the object's namespace"
        )
    meta = dict(body.get("metadata") or {})
    meta["ownerReferences"] = [*(meta.get("ownerReferences") or []), owner.reference()]
    return {**body, "metadata": meta}


def _requirements(condition: str | None) -> tuple[Requirement, ...]:
    if not condition:
        return ()
    try:
        return parse_requirements(condition)
    except KjobError as err:
        raise ResourceFailed(err.message, hint=err.hint) from None


def _what(api: ApiResource, name: str | None, namespace: str | None) -> str:
    where = f" in namespace {namespace}" if namespace else ""
    return f"{api.kind.lower()}/{name or '*'}{where}"


def _api_message(err: client.ApiException) -> str:
    import json

    try:
        message = json.loads(err.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or f"{err.status} {err.reason}")
