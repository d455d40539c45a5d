"""Authorization, minimally: who may do what, the 403 that says no, and SelfSubjectAccessReviews.

Every request is authorized before anything else looks at it (so a denied ``DELETE`` of a missing
object is a 403, not a 404), watches included. Who asks is told by the bearer token:

* a token made by :meth:`Authorizer.add_identity` is that identity: a user name (e.g.
  ``system:serviceaccount:ns:name``) with RBAC rules (``apiGroups``/``resources``/``verbs``, ``*``
  allowed, ``resources`` may name a subresource as ``pods/log``) that hold in one namespace, as a
  Role bound by a RoleBinding does, or everywhere, as a ClusterRole;
* any other request (the emulator's own kubeconfig) is ``admin``, allowed everything except what
  :meth:`Authorizer.forbid` took away: ``(verb, resource)`` pairs denied to everyone.

Everyone may create SelfSubjectAccessReviews and read the discovery paths, as the real
``system:basic-user`` and ``system:discovery`` roles allow.

A denial is the real ``Forbidden`` Status, worded as the RBAC authorizer's:
``jobs.batch is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "jobs" in API
group "batch" in the namespace "ns"`` (``at the cluster scope`` without a namespace; ``jobs.batch
"name" is forbidden`` for a named object). A review answers ``{"allowed": true}`` with the
RoleBinding that allowed it as ``reason``, or ``{"allowed": false}``.

Not emulated: authentication (a token is a name, never checked or expiring), Role, RoleBinding and
ServiceAccount objects granting anything (identities are made through the emulator, not the API),
``resourceNames``, impersonation, SelfSubjectRulesReview.
"""

from __future__ import annotations

import fnmatch
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kjob.testing.emulator.errors import ApiError, qualified
from kjob.testing.emulator.util import Obj, sub

ADMIN = "admin"
#: What any user may read that is no resource (``system:discovery``, ``system:public-info-viewer``).
DISCOVERY_PATHS = (
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/version/",
)
ALWAYS = (("create", "authorization.k8s.io", "selfsubjectaccessreviews"),)


@dataclass(frozen=True)
class Rule:
    """One RBAC ``PolicyRule``."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ("",)
    resources: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: Mapping[str, Sequence[str]]) -> Rule:
        """From the ``rbac/v1`` form: ``{"apiGroups": [...], "resources": [...], "verbs": [...]}``."""
        return cls(
            tuple(rule.get("verbs") or ()),
            tuple(rule.get("apiGroups") or ("",)),
            tuple(rule.get("resources") or ()),
        )

    def allows(self, verb: str, group: str, resource: str) -> bool:
        return (
            ("*" in self.verbs or verb in self.verbs)
            and ("*" in self.api_groups or group in self.api_groups)
            and ("*" in self.resources or resource in self.resources)
        )


@dataclass(frozen=True)
class Identity:
    """A user with rules that hold in ``namespace`` (``None``: in every namespace and cluster-wide)."""

    user: str
    rules: tuple[Rule, ...]
    namespace: str | None = None
    granted_by: str = ""  # e.g. 'RoleBinding "sa/ns" of Role "sa" to ServiceAccount "sa/ns"'


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do (``resource`` includes a subresource: ``pods/log``)."""

    verb: str
    group: str
    resource: str
    namespace: str = ""
    name: str = ""
    plural: str = ""  # the resource without subresource, for the error's details

    def describe(self) -> str:
        scope = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return f'cannot {self.verb} resource "{self.resource}" in API group "{self.group}" {scope}'


@dataclass
class Decision:
    allowed: bool
    reason: str = ""


@dataclass
class Authorizer:
    _identities: dict[str, Identity] = field(default_factory=dict)
    _forbidden: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_identity(self, identity: Identity) -> str:
        """Register ``identity``; returns the bearer token that stands for it."""
        token = "kjob-emulator-" + secrets.token_hex(16)
        with self._lock:
            self._identities[token] = identity
        return token

    def forbid(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Deny ``(verb, resource)`` pairs (``("watch", "jobs")``, ``("get", "pods/log")``) to everyone."""
        with self._lock:
            self._forbidden |= {(str(v), str(r)) for v, r in pairs}

    def allow_all(self) -> None:
        """Forget :meth:`forbid`'s pairs (identities keep their rules)."""
        with self._lock:
            self._forbidden.clear()

    def identity(self, authorization_header: str | None) -> Identity | None:
        """The identity of a request (``None``: the admin)."""
        scheme, _, token = (authorization_header or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        with self._lock:
            return self._identities.get(token.strip())

    def decide(self, identity: Identity | None, attrs: Attributes) -> Decision:
        with self._lock:  # first: forbidding even what every user may do plays a locked-down cluster
            if (attrs.verb, attrs.resource) in self._forbidden:
                return Decision(False)
        if (attrs.verb, attrs.group, attrs.resource) in ALWAYS:
            return Decision(True)
        if identity is None:
            return Decision(True)
        if identity.namespace is not None and attrs.namespace != identity.namespace:
            return Decision(False)
        if any(r.allows(attrs.verb, attrs.group, attrs.resource) for r in identity.rules):
            return Decision(True, f"RBAC: allowed by {identity.granted_by}" if identity.granted_by else "")
        return Decision(False)

    def check(self, identity: Identity | None, attrs: Attributes) -> None:
        """Raise the real 403 if ``identity`` may not do ``attrs``."""
        if not self.decide(identity, attrs).allowed:
            raise forbidden(identity.user if identity is not None else ADMIN, attrs)

    def review(self, identity: Identity | None, body: object) -> Obj:
        """Answer a ``SelfSubjectAccessReview`` (``POST .../selfsubjectaccessreviews``)."""
        review = body if isinstance(body, dict) else {}
        spec = sub(review, "spec")
        res, non_res = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (res is None) == (non_res is None):
            detail = (
                'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must '
                "be specified"
            )
            raise ApiError(
                422,
                "Invalid",
                f'.authorization.k8s.io "" is invalid: spec.resourceAttributes: {detail}',
                {
                    "group": "authorization.k8s.io",
                    "causes": [
                        {"reason": "FieldValueInvalid", "message": detail, "field": "spec.resourceAttributes"}
                    ],
                },
            )
        if isinstance(res, dict):
            resource = str(res.get("resource") or "")
            if res.get("subresource"):
                resource += f"/{res['subresource']}"
            attrs = Attributes(
                str(res.get("verb") or ""),
                str(res.get("group") or ""),
                resource,
                str(res.get("namespace") or ""),
            )
            decision = self.decide(identity, attrs)
        else:
            path, verb = (
                str(sub(spec, "nonResourceAttributes").get("path") or ""),
                sub(spec, "nonResourceAttributes").get("verb"),
            )
            allowed = identity is None or (
                verb == "get" and any(fnmatch.fnmatchcase(path, p) for p in DISCOVERY_PATHS)
            )
            decision = Decision(allowed)
        status: Obj = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }


def forbidden(user: str, attrs: Attributes) -> ApiError:
    """The RBAC authorizer's 403 ``Forbidden`` Status."""
    plural = attrs.plural or attrs.resource.split("/")[0]
    what = qualified(plural, attrs.group)
    if attrs.name:
        what += f' "{attrs.name}"'
    details: Obj = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    details["kind"] = plural
    return ApiError(403, "Forbidden", f'{what} is forbidden: User "{user}" {attrs.describe()}', details)
