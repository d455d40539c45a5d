"""Label and field selectors, parsed and matched as ``k8s.io/apimachinery/pkg/labels`` and
``pkg/fields`` do.

Label selectors accept equality (``=``, ``==``, ``!=``), sets (``in``, ``notin``), existence
(``key``, ``!key``) and the integer comparisons ``gt``/``lt`` (``>``, ``<``). Field selectors accept
``=``, ``==`` and ``!=`` on the fields each resource indexes (``metadata.name`` and
``metadata.namespace`` everywhere, ``status.phase`` and friends on pods).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kjob.testing.emulator.errors import ApiError, bad_request
from kjob.testing.emulator.util import Obj, labels_of, sub

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector."""

    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key, "")
        if self.op == "=":
            return has and value == self.values[0]
        if self.op == "in":
            return has and value in self.values
        if self.op == "!=":
            return not has or value != self.values[0]
        if self.op == "notin":
            return not has or value not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("gt", "lt"):
            if not has:
                return False
            try:
                n = int(value)
            except ValueError:
                return False
            bound = int(self.values[0])
            return n > bound if self.op == "gt" else n < bound
        raise AssertionError(self.op)


@dataclass(frozen=True)
class LabelSelector:
    """A parsed selector: every requirement must hold. An empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def matches_object(self, obj: Obj) -> bool:
        return self.matches(labels_of(obj))

    @property
    def empty(self) -> bool:
        return not self.requirements


EVERYTHING = LabelSelector()


def qualified_name_errors(key: str) -> list[str]:
    """``validation.IsQualifiedName``: an optional DNS-subdomain prefix, then a name of ≤ 63."""
    errs: list[str] = []
    prefix, slash, name = key.rpartition("/")
    if not slash:
        name = key
    elif not prefix:
        errs.append("prefix part must be non-empty")
    elif len(prefix) > 253:
        errs.append("prefix part must be no more than 253 characters")
    elif not _DNS_SUBDOMAIN.match(prefix):
        errs.append(
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    elif not _NAME.match(name):
        errs.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
            "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    return errs


def label_value_errors(value: str) -> list[str]:
    """``validation.IsValidLabelValue``."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _VALUE.match(value):
        errs.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
            "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
            "'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        )
    return errs


# ------------------------------------------------------------------------------ lexing
_SPECIAL = "(),!=<>"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith(("==", "!="), i):
            out.append(text[i : i + 2])
            i += 2
        elif c in _SPECIAL:
            out.append(c)
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _fail(why: str) -> ApiError:
    return bad_request(f"unable to parse requirement: {why}")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse the ``labelSelector`` query parameter; a bad one is a 400 like the apiserver's."""
    if not text or not text.strip():
        return EVERYTHING
    toks = _tokens(text)
    pos = 0
    reqs: list[Requirement] = []

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> str | None:
        nonlocal pos
        tok = peek()
        pos += 1
        return tok

    def ident(what: str) -> str:
        tok = peek()
        if tok is None or tok in _SPECIAL or tok in ("==", "!="):
            raise _fail(f"found '{tok or ''}', expected: {what}")
        take()
        return tok

    def value_or_empty() -> str:
        tok = peek()
        if tok is None or tok == ",":
            return ""
        return ident("identifier")

    while True:
        if peek() == "!":
            take()
            key = ident("identifier after '!'")
            reqs.append(Requirement(key, "!"))
        else:
            key = ident("identifier")
            op = peek()
            if op is None or op == ",":
                reqs.append(Requirement(key, "exists"))
            elif op in ("=", "=="):
                take()
                reqs.append(Requirement(key, "=", (value_or_empty(),)))
            elif op == "!=":
                take()
                reqs.append(Requirement(key, "!=", (value_or_empty(),)))
            elif op in ("in", "notin"):
                take()
                if take() != "(":
                    raise _fail("found '', expected: '('")
                values: list[str] = []
                while True:
                    tok = peek()
                    if tok == ")":
                        if not values or toks[pos - 1] == ",":
                            values.append("")
                        take()
                        break
                    if tok == ",":
                        if not values or toks[pos - 1] in ("(", ","):
                            values.append("")
                        take()
                        continue
                    if tok is None:
                        raise _fail("found '', expected: ')'")
                    values.append(ident("identifier"))
                reqs.append(Requirement(key, op, tuple(values)))
            elif op in (">", "<"):
                take()
                bound = ident("integer")
                try:
                    int(bound)
                except ValueError:
                    raise _fail(f"for 'Gt', 'Lt' operators, the value must be an integer: {bound}") from None
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", (bound,)))
            else:
                raise _fail(f"found '{op}', expected: '=', '!=', '==', 'in', notin'")
        for msg in qualified_name_errors(reqs[-1].key):
            raise _fail(f'key: Invalid value: "{reqs[-1].key}": {msg}')
        if reqs[-1].op not in ("gt", "lt"):
            for v in reqs[-1].values:
                for msg in label_value_errors(v):
                    raise _fail(f'values[0][{reqs[-1].key}]: Invalid value: "{v}": {msg}')
        tok = take()
        if tok is None:
            break
        if tok != ",":
            raise _fail(f"found '{tok}', expected: ',' or 'end of string'")
    return LabelSelector(tuple(reqs))


def from_label_selector_object(sel: Any) -> LabelSelector | None:
    """A ``metav1.LabelSelector`` (``matchLabels`` + ``matchExpressions``) as a selector.

    ``None`` for a missing selector, which matches nothing (``LabelSelectorAsSelector(nil)``).
    """
    if not isinstance(sel, dict):
        return None
    reqs: list[Requirement] = []
    for k, v in sorted((sel.get("matchLabels") or {}).items()):
        reqs.append(Requirement(str(k), "=", (str(v),)))
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in sel.get("matchExpressions") or []:
        op = ops.get(str(expr.get("operator")))
        if op is None:
            raise bad_request(f"{expr.get('operator')!r} is not a valid label selector operator")
        reqs.append(Requirement(str(expr.get("key")), op, tuple(str(v) for v in expr.get("values") or ())))
    return LabelSelector(tuple(reqs))


# ------------------------------------------------------------------------------ fields
FieldGetter = Callable[[Obj], str]


def _path(*keys: str) -> FieldGetter:
    def get(obj: Obj) -> str:
        value = sub(obj, *keys[:-1]).get(keys[-1])
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return get


_COMMON: dict[str, FieldGetter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

#: Field labels each resource supports (``AddFieldLabelConversionFunc`` in the real scheme).
FIELDS: dict[str, dict[str, FieldGetter]] = {
    "pods": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda o: "true" if sub(o, "spec").get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "jobs": {"status.successful": lambda o: str(sub(o, "status").get("succeeded") or 0)},
    "namespaces": {"status.phase": _path("status", "phase")},
    "secrets": {"type": _path("type")},
    "events": {
        "involvedObject.kind": _path("involvedObject", "kind"),
        "involvedObject.namespace": _path("involvedObject", "namespace"),
        "involvedObject.name": _path("involvedObject", "name"),
        "involvedObject.uid": _path("involvedObject", "uid"),
        "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
}


@dataclass(frozen=True)
class FieldSelector:
    """Parsed ``fieldSelector``: ``(getter, op, value)`` triples, all of which must hold."""

    terms: tuple[tuple[str, str, str], ...] = ()
    getters: tuple[FieldGetter, ...] = ()

    def matches(self, obj: Obj) -> bool:
        for (_, op, value), get in zip(self.terms, self.getters, strict=True):
            if (get(obj) == value) != (op == "="):
                return False
        return True

    @property
    def empty(self) -> bool:
        return not self.terms

    def single_name(self) -> str | None:
        """The name when the selector is exactly ``metadata.name=<x>``."""
        if len(self.terms) == 1 and self.terms[0][0] == "metadata.name" and self.terms[0][1] == "=":
            return self.terms[0][2]
        return None


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse_field_selector(
    text: str | None, plural: str, describe: str = "", label_text: str = ""
) -> FieldSelector:
    """Parse ``fieldSelector`` for resource ``plural``; unknown fields are a 400."""
    if not text or not text.strip():
        return FieldSelector()
    supported = {**_COMMON, **FIELDS.get(plural, {})}
    terms: list[tuple[str, str, str]] = []
    getters: list[FieldGetter] = []
    for part in _split_unescaped(text, ","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^(.*?)(!=|==|=)(.*)$", part)
        if m is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        key, op, value = m.group(1).strip(), m.group(2), _unescape(m.group(3))
        if key not in supported:
            raise bad_request(
                f'Unable to find "{describe}" that match label selector "{label_text}", '
                f'field selector "{text}": field label not supported: {key}'
            )
        terms.append((key, "!=" if op == "!=" else "=", value))
        getters.append(supported[key])
    return FieldSelector(tuple(terms), tuple(getters))
