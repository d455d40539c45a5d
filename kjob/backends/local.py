"""The embedded local backend: each attempt's container command runs as a host process.

Each attempt gets a working directory and a private ``/tmp`` (see :mod:`kjob.sandbox`); input
artifacts are placed at their declared paths before it starts; output parameters and artifacts are read
from that private view after it ends; stdout and stderr go to one log file per attempt, and the last
256 KiB of stdout become ``outputs.result``.  The image is not pulled.

The processes themselves are started, watched and ended by the run's node agent
(:mod:`kjob.backends.localnode`), which outlives this process if it is killed; both write down what
happened in the run's journal (:mod:`kjob.backends.localjournal`).  So a local run is resumable like a
Kubernetes one: ``LocalBackend(run_dir, resume=True)`` replays every attempt that finished, waits for
the ones still running under the old agent, and starts only what never started.  One kjob at a time
watches a run (a lock on ``client.lock``).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kjob import jsonlines, kubelet_expansion
from kjob.backends import localshape, localvolumes, remote_fetch
from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptReady,
    AttemptSpec,
    AttemptStarted,
    AttemptWaiting,
    settle_outputs,
)
from kjob.backends.localjournal import Done, Exit, Journal
from kjob.backends.localnode import STOP_GRACE, attempt_of
from kjob.backends.localprobe import HOST, Probe, Prober
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.sandbox import Isolation, detect_isolation, hidden_by_private_tmp
from kjob.spec.model import Container
from kjob.spec.values import unpassable_in

if TYPE_CHECKING:
    from kjob.backends.resources.runner import ResourceRunner

POLL_SLICE = 0.2  # seconds a poll waits at most while resource attempts run (they report by thread)

_AGENT_WAIT = 10.0  # seconds close() waits for the agent to report the attempts it stops
_ORPHAN_POLL = 0.2  # seconds between looks at the journal for attempts an earlier agent runs
_PROBE_POLL = 0.1  # seconds between looks at the readiness probes of daemons not ready yet
_READ = 1 << 20  # bytes of the agent's events taken per read
_SCRIPT_NAME = ".kjob-script"  # in the attempt's working directory

Notice = Callable[[str], None]


class PathNotAvailable(KjobError):
    """A container path the local backend cannot map onto the host."""


@dataclass(eq=False)
class _Attempt:
    spec: AttemptSpec
    workdir: str
    private_tmp: str | None
    started: float | None = None  # wall clock
    cancelled: str = ""
    orphan_pid: int | None = None  # run by an earlier kjob's agent, still going
    orphan_agent: int | None = None  # that agent's pid
    cleaned: bool = False  # the agent removed its directories


class LocalBackend:
    """Runs attempts as host processes through the run's node agent; real (monotonic) clock.

    Single-threaded: :meth:`poll` reads the agent's events straight from its pipe, all that arrived
    at once, and hands the requests :meth:`submit` queued to the agent in one write, so a busy run
    costs no thread wake-up or lock per attempt."""

    name = "local"

    def __init__(
        self,
        run_dir: RunDir,
        *,
        notice: Notice | None = None,
        keep_workdirs: bool = False,
        resume: bool = False,
    ) -> None:
        self.run_dir = run_dir
        self.journal = Journal(run_dir.path / "node").ensure()
        self._notice = notice or (lambda _msg: None)
        self._keep = keep_workdirs
        self._out: list[AttemptEvent] = []  # for the next poll
        self._attempts: dict[str, _Attempt] = {}
        self._orphans: dict[str, _Attempt] = {}  # run by an earlier kjob's agent
        self._next_orphan_look = 0.0
        self._isolation: Isolation | None = None
        self._told: set[str] = set()
        self._found: dict[str, str | None] = {}
        self._wall_offset = time.time() - time.monotonic()
        self._work, self._logs = str(run_dir.work), str(run_dir.logs)
        self._client_lock = run_dir.watch()
        if resume:
            _wait_for_earlier_agents(self.journal)
            self.journal.refresh()
        self._resume = resume
        self._agent = _AgentLink(self.journal)
        self._prober = Prober()
        # replayed daemons kjob had stopped: their end is told again once the engine stops them again
        self._stopped_daemons: dict[str, Callable[[], None]] = {}
        # resource templates' attempts, when the workflow has some and a cluster is configured
        self.resources: ResourceRunner | None = None

    # ------------------------------------------------------------------------------ interface
    def now(self) -> float:
        return time.monotonic()

    def submit(self, spec: AttemptSpec) -> None:
        if self.resources is not None and self.resources.takes(spec):
            return
        if self._resume and self._resumed(spec):
            return
        try:
            if self._agent.ended:
                raise KjobError("the run's node agent ended unexpectedly; `kjob resume` the run")
            attempt, request = self._prepare(spec)
        except KjobError as err:
            self._out.append(
                AttemptFinished(spec.attempt_id, AttemptPhase.ERROR, self.now(), message=err.message)
            )
            return
        self._attempts[spec.attempt_id] = attempt
        self._agent.send(request)

    def submit_batch(self, specs: Sequence[AttemptSpec], parallelism: int) -> bool:
        return False  # processes start one by one; the engine keeps the limits

    def cancel(self, attempt_id: str) -> None:
        if self.resources is not None and self.resources.cancel(attempt_id):
            return
        replayed = self._stopped_daemons.pop(attempt_id, None)
        if replayed is not None:
            replayed()
            return
        attempt = self._attempts.get(attempt_id)
        if attempt is None or attempt.cancelled:
            return
        attempt.cancelled = "stopped"
        if attempt.orphan_pid is not None:
            self.journal.set_stop_requested(attempt_id)  # its agent cannot say it was a stop
            _stop_orphan(attempt.orphan_pid, attempt_id)
        else:
            self._agent.send({"op": "stop", "id": attempt_id, "reason": "stopped"})

    def poll(self, timeout: float | None) -> Sequence[AttemptEvent]:
        if self.resources is not None:
            busy = self.resources.busy  # first: one that ends after this look is polled again soon
            self._out += self.resources.poll(0)
            if busy:
                timeout = POLL_SLICE if timeout is None else min(timeout, POLL_SLICE)
        if self._out:
            timeout = 0
        elif self._orphans or self._prober.probing:
            wait = _ORPHAN_POLL if self._orphans else _PROBE_POLL
            timeout = wait if timeout is None else min(timeout, wait)
        self._agent.receive(timeout)
        self._take_agent_events()
        for attempt_id, at in self._prober.take():
            if attempt_id in self._attempts:
                self._ready(attempt_id, at)
        for attempt_id, why in self._prober.take_failing():
            if attempt_id in self._attempts:
                self._out.append(AttemptWaiting(attempt_id, self.now(), why))
        if self._orphans:
            self._look_at_orphans()
        out, self._out = self._out, []
        return out

    def _take_agent_events(self) -> None:
        """Act on each event the agent sent; one is let go of only once acted on (acting twice on
        one is harmless), so an interrupt in the middle loses none."""
        events = self._agent.events
        while events:
            self._on_agent_event(events[0])
            events.popleft()
        if self._agent.ended:  # nothing more will come: whatever it ran is lost
            for attempt in [a for a in self._attempts.values() if a.orphan_pid is None]:
                self._error(attempt, "lost: the run's node agent ended unexpectedly")

    def close(self) -> None:
        """Stop (SIGKILL) whatever still runs, wait for the agent to report it, release the run."""
        if self.resources is not None:
            self.resources.close()
        for orphan in list(self._orphans.values()):
            _signal_attempt(orphan.orphan_pid or 0, orphan.spec.attempt_id, signal.SIGKILL)
        self._prober.close()
        self._agent.close(_AGENT_WAIT)
        events = self._agent.events
        while events:  # what ended while stopping is recorded, for `kjob resume`
            self._on_agent_event(events.popleft())
        self.journal.close()
        self._client_lock.close()  # releases the lock

    # --------------------------------------------------------------------------------- resume
    def _resumed(self, spec: AttemptSpec) -> bool:
        """Take ``spec`` from what an earlier kjob of this run left: ``True`` if it needs no start."""
        attempt_id = spec.attempt_id
        done = self.journal.done(attempt_id)
        ready = self.journal.ready(attempt_id) if spec.daemon else None
        if done is not None:
            self._out.append(AttemptStarted(attempt_id, self._mono(done.started)))
            finished = _replayed(done, attempt_id, self._mono(done.finished))
            if ready is None:
                self._out.append(finished)
            elif done.message == "stopped":  # by kjob, with its scope: ended again when stopped again
                self._out.append(AttemptReady(attempt_id, self._mono(ready), HOST))
                self._stopped_daemons[attempt_id] = lambda: self._out.append(finished)
            else:
                self._out.extend([AttemptReady(attempt_id, self._mono(ready), HOST), finished])
            return True
        started = self.journal.started(attempt_id)
        if started is None:
            return False
        attempt = _Attempt(spec, *self._dirs(spec), started=float(started["started"]))
        self._out.append(AttemptStarted(attempt_id, self._mono(attempt.started or 0.0)))
        agent = started.get("agent")
        agent_pid = agent if isinstance(agent, int) else None
        if not _alive(agent_pid) and self.journal.refresh().exited(attempt_id) is None:  # end unknown
            _signal_attempt(int(started["pid"]), attempt_id, signal.SIGKILL)
            message = (
                "lost: the node agent that ran this attempt ended before it did (pid "
                f"{started['pid']}, now stopped), so how it ended is unknown"
            )
            self._error(attempt, message)
            return True
        ended = self.journal.exited(attempt_id)
        if ended is not None:
            if self.journal.stop_requested(attempt_id):
                attempt.cancelled = "stopped"
            if ready is None:
                self._exited(attempt, ended)
                return True
            self._out.append(AttemptReady(attempt_id, self._mono(ready), HOST))
            if attempt.cancelled or ended.stopped:  # by kjob, with its scope, before it died
                self._stopped_daemons[attempt_id] = lambda: self._exited(attempt, ended)
            else:
                self._exited(attempt, ended)
            return True
        attempt.orphan_pid = int(started["pid"])
        attempt.orphan_agent = agent_pid
        self._attempts[attempt_id] = attempt
        self._orphans[attempt_id] = attempt
        if ready is not None:  # a daemon still running: ready as it was
            self._out.append(AttemptReady(attempt_id, self._mono(ready), HOST))
        elif spec.daemon:
            self._readiness(attempt)
        return True

    def _look_at_orphans(self) -> None:
        """Finish the attempts an earlier agent runs once its journal says they ended (a look every
        :data:`_ORPHAN_POLL` seconds, reading only what was appended since the last)."""
        now = time.monotonic()
        if now < self._next_orphan_look:
            return
        self._next_orphan_look = now + _ORPHAN_POLL
        self.journal.refresh()
        for attempt in list(self._orphans.values()):
            attempt_id = attempt.spec.attempt_id
            ended = self.journal.exited(attempt_id)
            if ended is None and not _alive(attempt.orphan_agent):
                ended = self.journal.refresh().exited(attempt_id)  # written just before it ended?
                if ended is None:
                    message = "lost: the node agent that ran this attempt ended before recording its end"
                    self._error(attempt, message)
            if ended is not None:
                self._exited(attempt, ended)

    def _mono(self, wall: float) -> float:
        return wall - self._wall_offset

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

    def _dirs(self, spec: AttemptSpec) -> tuple[str, str | None]:
        workdir = os.path.join(self._work, spec.attempt_id)
        return workdir, (os.path.join(workdir, "tmp") if self._isolation_mode().private_tmp else None)

    def _prepare(self, spec: AttemptSpec) -> tuple[_Attempt, dict[str, Any]]:
        """The attempt's files in place, and the agent's request that starts it."""
        spec, ignored = localshape.with_patch(spec)
        if ignored:
            self._tell_once(
                f"patch:{spec.template_name}",
                f"local backend: podSpecPatch of template '{spec.template_name}': "
                f"{localshape.names(ignored)} ignored (they mean nothing to a host process)",
            )
        if pod_level := localshape.pod_level_ignored(spec.pod_extra):
            self._tell_once(
                f"pod-level:{spec.template_name}",
                f"local backend: template '{spec.template_name}': {localshape.names(pod_level)} ignored "
                "(they mean nothing to a host process)",
            )
        container = spec.container
        self._tell_once(
            "images", "local backend: images are not pulled; each task's command runs on this host"
        )
        isolation = self._isolation_mode()
        workdir, private = self._dirs(spec)
        dirs = [workdir] if private is None else [workdir, private]
        relative_cwd = bool(container.working_dir) and not os.path.isabs(container.working_dir or "")
        claims = localvolumes.RunClaims(self.run_dir.run_id, str(self.run_dir.path / "claims"))
        volumes = localshape.mounts(spec, claims)
        pod = localshape.needed(spec)
        places_files = (
            container.source is not None or bool(spec.input_artifacts) or relative_cwd or bool(volumes) or pod
        )
        if places_files:  # else the agent makes them, as the task starts
            for directory in dirs:
                os.makedirs(directory, exist_ok=True)
        argv, declared = self._command(spec, container, workdir)
        self._mount(volumes, workdir, private)
        for artifact in spec.input_artifacts:
            target = self._host_path(artifact.path, workdir, private)
            if artifact.raw is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(artifact.raw)
            elif artifact.remote is not None:
                remote_fetch.fetch_here(artifact, target)
            else:
                self._place(Path(artifact.source), target)
            if artifact.mode is not None:
                target.chmod(artifact.mode)
        for path in [p.path for p in spec.output_parameters] + [a.path for a in spec.output_artifacts]:
            self._host_path(path, workdir, private)  # refuse before running, not after
        # the agent's environment (kjob's) plus these; $(VAR) and $$ read as the kubelet reads them
        env_base = {"KJOB_TASK": spec.node_id, "KJOB_ATTEMPT": str(spec.attempt)}
        env = {**env_base, **declared}
        cwd = self._cwd(container, workdir)
        if pod:
            argv = localshape.write_pod(
                spec,
                workdir,
                os.path.join(self._logs, spec.attempt_id + ".log"),
                (argv, env, cwd),
                lambda c: self._command(spec, c, workdir, base=env_base),
                lambda c: self._cwd(c, workdir),
            )
            env, cwd = env_base, workdir
        if private is not None:
            argv = isolation.wrap(argv, private_dir=private, workdir=cwd)
            cwd = "/"
        problem = unpassable_in(argv, env)  # a value rendered at run time; literal ones fail lint
        if problem:
            raise KjobError(problem)
        request: dict[str, Any] = {
            "op": "start",
            "id": spec.attempt_id,
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "log": os.path.join(self._logs, spec.attempt_id + ".log"),
            "deadline": spec.deadline,
        }
        if spec.daemon:
            _readiness_probe(spec)  # refused before it starts, not while it runs
        for probe in ("livenessProbe", "startupProbe"):
            if probe in container.extra:
                self._tell_once(probe, f"local backend: {probe} is not run (the kubernetes backend runs it)")
        if not places_files:
            request["mkdirs"] = dirs
        if not (spec.output_parameters or spec.output_artifacts or self._keep):
            request["rmdirs"] = dirs[::-1]  # nothing to read back: the agent removes them
        return _Attempt(spec, workdir, private), request

    def _readiness(self, attempt: _Attempt) -> None:
        """A daemon's attempt runs: ready now if it has no readinessProbe, else once the probe passes
        (run beside the task: its working directory, private /tmp and environment)."""
        spec = attempt.spec
        probe = _readiness_probe(spec)
        if probe is None:
            self._ready(spec.attempt_id, self.now())
            return
        declared = kubelet_expansion.container_env((v.name, v.value or "") for v in spec.container.env)
        private, workdir = attempt.private_tmp, attempt.workdir
        isolation = self._isolation_mode()

        def wrap(argv: list[str]) -> tuple[list[str], str]:
            if private is None:
                return argv, workdir
            return isolation.wrap(argv, private_dir=private, workdir=workdir), "/"

        ports = [p for p in spec.container.extra.get("ports") or () if isinstance(p, Mapping)]
        self._prober.start(spec.attempt_id, probe, ports=ports, env={**os.environ, **declared}, wrap=wrap)

    def _ready(self, attempt_id: str, at: float) -> None:
        """Tell the engine a daemon is ready, and write it down for a resumed run."""
        self.journal.set_ready(attempt_id, at + self._wall_offset)
        self._out.append(AttemptReady(attempt_id, at, HOST))

    def _command(
        self, spec: AttemptSpec, container: Container, workdir: str, base: Mapping[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """A container's command line (its program found on the host) and declared environment
        (``base`` first), read as the kubelet reads ``$(VAR)`` and ``$$``."""
        for var in container.env:
            if var.value_from is not None:
                raise KjobError(f"env {var.name} uses valueFrom, which the local backend cannot resolve")
        declared = kubelet_expansion.container_env((var.name, var.value or "") for var in container.env)
        argv = kubelet_expansion.command([*container.command, *container.args], declared)
        if container.source is not None:
            argv = [*(container.command or ("sh",)), _write_script(workdir, container.source)]
        if not argv:
            which = f"container '{container.name}' of template" if container.name else "template"
            raise KjobError(
                f"{which} '{spec.template_name}' has no command; the local backend cannot run the "
                f"default entrypoint of image '{container.image}' (give the container a command)"
            )
        argv[0] = self._executable(argv[0], spec)
        return argv, {**(base or {}), **declared}

    @staticmethod
    def _cwd(container: Container, workdir: str) -> str:
        """Where a container starts: its relative workingDir under the attempt's directory (made
        now), else that directory (an absolute workingDir is applied inside the sandbox)."""
        if not container.working_dir or os.path.isabs(container.working_dir):
            return workdir
        cwd = os.path.join(workdir, container.working_dir)
        os.makedirs(cwd, exist_ok=True)
        return cwd

    def _executable(self, command: str, spec: AttemptSpec) -> str:
        """The host program for ``command``; ``python``/``python3`` fall back to kjob's own Python."""
        if os.sep in command:
            return command
        if command not in self._found:  # PATH is kjob's own: looked up once per command
            self._found[command] = shutil.which(command)
        found = self._found[command]
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

    def _host_path(self, path: str, workdir: str, private: str | None) -> Path:
        if not os.path.isabs(path):
            return Path(workdir, path)
        norm = os.path.normpath(path)
        if private is None:
            return Path(norm)
        if norm == "/tmp" or norm.startswith("/tmp/"):
            return Path(private, os.path.relpath(norm, "/tmp"))
        raise PathNotAvailable(
            f"path {path} is outside /tmp: the local backend keeps task files under a private /tmp "
            "(use a /tmp/... or relative path; the kubernetes backend accepts any path)"
        )

    def _mount(self, mounts: list[localvolumes.LocalMount], workdir: str, private: str | None) -> None:
        """Each volume where the task looks for it: an emptyDir a directory of the attempt's own (made
        at its first mount path), a hostPath the host directory (linked from its mount path)."""
        made: dict[str, Path] = {}  # emptyDir volume -> its directory
        for mount in mounts:
            if mount.create:
                os.makedirs(mount.host_path, exist_ok=True)
            if (
                mount.kind == "hostPath"
                and private is not None
                and hidden_by_private_tmp(mount.host_path, workdir)
            ):
                raise KjobError(
                    f"volume '{mount.volume}': hostPath {mount.host_path} is under the host's /tmp, which "
                    "the task's private /tmp hides (use a host directory outside /tmp)"
                )
            if mount.in_place:
                continue
            target = self._host_path(mount.mount_path, workdir, private)
            if mount.kind == "emptyDir" and mount.volume not in made and not mount.sub_path:
                target.mkdir(parents=True, exist_ok=True)
                made[mount.volume] = target
                continue
            if mount.kind == "emptyDir":
                base = made.setdefault(mount.volume, Path(workdir, ".kjob-volumes", mount.volume))
                source = base / mount.sub_path
                source.mkdir(parents=True, exist_ok=True)
            else:
                source = Path(mount.host_path)
            if target.exists() or target.is_symlink():
                raise KjobError(f"volume '{mount.volume}': mount path {mount.mount_path} is already in use")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=True)

    @staticmethod
    def _place(source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)

    # ---------------------------------------------------------------------------------- ends
    def _on_agent_event(self, event: dict[str, Any]) -> None:
        """Act on one event the agent reported (the same event twice: once)."""
        attempt = self._attempts.get(str(event.get("id")))
        if attempt is None or attempt.orphan_pid is not None:
            return
        kind = event.get("ev")
        try:
            if kind == "started" and attempt.started is None:
                attempt.started = float(event["at"])
                self._out.append(AttemptStarted(attempt.spec.attempt_id, self._mono(attempt.started)))
                if attempt.spec.daemon:
                    self._readiness(attempt)
            elif kind == "exited":
                ended = Exit(
                    int(event["code"]),
                    float(event["finished"]),
                    bool(event["timed_out"]),
                    str(event["stopped"]),
                )
                tail = event.get("tail")
                attempt.cleaned = bool(event.get("cleaned"))
                self._exited(attempt, ended, None if tail is None else str(tail).encode("latin-1"))
            elif kind == "failed":
                self._error(attempt, str(event.get("message", "could not start")))
        except (KeyError, TypeError, ValueError):
            return  # not an event of this kjob's agent

    def _exited(self, attempt: _Attempt, ended: Exit, tail: bytes | None = None) -> None:
        if tail is None:
            tail = self.journal.tail(attempt.spec.attempt_id)
        spec = attempt.spec
        # an end read from the exit record alone reads the same again on resume: no done record
        again = not (spec.output_parameters or spec.output_artifacts or attempt.cancelled)
        self._report(attempt, self._finished(attempt, ended, tail), journal=not again)

    def _error(self, attempt: _Attempt, message: str) -> None:
        ended = AttemptFinished(attempt.spec.attempt_id, AttemptPhase.ERROR, self.now(), message=message)
        self._report(attempt, ended)

    def _report(self, attempt: _Attempt, finished: AttemptFinished, *, journal: bool = True) -> None:
        """Record ``finished`` in the journal (a resumed run replays it; ``journal=False``: its exit
        record tells it as well), then tell the engine."""
        attempt_id = attempt.spec.attempt_id
        self._prober.stop(attempt_id)
        if journal:
            wall = finished.at + self._wall_offset
            done = _done_of(finished, started=attempt.started or wall, finished=wall)
            self.journal.set_done(attempt_id, done)
        ended_well = finished.phase is AttemptPhase.SUCCEEDED and not finished.missing_outputs
        if ended_well and not self._keep and not attempt.cleaned:
            _remove(attempt)  # only once its outputs are recorded
        self._attempts.pop(attempt_id, None)
        self._orphans.pop(attempt_id, None)
        self._out.append(finished)

    def _finished(self, attempt: _Attempt, ended: Exit, tail: bytes) -> AttemptFinished:
        spec = attempt.spec
        at = self._mono(ended.finished)
        result = tail.decode("utf-8", errors="replace").rstrip("\r\n")
        failure = _failure_reason(spec, ended, attempt.cancelled)
        if failure == f"exit code {ended.code}":
            failure = localshape.failed_container(spec, attempt.workdir) or failure
        if failure is not None:
            return AttemptFinished(
                spec.attempt_id, AttemptPhase.FAILED, at, exit_code=ended.code, result=result, message=failure
            )
        try:
            parameters, artifacts, missing = self._collect(attempt)
        except (OSError, KjobError) as err:
            message = err.message if isinstance(err, KjobError) else f"reading outputs failed: {err}"
            return AttemptFinished(
                spec.attempt_id, AttemptPhase.ERROR, at, exit_code=ended.code, result=result, message=message
            )
        return AttemptFinished(
            spec.attempt_id,
            AttemptPhase.SUCCEEDED,
            at,
            exit_code=ended.code,
            result=result,
            parameters=parameters,
            artifacts=artifacts,
            missing_outputs=tuple(missing),
        )

    def _collect(self, attempt: _Attempt) -> tuple[dict[str, str], dict[str, str], list[str]]:
        spec = attempt.spec
        artifacts: dict[str, str] = {}
        written: dict[str, str] = {}
        for param in spec.output_parameters:
            path = self._host_path(param.path, attempt.workdir, attempt.private_tmp)
            if path.is_file():
                written[param.name] = path.read_bytes().decode(errors="replace").rstrip("\r\n")
        parameters, missing = settle_outputs(spec.output_parameters, written)
        for art in spec.output_artifacts:
            path = self._host_path(art.path, attempt.workdir, attempt.private_tmp)
            if not path.exists():
                if not art.optional:
                    missing.append(art.name)
                continue
            stored = self.run_dir.artifacts / spec.attempt_id / art.name
            self._place(path, stored)
            artifacts[art.name] = str(stored)
        return parameters, artifacts, missing


class _AgentLink:
    """The node agent process of this kjob: requests written to its stdin (kept until
    :meth:`receive` or :meth:`close` sends them all at once), events read from its stdout into
    :attr:`events`."""

    def __init__(self, journal: Journal) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "kjob.backends.localnode", str(journal.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C meant for kjob must not reach it
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._requests = self._proc.stdin
        self._fd = self._proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._partial = b""  # the start of an event still being written
        self._unsent: list[bytes] = []
        self.events: deque[dict[str, Any]] = deque()
        self.ended = False  # its stdout closed: it exited

    def send(self, request: dict[str, Any]) -> None:
        self._unsent.append(jsonlines.dumps(request) + b"\n")

    def flush(self) -> None:
        if self._unsent:
            data, self._unsent = b"".join(self._unsent), []
            with contextlib.suppress(BrokenPipeError, ValueError):
                self._requests.write(data)  # the agent never blocks on us, so this ends
                self._requests.flush()

    def receive(self, timeout: float | None) -> None:
        """Send what waits to be sent, wait up to ``timeout`` (``None``: for ever) for events and
        take every one that has arrived."""
        self.flush()
        if self.ended:
            if timeout:
                time.sleep(timeout)
            return
        if not self._read() and timeout != 0 and select.select([self._fd], [], [], timeout)[0]:
            self._read()

    def _read(self) -> bool:
        """Take what the pipe holds; ``False`` if it held nothing."""
        try:
            chunk = os.read(self._fd, _READ)
        except BlockingIOError:
            return False
        if not chunk:
            self.ended = True
            return True
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for line in lines:
            with contextlib.suppress(ValueError):
                event = jsonlines.loads(line)
                if isinstance(event, dict):
                    self.events.append(event)
        return True

    def close(self, wait: float) -> None:
        """Stop what runs, let the agent report it and exit (it does once nothing runs)."""
        self.send({"op": "stop_all", "reason": "stopped", "kill": True})
        self.flush()
        with contextlib.suppress(BrokenPipeError):
            self._requests.close()
        deadline = time.monotonic() + wait
        while not self.ended and time.monotonic() < deadline:  # it ends when nothing runs
            self.receive(max(0.0, deadline - time.monotonic()))
        try:
            self._proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()  # type: ignore[union-attr]


def _readiness_probe(spec: AttemptSpec) -> Probe | None:
    """A daemon's ``readinessProbe`` as the local backend runs it (``None``: it has none)."""
    raw = spec.container.extra.get("readinessProbe")
    if not isinstance(raw, Mapping):
        return None
    try:
        return Probe.of(raw)
    except ValueError as err:
        raise KjobError(f"{err} (template '{spec.template_name}')") from None


def _remove(attempt: _Attempt) -> None:
    """Remove an attempt's working directory: two ``rmdir`` when the task left nothing (most do),
    else the whole tree."""
    try:
        if attempt.private_tmp is not None:
            os.rmdir(attempt.private_tmp)
        os.rmdir(attempt.workdir)
    except OSError:
        shutil.rmtree(attempt.workdir, ignore_errors=True)


def _wait_for_earlier_agents(journal: Journal) -> None:
    """Wait until every agent an earlier kjob of this run left running has taken all the requests
    that kjob sent (so nothing it was asked to start starts behind our back)."""
    deadline = time.monotonic() + _AGENT_WAIT
    while time.monotonic() < deadline:
        busy = [
            a
            for a in journal.agents()
            if not a.get("orphaned") and "ended" not in a and _alive(int(a["pid"]))
        ]
        if not busy:
            return
        time.sleep(0.05)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a pid reused by something else is not our agent
        return b"kjob.backends.localnode" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: trust the pid


def _signal_attempt(pid: int, attempt_id: str, sig: signal.Signals) -> None:
    """Signal the process group of an attempt an earlier agent started, if ``pid`` is still that
    attempt's process (a pid reused by another program is left alone)."""
    if attempt_of(pid) == attempt_id:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


def _stop_orphan(pid: int, attempt_id: str) -> None:
    """SIGTERM an attempt an earlier agent runs, SIGKILL after the grace period."""
    _signal_attempt(pid, attempt_id, signal.SIGTERM)
    timer = threading.Timer(STOP_GRACE, _signal_attempt, args=(pid, attempt_id, signal.SIGKILL))
    timer.daemon = True
    timer.start()


def _done_of(event: AttemptFinished, *, started: float, finished: float) -> Done:
    return Done(
        phase=event.phase.value,
        started=started,
        finished=finished,
        exit_code=event.exit_code,
        message=event.message,
        result=event.result,
        parameters=dict(event.parameters),
        artifacts=dict(event.artifacts),
        missing_outputs=list(event.missing_outputs),
    )


def _replayed(done: Done, attempt_id: str, at: float) -> AttemptFinished:
    return AttemptFinished(
        attempt_id,
        AttemptPhase(done.phase),
        at,
        exit_code=done.exit_code,
        message=done.message,
        result=done.result,
        parameters=done.parameters,
        artifacts=done.artifacts,
        missing_outputs=tuple(done.missing_outputs),
    )


def _failure_reason(spec: AttemptSpec, ended: Exit, cancelled: str) -> str | None:
    """Why an attempt failed (deadline, stopped, non-zero exit), or ``None`` if it exited 0."""
    code = ended.code
    if ended.timed_out:
        return f"exceeded its deadline of {spec.deadline:g}s"
    if cancelled or ended.stopped:
        return cancelled or ended.stopped
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


def _write_script(workdir: str, source: str) -> str:
    """The script's absolute path, written executable: ``command: [sh, -c]`` runs it by that path
    (a relative name would be looked up in PATH), as on Kubernetes."""
    path = Path(workdir, _SCRIPT_NAME).absolute()
    path.write_text(source)
    path.chmod(0o755)
    return str(path)
