"""A pod of several containers on the local backend: the attempt's process when its template has
``initContainers``, ``sidecars`` or a ``containerSet``.

The node agent starts ``python -m kjob.backends.localpod POD.json`` as the attempt (in the attempt's
private ``/tmp`` and working directory, as it would start the main container), and this program
does what a kubelet and Argo's executor do for such a pod:

1. runs the init containers one after another; one that fails ends the attempt with its exit code;
2. starts the sidecars (each in its own process group);
3. runs the main container, or a containerSet's containers each as soon as the containers it depends
   on succeeded (side by side where independent; one whose dependency failed fails, code 1, without
   running; a failing one runs again up to the set's ``retries`` times);
4. stops the sidecars (SIGTERM to their process group, SIGKILL after :data:`SIDECAR_GRACE` seconds):
   how they end never fails the attempt;
5. exits with the main container's exit code, or, if it succeeded, the first failed container's.

The main container's stdout and stderr are this program's (so they become the attempt's log and
``outputs.result``); every other container's go to its own log file, ``<attempt log>.<name>.log``.
On SIGTERM (a stop, a deadline) every container is sent SIGTERM and the program exits once they
ended.  Only the standard library is imported: it starts with every such attempt.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

SIDECAR_GRACE = 10.0  # seconds between a sidecar's SIGTERM and SIGKILL, as on Kubernetes
_TICK = 0.05  # seconds between looks at the running containers


@dataclass
class _Run:
    """One container of the pod."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    log: str | None  # None: this program's own stdout and stderr (the main container)
    dependencies: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    code: int | None = None
    runs: int = 0
    first_start: float | None = None
    files: list[Any] = field(default_factory=list)

    def start(self) -> None:
        out: Any = None
        if self.log is not None:
            out = open(self.log, "ab", buffering=0)  # noqa: SIM115 - closed when it ends
            self.files.append(out)
        self.runs += 1
        if self.first_start is None:
            self.first_start = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                process_group=0,
            )
        except OSError as err:
            self._say(f"cannot start {self.argv[0]}: {err.strerror}")
            self.code = 128

    def poll(self) -> int | None:
        if self.code is None and self.proc is not None:
            code = self.proc.poll()
            if code is not None:
                self.code = 128 - code if code < 0 else code  # killed by signal N: 128 + N
                self.proc = None
        return self.code

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def fail_without_running(self, why: str) -> None:
        self._say(why)
        self.code = 1

    def _say(self, text: str) -> None:
        line = f"kjob: {text}\n".encode()
        if self.log is None:
            os.write(2, line)
        else:
            with open(self.log, "ab") as f:
                f.write(line)

    def close(self) -> None:
        for f in self.files:
            f.close()


class Pod:
    def __init__(self, spec: dict[str, Any]) -> None:
        def runs(key: str) -> list[_Run]:
            return [
                _Run(
                    name=c["name"],
                    argv=c["argv"],
                    env=c["env"],
                    cwd=c["cwd"],
                    log=None if c["name"] == spec["main"] else c["log"],
                    dependencies=tuple(c.get("dependencies", ())),
                )
                for c in spec.get(key, ())
            ]

        self.init = runs("init")
        self.sidecars = runs("sidecars")
        self.members = runs("members")
        self.main = spec["main"]
        self.retries = int(spec.get("retries", 0))
        within = spec.get("retry_within")
        self.retry_within = None if within is None else float(within)
        self.stopping = False
        self.reason_file: str | None = spec.get("reason_file")

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        for container in self.init:
            container.start()
            code = self._wait(container)
            if code != 0:
                os.write(2, f"kjob: init container '{container.name}' failed: exit code {code}\n".encode())
                self._reason(f"init container '{container.name}': exit code {code}")
                return code
        for sidecar in self.sidecars:
            sidecar.start()
        self._run_members()
        self._stop_sidecars()
        return self._exit_code()

    def _wait(self, container: _Run) -> int:
        while container.poll() is None:
            time.sleep(_TICK)
        container.close()
        return container.code or 0

    def _run_members(self) -> None:
        by_name = {m.name: m for m in self.members}
        waiting = list(self.members)
        running: list[_Run] = []
        while waiting or running:
            for member in list(waiting):
                if self.stopping:
                    member.fail_without_running("not started: the pod was stopped")
                    waiting.remove(member)
                    continue
                codes = [by_name[d].code for d in member.dependencies]
                failed = next((d for d, c in zip(member.dependencies, codes, strict=True) if c), None)
                if failed is not None:
                    member.fail_without_running(
                        f'dependency "{failed}" exited with non-zero code: {by_name[failed].code}'
                    )
                elif all(c == 0 for c in codes):
                    member.start()
                    running.append(member)
                else:
                    continue
                waiting.remove(member)
            for member in list(running):
                code = member.poll()
                if code is None:
                    continue
                if code != 0 and self._may_retry(member):
                    member.code = None
                    member.start()
                    continue
                member.close()
                running.remove(member)
            if running or waiting:
                time.sleep(_TICK)

    def _may_retry(self, member: _Run) -> bool:
        """Whether a failed container runs again: retries left, within the set's duration."""
        if self.stopping or member.runs > self.retries:
            return False
        within = self.retry_within
        return within is None or time.monotonic() - (member.first_start or 0.0) < within

    def _stop_sidecars(self) -> None:
        live = [s for s in self.sidecars if s.poll() is None]
        for sidecar in live:
            sidecar.signal(signal.SIGTERM)
        deadline = time.monotonic() + SIDECAR_GRACE
        while any(s.poll() is None for s in live) and time.monotonic() < deadline:
            time.sleep(_TICK)
        for sidecar in live:
            sidecar.signal(signal.SIGKILL)
            if sidecar.proc is not None:
                sidecar.proc.wait()
            sidecar.close()

    def _exit_code(self) -> int:
        main = next(m for m in self.members if m.name == self.main)
        if main.code:
            return main.code
        for member in self.members:
            if member.code:
                os.write(2, f"kjob: container '{member.name}' failed: exit code {member.code}\n".encode())
                self._reason(f"container '{member.name}': exit code {member.code}")
                return member.code
        return 0

    def _reason(self, text: str) -> None:
        """Say which container failed the attempt, for kjob's message (as on Kubernetes)."""
        if self.reason_file is not None:
            with open(self.reason_file, "w", encoding="utf-8") as f:
                f.write(text)

    def _on_term(self, signum: int, _frame: object) -> None:
        self.stopping = True
        for container in (*self.init, *self.members, *self.sidecars):
            container.signal(signal.Signals(signum))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kjob.backends.localpod POD.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        spec = json.load(f)
    return Pod(spec).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
