"""A resource template's ``flags``: the kubectl options kjob understands.

Argo passes ``flags`` to ``kubectl ACTION``; kjob performs the action with the Kubernetes API itself,
so it reads the options that mean something there and refuses the others by name:

- words that are not options name the object: ``TYPE`` and ``NAME`` (``configmap my-cm``), for an
  action with no manifest (or a ``json`` patch, whose manifest is the patch);
- ``-l``/``--selector``: every object of ``TYPE`` with those labels (delete, get, patch);
- ``-n``/``--namespace``: the namespace when the manifest names none;
- ``--ignore-not-found``: a missing object is no failure (delete always has it, as in Argo);
- ``--cascade=background|foreground|orphan`` and ``--grace-period=N`` for delete;
- ``--field-manager`` for apply (kjob applies server-side);
- ``--validate``, ``--wait``, ``--server-side``, ``--force-conflicts`` are accepted and change nothing
  (the server validates; kjob waits through conditions; apply is server-side and forced).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kjob.errors import KjobError

_VALUED = {
    "-l": "selector",
    "--selector": "selector",
    "-n": "namespace",
    "--namespace": "namespace",
    "--cascade": "cascade",
    "--grace-period": "grace_period",
    "--field-manager": "field_manager",
}
_SWITCHES = ("--ignore-not-found",)
_NO_EFFECT = ("--validate", "--wait", "--server-side", "--force-conflicts")
CASCADES = ("background", "foreground", "orphan")
_VERSION = re.compile(r"v[0-9]+((alpha|beta)[0-9]+)?")


@dataclass(frozen=True, slots=True)
class ResourceFlags:
    words: tuple[str, ...] = ()  # TYPE [NAME]
    selector: str | None = None
    namespace: str | None = None
    ignore_not_found: bool = False
    cascade: str | None = None
    grace_period: int | None = None
    field_manager: str | None = None


def parse_flags(flags: Sequence[str]) -> ResourceFlags:
    """The options in ``flags``; :class:`KjobError` names one kjob does not understand."""
    words: list[str] = []
    valued: dict[str, str] = {}
    ignore = False
    at = 0
    while at < len(flags):
        flag = flags[at]
        at += 1
        if not flag.startswith("-"):
            words.append(flag)
            continue
        name, eq, value = flag.partition("=")
        if name in _VALUED:
            if not eq:
                if at >= len(flags):
                    raise KjobError(f"flag '{name}' needs a value")
                value = flags[at]
                at += 1
            valued[_VALUED[name]] = value
        elif name in _SWITCHES:
            ignore = value.lower() != "false" if eq else True
        elif name not in _NO_EFFECT:
            raise KjobError(
                f"flag '{name}' is not supported by kjob yet",
                hint="kjob understands: -l/--selector, -n/--namespace, --ignore-not-found, --cascade, "
                "--grace-period, --field-manager (and accepts --validate, --wait, --server-side, "
                "--force-conflicts); a word without '-' names TYPE and NAME",
            )
    if len(words) > 2:
        raise KjobError(f"flags name more than TYPE and NAME: {' '.join(words)}")
    cascade = valued.get("cascade")
    if cascade is not None and cascade not in CASCADES:
        raise KjobError(f"--cascade is '{cascade}', not one of: {', '.join(CASCADES)}")
    grace = valued.get("grace_period")
    if grace is not None and not grace.lstrip("-").isdigit():
        raise KjobError(f"--grace-period is '{grace}', not a whole number of seconds")
    return ResourceFlags(
        words=tuple(words),
        selector=valued.get("selector"),
        namespace=valued.get("namespace"),
        ignore_not_found=ignore,
        cascade=cascade,
        grace_period=int(grace) if grace is not None else None,
        field_manager=valued.get("field_manager"),
    )


def split_type(word: str) -> tuple[str, str, str]:
    """kubectl's ``TYPE[.VERSION][.GROUP][/NAME]`` (``jobs.batch``, ``deployments.v1.apps``,
    ``configmaps.v1``) as (type, version, group), lower-case; version and group may be empty."""
    first, *rest = word.partition("/")[0].lower().split(".")
    version = rest.pop(0) if rest and _VERSION.fullmatch(rest[0]) else ""
    return first, version, ".".join(rest)
