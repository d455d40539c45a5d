"""A daemon's ``readinessProbe`` on the local backend: kjob runs the probe itself, as a kubelet would.

``exec`` runs the command beside the task (its working directory, its private ``/tmp``, its
environment); ``httpGet`` asks ``http://127.0.0.1:<port><path>`` (a status from 200 to 399 passes);
``tcpSocket`` connects to ``127.0.0.1:<port>``.  The timings are Kubernetes': a first probe after
``initialDelaySeconds``, then one every ``periodSeconds`` (default 10), each given ``timeoutSeconds``
(default 1); ``successThreshold`` passes in a row make it ready.  A readiness probe that keeps failing
only keeps the task not ready, as on Kubernetes: after ``failureThreshold`` failures in a row (default
3) the task's message says why, and it is probed on.

Each probe runs on a thread of its own and reports through :meth:`Prober.take`; the backend polls it.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HOST = "127.0.0.1"  # where a task's ports are on the local backend (it shares the host's network)

Wrap = Callable[[list[str]], tuple[list[str], str]]  # exec argv -> (argv to run, cwd)


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe, its handler checked at lint (``kjob.spec.build_container``)."""

    handler: str  # exec, httpGet or tcpSocket
    action: Mapping[str, Any]
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def of(cls, probe: Mapping[str, Any]) -> Probe:
        handler = next((h for h in ("exec", "httpGet", "tcpSocket") if probe.get(h) is not None), "")
        if not handler:
            raise ValueError("a readinessProbe needs one of exec, httpGet, tcpSocket on the local backend")
        return cls(
            handler=handler,
            action=probe[handler],
            initial_delay=float(probe.get("initialDelaySeconds") or 0),
            period=float(probe.get("periodSeconds") or 10),
            timeout=float(probe.get("timeoutSeconds") or 1),
            success_threshold=int(probe.get("successThreshold") or 1),
            failure_threshold=int(probe.get("failureThreshold") or 3),
        )


def port_of(value: Any, ports: Sequence[Mapping[str, Any]]) -> int:
    """A probe's port: a number, or the name of one of the container's ``ports``."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for port in ports:
        if port.get("name") == value and isinstance(port.get("containerPort"), int):
            return int(port["containerPort"])
    raise ValueError(f"port '{value}' is neither a number nor the name of one of the container's ports")


def failure(
    probe: Probe, ports: Sequence[Mapping[str, Any]], env: Mapping[str, str], wrap: Wrap
) -> str | None:
    """Run ``probe`` once: ``None`` if it passed within its timeout, else why not."""
    try:
        if probe.handler == "exec":
            argv, cwd = wrap([str(word) for word in probe.action.get("command") or ()])
            done = subprocess.run(
                argv, cwd=cwd, env=dict(env), capture_output=True, timeout=probe.timeout, check=False
            )
            return None if done.returncode == 0 else f"exec probe exited {done.returncode}"
        port = port_of(probe.action.get("port"), ports)
        if probe.handler == "tcpSocket":
            with socket.create_connection((HOST, port), timeout=probe.timeout):
                return None
        path = str(probe.action.get("path") or "/")
        scheme = str(probe.action.get("scheme") or "HTTP").lower()
        slash = "" if path.startswith("/") else "/"
        request = urllib.request.Request(f"{scheme}://{HOST}:{port}{slash}{path}")
        for header in probe.action.get("httpHeaders") or ():
            request.add_header(str(header.get("name")), str(header.get("value")))
        with urllib.request.urlopen(request, timeout=probe.timeout) as answer:
            return _http_failure(int(answer.status))
    except urllib.error.HTTPError as err:
        return _http_failure(err.code)
    except subprocess.TimeoutExpired:
        return f"exec probe took more than {probe.timeout:g}s"
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        return str(err) or type(err).__name__


def _http_failure(status: int) -> str | None:
    return None if 200 <= status < 400 else f"HTTP probe answered {status}"


class Prober:
    """The readiness probes of a run's daemons, one thread each; :meth:`take` returns the attempts
    that became ready (with when, on the monotonic clock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: list[tuple[str, float]] = []
        self._failing: list[tuple[str, str]] = []  # (attempt, why): failureThreshold failures in a row
        self._stops: dict[str, threading.Event] = {}

    def start(
        self,
        attempt_id: str,
        probe: Probe,
        *,
        ports: Sequence[Mapping[str, Any]],
        env: Mapping[str, str],
        wrap: Wrap,
    ) -> None:
        stop = threading.Event()
        self._stops[attempt_id] = stop
        args = (attempt_id, probe, ports, env, wrap, stop)
        threading.Thread(target=self._run, args=args, name=f"kjob-probe-{attempt_id}", daemon=True).start()

    def _run(
        self,
        attempt_id: str,
        probe: Probe,
        ports: Sequence[Mapping[str, Any]],
        env: Mapping[str, str],
        wrap: Wrap,
        stop: threading.Event,
    ) -> None:
        passed = failed = 0
        if stop.wait(probe.initial_delay):
            return
        while not stop.is_set():
            why = failure(probe, ports, env, wrap)
            passed, failed = (passed + 1, 0) if why is None else (0, failed + 1)
            if passed >= probe.success_threshold:
                with self._lock:
                    self._ready.append((attempt_id, time.monotonic()))
                return
            if failed == probe.failure_threshold:  # told once: the task is still not ready
                with self._lock:
                    self._failing.append((attempt_id, f"readinessProbe failed {failed} times: {why}"))
            stop.wait(probe.period)

    @property
    def probing(self) -> bool:
        return bool(self._stops)

    def take(self) -> list[tuple[str, float]]:
        with self._lock:
            ready, self._ready = self._ready, []
        for attempt_id, _ in ready:
            self._stops.pop(attempt_id, None)
        return ready

    def take_failing(self) -> list[tuple[str, str]]:
        """The attempts whose probe failed ``failureThreshold`` times in a row since the last call,
        with why: they stay not ready (and probed), as on Kubernetes."""
        with self._lock:
            failing, self._failing = self._failing, []
        return failing

    def stop(self, attempt_id: str) -> None:
        """The attempt ended (or was stopped) before it was ready: probe it no more."""
        stop = self._stops.pop(attempt_id, None)
        if stop is not None:
            stop.set()

    def close(self) -> None:
        for attempt_id in list(self._stops):
            self.stop(attempt_id)
