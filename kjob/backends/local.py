"""The embedded local backend: each attempt's container command runs as a host process.

Each attempt gets a working directory and a private ``/tmp`` (see :mod:`kjob.sandbox`); input
artifacts are placed at their declared paths before it starts; output parameters and artifacts are read
from that private view after it ends; stdout and stderr go to one log file per attempt, and the last
256 KiB of stdout become ``outputs.result``.  The image is not pulled.
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptSpec,
    AttemptStarted,
    drain,
    settle_outputs,
)
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.sandbox import Isolation, detect_isolation
from kjob.spec.values import unpassable_in

RESULT_LIMIT = 256 * 1024
_STOP_GRACE = 3.0

Notice = Callable[[str], None]


class PathNotAvailable(KjobError):
    """A container path the local backend cannot map onto the host."""


@dataclass(eq=False)
class _Running:
    spec: AttemptSpec
    proc: subprocess.Popen[bytes]
    workdir: Path
    private_tmp: Path | None
    started: float
    cancelled: str = ""
    timed_out: bool = False
    timers: list[threading.Timer] = field(default_factory=list)


class LocalBackend:
    """Runs attempts as host processes; thread-safe event queue, real (monotonic) clock."""

    name = "local"

    def __init__(self, run_dir: RunDir, *, notice: Notice | None = None, keep_workdirs: bool = False) -> None:
        self.run_dir = run_dir
        self._notice = notice or (lambda _msg: None)
        self._keep = keep_workdirs
        self._events: queue.Queue[AttemptEvent] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._isolation: Isolation | None = None
        self._told: set[str] = set()

    # ------------------------------------------------------------------------------ interface
    def now(self) -> float:
        return time.monotonic()

    def submit(self, spec: AttemptSpec) -> None:
        try:
            running = self._start(spec)
        except KjobError as err:
            self._events.put(
                AttemptFinished(spec.attempt_id, AttemptPhase.ERROR, self.now(), message=err.message)
            )
            return
        with self._lock:
            self._running[spec.attempt_id] = running
        self._events.put(AttemptStarted(spec.attempt_id, running.started))
        thread = threading.Thread(
            target=self._watch, args=(running,), name=f"kjob-{spec.attempt_id}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def submit_batch(self, specs: Sequence[AttemptSpec], parallelism: int) -> bool:
        return False  # processes start one by one; the engine keeps the limits

    def cancel(self, attempt_id: str) -> None:
        with self._lock:
            running = self._running.get(attempt_id)
        if running is not None and not running.cancelled:
            running.cancelled = "stopped"
            self._stop(running)

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        return drain(self._events, timeout)

    def close(self) -> None:
        with self._lock:
            running = list(self._running.values())
        for item in running:
            item.cancelled = item.cancelled or "stopped"
            self._kill(item)
        for thread in self._threads:
            thread.join(timeout=10)

    # --------------------------------------------------------------------------------- start
    def _isolation_mode(self) -> Isolation:
        if self._isolation is None:
            self._isolation = detect_isolation()
            if not self._isolation.private_tmp:
                self._tell_once(
                    "isolation",
                    f"warning: no private /tmp per task ({self._isolation.reason}); "
                    "parallel tasks share the host /tmp and may overwrite each other's files",
                )
        return self._isolation

    def _tell_once(self, key: str, message: str) -> None:
        if key not in self._told:
            self._told.add(key)
            self._notice(message)

    def _start(self, spec: AttemptSpec) -> _Running:
        container = spec.container
        self._tell_once(
            "images", "local backend: images are not pulled; each task's command runs on this host"
        )
        isolation = self._isolation_mode()
        workdir = self.run_dir.work / spec.attempt_id
        private = workdir / "tmp" if isolation.private_tmp else None
        workdir.mkdir(parents=True, exist_ok=True)
        if private is not None:
            private.mkdir(exist_ok=True)
        argv = list(container.command) + list(container.args)
        if container.source is not None:
            script = workdir / ".kjob-script"
            script.write_text(container.source)
            argv = [*(container.command or ("sh",)), script.name]
        if not argv:
            raise KjobError(
                f"template '{spec.template_name}' has no command; the local backend cannot run the "
                f"default entrypoint of image '{container.image}' (give the container a command)"
            )
        argv[0] = self._executable(argv[0], spec)
        for artifact in spec.input_artifacts:
            self._place(Path(artifact.source), self._host_path(artifact.path, workdir, private))
        for path in [p.path for p in spec.output_parameters] + [a.path for a in spec.output_artifacts]:
            self._host_path(path, workdir, private)  # refuse before running, not after
        env = dict(os.environ)
        env.update({"KJOB_TASK": spec.node_id, "KJOB_ATTEMPT": str(spec.attempt)})
        for var in container.env:
            if var.value_from is not None:
                raise KjobError(f"env {var.name} uses valueFrom, which the local backend cannot resolve")
            env[var.name] = var.value or ""
        cwd = str(workdir)
        if container.working_dir and not os.path.isabs(container.working_dir):
            cwd = str(workdir / container.working_dir)
            os.makedirs(cwd, exist_ok=True)
        if private is not None:
            argv = isolation.wrap(argv, private_dir=str(private), workdir=cwd)
            cwd = "/"
        problem = unpassable_in(argv, env)  # a value rendered at run time; literal ones fail lint
        if problem:
            raise KjobError(problem)
        log = self.run_dir.log_file(spec.attempt_id).open("wb")
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as err:
            log.close()
            raise KjobError(f"cannot start {argv[0]}: {err.strerror}") from None
        log.close()
        running = _Running(spec, proc, workdir, private, self.now())
        if spec.deadline is not None:
            timer = threading.Timer(spec.deadline, self._deadline, args=(running,))
            timer.daemon = True
            running.timers.append(timer)
            timer.start()
        return running

    def _executable(self, command: str, spec: AttemptSpec) -> str:
        """The host program for ``command``; ``python``/``python3`` fall back to kjob's own Python."""
        if os.sep in command:
            return command
        found = shutil.which(command)
        if found:
            return found
        if command in ("python", "python3"):
            base = getattr(sys, "_base_executable", None) or sys.executable
            self._tell_once("python", f"local backend: '{command}' is not on PATH; using {base}")
            return str(base)
        raise KjobError(
            f"command '{command}' of template '{spec.template_name}' is not installed on this host "
            f"(the local backend runs commands on the host, not in image '{spec.container.image}')"
        )

    def _host_path(self, path: str, workdir: Path, private: Path | None) -> Path:
        if not os.path.isabs(path):
            return workdir / path
        norm = os.path.normpath(path)
        if private is None:
            return Path(norm)
        if norm == "/tmp" or norm.startswith("/tmp/"):
            return private / os.path.relpath(norm, "/tmp")
        raise PathNotAvailable(
            f"path {path} is outside /tmp: the local backend keeps task files under a private /tmp "
            "(use a /tmp/... or relative path; the kubernetes backend accepts any path)"
        )

    @staticmethod
    def _place(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)

    # --------------------------------------------------------------------------------- watch
    def _watch(self, running: _Running) -> None:
        tail = self._pump(running)
        code = running.proc.wait()
        for timer in running.timers:
            timer.cancel()
        finished = self._finished(running, code, tail)
        with self._lock:
            self._running.pop(running.spec.attempt_id, None)
        self._events.put(finished)

    def _pump(self, running: _Running) -> bytes:
        """Copy stdout and stderr into the log as they come; keep the tail of stdout."""
        proc = running.proc
        assert proc.stdout is not None and proc.stderr is not None
        tail = bytearray()
        with (
            self.run_dir.log_file(running.spec.attempt_id).open("ab") as log,
            selectors.DefaultSelector() as sel,
        ):
            sel.register(proc.stdout, selectors.EVENT_READ, "out")
            sel.register(proc.stderr, selectors.EVENT_READ, "err")
            open_streams = 2
            while open_streams:
                for key, _ in sel.select():
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        open_streams -= 1
                        continue
                    log.write(chunk)
                    log.flush()
                    if key.data == "out":
                        tail += chunk
                        if len(tail) > 2 * RESULT_LIMIT:
                            del tail[:-RESULT_LIMIT]
        proc.stdout.close()
        proc.stderr.close()
        return bytes(tail[-RESULT_LIMIT:])

    def _finished(self, running: _Running, code: int, tail: bytes) -> AttemptFinished:
        spec = running.spec
        at = self.now()
        result = tail.decode("utf-8", errors="replace").rstrip("\r\n")
        failure = _failure_reason(running, code)
        if failure is not None:
            return AttemptFinished(
                spec.attempt_id, AttemptPhase.FAILED, at, exit_code=code, result=result, message=failure
            )
        try:
            parameters, artifacts, missing = self._collect(running)
        except (OSError, KjobError) as err:
            message = err.message if isinstance(err, KjobError) else f"reading outputs failed: {err}"
            return AttemptFinished(
                spec.attempt_id, AttemptPhase.ERROR, at, exit_code=code, result=result, message=message
            )
        if not missing and not self._keep:
            shutil.rmtree(running.workdir, ignore_errors=True)
        return AttemptFinished(
            spec.attempt_id,
            AttemptPhase.SUCCEEDED,
            at,
            exit_code=code,
            result=result,
            parameters=parameters,
            artifacts=artifacts,
            missing_outputs=tuple(missing),
        )

    def _collect(self, running: _Running) -> tuple[dict[str, str], dict[str, str], list[str]]:
        spec = running.spec
        artifacts: dict[str, str] = {}
        written: dict[str, str] = {}
        for param in spec.output_parameters:
            path = self._host_path(param.path, running.workdir, running.private_tmp)
            if path.is_file():
                written[param.name] = path.read_bytes().decode(errors="replace").rstrip("\r\n")
        parameters, missing = settle_outputs(spec.output_parameters, written)
        for art in spec.output_artifacts:
            path = self._host_path(art.path, running.workdir, running.private_tmp)
            if not path.exists():
                if not art.optional:
                    missing.append(art.name)
                continue
            stored = self.run_dir.artifacts / spec.attempt_id / art.name
            self._place(path, stored)
            artifacts[art.name] = str(stored)
        return parameters, artifacts, missing

    # ---------------------------------------------------------------------------------- stop
    def _deadline(self, running: _Running) -> None:
        if running.proc.poll() is None:
            running.timed_out = True
            self._stop(running)

    def _stop(self, running: _Running) -> None:
        """SIGTERM the attempt's process group, SIGKILL it after a grace period."""
        self._signal(running, signal.SIGTERM)
        timer = threading.Timer(_STOP_GRACE, self._kill, args=(running,))
        timer.daemon = True
        running.timers.append(timer)
        timer.start()

    def _kill(self, running: _Running) -> None:
        self._signal(running, signal.SIGKILL)

    @staticmethod
    def _signal(running: _Running, sig: signal.Signals) -> None:
        if running.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.proc.pid, sig)


def _failure_reason(running: _Running, code: int) -> str | None:
    """Why an attempt failed (deadline, stopped, non-zero exit), or ``None`` if it exited 0."""
    if running.timed_out:
        return f"exceeded its deadline of {running.spec.deadline:g}s"
    if running.cancelled:
        return running.cancelled
    if code > 0:
        return f"exit code {code}"
    if code < 0:
        return f"killed by signal {signal_name(-code)}"
    return None


def signal_name(number: int) -> str:
    """``SIGKILL``; ``SIGRTMIN+6`` for a real-time signal; ``signal 33`` for one with no name (a
    signal :class:`signal.Signals` does not know must not break the run)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        rtmin = getattr(signal, "SIGRTMIN", None)
        if rtmin is not None and number > rtmin:
            return f"SIGRTMIN+{number - rtmin}"
        return f"signal {number}"
