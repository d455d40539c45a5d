"""Substituting references into a template's container and pod fields, parsed once per template.

A fan-out renders the same template for every item.  :func:`compile_attempt` reads a template's
texts once and returns a function of the lookup that does only what differs between calls: a text
with references is rendered, a text without is reused as it is, and a tree (``resources``,
``valueFrom``, pod fields) is built afresh each time, so no two attempts share a mutable object.  The
result is what rendering every text each time gives, in the same order, so the first reference that
cannot be resolved is the one reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kjob.engine.lookup import Lookup
from kjob.errors import TemplateError
from kjob.expr import parse_template, render
from kjob.limits import RENDERED_CHARS
from kjob.spec.model import Container, EnvVar, Resource, Resources, Template, frozen_map

# A compiled text or tree: rendered for a lookup, each text at most ``max_chars`` long once rendered
# (the limit is read once for many attempts: reading the environment costs more than rendering).
_Fill = Callable[[Lookup, int], Any]
TextFill = Callable[[Lookup, int], str]
AttemptFill = Callable[[Lookup, int], tuple[Container, dict[str, Any]]]

_EMPTY = frozen_map()  # read-only, so one empty mapping serves every attempt


def compile_attempt(container: Container, pod_fields: Mapping[str, Any], *, argo: bool) -> AttemptFill:
    """``container`` and the pod fields (``nodeSelector``, ``tolerations``, ...) with every text
    rendered, keys included, as Argo substitutes the whole template; each rendered text at most
    ``max_chars`` long (the caller reads :data:`~kjob.limits.RENDERED_CHARS` once for many)."""
    fill_container = _compile_container(container, argo=argo)
    fill_pod = _compile_tree(dict(pod_fields), argo=argo)

    def fill(lookup: Lookup, max_chars: int) -> tuple[Container, dict[str, Any]]:
        return fill_container(lookup, max_chars), fill_pod(lookup, max_chars)

    return fill


def render_tree(value: Any, lookup: Lookup, *, argo: bool) -> Any:
    """``value`` (a field kept verbatim from the file, e.g. a ``withItems`` entry) with every text in
    it rendered, keys included: mappings come back as dicts, lists and tuples as lists."""
    return _compile_tree(value, argo=argo)(lookup, RENDERED_CHARS.value)


def compile_text(text: str, *, argo: bool) -> TextFill:
    """``text`` rendered for a lookup, each time at most ``max_chars`` long: parsed once."""
    return _compile_text(text, argo=argo)


def _compile_text(text: str, *, argo: bool) -> _Fill:
    constant = _constant(text, argo=argo)
    if constant is not None:
        return lambda lookup, max_chars: constant
    try:
        template = parse_template(text, argo_braces=argo)
    except TemplateError:
        # Reported when (and each time) the text is rendered, after the fields before it.
        return lambda lookup, max_chars: render(text, lookup, argo_braces=argo, max_chars=max_chars)
    return lambda lookup, max_chars: template.render(lookup, max_chars=max_chars)


def _compile_texts(texts: tuple[str, ...], *, argo: bool) -> _Fill:
    """A tuple of texts (a command, its args): the tuple itself when none holds a reference."""
    if all(_constant(t, argo=argo) == t for t in texts):
        return lambda lookup, max_chars: texts
    fills = [_compile_text(t, argo=argo) for t in texts]
    return lambda lookup, max_chars: tuple([fill(lookup, max_chars) for fill in fills])


def _constant(text: str, *, argo: bool) -> str | None:
    """What ``text`` renders to when that is the same for every lookup (no reference: only its
    escapes undone), else ``None``."""
    try:
        template = parse_template(text, argo_braces=argo)
    except TemplateError:
        return None
    return template.render(_no_lookup) if template.is_literal else None


def _no_lookup(path: str) -> str:
    raise KeyError(path)


def _compile_tree(value: Any, *, argo: bool) -> _Fill:
    if isinstance(value, str):
        return _compile_text(value, argo=argo)
    if isinstance(value, Mapping):
        pairs = [(_compile_text(str(k), argo=argo), _compile_tree(v, argo=argo)) for k, v in value.items()]
        return lambda lookup, max_chars: {
            key(lookup, max_chars): fill(lookup, max_chars) for key, fill in pairs
        }
    if isinstance(value, list | tuple):
        fills = [_compile_tree(v, argo=argo) for v in value]
        return lambda lookup, max_chars: [fill(lookup, max_chars) for fill in fills]
    return lambda lookup, max_chars: value


def _compile_frozen_tree(value: Mapping[str, Any], *, argo: bool) -> _Fill:
    if not value:
        return lambda lookup, max_chars: _EMPTY
    fill = _compile_tree(value, argo=argo)
    return lambda lookup, max_chars: frozen_map(fill(lookup, max_chars))


def _compile_container(container: Container, *, argo: bool) -> Callable[[Lookup, int], Container]:
    image = _compile_text(container.image, argo=argo)
    command = _compile_texts(container.command, argo=argo)
    args = _compile_texts(container.args, argo=argo)
    env = _compile_env(container.env, argo=argo)
    working_dir = _compile_text(container.working_dir, argo=argo) if container.working_dir else None
    resources = _compile_resources(container.resources, argo=argo)
    source = _compile_text(container.source, argo=argo) if container.source is not None else None
    extra = _compile_frozen_tree(container.extra, argo=argo)
    mark = container.mark

    def fill(lookup: Lookup, max_chars: int) -> Container:
        return Container(
            image=image(lookup, max_chars),
            command=command(lookup, max_chars),
            args=args(lookup, max_chars),
            env=env(lookup, max_chars),
            working_dir=working_dir(lookup, max_chars) if working_dir is not None else None,
            resources=resources(lookup, max_chars),
            source=source(lookup, max_chars) if source is not None else None,
            extra=extra(lookup, max_chars),
            mark=mark,
            name=container.name,
            dependencies=container.dependencies,
            mirror_volume_mounts=container.mirror_volume_mounts,
        )

    return fill


def _compile_resources(resources: Resources, *, argo: bool) -> _Fill:
    if not resources.requests and not resources.limits:
        empty = Resources(requests=_EMPTY, limits=_EMPTY, claims=resources.claims)  # read-only: shared
        return lambda lookup, max_chars: empty
    requests = _compile_frozen_tree(resources.requests, argo=argo)
    limits = _compile_frozen_tree(resources.limits, argo=argo)
    return lambda lookup, max_chars: Resources(
        requests=requests(lookup, max_chars), limits=limits(lookup, max_chars), claims=resources.claims
    )


def _compile_env(env: tuple[EnvVar, ...], *, argo: bool) -> _Fill:
    """The container's env: the tuple itself when no variable needs rendering."""
    fills = [_compile_variable(e, argo=argo) for e in env]
    if all(fill is None for fill in fills):
        return lambda lookup, max_chars: env
    each = [fill if fill is not None else _same(e) for e, fill in zip(env, fills, strict=True)]
    return lambda lookup, max_chars: tuple([fill(lookup, max_chars) for fill in each])


def _same(value: Any) -> _Fill:
    return lambda lookup, max_chars: value


def _compile_variable(env: EnvVar, *, argo: bool) -> _Fill | None:
    """One variable rendered; ``None`` when rendering leaves it as it is (an immutable value: shared)."""
    if env.value_from:
        value = _compile_text(env.value, argo=argo) if env.value is not None else None
        value_from = _compile_frozen_tree(env.value_from, argo=argo)
        return lambda lookup, max_chars: EnvVar(
            env.name,
            value(lookup, max_chars) if value is not None else None,
            value_from(lookup, max_chars),
        )
    if env.value is None or _constant(env.value, argo=argo) == env.value:
        return None
    text = _compile_text(env.value, argo=argo)
    return lambda lookup, max_chars: EnvVar(env.name, text(lookup, max_chars), env.value_from)


@dataclass(frozen=True, slots=True)
class PodParts:
    """A template's pod beside its main container, rendered for one attempt."""

    init_containers: tuple[Container, ...] = ()
    sidecars: tuple[Container, ...] = ()
    container_set: tuple[Container, ...] = ()
    pod_spec_patches: tuple[str, ...] = ()


PartsFill = Callable[[Lookup, int], PodParts]
_NO_PARTS = PodParts()


def compile_pod_parts(template: Template, workflow_patch: str | None, *, argo: bool) -> PartsFill:
    """The template's init containers, sidecars, containerSet containers and podSpecPatch texts
    (``workflow_patch`` first), rendered as its container is."""
    init = [_compile_container(c, argo=argo) for c in template.init_containers]
    sidecars = [_compile_container(c, argo=argo) for c in template.sidecars]
    members = template.container_set.containers if template.container_set is not None else ()
    in_set = [_compile_container(c, argo=argo) for c in members]
    patches = [_compile_text(p, argo=argo) for p in (workflow_patch, template.pod_spec_patch) if p]
    if not (init or sidecars or in_set or patches):
        return lambda lookup, max_chars: _NO_PARTS
    return lambda lookup, max_chars: PodParts(
        init_containers=tuple(fill(lookup, max_chars) for fill in init),
        sidecars=tuple(fill(lookup, max_chars) for fill in sidecars),
        container_set=tuple(fill(lookup, max_chars) for fill in in_set),
        pod_spec_patches=tuple(fill(lookup, max_chars) for fill in patches),
    )


def compile_resource(resource: Resource, *, argo: bool) -> Callable[[Lookup, int], Resource]:
    """A resource template's action with its manifest, conditions and flags rendered."""
    manifest = _compile_text(resource.manifest, argo=argo)
    flags = _compile_texts(resource.flags, argo=argo)
    success = _compile_text(resource.success_condition or "", argo=argo)
    failure = _compile_text(resource.failure_condition or "", argo=argo)

    def fill(lookup: Lookup, max_chars: int) -> Resource:
        return Resource(
            action=resource.action,
            manifest=manifest(lookup, max_chars),
            merge_strategy=resource.merge_strategy,
            success_condition=success(lookup, max_chars) or None,
            failure_condition=failure(lookup, max_chars) or None,
            set_owner_reference=resource.set_owner_reference,
            flags=flags(lookup, max_chars),
            mark=resource.mark,
        )

    return fill
