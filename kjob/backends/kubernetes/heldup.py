"""Why a pod that should be running is not: an image that cannot be pulled, a configuration it
cannot be given, no node that can take it.  Kubernetes keeps such pods Pending for ever without
failing their Job, so kjob shows the reason instead of a task that silently never starts."""

from __future__ import annotations

from kubernetes import client

# Waiting reasons that do not resolve by waiting a little longer.
HELD_UP_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def held_up(pod: client.V1Pod) -> str | None:
    """The reason ``pod`` is held up, as ``Reason: message``, or ``None`` if it is not."""
    status = pod.status
    if status is None:
        return None
    for condition in status.conditions or ():
        if (
            condition.type == "PodScheduled"
            and condition.status == "False"
            and condition.reason == "Unschedulable"
        ):
            return _text("Unschedulable", condition.message)
    for container in [*(status.init_container_statuses or ()), *(status.container_statuses or ())]:
        waiting = container.state.waiting if container.state is not None else None
        if waiting is not None and waiting.reason in HELD_UP_REASONS:
            return _text(str(waiting.reason), waiting.message)
    return None


def _text(reason: str, message: str | None) -> str:
    first = (message or "").strip().splitlines()[0][:200] if message and message.strip() else ""
    return f"{reason}: {first}" if first else reason
