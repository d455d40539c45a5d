"""Validation of created and updated objects, in the two stages the apiserver has.

1. **Decoding** (:class:`SchemaValidator`): the body is checked against the real OpenAPI schema of
   the emulated version, as shipped by the ``kubernetes-validate`` package (its ``*-local-strict``
   schemas: every object has ``additionalProperties: false``). What decoding rejects is a
   ``400 BadRequest``: a wrong JSON type (``cannot unmarshal string into Go struct field``) and, with
   ``fieldValidation=Strict``, an unknown field (``strict decoding error: unknown field "spec.foo"``).
   With ``Warn`` the unknown fields are dropped and reported in a ``Warning`` header; with ``Ignore``
   they are dropped silently. The emulator's default is ``Strict`` (see ``Emulator(strict_fields=)``),
   because a field a real server would silently drop is almost always a bug in the caller.
   Missing required members found by the schema are reported as 422 ``Required value`` errors.
2. **Semantic validation** (``validate_*``): the rules of ``pkg/apis/core/validation`` and
   ``pkg/apis/batch/validation`` that a Job-submitting client can hit, with the same field paths and
   the same wording, collected as :class:`FieldError` lists and answered with 422 ``Invalid``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from kjob.testing.emulator.errors import FieldError, bad_request
from kjob.testing.emulator.selectors import (
    from_label_selector_object,
    label_value_errors,
    qualified_name_errors,
)
from kjob.testing.emulator.util import Obj, labels_of, sub

# --------------------------------------------------------------------------- names
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_ENV_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or "
    "'.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', "
    "regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)
_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
    "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
)


def dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(value):
        errs.append(_LABEL_MSG)
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(value):
        errs.append(_SUBDOMAIN_MSG)
    return errs


# --------------------------------------------------------------------------- schema stage
def _schema_dir(version: str) -> Path:
    """The newest ``kubernetes-validate`` strict schema directory not newer than ``version``."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or spec.origin is None:
        raise RuntimeError("kjob.testing.emulator needs the kubernetes-validate package (the test extra)")
    root = Path(spec.origin).parent / "kubernetes-json-schema"
    want = _minor_tuple(version)
    found = sorted(
        (_minor_tuple(p.name), p)
        for p in root.iterdir()
        if p.name.endswith("-local-strict") and _minor_tuple(p.name) <= want
    )
    if not found:
        found = sorted((_minor_tuple(p.name), p) for p in root.iterdir() if p.name.endswith("-local-strict"))
    return found[-1][1]


def _minor_tuple(text: str) -> tuple[int, int]:
    m = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


_GO_TYPES = {
    "integer": "int64",
    "string": "string",
    "boolean": "bool",
    "number": "float64",
    "object": "map",
    "array": "slice",
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class SchemaValidator:
    """JSON-schema validation of request bodies against the emulated version's OpenAPI schema."""

    def __init__(self, version: str) -> None:
        self.directory = _schema_dir(version)
        self._validators: dict[str, Any] = {}
        self._registry: Any = None

    def _validator(self, kind: str, api_version: str) -> Any:
        import jsonschema
        from referencing import Registry, Resource

        group = api_version.split("/")[0].split(".")[0] if "/" in api_version else ""
        version = api_version.rsplit("/", 1)[-1]
        fname = f"{kind.lower()}-{group}-{version}.json" if group else f"{kind.lower()}-{version}.json"
        if fname not in self._validators:
            if self._registry is None:
                defs = json.loads((self.directory / "_definitions.json").read_text())
                self._registry = Registry().with_resource(defs["$id"], Resource.from_contents(defs))
            schema = json.loads((self.directory / fname).read_text())
            registry = self._registry.with_resource(schema["$id"], Resource.from_contents(schema))
            self._validators[fname] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self._validators[fname]

    def check(
        self, kind: str, api_version: str, obj: Obj, field_validation: str
    ) -> tuple[list[FieldError], list[str]]:
        """Validate ``obj`` in place. Returns (422 field errors, warnings).

        Raises the 400 decoding errors. Unknown fields are an error in ``Strict`` mode, else they are
        removed from ``obj`` (with a warning in ``Warn`` mode).
        """
        validator = self._validator(kind, api_version)
        unknown: list[tuple[list[Any], str]] = []
        errors: list[FieldError] = []
        type_errors: list[str] = []
        for err in validator.iter_errors(obj):
            path = list(err.absolute_path)
            if err.validator == "additionalProperties":
                props = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
                for key in sorted(k for k in err.instance if k not in props):
                    unknown.append((path, key))
            elif err.validator == "required":
                m = re.match(r"'(.*)' is a required property", err.message)
                missing = m.group(1) if m else "?"
                errors.append(FieldError("Required", format_path([*path, missing])))
            elif err.validator == "enum":
                errors.append(
                    FieldError(
                        "NotSupported",
                        format_path(path),
                        err.instance,
                        supported=tuple(map(str, err.validator_value)),
                    )
                )
            else:
                want = err.schema.get("type") if isinstance(err.schema, dict) else None
                want = next(t for t in want if t != "null") if isinstance(want, list) else want
                fmt = err.schema.get("format") if isinstance(err.schema, dict) else None
                go = fmt if fmt in ("int32", "int64") else _GO_TYPES.get(str(want), "string")
                type_errors.append(
                    f"json: cannot unmarshal {_json_type(err.instance)} into Go struct field "
                    f"{kind}.{format_path(path)} of type {go}"
                )
        prefix = f'{kind} in version "{api_version.rsplit("/", 1)[-1]}" cannot be handled as a {kind}: '
        if type_errors:
            raise bad_request(prefix + type_errors[0])
        warnings: list[str] = []
        if unknown:
            names = [format_path([*p, k]) for p, k in unknown]
            if field_validation == "Strict":
                raise bad_request(
                    prefix + "strict decoding error: " + ", ".join(f'unknown field "{n}"' for n in names)
                )
            for path, key in unknown:
                holder: Any = obj
                for p in path:
                    holder = holder[p]
                holder.pop(key, None)
            if field_validation == "Warn":
                warnings = [f'unknown field "{n}"' for n in names]
        return errors, warnings


@cache
def schema_validator(version: str) -> SchemaValidator:
    return SchemaValidator(version)


# --------------------------------------------------------------------------- semantic stage
def _nonneg(errs: list[FieldError], spec: Obj, key: str, path: str) -> None:
    v = spec.get(key)
    if isinstance(v, int) and v < 0:
        errs.append(FieldError("Invalid", f"{path}.{key}", v, "must be greater than or equal to 0"))


def validate_labels(labels: Any, path: str, errs: list[FieldError]) -> None:
    if not isinstance(labels, dict):
        return
    for k, v in labels.items():
        for msg in qualified_name_errors(str(k)):
            errs.append(FieldError("Invalid", path, k, msg))
        for msg in label_value_errors(str(v)):
            errs.append(FieldError("Invalid", path, v, msg))


def validate_annotations(ann: Any, path: str, errs: list[FieldError]) -> None:
    if not isinstance(ann, dict):
        return
    total = 0
    for k, v in ann.items():
        for msg in qualified_name_errors(str(k).lower()):
            errs.append(FieldError("Invalid", path, k, msg))
        total += len(str(k)) + len(str(v))
    if total > 256 * 1024:
        errs.append(FieldError("TooLong", path, detail="must have at most 262144 bytes"))


def validate_object_meta(obj: Obj, *, name_rule: str, errs: list[FieldError]) -> None:
    """``ValidateObjectMeta``: name, labels, annotations, owner references."""
    m = sub(obj, "metadata")
    name = str(m.get("name") or "")
    if not name:
        errs.append(FieldError("Required", "metadata.name", detail="name or generateName is required"))
    else:
        check = dns1123_label_errors if name_rule == "label" else dns1123_subdomain_errors
        for msg in check(name):
            errs.append(FieldError("Invalid", "metadata.name", name, msg))
    validate_labels(m.get("labels"), "metadata.labels", errs)
    validate_annotations(m.get("annotations"), "metadata.annotations", errs)
    controllers = 0
    for i, ref in enumerate(m.get("ownerReferences") or []):
        p = f"metadata.ownerReferences[{i}]"
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key):
                detail = "uid must not be empty" if key == "uid" else f"{key} must not be empty"
                errs.append(
                    FieldError(
                        "Invalid", f"{p}.{key}" if key != "uid" else f"{p}.uid", ref.get(key, ""), detail
                    )
                )
        if ref.get("controller"):
            controllers += 1
    if controllers > 1:
        errs.append(
            FieldError(
                "Invalid",
                "metadata.ownerReferences",
                m.get("ownerReferences"),
                "Only one reference can have Controller set to true",
            )
        )


def _validate_container(
    c: Obj, path: str, volumes: set[str], errs: list[FieldError], *, image_required: bool
) -> None:
    name = str(c.get("name") or "")
    if not name:
        errs.append(FieldError("Required", f"{path}.name"))
    else:
        for msg in dns1123_label_errors(name):
            errs.append(FieldError("Invalid", f"{path}.name", name, msg))
    if image_required and not c.get("image"):
        errs.append(FieldError("Required", f"{path}.image"))
    for i, env in enumerate(c.get("env") or []):
        ep = f"{path}.env[{i}]"
        ename = str(env.get("name") or "")
        if not ename:
            errs.append(FieldError("Required", f"{ep}.name"))
        elif not _ENV_NAME.match(ename):
            errs.append(FieldError("Invalid", f"{ep}.name", ename, _ENV_MSG))
        src = env.get("valueFrom")
        if isinstance(src, dict):
            if env.get("value"):
                errs.append(
                    FieldError(
                        "Invalid", f"{ep}.valueFrom", "", "may not be specified when `value` is not empty"
                    )
                )
            if len([k for k in src if src[k] is not None]) != 1:
                errs.append(
                    FieldError(
                        "Invalid",
                        f"{ep}.valueFrom",
                        "",
                        "may not have more than one field specified at a time",
                    )
                )
    mount_paths: set[str] = set()
    for i, vm in enumerate(c.get("volumeMounts") or []):
        vp = f"{path}.volumeMounts[{i}]"
        vname = str(vm.get("name") or "")
        if not vname:
            errs.append(FieldError("Required", f"{vp}.name"))
        elif vname not in volumes:
            errs.append(FieldError("NotFound", f"{vp}.name", vname))
        mp = str(vm.get("mountPath") or "")
        if not mp:
            errs.append(FieldError("Required", f"{vp}.mountPath"))
        elif mp in mount_paths:
            errs.append(FieldError("Invalid", f"{vp}.mountPath", mp, "must be unique"))
        mount_paths.add(mp)
    tmp = c.get("terminationMessagePolicy")
    if tmp is not None and tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(
            FieldError(
                "NotSupported",
                f"{path}.terminationMessagePolicy",
                tmp,
                supported=("File", "FallbackToLogsOnError"),
            )
        )
    ipp = c.get("imagePullPolicy")
    if ipp is not None and ipp not in ("Always", "IfNotPresent", "Never"):
        errs.append(
            FieldError(
                "NotSupported", f"{path}.imagePullPolicy", ipp, supported=("Always", "IfNotPresent", "Never")
            )
        )


def validate_pod_spec(spec: Obj, path: str, errs: list[FieldError], *, pod: bool) -> None:
    """The parts of ``ValidatePodSpec`` a Job-submitting client is likely to hit."""
    volumes: set[str] = set()
    for i, v in enumerate(spec.get("volumes") or []):
        vname = str(v.get("name") or "")
        vp = f"{path}.volumes[{i}].name"
        if not vname:
            errs.append(FieldError("Required", vp))
        else:
            for msg in dns1123_label_errors(vname):
                errs.append(FieldError("Invalid", vp, vname, msg))
            if vname in volumes:
                errs.append(FieldError("Duplicate", vp, vname))
        volumes.add(vname)
    containers = spec.get("containers") or []
    if not containers:
        errs.append(FieldError("Required", f"{path}.containers"))
    seen: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            cp = f"{path}.{key}[{i}]"
            _validate_container(c, cp, volumes, errs, image_required=True)
            cname = str(c.get("name") or "")
            if cname and cname in seen:
                errs.append(FieldError("Duplicate", f"{cp}.name", cname))
            seen.add(cname)
    if pod:
        rp = spec.get("restartPolicy")
        if rp not in ("Always", "OnFailure", "Never"):
            errs.append(
                FieldError(
                    "NotSupported", f"{path}.restartPolicy", rp, supported=("Always", "OnFailure", "Never")
                )
            )
    ads = spec.get("activeDeadlineSeconds")
    if isinstance(ads, int) and not 1 <= ads <= 2**31 - 1:
        errs.append(
            FieldError(
                "Invalid", f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"
            )
        )
    hostname = spec.get("hostname")
    if isinstance(hostname, str) and hostname:
        for msg in dns1123_label_errors(hostname):
            errs.append(FieldError("Invalid", f"{path}.hostname", hostname, msg))
    tgp = spec.get("terminationGracePeriodSeconds")
    if isinstance(tgp, int) and tgp < 0:
        errs.append(
            FieldError(
                "Invalid", f"{path}.terminationGracePeriodSeconds", tgp, "must be greater than or equal to 0"
            )
        )


def validate_pod(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    validate_object_meta(obj, name_rule="subdomain", errs=errs)
    validate_pod_spec(sub(obj, "spec"), "spec", errs, pod=True)
    return errs


_POD_MUTABLE = (
    "spec.containers[*].image",
    "spec.initContainers[*].image",
    "spec.activeDeadlineSeconds",
    "spec.tolerations (only additions to existing tolerations)",
    "spec.terminationGracePeriodSeconds (allow it to be set to 1 if it was previously negative)",
)


def validate_pod_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidatePodUpdate``: a pod's spec is immutable except for a few fields."""
    errs = validate_pod(new)
    a, b = json.loads(json.dumps(sub(new, "spec"))), json.loads(json.dumps(sub(old, "spec")))
    for spec in (a, b):
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                c.pop("image", None)
        spec.pop("activeDeadlineSeconds", None)
        spec.pop("tolerations", None)
        spec.pop("terminationGracePeriodSeconds", None)
    if a != b:
        errs.append(
            FieldError(
                "Forbidden",
                "spec",
                detail="pod updates may not change fields other than "
                + ",".join(f"`{f}`" for f in _POD_MUTABLE),
            )
        )
    return errs


def _validate_pod_failure_policy(spec: Obj, path: str, errs: list[FieldError]) -> None:
    policy = sub(spec, "podFailurePolicy")
    rules = policy.get("rules") or []
    actions = ("Count", "FailIndex", "FailJob", "Ignore")
    if len(rules) > 20:
        errs.append(FieldError("TooMany", f"{path}.rules", detail="must have at most 20 items"))
    tspec = sub(spec, "template", "spec")
    names = {str(c.get("name")) for k in ("containers", "initContainers") for c in tspec.get(k) or []}
    for i, rule in enumerate(rules):
        rp = f"{path}.rules[{i}]"
        action = rule.get("action")
        if not action:
            errs.append(
                FieldError(
                    "Required",
                    f"{rp}.action",
                    detail="valid values: " + json.dumps(list(actions)).replace(",", " "),
                )
            )
        elif action == "FailIndex":
            if spec.get("backoffLimitPerIndex") is None:
                errs.append(
                    FieldError(
                        "Invalid", f"{rp}.action", action, "requires the backoffLimitPerIndex to be set"
                    )
                )
        elif action not in actions:
            errs.append(FieldError("NotSupported", f"{rp}.action", action, supported=actions))
        codes = rule.get("onExitCodes")
        conds = rule.get("onPodConditions") or []
        if isinstance(codes, dict):
            cp = f"{rp}.onExitCodes"
            op = codes.get("operator")
            if not op:
                errs.append(FieldError("Required", f"{cp}.operator", detail='valid values: ["In" "NotIn"]'))
            elif op not in ("In", "NotIn"):
                errs.append(FieldError("NotSupported", f"{cp}.operator", op, supported=("In", "NotIn")))
            cname = codes.get("containerName")
            if cname is not None and cname not in names:
                errs.append(
                    FieldError(
                        "Invalid",
                        f"{cp}.containerName",
                        cname,
                        "must be one of the container or initContainer names in the pod template",
                    )
                )
            values = codes.get("values") or []
            if not values:
                errs.append(FieldError("Invalid", f"{cp}.values", values, "at least one value is required"))
            uniq: set[int] = set()
            for j, v in enumerate(values):
                if op == "In" and v == 0:
                    errs.append(
                        FieldError("Invalid", f"{cp}.values[{j}]", v, "must not be 0 for the In operator")
                    )
                if v in uniq:
                    errs.append(FieldError("Duplicate", f"{cp}.values[{j}]", v))
                uniq.add(v)
            if list(values) != sorted(values):
                errs.append(FieldError("Invalid", f"{cp}.values", values, "must be ordered"))
        if codes is not None and conds:
            errs.append(
                FieldError(
                    "Invalid", rp, detail="specifying both OnExitCodes and OnPodConditions is not supported"
                )
            )
        if codes is None and not conds:
            errs.append(
                FieldError(
                    "Invalid", rp, detail="specifying one of OnExitCodes and OnPodConditions is required"
                )
            )


def validate_job_spec(spec: Obj, path: str, errs: list[FieldError]) -> None:
    """``validateJobSpec`` + ``ValidateJobSpec`` (selector against template labels)."""
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
    ):
        _nonneg(errs, spec, key, path)
    if spec.get("maxFailedIndexes") is not None:
        _nonneg(errs, spec, "maxFailedIndexes", path)
        if spec.get("backoffLimitPerIndex") is None:
            errs.append(
                FieldError(
                    "Required", f"{path}.backoffLimitPerIndex", detail="when maxFailedIndexes is specified"
                )
            )
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.append(
            FieldError("NotSupported", f"{path}.completionMode", mode, supported=("NonIndexed", "Indexed"))
        )
    if mode == "Indexed":
        completions = spec.get("completions")
        if completions is None:
            errs.append(
                FieldError("Required", f"{path}.completions", detail="when completion mode is Indexed")
            )
        par = spec.get("parallelism")
        if isinstance(par, int) and par > 100000:
            errs.append(
                FieldError(
                    "Invalid",
                    f"{path}.parallelism",
                    par,
                    "must be less than or equal to 100000 when completion mode is Indexed",
                )
            )
        mfi = spec.get("maxFailedIndexes")
        big = isinstance(completions, int) and completions > 100000
        if big and spec.get("backoffLimitPerIndex") is not None:  # as v1.28's validation words it
            if mfi is None:
                errs.append(
                    FieldError(
                        "Required",
                        f"{path}.maxFailedIndexes",
                        detail="must be specified when completions is above 100000",
                    )
                )
            if isinstance(par, int) and par > 10000:
                errs.append(
                    FieldError(
                        "Invalid",
                        f"{path}.parallelism",
                        par,
                        "must be less than or equal to 10000 when completions are above 100000 and used with "
                        "backoff limit per index",
                    )
                )
        if isinstance(completions, int) and isinstance(mfi, int) and mfi > completions:
            errs.append(
                FieldError(
                    "Invalid", f"{path}.maxFailedIndexes", mfi, "must be less than or equal to completions"
                )
            )
    else:
        for key in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(key) is not None:
                errs.append(
                    FieldError("Invalid", f"{path}.{key}", spec[key], "requires indexed completion mode")
                )
    if spec.get("podFailurePolicy") is not None:
        _validate_pod_failure_policy(spec, f"{path}.podFailurePolicy", errs)
    rpp = spec.get("podReplacementPolicy")
    if rpp is not None:
        if spec.get("podFailurePolicy") is not None and rpp != "Failed":
            errs.append(
                FieldError("NotSupported", f"{path}.podReplacementPolicy", rpp, supported=("Failed",))
            )
        elif rpp not in ("Failed", "TerminatingOrFailed"):
            errs.append(
                FieldError(
                    "NotSupported",
                    f"{path}.podReplacementPolicy",
                    rpp,
                    supported=("Failed", "TerminatingOrFailed"),
                )
            )
    template = sub(spec, "template")
    validate_labels(sub(template, "metadata").get("labels"), f"{path}.template.metadata.labels", errs)
    validate_annotations(
        sub(template, "metadata").get("annotations"), f"{path}.template.metadata.annotations", errs
    )
    tspec = sub(template, "spec")
    validate_pod_spec(tspec, f"{path}.template.spec", errs, pod=False)
    rp = tspec.get("restartPolicy")
    rp_path = f"{path}.template.spec.restartPolicy"
    if rp in ("Always", "", None):
        errs.append(FieldError("Required", rp_path, detail='valid values: "OnFailure", "Never"'))
    elif rp not in ("OnFailure", "Never"):
        errs.append(FieldError("NotSupported", rp_path, rp, supported=("OnFailure", "Never")))
    elif spec.get("podFailurePolicy") is not None and rp != "Never":
        errs.append(
            FieldError("Invalid", rp_path, rp, 'only "Never" is supported when podFailurePolicy is specified')
        )
    sel = spec.get("selector")
    if sel is None:
        errs.append(FieldError("Required", f"{path}.selector"))
    else:
        selector = from_label_selector_object(sel)
        tlabels = {str(k): str(v) for k, v in (sub(template, "metadata").get("labels") or {}).items()}
        if selector is not None and not selector.matches(tlabels):
            errs.append(
                FieldError(
                    "Invalid",
                    f"{path}.template.metadata.labels",
                    tlabels,
                    "`selector` does not match template `labels`",
                )
            )


def validate_job(obj: Obj) -> list[FieldError]:
    """``ValidateJob``: metadata, generated selector labels, spec, Indexed hostnames."""
    errs: list[FieldError] = []
    validate_object_meta(obj, name_rule="subdomain", errs=errs)
    spec = sub(obj, "spec")
    name = str(sub(obj, "metadata").get("name") or "")
    uid = str(sub(obj, "metadata").get("uid") or "")
    if not spec.get("manualSelector") and spec.get("selector") is not None:
        tl = labels_of(sub(spec, "template"))
        for key, want in (
            ("controller-uid", uid),
            ("job-name", name),
            ("batch.kubernetes.io/controller-uid", uid),
            ("batch.kubernetes.io/job-name", name),
        ):
            if tl.get(key) != want:
                errs.append(
                    FieldError(
                        "Invalid",
                        f"spec.template.metadata.labels[{key}]",
                        tl.get(key, ""),
                        f"must be '{want}'",
                    )
                )
    validate_job_spec(spec, "spec", errs)
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and isinstance(completions, int) and completions > 0:
        host = f"{name}-{completions - 1}"
        if dns1123_label_errors(host):
            errs.append(
                FieldError(
                    "Invalid",
                    "metadata.name",
                    name,
                    f"will not able to create pod with invalid DNS label: {host}",
                )
            )
    return errs


def _immutable(errs: list[FieldError], new: Any, old: Any, path: str) -> None:
    if new != old:
        errs.append(FieldError("Invalid", path, new, "field is immutable"))


def validate_job_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidateJobSpecUpdate``: template, selector, completion mode… are immutable."""
    errs = validate_job(new)
    ns, os_ = sub(new, "spec"), sub(old, "spec")
    indexed = ns.get("completionMode") == "Indexed"
    elastic = (
        indexed
        and ns.get("completions") == ns.get("parallelism")
        and os_.get("completions") == os_.get("parallelism")
    )
    if not elastic:
        _immutable(errs, ns.get("completions"), os_.get("completions"), "spec.completions")
    _immutable(errs, ns.get("selector"), os_.get("selector"), "spec.selector")
    new_t, old_t = json.loads(json.dumps(sub(ns, "template"))), json.loads(json.dumps(sub(os_, "template")))
    suspended_never_started = bool(os_.get("suspend")) and not sub(old, "status").get("startTime")
    if suspended_never_started:
        for t in (new_t, old_t):
            t.setdefault("metadata", {}).pop("labels", None)
            t["metadata"].pop("annotations", None)
            for key in ("nodeSelector", "tolerations", "schedulingGates", "affinity"):
                t.setdefault("spec", {}).pop(key, None)
    _immutable(errs, new_t, old_t, "spec.template")
    for key in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex"):
        _immutable(errs, ns.get(key), os_.get(key), f"spec.{key}")
    return errs


def validate_configmap(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    validate_object_meta(obj, name_rule="subdomain", errs=errs)
    total = 0
    data = obj.get("data") or {}
    binary = obj.get("binaryData") or {}
    for field_name, mapping in (("data", data), ("binaryData", binary)):
        for k, v in mapping.items():
            p = f"{field_name}[{k}]"
            if len(k) > 253:
                errs.append(FieldError("Invalid", p, k, "must be no more than 253 characters"))
            if not _CONFIG_KEY.match(k):
                errs.append(FieldError("Invalid", p, k, _CONFIG_KEY_MSG))
            if field_name == "binaryData" and k in data:
                errs.append(FieldError("Invalid", p, k, "duplicate of key present in data"))
            total += len(str(v))
    if total > 1024 * 1024:
        errs.append(FieldError("TooLong", "", detail="must have at most 1048576 bytes"))
    return errs


def validate_configmap_update(new: Obj, old: Obj) -> list[FieldError]:
    errs = validate_configmap(new)
    if old.get("immutable"):
        if not new.get("immutable"):
            errs.append(
                FieldError("Forbidden", "immutable", detail="field is immutable when `immutable` is set")
            )
        for key in ("data", "binaryData"):
            if (new.get(key) or {}) != (old.get(key) or {}):
                errs.append(FieldError("Forbidden", key, detail="field is immutable when `immutable` is set"))
    return errs


def validate_secret(obj: Obj) -> list[FieldError]:
    errs = validate_configmap({**obj, "binaryData": None})
    return errs


def validate_namespace(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    validate_object_meta(obj, name_rule="label", errs=errs)
    return errs


def validate_cronjob(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    validate_object_meta(obj, name_rule="subdomain", errs=errs)
    name = str(sub(obj, "metadata").get("name") or "")
    if len(name) > 52:
        errs.append(FieldError("Invalid", "metadata.name", name, "must be no more than 52 characters"))
    spec = sub(obj, "spec")
    if not spec.get("schedule"):
        errs.append(FieldError("Required", "spec.schedule"))
    jt_spec = sub(spec, "jobTemplate", "spec")
    inner: list[FieldError] = []
    validate_job_spec({**jt_spec, "selector": jt_spec.get("selector", {})}, "spec.jobTemplate.spec", inner)
    errs.extend(e for e in inner if not e.field.endswith(".selector") and "`selector`" not in e.detail)
    return errs


def validate_generic(obj: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    validate_object_meta(obj, name_rule="subdomain", errs=errs)
    return errs


def validate(plural: str, obj: Obj, old: Obj | None) -> list[FieldError]:
    """Semantic validation of ``obj`` (an update of ``old`` when given) for resource ``plural``."""
    if plural == "jobs":
        return validate_job(obj) if old is None else validate_job_update(obj, old)
    if plural == "pods":
        return validate_pod(obj) if old is None else validate_pod_update(obj, old)
    if plural == "configmaps":
        return validate_configmap(obj) if old is None else validate_configmap_update(obj, old)
    if plural == "secrets":
        return validate_secret(obj)
    if plural == "namespaces":
        return validate_namespace(obj)
    if plural == "cronjobs":
        return validate_cronjob(obj)
    return validate_generic(obj)
