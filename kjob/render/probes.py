"""A container's probes as Kubernetes reads them: a port rendered from a reference (``"8080"``) is a
number again, since a string port names one of the container's ``ports``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def with_numeric_ports(container: Mapping[str, Any]) -> dict[str, Any]:
    """``container``'s probes whose ``httpGet``/``tcpSocket`` port is written in digits, with the
    port as a number (only the probes that change)."""
    changed: dict[str, Any] = {}
    for key in PROBES:
        probe = container.get(key)
        if not isinstance(probe, Mapping):
            continue
        for handler in ("httpGet", "tcpSocket"):
            action = probe.get(handler)
            port = action.get("port") if isinstance(action, Mapping) else None
            if isinstance(port, str) and port.isdigit():
                changed[key] = {**probe, handler: {**action, "port": int(port)}}  # type: ignore[dict-item]
    return changed
