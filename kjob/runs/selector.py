"""Label selectors (``-l``) as Kubernetes reads them, to pick local runs by the same words a cluster
understands: ``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)``, ``key notin (a,b)``,
``key`` (has it) and ``!key`` (has it not), joined by commas, all of which must hold.

A cluster run's selector goes to the API server as it is; this module only checks that it reads, so a
mistake is said the same way on both backends, and matches local runs' labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kjob.errors import KjobError

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"[A-Za-z0-9._-]*"
_TERM = re.compile(
    rf"\s*(?:(?P<not>!)\s*(?P<absent>{_KEY})"
    rf"|(?P<key>{_KEY})\s*(?:(?P<op>==|!=|=)\s*(?P<value>{_VALUE})"
    rf"|\s+(?P<set>in|notin)\s*\((?P<values>[^()]*)\))?)\s*(?:,|$)"
)


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.operator == "exists":
            return value is not None
        if self.operator == "!exists":
            return value is None
        if self.operator in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values  # "!=", "notin"


@dataclass(frozen=True, slots=True)
class Selector:
    text: str
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def parse_selector(text: str) -> Selector:
    """The selector ``text`` says, or a :class:`KjobError` naming where it stops making sense."""
    requirements: list[Requirement] = []
    at = 0
    stripped = text.strip()
    while at < len(stripped):
        found = _TERM.match(stripped, at)
        if found is None or found.end() == at:
            raise KjobError(
                f"label selector {text!r}: cannot read it from character {at + 1} ({stripped[at:]!r})",
                hint="write key=value, key!=value, 'key in (a,b)', 'key notin (a,b)', key or !key, "
                "joined by commas",
            )
        requirements.append(_requirement(found))
        at = found.end()
    return Selector(text, tuple(requirements))


def _requirement(found: re.Match[str]) -> Requirement:
    if found["absent"]:
        return Requirement(found["absent"], "!exists")
    key = found["key"]
    if found["op"]:
        return Requirement(key, "!=" if found["op"] == "!=" else "=", frozenset([found["value"]]))
    if found["set"]:
        values = frozenset(v.strip() for v in found["values"].split(",") if v.strip())
        return Requirement(key, found["set"], values)
    return Requirement(key, "exists")
