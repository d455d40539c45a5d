"""Building what a template's pod holds beside its main container: ``initContainers``, ``sidecars``,
a ``containerSet`` (several containers ordered by their ``dependencies``) and ``podSpecPatch``.

Names are checked as Kubernetes checks a pod's (unique, no clash with ``main``); a containerSet's
dependencies name containers of the set and make no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kjob.spec import build_container
from kjob.spec import fields as F
from kjob.spec.model import Container, ContainerSet, TemplateKind, frozen_map
from kjob.spec.reader import Reader
from kjob.spec.values import is_scalar, plain
from kjob.spec.yamlnodes import YamlMap

MAIN = "main"
POD_PARTS = ("initContainers", "sidecars", "podSpecPatch")


@dataclass(frozen=True, slots=True)
class PodParts:
    init_containers: tuple[Container, ...] = ()
    sidecars: tuple[Container, ...] = ()
    pod_spec_patch: str | None = None


def parts(
    r: Reader, node: YamlMap, where: str, kind: TemplateKind | None, cset: ContainerSet | None
) -> PodParts:
    """The ``initContainers``, ``sidecars`` and ``podSpecPatch`` of the template ``node`` (of a
    template that runs a pod: a container, script or containerSet one)."""
    if kind not in (TemplateKind.CONTAINER, TemplateKind.SCRIPT, TemplateKind.CONTAINER_SET):
        for key in POD_PARTS:
            if node.get(key) is not None and kind is not None:
                r.diag.error(
                    f"{where} is a {kind.value} template, which runs no pod of its own: '{key}' has no pod",
                    r.src.key(node, key),
                    hint="put it on the container or script template the tasks run",
                )
        return PodParts()
    found = PodParts(
        init_containers=helpers(r, node, "initContainers", where),
        sidecars=helpers(r, node, "sidecars", where),
        pod_spec_patch=pod_spec_patch(r, node),
    )
    own = cset.containers if cset is not None else ()
    unique_names(r, (*found.init_containers, *found.sidecars, *own), where)
    return found


def helpers(r: Reader, node: YamlMap, key: str, where: str) -> tuple[Container, ...]:
    """The ``initContainers`` or ``sidecars`` (``key``) of the template ``node``."""
    seq = r.sequence(node, key, hint=f"write `{key}:` followed by `- name: ...` entries")
    found = tuple(
        build_container.named_container(r, item, mark, F.USER_CONTAINER, f"{key} of {where}")
        for item, mark in r.items(seq, "container")
    )
    for container in found:
        if container.name == MAIN:
            r.diag.error(
                f"{key} of {where}: the name 'main' is the main container's",
                container.mark,
                hint="give it another name",
            )
    return found


def unique_names(r: Reader, containers: tuple[Container, ...], where: str) -> None:
    """A located error for each container whose name an earlier one of the pod took."""
    seen: set[str] = set()
    for container in containers:
        if container.name and container.name in seen:
            r.diag.error(
                f"{where} has two containers named '{container.name}'",
                container.mark,
                hint="the containers of one pod need different names",
            )
        seen.add(container.name)


def container_set(r: Reader, node: YamlMap, where: str) -> ContainerSet | None:
    """The ``containerSet`` of the template ``node``: its volumeMounts given to each container."""
    body = r.mapping(node, "containerSet")
    if body is None:
        return None
    mark = r.src.key(node, "containerSet")
    r.fields(body, F.CONTAINER_SET, f"containerSet of {where}")
    shared = [m for m in plain(body.get("volumeMounts")) or () if isinstance(m, dict)]
    r.sequence(body, "volumeMounts", hint="write `volumeMounts:` followed by `- name: ...` entries")
    seq = r.sequence(body, "containers", hint="write `containers:` followed by `- name: ...` entries")
    containers: list[Container] = []
    for item, item_mark in r.items(seq, "container"):
        container = build_container.named_container(r, item, item_mark, F.CONTAINER_NODE, where)
        if shared:
            own = list(container.extra.get("volumeMounts") or ())
            extra = {**container.extra, "volumeMounts": shared + own}
            container = _with_extra(container, extra)
        containers.append(container)
    if not containers:
        r.diag.error(f"containerSet of {where} has no containers", mark, hint="add `containers: [...]`")
        return None
    unique_names(r, tuple(containers), f"containerSet of {where}")
    _check_dependencies(r, containers, where)
    retries, duration = _retry(r, body)
    return ContainerSet(tuple(containers), retries=retries, retry_duration=duration)


def pod_spec_patch(r: Reader, node: YamlMap) -> str | None:
    """``podSpecPatch``: a JSON or YAML text, its references rendered per attempt."""
    raw = node.get("podSpecPatch")
    if raw is None:
        return None
    if not isinstance(raw, str):
        r.wrong_type(node, "podSpecPatch", "a string (JSON or YAML text of the pod spec fields to patch)")
        return None
    return r.text(node, "podSpecPatch", "podSpecPatch")


def _with_extra(container: Container, extra: dict[str, object]) -> Container:
    return replace(container, extra=frozen_map(extra))


def _check_dependencies(r: Reader, containers: list[Container], where: str) -> None:
    names = {c.name for c in containers}
    for container in containers:
        for dependency in container.dependencies:
            if dependency not in names:
                r.diag.error(
                    f"container '{container.name}' of {where} depends on '{dependency}', "
                    "which is no container of the set",
                    container.mark,
                    hint=f"containers of the set: {', '.join(sorted(n for n in names if n))}",
                )
    cycle = _cycle({c.name: c.dependencies for c in containers})
    if cycle:
        first = next(c for c in containers if c.name == cycle[0])
        r.diag.error(
            f"the containers of the containerSet of {where} depend on each other in a cycle: "
            + " -> ".join([*cycle, cycle[0]]),
            first.mark,
            hint="remove one of these dependencies",
        )


def _cycle(graph: dict[str, tuple[str, ...]]) -> list[str]:
    """One cycle of ``graph`` (names in order), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for dep in graph.get(name, ()):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                return path[path.index(dep) :]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return []

    for name in graph:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []


def _retry(r: Reader, body: YamlMap) -> tuple[int, float | None]:
    retry = r.mapping(body, "retryStrategy")
    if retry is None:
        return 0, None
    r.fields(retry, F.CONTAINER_SET_RETRY, "containerSet retryStrategy")
    retries = r.integer(retry, "retries", strings=True) if is_scalar(retry.get("retries")) else None
    return retries or 0, r.duration(retry, "duration")
