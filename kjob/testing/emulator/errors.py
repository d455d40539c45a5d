"""API errors as ``metav1.Status`` objects, worded like ``k8s.io/apimachinery/pkg/api/errors``.

A :class:`FieldError` is one entry of a ``field.ErrorList``; :func:`invalid` turns a list of them
into the 422 ``Invalid`` Status whose ``details.causes[].field`` name the offending paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kjob.testing.emulator.util import Obj


class ApiError(Exception):
    """An error the apiserver answers with a ``Status`` body."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Obj | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> Obj:
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str, group: str, kind: str) -> Obj:
    d: Obj = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = kind
    return d


def qualified(resource: str, group: str) -> str:
    """``jobs.batch`` or ``pods``: how messages name a resource."""
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(resource, group)} "{name}" not found', _details(name, group, resource)
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(name, group, resource),
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(resource: str, group: str, name: str, why: str, causes: list[Obj] | None = None) -> ApiError:
    details = _details(name, group, resource)
    if causes:
        details["causes"] = causes
    return ApiError(403, "Forbidden", f'{qualified(resource, group)} "{name}" is forbidden: {why}', details)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message, {})


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def internal(message: str) -> ApiError:
    return ApiError(
        500, "InternalError", f"Internal error occurred: {message}", {"causes": [{"message": message}]}
    )


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        {"retryAfterSeconds": retry_after},
        {"Retry-After": str(retry_after)},
    )


# --------------------------------------------------------------------------- field errors
_REASONS = {
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "Required": ("FieldValueRequired", "Required value"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "TooLong": ("FieldValueTooLong", "Too long"),
    "TooMany": ("FieldValueTooMany", "Too many"),
    "NotFound": ("FieldValueNotFound", "Not found"),
}

_OMIT = object()


def _go_value(value: Any) -> str:
    """Render a bad value roughly as Go's ``%q``/``%v`` does in field errors."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``: a type (``Invalid``, ``Required``…), a path, a bad value, a detail."""

    type: str
    field: str
    value: Any = _OMIT
    detail: str = ""
    supported: tuple[str, ...] = ()

    def body(self) -> str:
        """``field.Error.ErrorBody()``: the message without the field path."""
        _, label = _REASONS[self.type]
        if self.type == "NotSupported":
            text = f"{label}: {_go_value(self.value)}"
            if self.supported:
                text += ": supported values: " + ", ".join(json.dumps(s) for s in self.supported)
            return text
        if self.type in ("Required", "Forbidden", "TooLong", "TooMany"):
            return f"{label}: {self.detail}" if self.detail else label
        text = label if self.value is _OMIT else f"{label}: {_go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def cause(self) -> Obj:
        reason, _ = _REASONS[self.type]
        return {"reason": reason, "message": self.body(), "field": self.field}


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """``errors.NewInvalid``: 422 with every field error as a cause."""
    qualified_kind = f"{kind}.{group}" if group else kind
    text = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    details = _details(name, group, kind)
    details["causes"] = [e.cause() for e in errors]
    return ApiError(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {text}', details)
