"""Building the ``container`` or ``script`` of a template: image, command, args, env and resources.

Pod and container settings kjob does not model are kept verbatim (``extra``) for the Kubernetes
backend; resource quantities are checked against the Kubernetes quantity syntax.
"""

from __future__ import annotations

from collections.abc import Mapping

from kjob.spec import fields as F
from kjob.spec.model import Container, EnvVar, Mark, Resources, TemplateKind, frozen_map
from kjob.spec.reader import Reader
from kjob.spec.values import argo_string, describe, is_scalar, plain, unpassable
from kjob.spec.yamlnodes import YamlMap


def container(r: Reader, node: YamlMap, kind: TemplateKind, where: str) -> Container | None:
    """The ``container`` or ``script`` (by ``kind``) of the template ``node``."""
    key = kind.value
    body = r.mapping(node, key)
    if body is None:
        return None
    mark = r.src.key(node, key)
    r.fields(body, F.SCRIPT if kind is TemplateKind.SCRIPT else F.CONTAINER, f"{key} of {where}")
    image = r.text(body, "image", "image")
    if image is None and body.get("image") is None:
        r.diag.error(f"{key} of {where} has no image", mark, hint="add `image: <image>`, e.g. python:3.12")
    source: str | None = None
    if kind is TemplateKind.SCRIPT:
        source = r.text(body, "source", "source")
        if source is None and body.get("source") is None:
            r.diag.error(f"script of {where} has no source", mark, hint="add `source: |` and the script")
    for probe in F.PROBES:
        _probe(r, body, probe, f"{probe} of {where}")
    extra = {k: plain(body[k]) for k in map(str, body) if k in F.CONTAINER.passthrough}
    return Container(
        image=image or "",
        command=_words(r, body, "command"),
        args=_words(r, body, "args"),
        env=_env(r, body),
        working_dir=r.text(body, "workingDir", "workingDir"),
        resources=_resources(r, body),
        source=source if kind is TemplateKind.SCRIPT else None,
        extra=frozen_map(extra),
        mark=mark,
    )


def _probe(r: Reader, node: YamlMap, key: str, where: str) -> None:
    """Check a ``readinessProbe`` (or liveness/startup probe): one handler (exec, httpGet,
    tcpSocket) with its fields, and whole-number timings; the probe itself is kept verbatim."""
    probe = r.mapping(node, key)
    if probe is None:
        return
    r.fields(probe, F.PROBE, where)
    for timing in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds"):
        r.integer(probe, timing)
    for count in ("failureThreshold", "successThreshold"):
        r.integer(probe, count, minimum=1)
    handlers = [h for h in F.PROBE_HANDLERS if probe.get(h) is not None]
    if len(handlers) != 1 and probe.get("grpc") is None:
        what = "no handler" if not handlers else f"both {handlers[0]} and {handlers[1]}"
        hint = "give it exactly one of exec, httpGet, tcpSocket"
        r.diag.error(f"{where} has {what}", r.src.key(node, key), hint=hint)
        return
    if not handlers:
        return
    action = r.mapping(probe, handlers[0])
    fields = {"exec": F.EXEC_ACTION, "httpGet": F.HTTP_GET_ACTION, "tcpSocket": F.TCP_SOCKET_ACTION}
    if action is None:
        return
    r.fields(action, fields[handlers[0]], f"{handlers[0]} of {where}")
    if handlers[0] == "exec":
        r.sequence(action, "command", hint="write `command: [cat, /tmp/ready]`")
    elif action.get("port") is None:
        mark = r.src.key(probe, handlers[0])
        r.diag.error(f"{handlers[0]} of {where} has no port", mark, hint="add `port: 8080`")


def _words(r: Reader, node: YamlMap, key: str) -> tuple[str, ...]:
    seq = r.sequence(node, key, hint=f'write `{key}: [a, b]` or one item per line ("- a")')
    if seq is None:
        return ()
    words: list[str] = []
    for index, item in enumerate(seq):
        mark = r.src.item(seq, index)
        if isinstance(item, Mapping | list) or item is None:
            r.diag.error(f"each item of '{key}' must be a string, not {describe(item)}", mark)
            continue
        word = argo_string(item) or ""
        _passable(r, word, f"{key}[{index}]", mark)
        r.site(word, f"{key}[{index}]", mark)
        words.append(word)
    return tuple(words)


def _passable(r: Reader, text: str, what: str, mark: Mark) -> None:
    problem = unpassable(text)
    if problem:
        r.diag.error(
            f"{what} contains {problem}, which no program can be given",
            mark,
            hint="a process's arguments and environment are C strings: remove it",
        )


def _env(r: Reader, node: YamlMap) -> tuple[EnvVar, ...]:
    seq = r.sequence(node, "env")
    if seq is None:
        return ()
    variables: list[EnvVar] = []
    for item, mark in r.items(seq, "env entry"):
        r.fields(item, F.ENV_VAR, "env entry")
        name = r.string(item, "name")
        if name is None:
            r.diag.error("env entry has no name", mark, hint="add `name: MY_VARIABLE`")
            continue
        raw = item.get("value")
        value: str | None = None
        if raw is not None:
            if not is_scalar(raw):
                r.wrong_type(item, "value", "a string")
            else:
                value = argo_string(raw)
                if value is not None:
                    _passable(r, value, f"env {name}", r.src.value(item, "value"))
                    r.site(value, f"env {name}", r.src.value(item, "value"))
        source = r.mapping(item, "valueFrom")
        if value is not None and source is not None:
            r.diag.error(
                f"env {name} has both value and valueFrom",
                r.src.key(item, "valueFrom"),
                hint="use one of them",
            )
        variables.append(EnvVar(name, value, frozen_map(plain(source)) if source is not None else None))
    return tuple(variables)


def _resources(r: Reader, node: YamlMap) -> Resources:
    body = r.mapping(node, "resources")
    if body is None:
        return Resources()
    r.fields(body, F.RESOURCES)
    claims = plain(body["claims"]) if isinstance(body.get("claims"), list) else []
    return Resources(
        requests=_quantities(r, body, "requests"),
        limits=_quantities(r, body, "limits"),
        claims=tuple(frozen_map(c) for c in claims if isinstance(c, dict)),
    )


def _quantities(r: Reader, node: YamlMap, key: str) -> Mapping[str, str]:
    values = r.string_map(node, key)
    table = node.get(key)
    for name, value in values.items():
        mark = r.src.value(table, name) if isinstance(table, YamlMap) else r.src.key(node, key)
        if "{{" in value or "<<" in value:
            r.site(value, f"{key}.{name}", mark)  # rendered per attempt; the API server checks it
        elif not _is_quantity(value):
            r.diag.error(
                f"invalid quantity '{value}' for {key}.{name}",
                mark,
                hint="use Kubernetes quantities such as 500m or 2 (cpu), 512Mi or 4Gi (memory)",
            )
    return values


def _is_quantity(value: str) -> bool:
    from kjob.quantity import parse_quantity  # here: fractions and decimal cost a lint without resources ~3%

    try:
        parse_quantity(value)
    except ValueError:
        return False
    return value == value.strip()


def named_container(r: Reader, body: YamlMap, mark: Mark, fields: F.FieldSet, where: str) -> Container:
    """A named container of the pod beside the main one: an init container, a sidecar or a container
    of a ``containerSet`` (by ``fields``); ``name`` and ``dependencies`` read, ``mirrorVolumeMounts``
    too."""
    r.fields(body, fields, where)
    name = r.name(body, mark, "container")
    label = f"container '{name}' of {where}" if name else f"container of {where}"
    image = r.text(body, "image", "image")
    if image is None and body.get("image") is None:
        r.diag.error(f"{label} has no image", mark, hint="add `image: <image>`, e.g. alpine:3.20")
    dependencies = r.sequence(body, "dependencies", hint="write `dependencies: [a, b]`")
    return Container(
        image=image or "",
        command=_words(r, body, "command"),
        args=_words(r, body, "args"),
        env=_env(r, body),
        working_dir=r.text(body, "workingDir", "workingDir"),
        resources=_resources(r, body),
        extra=frozen_map({k: plain(body[k]) for k in map(str, body) if k in fields.passthrough - {"name"}}),
        mark=mark,
        name=name,
        dependencies=tuple(str(d) for d in dependencies or () if is_scalar(d)),
        mirror_volume_mounts=bool(r.boolean(body, "mirrorVolumeMounts")),
    )
