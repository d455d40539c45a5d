"""Moved to :mod:`kjob.sandbox` (shared by the local backend and the API emulator's kubelet)."""

from kjob.sandbox import Isolation, detect_isolation

__all__ = ["Isolation", "detect_isolation"]
