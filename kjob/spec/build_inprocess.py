"""Building the bodies kjob runs itself, without a container: ``http`` (kjob sends the request) and
``suspend`` (the node waits to be resumed, or for its ``duration``)."""

from __future__ import annotations

import base64
import binascii

from kjob.spec import fields as F
from kjob.spec.model import Http, HttpHeader, Suspend
from kjob.spec.reader import Reader
from kjob.spec.yamlnodes import YamlMap

# a Kubernetes SecretKeySelector (not an Argo object, so not in kjob.spec.fields' table of Argo's)
_SECRET_KEY_REF = F.FieldSet("secretKeyRef", supported=frozenset({"name", "key"}))
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")


def http(r: Reader, node: YamlMap, where: str) -> Http | None:
    """The ``http`` body of template ``node``."""
    body = r.mapping(node, "http")
    if body is None:
        return None
    mark = r.src.key(node, "http")
    r.fields(body, F.HTTP, f"http of {where}")
    url = r.text(body, "url", "url")
    if url is None:
        r.diag.error(f"http of {where} has no url", mark, hint="add `url: https://...`")
    method = r.text(body, "method", "method") or "GET"
    if "{{" not in method and "<<" not in method and method.upper() not in METHODS:
        r.diag.error(
            f"unknown HTTP method '{method}'",
            r.src.value(body, "method"),
            hint=f"use one of: {', '.join(METHODS)}",
        )
    condition = r.string(body, "successCondition")
    if condition is not None:
        _check_condition(r, condition, body)
    if "body" in body and "bodyFrom" in body:
        r.diag.error(
            f"http of {where} has both body and bodyFrom", r.src.key(body, "bodyFrom"), hint="use one"
        )
    return Http(
        url=url or "",
        method=method,
        headers=_headers(r, body),
        body=r.text(body, "body", "body") or "",
        body_bytes=_body_bytes(r, body),
        timeout_seconds=r.integer(body, "timeoutSeconds", minimum=1),
        success_condition=condition,
        insecure_skip_verify=bool(r.boolean(body, "insecureSkipVerify")),
        mark=mark,
    )


def suspend(r: Reader, node: YamlMap, where: str) -> Suspend | None:
    """The ``suspend`` body of template ``node`` (``suspend: {}`` waits until resumed)."""
    if "suspend" not in node:
        return None
    mark = r.src.key(node, "suspend")
    if node.get("suspend") is None:
        return Suspend(mark=mark)
    body = r.mapping(node, "suspend")
    if body is None:
        return None
    r.fields(body, F.SUSPEND, f"suspend of {where}")
    duration = r.text(body, "duration", "duration")
    if duration is not None and "{{" not in duration and "<<" not in duration:
        r.duration(body, "duration")  # reports a malformed one at its place
    return Suspend(duration=duration, mark=mark)


def _headers(r: Reader, body: YamlMap) -> tuple[HttpHeader, ...]:
    headers: list[HttpHeader] = []
    for item, mark in r.items(r.sequence(body, "headers"), "header"):
        r.fields(item, F.HTTP_HEADER, "http header")
        name = r.string(item, "name")
        if not name:
            r.diag.error("an http header has no name", mark, hint="add `name: X-My-Header`")
            continue
        source = r.mapping(item, "valueFrom")
        secret: tuple[str, str] | None = None
        if source is not None:
            r.fields(source, F.HTTP_HEADER_SOURCE, f"valueFrom of header '{name}'")
            ref = r.mapping(source, "secretKeyRef")
            if ref is not None:
                r.fields(ref, _SECRET_KEY_REF, f"secretKeyRef of header '{name}'")
                secret_name, key = r.string(ref, "name"), r.string(ref, "key")
                if not secret_name or not key:
                    r.diag.error(
                        f"secretKeyRef of header '{name}' needs name and key",
                        r.src.key(source, "secretKeyRef"),
                        hint="write `secretKeyRef: {name: my-secret, key: token}`",
                    )
                else:
                    secret = (secret_name, key)
        headers.append(
            HttpHeader(name=name, value=r.text(item, "value", f"header '{name}'") or "", secret=secret)
        )
    return tuple(headers)


def _body_bytes(r: Reader, body: YamlMap) -> str | None:
    source = r.mapping(body, "bodyFrom")
    if source is None:
        return None
    r.fields(source, F.HTTP_BODY_SOURCE, "bodyFrom")
    raw = r.string(source, "bytes")
    if raw is None:
        return None
    try:
        base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        r.diag.error(
            "bodyFrom.bytes is not base64", r.src.value(source, "bytes"), hint="encode the body: base64 <file"
        )
        return None
    return raw


def _check_condition(r: Reader, text: str, body: YamlMap) -> None:
    from kjob.errors import TemplateError
    from kjob.expr.condition import compile_condition

    mark = r.src.value(body, "successCondition")
    try:
        compile_condition(text)
    except TemplateError as err:
        where = r.src.locator(mark, text).at(text, err.column)
        r.diag.error(f"invalid successCondition: {err.message}", where, hint=err.hint)
