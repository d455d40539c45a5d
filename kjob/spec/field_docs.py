"""The table of every Argo field and what kjob does with it, written from the code (docs/argo-fields.md).

Each object kjob reads field by field (a :class:`~kjob.spec.fields.FieldSet`) gets a table of the
Argo object's fields (:data:`~kjob.spec.fields.ARGO_FIELDS`): *supported*; *partly*, with how (a field
kept as is for the Kubernetes pod, or one with a note in :data:`PARTLY`); or *not yet*, with what to
do instead.  Argo objects that kjob does not read field by field are listed after them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from kjob.spec import fields as F

PASSTHROUGH = (
    "partly: kept as written for the Kubernetes pod; the local backend maps what it can "
    "(volumes, env) and `kjob lint` says what it cannot"
)

_READINESS = (
    "on Kubernetes kept as written for the pod (the kubelet runs it); on the local backend kjob runs "
    "a daemon's readinessProbe itself (exec, httpGet and tcpSocket against 127.0.0.1)"
)
_NOT_LOCAL = "kept as written for the Kubernetes pod (the kubelet runs it); not run on the local backend"

# How a field is only partly supported, by (Argo object, field).
PARTLY: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("CronWorkflowSpec", "stopStrategy"): "read and warned about: a CronJob has no such field",
        ("CronWorkflowSpec", "schedule"): "older spelling of `schedules`, still read",
        ("WorkflowSpec", "podMetadata"): "the pods' labels and annotations, on the Kubernetes backend",
        ("Container", "readinessProbe"): _READINESS,
        ("Container", "livenessProbe"): _NOT_LOCAL,
        ("Container", "startupProbe"): _NOT_LOCAL,
        ("ScriptTemplate", "readinessProbe"): _READINESS,
        ("ScriptTemplate", "livenessProbe"): _NOT_LOCAL,
        ("ScriptTemplate", "startupProbe"): _NOT_LOCAL,
        ("Artifact", "archive"): "`none` and `tar` are taken as they are: kjob keeps artifacts unpacked "
        "in its run workspace, which is what a consumer sees either way",
    }
)

HEADER = """\
# Argo fields and kjob

Every field of the Argo Workflows objects kjob reads (Argo v4.1.2's JSON schema), with what kjob does
with it. *supported*: kjob runs it, on both backends. *partly*: as the note says. *not yet*: `kjob
lint` says "not supported by kjob yet" (with what to do instead, where there is something).

Generated from kjob/spec/fields.py by `kjob compat --fields > docs/argo-fields.md`; a test checks it is
current.
"""


def argo_fields_markdown() -> str:
    """The whole document."""
    return "\n".join([HEADER, *_objects(), *_others()]).rstrip() + "\n"


def _field_sets() -> list[tuple[str, F.FieldSet]]:
    found = [(name, value) for name, value in vars(F).items() if isinstance(value, F.FieldSet)]
    return sorted(found, key=lambda item: (item[1].argo or "", item[1].what))


def _objects() -> Iterator[str]:
    for _, fields in _field_sets():
        argo = fields.argo or fields.what
        names = sorted(F.ARGO_FIELDS.get(argo, frozenset()) | fields.allowed)
        yield f"## {argo} (`{fields.what}`)\n"
        yield "| field | kjob |"
        yield "|---|---|"
        for name in names:
            yield f"| `{name}` | {_cell(_status(argo, name, fields))} |"
        yield ""


def _status(argo: str, name: str, fields: F.FieldSet) -> str:
    in_argo = name in F.ARGO_FIELDS.get(argo, frozenset())
    if (argo, name) in PARTLY:
        return f"partly: {PARTLY[(argo, name)]}"
    if name in fields.supported:
        return "supported" if in_argo else "supported (kjob's own, not Argo's)"
    if name in fields.passthrough:
        return PASSTHROUGH
    hint = fields.hints.get(name)
    return "not yet" + (f": {hint}" if hint else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _others() -> Iterator[str]:
    covered = {fields.argo for _, fields in _field_sets()}
    rest = sorted(set(F.ARGO_FIELDS) - covered)
    if not rest:
        return
    yield "## Other Argo objects\n"
    yield (
        "kjob does not check these field by field: each sits under a field marked *not yet* or *partly* "
        "above, or is one of the workflow kinds themselves.\n"
    )
    yield "| object | fields |"
    yield "|---|---|"
    for name in rest:
        yield f"| {name} | {', '.join(f'`{f}`' for f in sorted(F.ARGO_FIELDS[name]))} |"
