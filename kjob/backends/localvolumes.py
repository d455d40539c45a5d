"""Kubernetes ``volumes`` and ``volumeMounts`` on the local backend.

A task run as a host process sees the host's files, its working directory and its private ``/tmp``.
Two kinds of volume map onto that faithfully:

- ``emptyDir``: a fresh directory per attempt (a pod's emptyDir lives as long as the pod), made at
  the mount path inside the task's private ``/tmp`` or working directory and removed with them;
- ``hostPath``: the host directory itself, at its own path, or linked from a mount path under
  ``/tmp`` (or a relative one).

Any other kind (configMap, secret, persistentVolumeClaim, ...) and any mount path the task could not
see (outside ``/tmp``, unless a hostPath mounted at its own path) is refused before the run starts,
with the place in the file: :func:`problems` (``kjob run`` on the local backend refuses, ``kjob lint``
warns).  :func:`mounts` gives the rendered mounts of one attempt to the backend.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kjob.errors import KjobError, SpecError, raise_found
from kjob.spec.build_claims import claim_name
from kjob.spec.model import Workflow, pod_fields

MAPPED = ("emptyDir", "hostPath")
CLAIM = "persistentVolumeClaim"  # mapped when it is one of the run's volumeClaimTemplates


@dataclass(frozen=True, slots=True)
class RunClaims:
    """The run's ``volumeClaimTemplates`` on the local backend: one directory each, under ``root``,
    that every task of the run shares (a claim outlives the pods that mount it)."""

    run_id: str
    root: str

    def directory(self, volume: Mapping[str, Any]) -> str | None:
        """The directory of ``volume`` when it mounts one of the run's claims (its claim name rendered)."""
        source = volume.get(CLAIM)
        name = str(volume.get("name", ""))
        if not isinstance(source, Mapping) or source.get("claimName") != claim_name(self.run_id, name):
            return None
        return os.path.join(self.root, name)


_HINT = "run it on Kubernetes (--backend kubernetes), or use an emptyDir or hostPath volume"
_PATH_HINT = "mount it under /tmp/... (or a relative path), or mount a hostPath volume at its own path"


@dataclass(frozen=True, slots=True)
class LocalMount:
    """One ``volumeMounts`` entry of a task as the local backend provides it."""

    volume: str
    mount_path: str
    kind: str  # emptyDir | hostPath
    host_path: str = ""  # hostPath: the directory on the host (subPath included)
    sub_path: str = ""
    create: bool = False  # hostPath of type DirectoryOrCreate

    @property
    def in_place(self) -> bool:
        """A hostPath mounted at its own path: the task sees it as it is, nothing to map."""
        return self.kind == "hostPath" and os.path.normpath(self.mount_path) == os.path.normpath(
            self.host_path
        )


def kind_of(volume: Mapping[str, Any]) -> str:
    """The volume's source kind (``emptyDir``, ``configMap``, ...), or ``""`` when it names none."""
    return next((str(key) for key in volume if key != "name"), "")


def _volumes(pod_fields: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = pod_fields.get("volumes") or []
    listed = found if isinstance(found, Sequence) else []
    return {str(v.get("name")): v for v in listed if isinstance(v, Mapping)}


def _mount_entries(container_fields: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = container_fields.get("volumeMounts") or []
    listed = found if isinstance(found, Sequence) else []
    return [m for m in listed if isinstance(m, Mapping)]


def _problem(
    mount: Mapping[str, Any], volumes: Mapping[str, Mapping[str, Any]], claims: Collection[str] = ()
) -> tuple[str, str] | None:
    """Why the local backend cannot provide ``mount`` (message, hint), or ``None``; ``claims``: the
    names of the run's volumeClaimTemplates (a directory of the run each)."""
    name = str(mount.get("name", ""))
    path = str(mount.get("mountPath", ""))
    volume = volumes.get(name)
    if volume is None:
        defined = ", ".join(sorted(volumes)) or "none"
        return f"volumeMount '{name}' names no volume", f"volumes of this template: {defined}"
    kind = kind_of(volume)
    if kind not in MAPPED and not (kind == CLAIM and name in claims):
        return (
            f"volume '{name}' is a {kind or 'sourceless'} volume, which the local backend cannot provide "
            "(it maps emptyDir and hostPath volumes, and the run's volumeClaimTemplates)",
            _HINT,
        )
    if "{{" in path or "<<" in path or not os.path.isabs(path):
        return None  # relative: under the working directory; templated: checked as the task starts
    norm = os.path.normpath(path)
    if norm == "/tmp" or norm.startswith("/tmp/"):
        return None
    source = volume.get(kind)
    path_of = str(source.get("path", "")) if isinstance(source, Mapping) else ""
    host = os.path.join(path_of, str(mount.get("subPath", "") or ""))
    if kind == "hostPath" and os.path.normpath(host) == norm:
        return None
    return (
        f"volume '{name}' is mounted at {path}, outside /tmp: a task on the local backend sees its "
        "private /tmp, its working directory and the host's own paths",
        _PATH_HINT,
    )


def problems(workflow: Workflow) -> list[SpecError]:
    """A located error for each volumeMount the local backend cannot provide."""
    found: list[SpecError] = []
    claims = {str((c.get("metadata") or {}).get("name")) for c in workflow.volume_claims}
    for template in workflow.templates.values():
        container = template.container
        if container is None:
            continue
        volumes = _volumes(pod_fields(workflow.pod_extra, template.pod_extra))
        members = template.container_set.containers if template.container_set is not None else (container,)
        others = (*template.init_containers, *template.sidecars)
        for owner, mount in [(c, m) for c in (*others, *members) for m in _mount_entries(c.extra)]:
            problem = _problem(mount, volumes, claims)
            if problem is None:
                continue
            mark = owner.mark if owner.mark.line else template.mark
            message, hint = problem
            found.append(
                SpecError(
                    f"template '{template.name}': {message}",
                    path=mark.path,
                    line=mark.line,
                    col=mark.col,
                    hint=hint,
                )
            )
    return found


def require(workflow: Workflow) -> None:
    """Raise :func:`problems`, if any: before a local run starts."""
    raise_found(problems(workflow))


def mounts(
    container_fields: Mapping[str, Any], pod_fields: Mapping[str, Any], claims: RunClaims | None = None
) -> list[LocalMount]:
    """The rendered mounts of one attempt, or a :class:`KjobError` naming one it cannot have."""
    volumes = _volumes(pod_fields)
    dirs = {n: d for n, v in volumes.items() if claims is not None and (d := claims.directory(v))}
    found: list[LocalMount] = []
    for mount in _mount_entries(container_fields):
        problem = _problem(mount, volumes, dirs)
        if problem is not None:
            raise KjobError(problem[0])
        name = str(mount.get("name", ""))
        volume = volumes[name]
        kind = kind_of(volume)
        sub_path = str(mount.get("subPath", "") or "")
        if os.path.isabs(sub_path) or ".." in sub_path.split("/"):
            raise KjobError(
                f"volumeMount '{name}': subPath {sub_path} must be a relative path inside the volume"
            )
        if name in dirs:  # a run claim: the run's directory, as a hostPath that is made if missing
            path = str(mount.get("mountPath", ""))
            host = os.path.join(dirs[name], sub_path)
            found.append(LocalMount(name, path, "hostPath", host, sub_path, create=True))
            continue
        source = volume.get(kind)
        source = source if isinstance(source, Mapping) else {}
        host = str(source.get("path", "")) if kind == "hostPath" else ""
        if kind == "hostPath" and not os.path.isabs(host):
            raise KjobError(f"volume '{name}': hostPath path '{host}' is not an absolute path")
        found.append(
            LocalMount(
                volume=name,
                mount_path=str(mount.get("mountPath", "")),
                kind=kind,
                host_path=os.path.join(host, sub_path) if host else "",
                sub_path=sub_path,
                create=str(source.get("type", "")) == "DirectoryOrCreate",
            )
        )
    return found
