"""The PersistentVolume controller (``pkg/controller/volume/persistentvolume``), minimally.

A claim is created ``Pending``. Each pass binds every pending claim to a volume, if one fits:

* a volume the claim names (``spec.volumeName``) or one pre-bound to it (``spec.claimRef``);
  otherwise the smallest ``Available`` volume with the same ``storageClassName`` (``""`` and unset
  are the same), the same ``volumeMode``, every access mode the claim asks for, at least the storage
  it requests, and labels matching its ``selector``;
* failing that, if the claim's StorageClass has the emulator's provisioner
  (``kjob.testing.emulator/hostpath``), a new volume ``pvc-<claim uid>`` made for it, as a dynamic
  provisioner would.

Binding writes what the real controller writes: the volume's ``claimRef`` and phase ``Bound``; the
claim's ``volumeName``, the ``pv.kubernetes.io/bind-completed`` and ``bound-by-controller``
annotations, and status ``Bound`` with the volume's capacity and access modes. A new volume becomes
``Available``; one whose claim is deleted is deleted too (``persistentVolumeReclaimPolicy:
Delete``) or becomes ``Released`` (``Retain``).

The emulator starts with one default StorageClass, ``standard``, using that provisioner (so that a
claim without ``storageClassName`` is bound at once, as on most clusters), unless it is made with
``Emulator(default_storage_class=None)`` — then, as on the real test cluster here, such claims stay
``Pending`` until a matching volume exists.

Not emulated: ``WaitForFirstConsumer``, the protection finalizers, resizing, and the events.
"""

from __future__ import annotations

from pathlib import Path

from kjob.testing.emulator.api import DEFAULT_CLASS_ANNOTATION, Registry
from kjob.testing.emulator.errors import ApiError
from kjob.testing.emulator.quantity import parse_quantity
from kjob.testing.emulator.resources import resource
from kjob.testing.emulator.selectors import from_label_selector_object
from kjob.testing.emulator.util import Obj, labels_of, meta, name_of, namespace_of, sub, uid_of

PROVISIONER = "kjob.testing.emulator/hostpath"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"


def storage_class(name: str) -> Obj:
    """A default StorageClass whose claims the emulator provisions at once."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def _storage(obj: Obj, *path: str) -> int:
    try:
        return int(parse_quantity(sub(obj, *path).get("storage", 0)))
    except ValueError:
        return 0


def _class(obj: Obj) -> str:
    return str(sub(obj, "spec").get("storageClassName") or "")


def fits(claim: Obj, volume: Obj) -> bool:
    """Whether ``volume`` can satisfy ``claim`` (ignoring who it is bound to)."""
    cs, vs = sub(claim, "spec"), sub(volume, "spec")
    if _class(claim) != _class(volume):
        return False
    if (cs.get("volumeMode") or "Filesystem") != (vs.get("volumeMode") or "Filesystem"):
        return False
    if not set(cs.get("accessModes") or []) <= set(vs.get("accessModes") or []):
        return False
    if _storage(volume, "spec", "capacity") < _storage(claim, "spec", "resources", "requests"):
        return False
    selector = from_label_selector_object(cs.get("selector"))
    return selector is None or selector.matches(labels_of(volume))


class VolumeController:
    """Binds claims to volumes; provisions volumes for the emulator's StorageClasses."""

    def __init__(self, registry: Registry, workdir: Path) -> None:
        self.registry = registry
        self.workdir = workdir
        self._feed = registry.store.feed()

    def step(self) -> None:
        store = self.registry.store
        events, everything, retry = store.drain(self._feed)
        kinds = {"persistentvolumeclaims", "persistentvolumes", "storageclasses"}
        if everything or retry or any(ev.resource in kinds for ev in events):
            self._sync_volumes()
            for claim in store.items("persistentvolumeclaims"):
                if sub(claim, "status").get("phase") != "Bound" and not sub(claim, "metadata").get(
                    "deletionTimestamp"
                ):
                    try:
                        self._bind(claim)
                    except ApiError as e:
                        if e.code not in (404, 409):
                            raise
                        self._feed.retry.add(uid_of(claim))
        self._feed.unfinished = False

    def _sync_volumes(self) -> None:
        """New volumes become Available; volumes whose claim is gone are reclaimed."""
        store = self.registry.store
        for volume in store.items("persistentvolumes"):
            ref = sub(volume, "spec", "claimRef")
            phase = sub(volume, "status").get("phase")
            name = name_of(volume)
            if phase == "Bound":
                claim = store.peek("persistentvolumeclaims", str(ref.get("namespace")), str(ref.get("name")))
                if claim is None or uid_of(claim) != ref.get("uid"):
                    if sub(volume, "spec").get("persistentVolumeReclaimPolicy") == "Delete":
                        self.registry.delete_internal("persistentvolumes", "", name)
                    else:
                        self._set_phase(name, "Released")
            elif phase in (None, "", "Pending"):
                self._set_phase(name, "Available")

    def _set_phase(self, name: str, phase: str) -> None:
        def update(v: Obj) -> None:
            v.setdefault("status", {})["phase"] = phase

        self.registry.mutate("persistentvolumes", "", name, update)

    def _bind(self, claim: Obj) -> None:
        store = self.registry.store
        wanted = sub(claim, "spec").get("volumeName")
        candidates = []
        for volume in store.items("persistentvolumes"):
            ref = sub(volume, "spec", "claimRef")
            if wanted and name_of(volume) != wanted:
                continue
            if ref:
                if ref.get("name") != name_of(claim) or ref.get("namespace") != namespace_of(claim):
                    continue
                if ref.get("uid") not in (None, uid_of(claim)):
                    continue
            elif sub(volume, "status").get("phase") != "Available":
                continue
            if fits(claim, volume):
                candidates.append(volume)
        if candidates:
            best = min(candidates, key=lambda v: (_storage(v, "spec", "capacity"), name_of(v)))
            self._write_binding(claim, best)
            return
        cls = store.peek("storageclasses", "", _class(claim)) if _class(claim) else None
        if cls is not None and cls.get("provisioner") == PROVISIONER and not wanted:
            self._write_binding(claim, self._provision(claim, cls))

    def _provision(self, claim: Obj, cls: Obj) -> Obj:
        spec = sub(claim, "spec")
        path = self.workdir / "pvc" / namespace_of(claim) / name_of(claim)
        volume: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pvc-{uid_of(claim)}", "annotations": {PROVISIONED_BY: PROVISIONER}},
            "spec": {
                "accessModes": list(spec.get("accessModes") or []),
                "capacity": {"storage": sub(spec, "resources", "requests").get("storage", "0")},
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy") or "Delete",
                "storageClassName": name_of(cls),
                "volumeMode": spec.get("volumeMode") or "Filesystem",
            },
        }
        created = self.registry.create(resource("persistentvolumes"), None, volume, decoded=True).body

        def annotate(c: Obj) -> None:
            ann = meta(c).setdefault("annotations", {})
            ann["volume.beta.kubernetes.io/storage-provisioner"] = PROVISIONER
            ann["volume.kubernetes.io/storage-provisioner"] = PROVISIONER

        self.registry.mutate("persistentvolumeclaims", namespace_of(claim), name_of(claim), annotate)
        return created

    def _write_binding(self, claim: Obj, volume: Obj) -> None:
        cm = sub(claim, "metadata")

        def bind_volume(v: Obj) -> None:
            spec: Obj = v.setdefault("spec", {})
            if not spec.get("claimRef"):
                meta(v).setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            spec["claimRef"] = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": cm.get("name"),
                "namespace": cm.get("namespace"),
                "resourceVersion": cm.get("resourceVersion"),
                "uid": cm.get("uid"),
            }
            v.setdefault("status", {})["phase"] = "Bound"

        def bind_claim(c: Obj) -> None:
            ann = meta(c).setdefault("annotations", {})
            ann[BIND_COMPLETED] = "yes"
            if not sub(c, "spec").get("volumeName"):
                ann[BOUND_BY_CONTROLLER] = "yes"
            c.setdefault("spec", {})["volumeName"] = name_of(volume)
            vs = sub(volume, "spec")
            c["status"] = {
                "phase": "Bound",
                "accessModes": list(vs.get("accessModes") or []),
                "capacity": dict(sub(vs, "capacity")),
            }

        self.registry.mutate("persistentvolumes", "", name_of(volume), bind_volume)
        self.registry.mutate(
            "persistentvolumeclaims", str(cm.get("namespace")), str(cm.get("name")), bind_claim
        )
