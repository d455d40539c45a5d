"""The local backend has no cluster to read a Secret from: an ``http`` template whose header is a
``secretKeyRef`` is refused before a local run starts (``kjob lint`` warns of it), at the header's
template, saying to run it on Kubernetes."""

from __future__ import annotations

from kjob.errors import SpecError, raise_found
from kjob.spec.model import Workflow

HINT = "run it with --backend kubernetes (the Secret of the run's namespace), or give the header a value"


def problems(workflow: Workflow) -> list[SpecError]:
    """A located error for each http header that reads a Secret."""
    found: list[SpecError] = []
    for template in workflow.templates.values():
        http = template.http
        if http is None:
            continue
        mark = http.mark if http.mark.line else template.mark
        for header in http.headers:
            if header.secret is None:
                continue
            name, key = header.secret
            found.append(
                SpecError(
                    f"template '{template.name}': header '{header.name}' reads Secret '{name}' "
                    f"(key '{key}'), and the local backend has no cluster to read it from",
                    path=mark.path,
                    line=mark.line,
                    col=mark.col,
                    hint=HINT,
                )
            )
    return found


def require(workflow: Workflow) -> None:
    """Raise :func:`problems`, if any: before a local run starts."""
    raise_found(problems(workflow))
