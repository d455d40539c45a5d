"""Building ``inputs``, ``outputs`` and ``arguments``: their parameters and artifacts.

The same reader serves all three roles; what differs is checked here (an output parameter needs a
source, an input artifact of a container needs a path, an argument artifact needs ``from``) and every
value that may hold references is kept as a site for :mod:`kjob.spec.validate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kjob.spec import build_remote
from kjob.spec import fields as F
from kjob.spec.loaded import SiteKind
from kjob.spec.model import IO, Artifact, Mark, Parameter, TemplateKind
from kjob.spec.reader import PARAMETER_NAME, Reader
from kjob.spec.values import argo_string, describe, is_scalar
from kjob.spec.yamlnodes import YamlMap

T = TypeVar("T")


def io(r: Reader, node: YamlMap, key: str, fields: F.FieldSet, where: str, kind: TemplateKind | None) -> IO:
    """The ``inputs``, ``outputs`` or ``arguments`` (``key``) of ``node``, a template, task or spec;
    ``kind`` is the template's body kind, ``None`` for arguments."""
    body = r.mapping(node, key)
    if body is None:
        return IO()
    r.fields(body, fields, f"{key} of {where}")
    parameters = _collect(
        r, body, "parameters", key, where, lambda n, m: _parameter(r, n, m, key, where, kind)
    )
    artifacts = _collect(r, body, "artifacts", key, where, lambda n, m: _artifact(r, n, m, key, where, kind))
    return IO(parameters=tuple(parameters), artifacts=tuple(artifacts))


def _collect(
    r: Reader,
    body: YamlMap,
    key: str,
    role: str,
    where: str,
    build: Callable[[YamlMap, Mark], T | None],
) -> list[T]:
    seq = r.sequence(body, key, hint=f"write `{key}:` followed by `- name: ...` entries")
    built: list[T] = []
    seen: dict[str, Mark] = {}
    for item, mark in r.items(seq, key[:-1]):
        value = build(item, mark)
        if value is None:
            continue
        name = str(getattr(value, "name", ""))
        if name in seen:
            r.diag.error(
                f"duplicate {key[:-1]} '{name}' in {role} of {where}",
                mark,
                hint=f"the first one is at line {seen[name].line}",
            )
            continue
        seen[name] = mark
        built.append(value)
    return built


def _scalar_string(r: Reader, node: YamlMap, key: str, label: str) -> str | None:
    raw = node.get(key)
    if raw is None:
        return None
    if not is_scalar(raw):
        r.wrong_type(node, key, "a string, number or boolean", "quote it to pass JSON: value: '[1, 2]'")
        return None
    value = argo_string(raw)
    if value is not None:
        r.site(value, label, r.src.value(node, key))
    return value


def _config_map(r: Reader, value_from: YamlMap, name: str, role: str) -> tuple[str, str] | None:
    """``valueFrom.configMapKeyRef`` (name, key) of a workflow argument or input parameter."""
    ref = r.mapping(value_from, "configMapKeyRef")
    if ref is None:
        return None
    r.fields(ref, F.CONFIG_MAP_KEY_REF, f"configMapKeyRef of '{name}'")
    if role == "outputs":
        r.diag.error(
            f"valueFrom.configMapKeyRef of output parameter '{name}' has no meaning",
            r.src.key(value_from, "configMapKeyRef"),
            hint="an input or workflow parameter may take its value from a ConfigMap",
        )
        return None
    found = (r.string(ref, "name"), r.string(ref, "key"))
    if found[0] is None or found[1] is None:
        r.diag.error(
            f"configMapKeyRef of '{name}' needs a name and a key",
            r.src.key(value_from, "configMapKeyRef"),
            hint="write `configMapKeyRef: {name: my-config, key: my-key}`",
        )
        return None
    return found[0], found[1]


def _parameter(
    r: Reader, node: YamlMap, mark: Mark, role: str, where: str, kind: TemplateKind | None = None
) -> Parameter | None:
    name = r.name(node, mark, "parameter", pattern=PARAMETER_NAME)
    if not name:
        return None
    r.fields(node, F.PARAMETER, f"parameter '{name}'")
    label = f"argument '{name}'" if role == "arguments" else f"{role} parameter '{name}'"
    value = _scalar_string(r, node, "value", label)
    default = _scalar_string(r, node, "default", f"default of '{name}'")
    enum: list[str] = []
    for option in r.sequence(node, "enum") or ():
        if not is_scalar(option) or option is None:
            r.diag.error(f"each enum value must be a string, not {describe(option)}", mark)
            continue
        enum.append(argo_string(option) or "")
    value_from = r.mapping(node, "valueFrom")
    path: str | None = None
    fallback: str | None = None
    config_map: tuple[str, str] | None = None
    json_path: str | None = None
    jq_filter: str | None = None
    expression: str | None = None
    from_parameter: str | None = None
    if value_from is not None:
        r.fields(value_from, F.VALUE_FROM, f"valueFrom of '{name}'")
        path = r.text(value_from, "path", f"path of '{name}'")
        fallback = _scalar_string(r, value_from, "default", f"default of '{name}'")
        json_path = r.string(value_from, "jsonPath")
        jq_filter = r.string(value_from, "jqFilter")
        expression = r.text(
            value_from, "expression", f"valueFrom.expression of '{name}'", SiteKind.EXPRESSION
        )
        from_parameter = r.text(value_from, "parameter", f"valueFrom.parameter of '{name}'")
        config_map = _config_map(r, value_from, name, role)
        _check_scope_sources(r, value_from, f"{role} parameter '{name}'", role, kind)
        if path is not None and role != "outputs":
            r.diag.error(
                f"valueFrom.path of {role} parameter '{name}' has no meaning",
                r.src.key(value_from, "path"),
                hint="valueFrom.path is for output parameters: the file the value is read from",
            )
    supplied = value_from is not None and "supplied" in value_from
    if value_from is not None and supplied and (role != "outputs" or kind is not TemplateKind.SUSPEND):
        r.diag.error(
            f"valueFrom.supplied of {role} parameter '{name}' has no meaning here",
            r.src.key(value_from, "supplied"),
            hint="valueFrom.supplied is for the outputs of a suspend template, given by `kjob resume --node`",
        )
    scope_source = expression is not None or from_parameter is not None
    sources = (value, path, json_path, jq_filter)
    if role == "outputs" and all(source is None for source in sources) and not supplied and not scope_source:
        unsupported_source = value_from is not None and any(
            str(k) in F.VALUE_FROM.unsupported for k in value_from
        )
        if not unsupported_source:
            r.diag.error(
                f"output parameter '{name}' of {where} has no source",
                mark,
                hint=f"add `valueFrom: {{path: /tmp/{name}}}` and write the value to that file",
            )
    return Parameter(
        name=name,
        value=value,
        default=default,
        enum=tuple(enum),
        value_from_path=path,
        value_from_default=fallback,
        value_from_json_path=json_path,
        value_from_jq_filter=jq_filter,
        value_from_unread=next((str(k) for k in value_from or () if k in F.VALUE_FROM.unsupported), None),
        description=r.string(node, "description"),
        mark=mark,
        supplied=supplied,
        value_from_expression=expression,
        value_from_parameter=from_parameter,
        global_name=r.string(node, "globalName"),
        value_from_config_map=config_map,
    )


def _check_scope_sources(
    r: Reader, value_from: YamlMap, label: str, role: str, kind: TemplateKind | None
) -> None:
    """``valueFrom.expression`` and ``valueFrom.parameter`` name values of a dag or steps template's
    tasks: they mean something only among that template's outputs (resolved as it ends)."""
    if role == "outputs" and kind in (TemplateKind.DAG, TemplateKind.STEPS):
        return
    for key in ("expression", "parameter"):
        if key in value_from:
            r.diag.error(
                f"valueFrom.{key} of {label} has no meaning here",
                r.src.key(value_from, key),
                hint=f"valueFrom.{key} is for the outputs of a dag or steps template, read from its tasks "
                "as it ends; a container writes its output to a file read with `valueFrom.path`",
            )


def _mode(r: Reader, node: YamlMap, name: str) -> int | None:
    """``mode``: permission bits, read as Argo's YAML 1.1 reads them (``0755`` is octal, 493)."""
    value = node.get("mode")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        r.wrong_type(node, "mode", "a file mode such as 0755")
        return None
    mark = r.src.value(node, "mode")
    text = r.src.lines[mark.line - 1][mark.col - 1 :]
    digits = text[: len(text) - len(text.lstrip("0123456789"))]
    octal = len(digits) > 1 and digits[0] == "0" and not set(digits) & {"8", "9"}
    mode = int(digits, 8) if octal else value
    if not 0 <= mode <= 0o7777:
        r.diag.error(
            f"mode of artifact '{name}' is not a file mode", mark, hint="write it in octal, such as 0755"
        )
        return None
    return mode


def _sub_path(r: Reader, node: YamlMap, name: str) -> str | None:
    """``subPath``: a relative path inside the artifact given (no ``..``), or ``None``."""
    sub_path = r.text(node, "subPath", f"subPath of artifact '{name}'")
    if sub_path is None:
        return None
    parts = sub_path.split("/")
    if sub_path.startswith("/") or ".." in parts or "\x00" in sub_path:
        r.diag.error(
            f"subPath of artifact '{name}' must be a relative path inside the artifact",
            r.src.value(node, "subPath"),
            hint="write a path such as `dir/file.txt`, without a leading / or ..",
        )
        return None
    return sub_path.strip("/") or None


def _raw(r: Reader, node: YamlMap, name: str) -> str | None:
    """``raw: {data: ...}``: the artifact's content, inline (it may hold references)."""
    raw = r.mapping(node, "raw")
    if raw is None:
        return None
    r.fields(raw, F.RAW_ARTIFACT, f"raw of artifact '{name}'")
    data = r.text(raw, "data", f"raw data of artifact '{name}'")
    if data is None and raw.get("data") is None:
        r.diag.error(
            f"raw artifact '{name}' has no data",
            r.src.key(node, "raw"),
            hint="add `data: |` with its content",
        )
    return data if data is not None else ""


def _archive(r: Reader, node: YamlMap, name: str) -> None:
    """``archive``: how Argo packs an artifact in its repository.  kjob keeps artifacts unpacked in its
    run workspace, which is what a consumer sees either way: ``none`` and ``tar`` are checked, no more."""
    archive = r.mapping(node, "archive")
    if archive is None:
        return
    r.fields(archive, F.ARCHIVE, f"archive of artifact '{name}'")
    for key, fields in (("none", F.NO_ARCHIVE), ("tar", F.TAR_ARCHIVE)):
        strategy = r.mapping(archive, key)
        if strategy is not None:
            r.fields(strategy, fields, f"archive.{key} of artifact '{name}'")
            if key == "tar":
                r.integer(strategy, "compressionLevel", minimum=-2, maximum=9)


def _artifact(
    r: Reader, node: YamlMap, mark: Mark, role: str, where: str, kind: TemplateKind | None
) -> Artifact | None:
    name = r.name(node, mark, "artifact", pattern=PARAMETER_NAME)
    if not name:
        return None
    r.fields(node, F.ARTIFACT, f"artifact '{name}'")
    _archive(r, node, name)
    path = r.text(node, "path", f"path of artifact '{name}'")
    source = r.text(node, "from", "from", SiteKind.FROM)
    from_expression = r.text(node, "fromExpression", f"fromExpression of '{name}'", SiteKind.EXPRESSION)
    if from_expression is not None and source is not None:
        r.diag.error(
            f"artifact '{name}' has both from and fromExpression",
            r.src.key(node, "fromExpression"),
            hint="keep one: fromExpression chooses among artifacts, from names one",
        )
    has_other_source = any(str(k) in F.ARTIFACT.unsupported for k in node)
    runs = kind in (TemplateKind.CONTAINER, TemplateKind.SCRIPT, TemplateKind.CONTAINER_SET)
    if role in ("inputs", "outputs") and runs and path is None:
        r.diag.error(
            f"{role[:-1]} artifact '{name}' of {where} has no path",
            mark,
            hint="add `path:` with where the file is in the container",
        )
    raw = _raw(r, node, name)
    sub_path = _sub_path(r, node, name)
    mode = _mode(r, node, name)
    fetched = build_remote.remote(r, node, name, role)
    chosen = source is not None or from_expression is not None or raw is not None or fetched is not None
    if role == "outputs" and not runs and kind is not None and not chosen and not has_other_source:
        r.diag.error(
            f"output artifact '{name}' of {where} has no source",
            mark,
            hint='add `from: "{{tasks.<task>.outputs.artifacts.<name>}}"`',
        )
    if role == "arguments" and not chosen and not has_other_source:
        r.diag.error(
            f"artifact argument '{name}' has no source",
            mark,
            hint='add `from: "{{tasks.<task>.outputs.artifacts.<name>}}"`',
        )
    return Artifact(
        name=name,
        path=path,
        from_=source,
        optional=bool(r.boolean(node, "optional")),
        raw=raw,
        sub_path=sub_path,
        mode=mode,
        remote=fetched,
        from_expression=from_expression,
        repository=next((str(k) for k in node if str(k) in F.ARTIFACT_REPOSITORIES), None),
        mark=mark,
        global_name=r.string(node, "globalName"),
    )
