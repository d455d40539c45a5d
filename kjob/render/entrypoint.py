"""Containers that rely on their image's ENTRYPOINT (``args`` and no ``command``).

On Kubernetes such a container keeps its image's entrypoint: kjob's Job sets ``args`` only.  But where
kjob must run something around the task's command — the outputs wrapper that gathers several output
parameters, the artifact wrapper — it has to name the command, and only the container runtime knows
the image's entrypoint.  Those templates are found here, before anything is created, so that
``kjob run``, ``--dry-run`` and ``kjob lint`` say what to add instead of an attempt failing later.
"""

from __future__ import annotations

from kjob.errors import SpecError, raise_found
from kjob.spec.model import Template, Workflow


def wrapped_for(template: Template) -> str | None:
    """What kjob wraps around this template's command on Kubernetes, or ``None``."""
    outputs = [p for p in template.outputs.parameters if p.value_from_path is not None]
    if template.inputs.artifacts or template.outputs.artifacts:
        return "pass its artifacts"
    if len(outputs) > 1:
        return f"collect its {len(outputs)} output parameters"
    return None


def problems(workflow: Workflow) -> list[SpecError]:
    """A located error for each container template without a command that kjob must wrap."""
    found: list[SpecError] = []
    for template in workflow.templates.values():
        container = template.container
        if container is None or container.command or container.is_script:
            continue
        why = wrapped_for(template)
        if why is None:
            continue
        mark = container.mark if container.mark.line else template.mark
        found.append(
            SpecError(message(template.name, why), path=mark.path, line=mark.line, col=mark.col, hint=HINT)
        )
    return found


HINT = (
    "add `command: [...]` with the image's entrypoint to the container (`docker image inspect IMAGE` "
    "shows it); the local backend runs `args` as the command"
)


def message(template: str, why: str) -> str:
    return (
        f"template '{template}' has no command: on Kubernetes kjob runs a wrapper around the command to "
        f"{why}, and only the container runtime knows the image's ENTRYPOINT"
    )


def require(workflow: Workflow) -> None:
    """Raise :func:`problems`, if any."""
    raise_found(problems(workflow))
