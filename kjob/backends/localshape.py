"""The pod of an attempt on the local backend: which containers it has, their volumes, and what of
``podSpecPatch`` applies on a host.

An attempt with init containers, sidecars or a containerSet runs under
:mod:`kjob.backends.localpod`, given a JSON file (:func:`write_pod`) that lists each container's
command, environment and working directory, worked out as for the main container.

``podSpecPatch`` on the local backend: what a host process can honour is applied — the ``env``,
``command``, ``args`` and ``workingDir`` of the pod's containers (matched by name; the main one is
``main``, as on Kubernetes); everything else (resources, scheduling fields such as nodeSelector or
tolerations, securityContext, ...) means nothing to a host process and is ignored with a notice
(``kjob lint`` says so too).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from kjob.backends import localvolumes
from kjob.backends.base import AttemptSpec
from kjob.errors import SpecError
from kjob.render import podpatch
from kjob.spec.model import Container, EnvVar, Workflow, frozen_map, pod_fields

POD_FILE = ".kjob-pod.json"  # in the attempt's working directory
REASON_FILE = ".kjob-pod-reason"  # there too: which container failed the attempt, if not the main one
APPLIED = ("env", "command", "args", "workingDir")
MAIN = "main"
# pod spec keys from Argo's pod-level fields, which a host process has no use for: the Argo name of each
POD_LEVEL = {"resources": "podResources", "resourceClaims": "resourceClaims"}

# a container's command line and environment (declared variables, expanded as the kubelet does)
Command = Callable[[Container], tuple[list[str], dict[str, str]]]


def needed(spec: AttemptSpec) -> bool:
    """Whether the attempt's pod holds more than its main container."""
    return bool(spec.init_containers or spec.sidecars or spec.container_set)


def _mounts_of(container: Container, main: Container) -> dict[str, Any]:
    if not container.mirror_volume_mounts:
        return dict(container.extra)
    own = list(container.extra.get("volumeMounts") or ())
    return {**container.extra, "volumeMounts": [*(main.extra.get("volumeMounts") or ()), *own]}


def containers(spec: AttemptSpec) -> list[Container]:
    """Every container of the attempt's pod, the main one (or the containerSet's) included."""
    members = list(spec.container_set) or [spec.container]
    return [*spec.init_containers, *spec.sidecars, *members]


def mounts(spec: AttemptSpec, claims: localvolumes.RunClaims | None = None) -> list[localvolumes.LocalMount]:
    """The volume mounts of every container of the pod, each (volume, path) once: the containers
    of a local pod share one view of the host."""
    found: list[localvolumes.LocalMount] = []
    seen: set[tuple[str, str, str]] = set()
    for container in containers(spec):
        for mount in localvolumes.mounts(_mounts_of(container, spec.container), spec.pod_extra, claims):
            key = (mount.volume, os.path.normpath(mount.mount_path), mount.sub_path)
            if key not in seen:
                seen.add(key)
                found.append(mount)
    return found


def write_pod(
    spec: AttemptSpec,
    workdir: str,
    log: str,
    main: tuple[list[str], dict[str, str], str],
    command: Command,
    cwd_of: Callable[[Container], str],
) -> list[str]:
    """Write the pod's JSON file for :mod:`kjob.backends.localpod` and return the command that
    runs it; ``main``: the main container's command line, environment and working directory."""
    main_name = spec.container.name or MAIN

    def entry(c: Container, role: str) -> dict[str, Any]:
        if c is spec.container:
            argv, env, cwd = main
        else:
            argv, env = command(c)
            cwd = cwd_of(c)
        return {
            "name": c.name or MAIN,
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "log": f"{log[: -len('.log')]}.{c.name or MAIN}.log",
            "dependencies": list(c.dependencies) if role == "members" else [],
        }

    members = [c if c.name != main_name else spec.container for c in spec.container_set] or [spec.container]
    pod = {
        "main": main_name,
        "reason_file": os.path.abspath(os.path.join(workdir, REASON_FILE)),
        "retries": spec.set_retries,
        "retry_within": spec.set_retry_duration,
        "init": [entry(c, "init") for c in spec.init_containers],
        "sidecars": [entry(c, "sidecars") for c in spec.sidecars],
        "members": [entry(c, "members") for c in members],
    }
    path = os.path.join(workdir, POD_FILE)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(pod, f)
    return [sys.executable, "-m", "kjob.backends.localpod", os.path.abspath(path)]


def failed_container(spec: AttemptSpec, workdir: str) -> str | None:
    """Which container other than the main one failed the attempt (``init container 'x': exit code
    N``), as the pod runner wrote it, or ``None``."""
    if not needed(spec):
        return None
    try:
        with open(os.path.join(workdir, REASON_FILE), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def with_patch(spec: AttemptSpec) -> tuple[AttemptSpec, list[str]]:
    """``spec`` with its podSpecPatch applied to what a host process honours (see the module
    docstring), and the patched fields it ignores (``nodeSelector``, ``containers[main].resources``)."""
    if not spec.pod_spec_patches:
        return spec, []
    ignored: list[str] = []
    by_name: dict[str, Mapping[str, Any]] = {}
    for text in spec.pod_spec_patches:
        patch = podpatch.parse(text, spec.template_name)
        for key in patch:
            if key not in ("containers", "initContainers"):
                ignored.append(key)
        for key in ("containers", "initContainers"):
            for item in patch.get(key) or ():
                if not isinstance(item, dict) or "name" not in item:
                    continue
                name = str(item["name"])
                ignored += [f"{key}[{name}].{k}" for k in item if k not in (*APPLIED, "name")]
                by_name[name] = podpatch.merge(by_name.get(name, {}), item)
    if not by_name:
        return spec, ignored

    def patched(c: Container, name: str) -> Container:
        patch = by_name.get(name)
        return c if patch is None else _patched_container(c, patch)

    main = spec.container.name or MAIN
    return (
        replace(
            spec,
            container=patched(spec.container, main),
            init_containers=tuple(patched(c, c.name) for c in spec.init_containers),
            sidecars=tuple(patched(c, c.name) for c in spec.sidecars),
            container_set=tuple(patched(c, c.name) for c in spec.container_set),
        ),
        ignored,
    )


def _patched_container(c: Container, patch: Mapping[str, Any]) -> Container:
    env: list[dict[str, Any]] = [{"name": e.name, "value": e.value, "valueFrom": e.value_from} for e in c.env]
    merged = podpatch.merge({"env": env}, {"env": patch["env"]}) if "env" in patch else {"env": env}
    return replace(
        c,
        env=tuple(
            EnvVar(
                str(e["name"]),
                None if e.get("value") is None else str(e["value"]),
                frozen_map(e["valueFrom"]) if e.get("valueFrom") else None,
            )
            for e in merged["env"]
            if isinstance(e, dict) and "name" in e
        ),
        command=tuple(map(str, patch["command"])) if isinstance(patch.get("command"), list) else c.command,
        args=tuple(map(str, patch["args"])) if isinstance(patch.get("args"), list) else c.args,
        working_dir=str(patch["workingDir"]) if patch.get("workingDir") else c.working_dir,
    )


def pod_level_ignored(pod_extra: Mapping[str, Any]) -> list[str]:
    """The Argo pod-level fields (``podResources``, ``resourceClaims``) in a pod's fields, which the
    local backend ignores."""
    return [argo for key, argo in POD_LEVEL.items() if pod_extra.get(key)]


def problems(workflow: Workflow) -> list[SpecError]:
    """Lint warnings for the local backend: a podSpecPatch that it applies only in part, pod-level
    resources and resource claims that it ignores."""
    found: list[SpecError] = []
    for template in workflow.templates.values():
        ignored = pod_level_ignored(pod_fields(workflow.pod_extra, template.pod_extra))
        if template.container is not None and ignored:
            found.append(
                SpecError(
                    f"template '{template.name}': {names(ignored)} ignored (they mean nothing to a host "
                    "process)",
                    path=template.mark.path,
                    line=template.mark.line,
                    col=template.mark.col,
                    hint="they apply on Kubernetes (--backend kubernetes), where the cluster keeps them",
                )
            )
        if template.container is None or not (template.pod_spec_patch or workflow.pod_spec_patch):
            continue
        mark = template.mark
        found.append(
            SpecError(
                f"template '{template.name}': podSpecPatch applies in part on the local backend: the "
                f"containers' {', '.join(APPLIED)}; other fields (resources, scheduling) are ignored",
                path=mark.path,
                line=mark.line,
                col=mark.col,
                hint="run it on Kubernetes (--backend kubernetes) for the whole patch",
            )
        )
    return found


def names(items: Sequence[str]) -> str:
    return ", ".join(sorted(set(items)))
