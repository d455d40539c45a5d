"""Test helpers for kjob and for people testing code that drives Kubernetes Jobs.

The main piece is :mod:`kjob.testing.emulator`, an in-process kube-apiserver + Job controller +
kubelet that the official ``kubernetes`` client talks to over real HTTP.
"""

from __future__ import annotations

from kjob.testing.emulator import Emulator, HostProcess, PodScript, PodView, host_process, scripted

__all__ = ["Emulator", "HostProcess", "PodScript", "PodView", "host_process", "scripted"]
