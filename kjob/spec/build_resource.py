"""Building a ``resource`` template body: the action, its manifest, flags and conditions, checked here
as far as they can be before references are rendered (a text with ``{{`` is checked when it runs).

Also the checks that tie a template's kind to its output parameters: a resource template reads its
outputs from the object (``valueFrom.jsonPath`` / ``jqFilter``), every other template from files.
"""

from __future__ import annotations

from typing import Any

import yaml

from kjob.errors import KjobError
from kjob.expr.objectpath import check_jq_filter, check_json_path
from kjob.expr.requirements import parse_requirements
from kjob.spec import fields as F
from kjob.spec.model import IO, MERGE_STRATEGIES, RESOURCE_ACTIONS, Parameter, Resource, TemplateKind
from kjob.spec.reader import Reader
from kjob.spec.resource_flags import parse_flags
from kjob.spec.values import argo_string, describe
from kjob.spec.yamlnodes import YamlMap


def resource(r: Reader, node: YamlMap, where: str) -> Resource | None:
    """The ``resource`` of the template ``node``."""
    body = r.mapping(node, "resource")
    if body is None:
        return None
    mark = r.src.key(node, "resource")
    r.fields(body, F.RESOURCE, f"resource of {where}")
    action = r.string(body, "action")
    if action is None:
        r.diag.error(
            f"resource of {where} has no action", mark, hint=f"add `action:` ({', '.join(RESOURCE_ACTIONS)})"
        )
    elif action not in RESOURCE_ACTIONS:
        r.diag.error(
            f"unknown resource action '{action}'",
            r.src.value(body, "action"),
            hint=f"use one of: {', '.join(RESOURCE_ACTIONS)}",
        )
    strategy = r.string(body, "mergeStrategy") or "strategic"
    if strategy not in MERGE_STRATEGIES:
        r.diag.error(
            f"unknown mergeStrategy '{strategy}'",
            r.src.value(body, "mergeStrategy"),
            hint=f"use one of: {', '.join(MERGE_STRATEGIES)}",
        )
    manifest = r.text(body, "manifest", "manifest") or ""
    flags = _flags(r, body)
    if not manifest and not flags:
        r.diag.error(
            f"resource of {where} has neither manifest nor flags",
            mark,
            hint="add `manifest: |` with the object, or flags naming it (TYPE NAME)",
        )
    if manifest and _literal(manifest):
        _check_manifest(r, body, action, strategy, manifest, bool(flags))
    conditions = {key: r.text(body, key, key) for key in ("successCondition", "failureCondition")}
    for key, condition in conditions.items():
        if condition is not None and _literal(condition):
            _check(r, body, key, lambda text=condition: parse_requirements(text))
    return Resource(
        action=action or "",
        manifest=manifest,
        merge_strategy=strategy,
        success_condition=conditions["successCondition"] or None,
        failure_condition=conditions["failureCondition"] or None,
        set_owner_reference=bool(r.boolean(body, "setOwnerReference")),
        flags=tuple(flags),
        mark=mark,
    )


def check_outputs(r: Reader, kind: TemplateKind | None, outputs: IO, where: str) -> None:
    """``jsonPath``/``jqFilter`` outputs belong to resource templates, ``path`` ones to the others; a
    resource template has no files, so no output artifacts."""
    if kind is TemplateKind.RESOURCE:
        for artifact in outputs.artifacts:
            r.diag.error(
                f"output artifact '{artifact.name}' of {where}: a resource template has no files to keep",
                artifact.mark,
                hint="read what you need from the object as an output parameter (valueFrom.jsonPath)",
            )
    for param in outputs.parameters:
        from_object = param.value_from_json_path is not None or param.value_from_jq_filter is not None
        if kind is TemplateKind.RESOURCE and from_object:
            _check_query(r, param)
        if kind is TemplateKind.RESOURCE and param.value_from_path is not None:
            r.diag.error(
                f"output parameter '{param.name}' of {where} reads a file, but a resource template has none",
                param.mark,
                hint="read it from the object with `valueFrom: {jsonPath: '{.metadata.name}'}` or jqFilter",
            )
        elif kind is not TemplateKind.RESOURCE and kind is not None and from_object:
            r.diag.error(
                f"output parameter '{param.name}' of {where} uses jsonPath/jqFilter, "
                "which only a resource template has",
                param.mark,
                hint="write the value to a file and read it with `valueFrom: {path: ...}`",
            )


def _check_query(r: Reader, param: Parameter) -> None:
    """A literal jsonPath or jqFilter parses (one with references is checked when it is read)."""
    try:
        if param.value_from_json_path is not None and _literal(param.value_from_json_path):
            check_json_path(param.value_from_json_path)
        elif param.value_from_jq_filter is not None and _literal(param.value_from_jq_filter):
            check_jq_filter(param.value_from_jq_filter)
    except KjobError as err:
        r.diag.error(f"output parameter '{param.name}': {err.message}", param.mark, hint=err.hint)


def _flags(r: Reader, body: YamlMap) -> list[str]:
    seq = r.sequence(body, "flags", hint='write `flags: ["--ignore-not-found"]`')
    if seq is None:
        return []
    flags: list[str] = []
    for index, item in enumerate(seq):
        item_mark = r.src.item(seq, index)
        if item is None or isinstance(item, dict | list):
            r.diag.error(f"each flag must be a string, not {describe(item)}", item_mark)
            continue
        flag = argo_string(item) or ""
        r.site(flag, f"flags[{index}]", item_mark)
        flags.append(flag)
    if all(_literal(f) for f in flags):
        _check(r, body, "flags", lambda: parse_flags(flags))
    return flags


def _check_manifest(
    r: Reader, body: YamlMap, action: str | None, strategy: str, text: str, flags: bool
) -> None:
    mark = r.src.value(body, "manifest")
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as err:
        r.diag.error(f"the manifest is not YAML: {_first_line(err)}", mark)
        return
    if len(documents) != 1:
        r.diag.error(
            f"the manifest holds {len(documents)} objects; a resource template acts on one",
            mark,
            hint="split it into one resource template per object",
        )
        return
    problem = manifest_problem(documents[0], action or "", strategy, flags)
    if problem is not None:
        r.diag.error(problem, mark)


def manifest_problem(obj: Any, action: str, strategy: str, flags: bool) -> str | None:
    """What makes ``obj`` (a parsed manifest) unusable for ``action``, or ``None``."""
    if action == "patch" and strategy == "json":
        return None if isinstance(obj, list) else "a json patch is a list of operations (- op: add ...)"
    if not isinstance(obj, dict):
        return f"the manifest must be an object, not {describe(obj)}"
    if action == "patch" and flags and "kind" not in obj:
        return None  # the patch itself; flags name the object
    missing = [key for key in ("apiVersion", "kind") if not obj.get(key)]
    if missing:
        return f"the manifest has no {' or '.join(missing)}"
    meta = obj.get("metadata")
    named = isinstance(meta, dict) and (meta.get("name") or (action == "create" and meta.get("generateName")))
    if not named:
        hint = "metadata.name (or metadata.generateName to create)" if action == "create" else "metadata.name"
        return f"the manifest has no {hint}"
    return None


def _check(r: Reader, body: YamlMap, key: str, parse: Any) -> None:
    try:
        parse()
    except KjobError as err:
        r.diag.error(err.message, r.src.value(body, key), hint=err.hint)


def _literal(text: str) -> bool:
    return "{{" not in text and "<<" not in text


def _first_line(err: Exception) -> str:
    return (str(err).splitlines() or ["?"])[0]
