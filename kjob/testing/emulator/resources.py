"""The resources the emulator serves and the discovery documents that describe them.

Mirrors the ``APIResourceList`` of ``/api/v1`` and ``/apis/batch/v1`` for the kinds served here
(the real lists are longer). Each entry also carries the storage-strategy facts the registry needs:
the default garbage-collection policy (``batch/v1`` Jobs orphan their pods unless told otherwise,
for backwards compatibility), whether ``DELETE`` returns the object, and whether writes to the main
resource keep ``status`` (it has a ``status`` subresource).
"""

from __future__ import annotations

from dataclasses import dataclass

from kjob.testing.emulator.errors import path_not_found
from kjob.testing.emulator.util import Obj

_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    """One REST resource: where it lives, what it is called, how its storage strategy behaves."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    default_gc: str = "Background"
    returns_deleted_object: bool = False
    has_status: bool = False
    has_generation: bool = False
    verbs: tuple[str, ...] = tuple(_VERBS)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        False,
        ("ns",),
        ("status", "finalize"),
        returns_deleted_object=True,
        has_status=True,
    ),
    ResourceType(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        True,
        ("po",),
        ("log", "status"),
        returns_deleted_object=True,
        has_status=True,
    ),
    ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "secret", "Secret", True),
    ResourceType(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        True,
        ("sa",),
        returns_deleted_object=True,
    ),
    ResourceType(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        ("status",),
        returns_deleted_object=True,
        has_status=True,
    ),
    ResourceType("", "v1", "events", "event", "Event", True, ("ev",)),
    ResourceType(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        False,
        ("no",),
        ("status",),
        returns_deleted_object=True,
        has_status=True,
    ),
    ResourceType(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        False,
        ("pv",),
        ("status",),
        returns_deleted_object=True,
        has_status=True,
    ),
    ResourceType(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        False,
        ("sc",),
        returns_deleted_object=True,
    ),
    ResourceType(
        "batch",
        "v1",
        "jobs",
        "job",
        "Job",
        True,
        (),
        ("status",),
        default_gc="Orphan",
        has_status=True,
        has_generation=True,
    ),
    ResourceType(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        True,
        ("cj",),
        ("status",),
        has_status=True,
        has_generation=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
    ResourceType(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        ("status",),
        has_status=True,
        has_generation=True,
    ),
    # answered by the authorizer (see :mod:`.authz`), never stored
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
    ),
)

BY_PATH: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_PLURAL: dict[str, ResourceType] = {r.plural: r for r in RESOURCES}


def lookup(group: str, version: str, plural: str) -> ResourceType:
    try:
        return BY_PATH[(group, version, plural)]
    except KeyError:
        raise path_not_found() from None


def resource(plural: str) -> ResourceType:
    """The resource called ``plural`` (``"jobs"``, ``"pods"``…)."""
    try:
        return BY_PLURAL[plural]
    except KeyError:
        raise KeyError(f"the emulator serves no resource {plural!r}") from None


# ------------------------------------------------------------------------------ discovery
def version_info(git_version: str) -> Obj:
    """``GET /version`` as a ``version.Info``."""
    major, _, rest = git_version.lstrip("v").partition(".")
    minor = rest.partition(".")[0]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T07:28:49Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
        "emulated": "kjob.testing.emulator",
    }


def api_versions(address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _groups() -> list[str]:
    return sorted({r.group for r in RESOURCES if r.group})


def api_group(group: str) -> Obj:
    if group not in _groups():
        raise path_not_found()
    gv = {"groupVersion": f"{group}/v1", "version": "v1"}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}


def api_group_list() -> Obj:
    groups = [{k: v for k, v in api_group(g).items() if k not in ("kind", "apiVersion")} for g in _groups()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group: str, version: str) -> Obj:
    items = [r for r in RESOURCES if r.group == group and r.version == version]
    if not items:
        raise path_not_found()
    out: list[Obj] = []
    for r in items:
        entry: Obj = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": [v for v in r.verbs if not (r.plural == "namespaces" and v == "deletecollection")],
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.plural in ("jobs", "cronjobs", "pods"):
            entry["categories"] = ["all"]
        out.append(entry)
        for s in r.subresources:
            verbs = ["get"] if s == "log" else ["get", "patch", "update"]
            if s == "finalize":
                verbs = ["update"]
            out.append(
                {
                    "name": f"{r.plural}/{s}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind if s != "log" else "Pod",
                    "verbs": verbs,
                }
            )
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}
