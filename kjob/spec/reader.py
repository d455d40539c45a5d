"""Typed reading of one document's positioned YAML tree, reporting every mistake and going on.

:class:`Reader` is what every builder (``build_*`` modules) reads through: each method takes a mapping
and a key and gives the value as the type the field wants (a string, a whole number, a duration, a
list...) or ``None`` after reporting, at the value's place, what is wrong with it.  It also checks the
keys of a mapping against :mod:`kjob.spec.fields` and keeps the reference texts for the later checks.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping

from kjob.errors import KjobError
from kjob.spec import fields as F
from kjob.spec.diagnostics import Diagnostics
from kjob.spec.durations import HINT as DURATION_HINT
from kjob.spec.durations import parse_duration
from kjob.spec.loaded import Site, SiteKind, TemplateRef
from kjob.spec.model import Mark, frozen_map
from kjob.spec.source import Source
from kjob.spec.values import argo_string, describe, is_scalar
from kjob.spec.yamlnodes import YamlMap, YamlSeq

NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")  # Argo's rule for template, task and step names
PARAMETER_NAME = re.compile(r"[-a-zA-Z0-9_]+")  # and for parameter and artifact names
WHOLE_NUMBER = re.compile(r"\s*([+-]?\d+)\s*")
INT32_MAX = 2**31 - 1  # Kubernetes' int32 fields (parallelism, backoffLimit, history limits)
INT64_MAX = 2**63 - 1


class Reader:
    """Reads typed values out of one document's positioned tree; reports mistakes into ``diag`` and keeps
    going.  Also collects the texts that hold references (:class:`Site`) for the checks of
    :mod:`kjob.spec.validate`.
    """

    def __init__(self, source: Source, diag: Diagnostics) -> None:
        self.src = source
        self.diag = diag
        self.argo = True
        self.sites: list[Site] = []
        self.current_task: str | None = None  # the task whose texts are being read
        self.item_allowed = False  # whether those texts may use ``item``
        self.template_refs: list[TemplateRef] = []  # the tasks' templateRefs read so far

    def fields(self, node: YamlMap, fields: F.FieldSet, where: str | None = None) -> None:
        keys = [str(k) for k in node]
        for issue in F.check_keys(keys, fields, where):
            # Unknown and unsupported fields alike: errors, or warnings when loading leniently.
            self.diag.unsupported(issue.message, self.src.key(node, issue.key), hint=issue.hint)

    def wrong_type(self, node: YamlMap, key: str, expected: str, hint: str | None = None) -> None:
        self.diag.error(
            f"'{key}' must be {expected}, not {describe(node[key])}",
            self.src.value(node, key),
            hint=hint,
        )

    def mapping(self, node: YamlMap, key: str) -> YamlMap | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, YamlMap):
            return value
        self.wrong_type(node, key, "a mapping")
        return None

    def sequence(self, node: YamlMap, key: str, hint: str | None = None) -> YamlSeq | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, YamlSeq):
            return value
        self.wrong_type(node, key, "a list", hint)
        return None

    def string(self, node: YamlMap, key: str) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return str(value)
        if isinstance(value, int | float | datetime.date) and not isinstance(value, bool):
            return argo_string(value)  # YAML read it as a number or a date; the field wants its text
        self.wrong_type(node, key, "a string")
        return None

    def text(self, node: YamlMap, key: str, label: str, kind: SiteKind = SiteKind.TEXT) -> str | None:
        """A string that may hold references: read it and remember it for the reference checks."""
        value = self.string(node, key)
        if value is not None:
            self.site(value, label, self.src.value(node, key), kind)
        return value

    def site(self, text: str, label: str, start: Mark, kind: SiteKind = SiteKind.TEXT) -> None:
        locator = self.src.locator(start, text)
        self.sites.append(Site(text, label, kind, locator, self.current_task, self.item_allowed))

    def boolean(self, node: YamlMap, key: str) -> bool | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        self.wrong_type(node, key, "true or false")
        return None

    def integer(
        self, node: YamlMap, key: str, *, minimum: int = 0, maximum: int = INT32_MAX, strings: bool = False
    ) -> int | None:
        """A whole number from ``minimum`` to ``maximum`` (by default the largest Kubernetes keeps in
        most of its fields); ``strings`` also takes one written as a string."""
        value = node.get(key)
        if value is None:
            return None
        mark = self.src.value(node, key)
        if isinstance(value, str) and strings:
            if "{{" in value or "<<" in value:
                self.diag.unsupported(f"a templated '{key}' is not supported by kjob yet", mark)
                return None
            digits = WHOLE_NUMBER.fullmatch(value)
            if digits:
                number = digits.group(1)
                value = int(number) if len(number) <= 20 else -(10**20) if number[0] == "-" else 10**20
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(node, key, "a whole number")
            return None
        if value < minimum:
            shown = str(value) if value > -(10**15) else "a number that low"
            self.diag.error(f"'{key}' must be at least {minimum}, not {shown}", mark)
            return None
        if value > maximum:
            self.diag.error(f"'{key}' must be at most {maximum:,}", mark, hint="no workflow needs more")
            return None
        return int(value)

    def duration(self, node: YamlMap, key: str, *, positive: bool = False) -> float | None:
        value = node.get(key)
        if value is None:
            return None
        mark = self.src.value(node, key)
        if isinstance(value, str) and ("{{" in value or "<<" in value):
            self.diag.unsupported(f"a templated '{key}' is not supported by kjob yet", mark)
            return None
        try:
            seconds = parse_duration(value)
        except KjobError as error:
            self.diag.error(f"{error.message} for '{key}'", mark, hint=error.hint)
            return None
        if positive and seconds <= 0:
            self.diag.error(f"'{key}' must be more than zero", mark, hint=DURATION_HINT)
            return None
        return seconds

    def string_map(self, node: YamlMap, key: str) -> Mapping[str, str]:
        value = self.mapping(node, key)
        if value is None:
            return frozen_map()
        result: dict[str, str] = {}
        for name, item in value.items():
            if not is_scalar(item):
                self.diag.error(
                    f"'{key}.{name}' must be a string, not {describe(item)}",
                    self.src.value(value, name),
                )
                continue
            result[str(name)] = argo_string(item) or ""
        return frozen_map(result)

    def items(self, seq: YamlSeq | None, what: str) -> Iterator[tuple[YamlMap, Mark]]:
        """The mappings of a list of objects with their marks; anything else is reported."""
        if seq is None:
            return
        for index, item in enumerate(seq):
            mark = self.src.item(seq, index)
            if isinstance(item, YamlMap):
                yield item, mark
            else:
                self.diag.error(f"each {what} must be a mapping, not {describe(item)}", mark)

    def name(self, node: YamlMap, mark: Mark, what: str, *, pattern: re.Pattern[str] = NAME) -> str:
        value = self.string(node, "name")
        if value is None:
            if node.get("name") is None:
                self.diag.error(f"{what} has no name", mark, hint="add `name: ...`")
            return ""
        if not pattern.fullmatch(value):
            if pattern is PARAMETER_NAME:
                hint = "use letters, digits, '-' and '_'"
            else:
                hint = "use letters, digits and '-', starting with a letter or digit"
            self.diag.error(f"invalid {what} name '{value}'", self.src.value(node, "name"), hint=hint)
        return value

    def template_ref(self, node: YamlMap, key: str, fields: F.FieldSet) -> TemplateRef | None:
        """A ``templateRef`` (``template`` required) or ``workflowTemplateRef`` at ``key``, if any."""
        body = self.mapping(node, key)
        if body is None:
            return None
        self.fields(body, fields)
        mark = self.src.key(node, key)
        wanted = ("name", "template") if fields is F.TEMPLATE_REF else ("name",)
        values = {k: self.string(body, k) for k in wanted}
        for k, value in values.items():
            if value is None and body.get(k) is None:
                self.diag.error(f"{key} has no {k}", mark, hint=f"add `{k}: ...` to {key}")
        if any(value is None for value in values.values()):
            return None
        return TemplateRef(
            name=values["name"] or "",
            template=values.get("template"),
            cluster=bool(self.boolean(body, "clusterScope")),
            mark=mark,
        )

    def take_sites(self) -> list[Site]:
        sites, self.sites = self.sites, []
        return sites
