"""The garbage collector and the namespace controller.

* ``orphan`` finalizer (``propagationPolicy: Orphan``, and the ``batch/v1`` Job default): the
  owner's reference is removed from every dependent, then the finalizer, so the owner goes away
  and its pods stay;
* ``foregroundDeletion`` finalizer (``Foreground``): dependents are deleted first; the owner is
  removed once none is left;
* background (``Background``): the owner is removed at once and any object whose owners are all
  gone is deleted afterwards; references to missing owners are dropped when other owners remain;
* a namespace with a ``deletionTimestamp`` (phase ``Terminating``) has all its content deleted,
  then its ``kubernetes`` finalizer is removed and it disappears.
"""

from __future__ import annotations

from kjob.testing.emulator.api import FOREGROUND, ORPHAN, Registry
from kjob.testing.emulator.resources import RESOURCES
from kjob.testing.emulator.util import Obj, finalizers_of, meta, sub

_NAMESPACED = [r.plural for r in RESOURCES if r.namespaced]


class GarbageCollector:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def step(self) -> None:
        """Process finalizers, dangling owners and terminating namespaces (driven by changes only)."""
        store = self.registry.store
        # read-only views of the stored objects: every write goes through the registry
        objects: list[tuple[str, Obj]] = [(plural, o) for plural in _NAMESPACED for o in store.items(plural)]
        namespaces = store.items("namespaces")
        uids = {str(sub(o, "metadata").get("uid")) for _, o in objects}
        uids |= {str(sub(n, "metadata").get("uid")) for n in namespaces}
        dependents: dict[str, list[tuple[str, Obj]]] = {}
        for plural, o in objects:
            for ref in sub(o, "metadata").get("ownerReferences") or []:
                dependents.setdefault(str(ref.get("uid")), []).append((plural, o))
        for plural, o in objects:
            m = sub(o, "metadata")
            ns, name, uid = str(m.get("namespace") or ""), str(m.get("name")), str(m.get("uid"))
            fins = finalizers_of(o)
            if m.get("deletionTimestamp") and ORPHAN in fins:
                for dplural, d in dependents.get(uid, []):
                    self._drop_ref(dplural, d, uid)
                self.registry.remove_finalizer(plural, ns, name, ORPHAN)
            elif m.get("deletionTimestamp") and FOREGROUND in fins:
                deps = dependents.get(uid, [])
                for dplural, d in deps:
                    if not sub(d, "metadata").get("deletionTimestamp"):
                        self.registry.delete_internal(dplural, ns, str(sub(d, "metadata").get("name")))
                if not deps:
                    self.registry.remove_finalizer(plural, ns, name, FOREGROUND)
            refs = m.get("ownerReferences") or []
            if refs:
                dangling = [str(r.get("uid")) for r in refs if str(r.get("uid")) not in uids]
                if len(dangling) == len(refs):
                    if not m.get("deletionTimestamp"):
                        self.registry.delete_internal(plural, ns, name)
                else:
                    for d_uid in dangling:
                        self._drop_ref(plural, o, d_uid)
        for namespace in namespaces:
            nm = sub(namespace, "metadata")
            if not nm.get("deletionTimestamp"):
                continue
            ns = str(nm.get("name"))
            content = [(p, o) for p, o in objects if sub(o, "metadata").get("namespace") == ns]
            for plural, o in content:
                if not sub(o, "metadata").get("deletionTimestamp"):
                    self.registry.delete_internal(plural, ns, str(sub(o, "metadata").get("name")))
            if not content:

                def finalize(n: Obj) -> None:
                    n.setdefault("spec", {})["finalizers"] = []
                    meta(n).setdefault("deletionGracePeriodSeconds", 0)

                self.registry.mutate("namespaces", "", ns, finalize)

    def _drop_ref(self, plural: str, obj: Obj, owner_uid: str) -> None:
        m = sub(obj, "metadata")

        def drop(o: Obj) -> None:
            refs = [r for r in meta(o).get("ownerReferences") or [] if str(r.get("uid")) != owner_uid]
            if refs:
                meta(o)["ownerReferences"] = refs
            else:
                meta(o).pop("ownerReferences", None)

        self.registry.mutate(plural, str(m.get("namespace") or ""), str(m.get("name")), drop)
