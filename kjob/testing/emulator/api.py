"""The registry: what kube-apiserver does with a request once it is routed.

For each verb this follows the generic registry (``k8s.io/apiserver/pkg/registry/generic/registry``)
with the strategies of the emulated kinds:

* **create**: decode (schema, ``fieldValidation``), NamespaceLifecycle admission (404 for a missing
  namespace, 403 while it terminates), ``generateName``, ``PrepareForCreate`` (status cleared, a
  Job's selector and ``controller-uid``/``job-name`` labels generated), defaulting, validation (422),
  then 409 ``AlreadyExists`` or 201 with the stored object;
* **update** (PUT) and **patch**: optimistic concurrency on ``metadata.resourceVersion`` (409
  ``Conflict``), ``status`` only through the ``/status`` subresource, ``generation`` bumped on spec
  changes, immutable fields rejected, no-op writes not stored (no new resourceVersion);
* **delete**: preconditions, graceful deletion for pods, finalizers (an object with finalizers gets a
  ``deletionTimestamp`` and stays until they are removed), propagation policies via the ``orphan``
  and ``foregroundDeletion`` finalizers, and ``batch/v1`` Jobs orphaning their pods by default with
  the same warning the real server sends;
* **list** and **watch** with label/field selectors, ``limit``/``continue`` and resource versions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kjob.testing.emulator import defaults
from kjob.testing.emulator.errors import (
    STALE,
    ApiError,
    FieldError,
    already_exists,
    bad_request,
    conflict,
    expired,
    forbidden,
    invalid,
    not_found,
    qualified,
)
from kjob.testing.emulator.features import drop_disabled_job_fields, feature_gates
from kjob.testing.emulator.patch import apply_patch
from kjob.testing.emulator.quantity import parse_quantity
from kjob.testing.emulator.resources import BY_PLURAL, ResourceType
from kjob.testing.emulator.selectors import (
    EVERYTHING,
    FieldSelector,
    LabelSelector,
    parse_field_selector,
    parse_label_selector,
)
from kjob.testing.emulator.store import Store, Watcher
from kjob.testing.emulator.util import (
    Clock,
    NameGenerator,
    Obj,
    annotations_of,
    deepcopy,
    finalizers_of,
    int_or,
    meta,
    name_of,
    strip_nulls,
    sub,
)
from kjob.testing.emulator.validation import schema_validator, validate

ORPHAN_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to "
    "remove them or set propagationPolicy=Orphan to suppress this warning"
)
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


@dataclass
class Result:
    """What a verb produced: the HTTP code, the body and any ``Warning`` headers."""

    code: int
    body: Obj
    warnings: list[str] = field(default_factory=list)


def _describe(rt: ResourceType) -> str:
    return f"{rt.group}/{rt.version}, Resource={rt.plural}"


class Registry:
    """REST semantics over a :class:`Store`; shared by the HTTP server and the controllers."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        names: NameGenerator,
        version: str,
        *,
        strict_fields: bool = True,
        validate_schema: bool = True,
        gates: Mapping[str, bool] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.names = names
        self.version = version
        parts = version.lstrip("v").split(".")
        self.minor = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 31
        self.gates = feature_gates(self.minor, gates)
        self.default_field_validation = "Strict" if strict_fields else "Warn"
        self._schema = schema_validator(version) if validate_schema else None

    # ------------------------------------------------------------------------- decoding
    def _decode(
        self, rt: ResourceType, body: Any, field_validation: str | None
    ) -> tuple[Obj, list[FieldError], list[str]]:
        if not isinstance(body, dict):
            raise bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"json: cannot unmarshal {type(body).__name__} into Go value of type struct"
            )
        obj: Obj = strip_nulls(deepcopy(body))
        api_version = obj.get("apiVersion")
        if api_version is None:
            obj["apiVersion"] = rt.api_version
        elif api_version != rt.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})"
            )
        kind = obj.get("kind")
        if kind is None:
            obj["kind"] = rt.kind
        elif kind != rt.kind:
            raise bad_request(
                f'{kind} in version "{rt.version}" cannot be handled as a {rt.kind}: kind mismatch'
            )
        obj.setdefault("metadata", {})
        mode = field_validation or self.default_field_validation
        if mode not in ("Strict", "Warn", "Ignore"):
            raise bad_request(
                f'fieldValidation: Invalid value: "{mode}": must be one of Ignore, Warn, or Strict'
            )
        errors: list[FieldError] = []
        warnings: list[str] = []
        if self._schema is not None:
            errors, warnings = self._schema.check(rt.kind, rt.api_version, obj, mode)
        for amounts in _resource_amounts(rt.plural, obj):
            for value in amounts.values():
                try:
                    parse_quantity(value)
                except ValueError as e:
                    raise bad_request(
                        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {e}'
                    ) from None
        meta(obj).pop("managedFields", None)
        return obj, errors, warnings

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get("namespaces", "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if sub(ns, "metadata").get("deletionTimestamp"):
            raise forbidden(
                rt.plural,
                rt.group,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def _raise_invalid(self, rt: ResourceType, obj: Obj, errors: list[FieldError]) -> None:
        if errors:
            raise invalid(rt.kind, rt.group, name_of(obj), errors)

    # ---------------------------------------------------------------------------- create
    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        *,
        field_validation: str | None = None,
        dry_run: bool = False,
        decoded: bool = False,
    ) -> Result:
        """POST. ``decoded=True`` skips the schema stage (controllers creating from templates)."""
        if decoded:
            obj = strip_nulls(deepcopy(body))
            schema_errors: list[FieldError] = []
            warnings: list[str] = []
        else:
            obj, schema_errors, warnings = self._decode(rt, body, field_validation)
        m = meta(obj)
        ns = namespace or ""
        if rt.namespaced:
            if m.get("namespace") not in (None, "", ns):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            m["namespace"] = ns
        else:
            m.pop("namespace", None)
        with self.store.lock:
            if rt.namespaced:
                self._check_namespace(rt, ns, str(m.get("name") or m.get("generateName") or ""))
            generated = False
            if not m.get("name") and m.get("generateName"):
                generated = True
                for _ in range(8):
                    m["name"] = self.names.generate(str(m["generateName"]))
                    if not self.store.exists(rt.plural, ns, m["name"]):
                        break
            for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
                m.pop(key, None)
            m["uid"] = self.names.uid()
            m["creationTimestamp"] = self.clock.timestamp()
            if rt.has_generation:
                m["generation"] = 1
            else:
                m.pop("generation", None)
            self._prepare_for_create(rt, obj)
            errors = schema_errors + validate(rt.plural, obj, None)
            if generated:
                errors = [
                    FieldError(e.type, "metadata.generateName", m.get("generateName"), e.detail)
                    if e.field == "metadata.name"
                    else e
                    for e in errors
                ]
            self._raise_invalid(rt, obj, errors)
            name = str(m["name"])
            if self.store.exists(rt.plural, ns, name):
                raise already_exists(rt.plural, rt.group, name)
            if dry_run:
                return Result(201, obj, warnings)
            stored = self.store.put_new(rt.plural, ns, name, obj)
        return Result(201, stored, warnings)

    def _prepare_for_create(self, rt: ResourceType, obj: Obj) -> None:
        """Strategy ``PrepareForCreate`` + defaulting, in the order the apiserver applies them."""
        m = meta(obj)
        if rt.plural == "jobs":
            spec: Obj = obj.setdefault("spec", {})
            template: Obj = spec.setdefault("template", {})
            tmeta: Obj = template.setdefault("metadata", {})
            if not m.get("labels") and tmeta.get("labels"):
                m["labels"] = dict(tmeta["labels"])
            defaults.apply("jobs", obj, self.gates)
            drop_disabled_job_fields(spec, None, self.gates)
            if not spec.get("manualSelector"):
                labels: Obj = tmeta.setdefault("labels", {})
                for key in ("job-name", "batch.kubernetes.io/job-name"):
                    labels.setdefault(key, m["name"])
                for key in ("controller-uid", "batch.kubernetes.io/controller-uid"):
                    labels.setdefault(key, m["uid"])
                selector: Obj = spec.setdefault("selector", {})
                selector.setdefault("matchLabels", {}).setdefault(
                    "batch.kubernetes.io/controller-uid", m["uid"]
                )
            if not m.get("labels") and tmeta.get("labels"):
                m["labels"] = dict(tmeta["labels"])
            obj["status"] = {}
        else:
            defaults.apply(rt.plural, obj, self.gates)
            if rt.plural == "cronjobs":
                drop_disabled_job_fields(sub(obj, "spec", "jobTemplate", "spec"), None, self.gates)
            if rt.plural == "pods":
                obj["status"] = {"phase": "Pending", "qosClass": _qos_class(sub(obj, "spec"))}
            elif rt.plural == "namespaces":
                obj["status"] = {"phase": "Active"}
            elif rt.plural == "persistentvolumeclaims":
                spec = obj.setdefault("spec", {})
                if "storageClassName" not in spec:  # the DefaultStorageClass admission plugin
                    default = self._default_storage_class()
                    if default is not None:
                        spec["storageClassName"] = default
                obj["status"] = {"phase": "Pending"}
            elif rt.plural == "persistentvolumes":
                obj["status"] = {"phase": "Pending"}
            elif rt.plural == "nodes":
                obj.setdefault("status", {})  # a kubelet registers its node with its status
            elif rt.has_status:
                obj["status"] = {}

    def _default_storage_class(self) -> str | None:
        """The StorageClass marked default (the newest, if several), as the admission plugin picks it."""
        marked = [
            c
            for c in self.store.items("storageclasses")
            if annotations_of(c).get(DEFAULT_CLASS_ANNOTATION) == "true"
        ]
        newest = max(
            marked, key=lambda c: (str(sub(c, "metadata").get("creationTimestamp")), name_of(c)), default=None
        )
        return None if newest is None else name_of(newest)

    # ------------------------------------------------------------------------------ read
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(rt.plural, namespace or "", name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def selectors(
        self, rt: ResourceType, label_text: str | None, field_text: str | None
    ) -> tuple[LabelSelector, FieldSelector]:
        return (
            parse_label_selector(label_text),
            parse_field_selector(field_text, rt.plural, _describe(rt), label_text or ""),
        )

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Obj:
        labels, fields = self.selectors(rt, label_selector, field_selector)
        start = ""
        with self.store.lock:
            rv = self.store.resource_version
            if continue_token:
                start, token_rv = _decode_continue(continue_token)
                if token_rv < self.store.compacted_revision:
                    raise expired(
                        "The provided continue parameter is too old to display a consistent list result. "
                        "You can start a new list without the continue parameter, or use the continue "
                        "token in this response to retrieve the remainder of the results. Continuing with "
                        "the provided token results in an inconsistent list - objects that were created, "
                        "modified, or deleted between the time the first chunk was returned and now may "
                        "show up in the list."
                    )
                rv = token_rv
            items = [
                deepcopy(o)
                for o in self.store.items(rt.plural, namespace)
                if labels.matches_object(o) and fields.matches(o) and _key(o) > start
            ]
        list_meta: Obj = {"resourceVersion": str(rv)}
        if limit is not None and limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            list_meta["continue"] = _encode_continue(_key(items[-1]), rv)
            if labels.empty and fields.empty:
                list_meta["remainingItemCount"] = rest
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": list_meta, "items": items}

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
    ) -> Watcher:
        labels, fields = self.selectors(rt, label_selector, field_selector)
        since: int | None
        if resource_version in (None, "", "0"):
            since = None
        else:
            try:
                since = int(str(resource_version))
            except ValueError:
                raise bad_request(
                    f'resourceVersion: Invalid value: "{resource_version}": must be a number'
                ) from None
            since = min(since, self.store.resource_version)

        def predicate(o: Obj) -> bool:
            return labels.matches_object(o) and fields.matches(o)

        return self.store.watch(rt.plural, namespace, predicate, since)

    # ---------------------------------------------------------------------------- update
    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str = "",
        field_validation: str | None = None,
        dry_run: bool = False,
    ) -> Result:
        """PUT (also ``/status`` and, for namespaces, ``/finalize``)."""
        new, schema_errors, warnings = self._decode(rt, body, field_validation)
        m = meta(new)
        if m.get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({m.get('name')}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and m.get("namespace") not in (None, "", namespace):
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        with self.store.lock:
            current = self.get(rt, namespace, name)
            want_rv = m.get("resourceVersion")
            return self._write(rt, current, new, subresource, schema_errors, warnings, want_rv, dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str = "",
        field_validation: str | None = None,
        dry_run: bool = False,
    ) -> Result:
        with self.store.lock:
            current = self.get(rt, namespace, name)
            patched = apply_patch(content_type, current, patch)
            new, schema_errors, warnings = self._decode(rt, patched, field_validation)
            m = meta(new)
            if m.get("name") != name:
                raise bad_request(
                    f"the name of the object ({m.get('name')}) does not match the name on the URL ({name})"
                )
            want_rv = m.get("resourceVersion")
            return self._write(rt, current, new, subresource, schema_errors, warnings, want_rv, dry_run)

    def _write(
        self,
        rt: ResourceType,
        current: Obj,
        new: Obj,
        subresource: str,
        schema_errors: list[FieldError],
        warnings: list[str],
        want_rv: Any,
        dry_run: bool,
    ) -> Result:
        cm = sub(current, "metadata")
        name = str(cm["name"])
        if want_rv not in (None, "") and str(want_rv) != cm.get("resourceVersion"):
            raise conflict(rt.plural, rt.group, name, STALE)
        if subresource == "status":
            result = deepcopy(current)
            result["status"] = new.get("status", {})
            new = result
        elif subresource == "finalize":
            result = deepcopy(current)
            result.setdefault("spec", {})["finalizers"] = sub(new, "spec").get("finalizers", [])
            new = result
        else:
            if rt.has_status:
                if "status" in current:
                    new["status"] = deepcopy(current["status"])
                else:
                    new.pop("status", None)
            nm = meta(new)
            for key in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if key in cm:
                    nm[key] = cm[key]
                else:
                    nm.pop(key, None)
            nm["name"] = name
            if rt.namespaced:
                nm["namespace"] = cm["namespace"]
            added = [f for f in finalizers_of(new) if f not in finalizers_of(current)]
            if cm.get("deletionTimestamp") and added:
                schema_errors = [
                    *schema_errors,
                    FieldError(
                        "Forbidden",
                        "metadata.finalizers",
                        detail="no new finalizers can be added if the object is being deleted, "
                        f"found new finalizers {json.dumps(added)}",
                    ),
                ]
            defaults.apply(rt.plural, new, self.gates)
            if rt.plural in ("jobs", "cronjobs"):
                inner = ("spec",) if rt.plural == "jobs" else ("spec", "jobTemplate", "spec")
                drop_disabled_job_fields(sub(new, *inner), sub(current, *inner), self.gates)
            if rt.has_generation and new.get("spec") != current.get("spec"):
                nm["generation"] = int_or(cm.get("generation"), 1) + 1
        meta(new)["resourceVersion"] = cm.get("resourceVersion")
        old_for_validation = current if subresource == "" else None
        errors = schema_errors + (validate(rt.plural, new, old_for_validation) if subresource == "" else [])
        self._raise_invalid(rt, new, errors)
        if dry_run or new == current:
            return Result(200, new if dry_run else current, warnings)
        nm = sub(new, "metadata")
        if _deletion_done(rt.plural, new):
            removed = self.store.remove(rt.plural, str(nm.get("namespace") or ""), name)
            return Result(200, removed or new, warnings)
        stored = self.store.put(rt.plural, str(nm.get("namespace") or ""), name, new)
        return Result(200, stored, warnings)

    # ---------------------------------------------------------------------------- delete
    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: Obj | None = None,
        *,
        dry_run: bool = False,
    ) -> Result:
        """DELETE with ``DeleteOptions`` (``propagationPolicy``, ``gracePeriodSeconds``, preconditions)."""
        opts = options or {}
        warnings: list[str] = []
        with self.store.lock:
            obj = self.get(rt, namespace, name)
            m = meta(obj)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != m.get("uid"):
                raise conflict(
                    rt.plural,
                    rt.group,
                    name,
                    f"Precondition failed: UID in precondition: {pre['uid']}, "
                    f"UID in object meta: {m.get('uid')}",
                )
            if pre.get("resourceVersion") and pre["resourceVersion"] != m.get("resourceVersion"):
                raise conflict(
                    rt.plural,
                    rt.group,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                    f"ResourceVersion in object meta: {m.get('resourceVersion')}",
                )
            policy = opts.get("propagationPolicy")
            if policy is None and opts.get("orphanDependents") is not None:
                policy = "Orphan" if opts["orphanDependents"] else "Background"
            if policy is None:
                policy = rt.default_gc
                if rt.plural == "jobs":
                    warnings.append(ORPHAN_WARNING)
            if policy not in ("Orphan", "Foreground", "Background"):
                raise invalid(
                    "DeleteOptions",
                    "",
                    "",
                    [
                        FieldError(
                            "NotSupported",
                            "propagationPolicy",
                            policy,
                            supported=("Foreground", "Background", "Orphan"),
                        )
                    ],
                )
            if dry_run:
                return Result(200, obj, warnings)
            ns = namespace or ""
            grace = 0
            if rt.plural == "pods":
                grace = int_or(
                    opts.get("gracePeriodSeconds"),
                    int_or(sub(obj, "spec").get("terminationGracePeriodSeconds"), 30),
                )
                phase = sub(obj, "status").get("phase")
                if not sub(obj, "spec").get("nodeName") or phase in ("Succeeded", "Failed"):
                    grace = 0
            if rt.plural == "namespaces":
                if not m.get("deletionTimestamp"):
                    m["deletionTimestamp"] = self.clock.timestamp()
                    obj.setdefault("status", {})["phase"] = "Terminating"
                    obj = self.store.put(rt.plural, "", name, obj)
                return Result(200, obj, warnings)
            fins = finalizers_of(obj)
            if m.get("deletionTimestamp"):
                # Already terminating: only a shorter grace period changes anything.
                old_grace = int_or(m.get("deletionGracePeriodSeconds"), 0)
                if grace < old_grace:
                    m["deletionGracePeriodSeconds"] = grace
                    m["deletionTimestamp"] = self.clock.timestamp(self.clock.now() + grace)
                    if grace == 0 and not fins:
                        return self._removed(rt, ns, name, warnings)
                    obj = self.store.put(rt.plural, ns, name, obj)
                return Result(200, obj, warnings)
            if policy == "Orphan" and ORPHAN not in fins:
                fins.append(ORPHAN)
            if policy == "Foreground" and FOREGROUND not in fins:
                fins.append(FOREGROUND)
            if policy != "Orphan" and ORPHAN in fins:
                fins.remove(ORPHAN)
            if grace > 0 or fins:
                m["finalizers"] = fins
                m["deletionTimestamp"] = self.clock.timestamp(self.clock.now() + grace)
                m["deletionGracePeriodSeconds"] = grace
                obj = self.store.put(rt.plural, ns, name, obj)
                return Result(200, obj, warnings)
            return self._removed(rt, ns, name, warnings)

    def _removed(self, rt: ResourceType, ns: str, name: str, warnings: list[str]) -> Result:
        final = self.store.remove(rt.plural, ns, name)
        assert final is not None
        if rt.returns_deleted_object:
            return Result(200, final, warnings)
        details: Obj = {"name": name}
        if rt.group:
            details["group"] = rt.group
        details["kind"] = rt.plural
        details["uid"] = sub(final, "metadata").get("uid")
        return Result(
            200,
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details},
            warnings,
        )

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        options: Obj | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        dry_run: bool = False,
    ) -> Result:
        listing = self.list_objects(
            rt, namespace, label_selector=label_selector, field_selector=field_selector
        )
        warnings: list[str] = []
        items: list[Obj] = []
        for o in listing["items"]:
            try:
                r = self.delete(
                    rt, str(sub(o, "metadata").get("namespace") or ""), name_of(o), options, dry_run=dry_run
                )
            except ApiError as e:
                if e.code == 404:
                    continue
                raise
            warnings = r.warnings
            items.append(o)
        return Result(
            200,
            {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": {}, "items": items},
            warnings,
        )

    # ------------------------------------------------------------------------ internals
    def mutate(self, plural: str, namespace: str, name: str, fn: Callable[[Obj], None]) -> Obj | None:
        """Controller write: apply ``fn(obj)`` to a copy and store it if it changed.

        Mirrors a controller's GET + UPDATE (or status update) without the HTTP round trip; an
        object whose deletion was waiting on finalizers is removed once they are gone.
        """
        with self.store.lock:
            current = self.store.peek(plural, namespace, name)
            if current is None:
                return None
            new = deepcopy(current)
            fn(new)
            if new == current:
                return new
            if _deletion_done(plural, new):
                self.store.remove(plural, namespace, name)
                return None
            return self.store.put(plural, namespace, name, new, owned=True)

    def remove_finalizer(self, plural: str, namespace: str, name: str, finalizer: str) -> None:
        def drop(o: Obj) -> None:
            fins = finalizers_of(o)
            if finalizer in fins:
                fins.remove(finalizer)
                if fins:
                    meta(o)["finalizers"] = fins
                else:
                    meta(o).pop("finalizers", None)

        self.mutate(plural, namespace, name, drop)

    def delete_internal(self, plural: str, namespace: str, name: str, options: Obj | None = None) -> None:
        """A controller's DELETE; a missing object is fine."""
        try:
            self.delete(BY_PLURAL[plural], namespace, name, options or {"propagationPolicy": "Background"})
        except ApiError as e:
            if e.code != 404:
                raise

    def finalize_pod(self, namespace: str, name: str) -> None:
        """The kubelet's final ``DELETE`` with grace period 0 after the containers stopped."""
        with self.store.lock:
            pod = self.store.get("pods", namespace, name)
            if pod is None:
                return
            if not finalizers_of(pod):
                self.store.remove("pods", namespace, name)
                return
            m = meta(pod)
            if m.get("deletionGracePeriodSeconds") != 0:
                m["deletionGracePeriodSeconds"] = 0
                self.store.put("pods", namespace, name, pod)


def _deletion_done(plural: str, obj: Obj) -> bool:
    """A terminating object whose finalizers (and grace period) are all gone is removed."""
    m = sub(obj, "metadata")
    if not m.get("deletionTimestamp") or finalizers_of(obj) or m.get("deletionGracePeriodSeconds"):
        return False
    return plural != "namespaces" or not sub(obj, "spec").get("finalizers")


def _resource_amounts(plural: str, obj: Obj) -> list[Obj]:
    """The quantity maps (``requests``, ``limits``) in an object's containers, or a claim's."""
    if plural == "persistentvolumeclaims":
        return [sub(obj, "spec", "resources", "requests"), sub(obj, "spec", "resources", "limits")]
    path = {"pods": ("spec",), "jobs": ("spec", "template", "spec")}.get(plural)
    if plural == "cronjobs":
        path = ("spec", "jobTemplate", "spec", "template", "spec")
    if path is None:
        return []
    spec = sub(obj, *path)
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    return [
        sub(c, "resources", key) for c in containers if isinstance(c, dict) for key in ("requests", "limits")
    ]


def _qos_class(spec: Obj) -> str:
    """``GetPodQOS``: only positive cpu and memory amounts count (summed over all containers)."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        res = sub(c, "resources")
        limited = set()
        for source, into in ((res.get("requests") or {}, requests), (res.get("limits") or {}, limits)):
            for name in ("cpu", "memory"):
                try:
                    amount = parse_quantity(source[name]) if name in source else Fraction(0)
                except ValueError:
                    amount = Fraction(0)
                if amount > 0:
                    into[name] = into.get(name, Fraction(0)) + amount
                    if into is limits:
                        limited.add(name)
        guaranteed = guaranteed and limited == {"cpu", "memory"}
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(k) == v for k, v in requests.items()) and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _key(obj: Obj) -> str:
    m = sub(obj, "metadata")
    return f"{m.get('namespace') or ''}/{m.get('name') or ''}"


def _encode_continue(key: str, rv: int) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("version")
        start = str(data["start"])
        return start[:-1] if start.endswith("\x00") else start, int(data["rv"])
    except (ValueError, KeyError, TypeError) as e:
        raise bad_request(f"continue key is not valid: {e}") from None


__all__ = ["EVERYTHING", "Registry", "Result", "qualified"]
