"""The kubelet of every emulated node (the scheduler, :mod:`.scheduler`, binds pods to them).

It runs the pods bound to any ``Node`` in the store (a pod bound to a node that does not exist
stays ``Pending``, as it would with no kubelet there) and drives each through the phases a real
one reports:

``Pending`` (containers ``waiting: ContainerCreating``) → ``Running`` (``running.startedAt``,
``Ready`` condition) → ``Succeeded``/``Failed`` (``terminated`` with ``exitCode``, ``reason``
``Completed``/``Error``/``OOMKilled``/``StartError``, ``message`` = the termination message).

What a container does comes from the behaviour (:mod:`kjob.testing.emulator.behaviour`). The
termination message is at most 4096 bytes; with ``terminationMessagePolicy:
FallbackToLogsOnError`` an empty message of a failed container is replaced by the last 80 lines /
2048 bytes of its log, as the kubelet does. ``restartPolicy: OnFailure`` (and ``Always``) restart
failed containers in place with the kubelet's doubling back-off (``CrashLoopBackOff``), counting
``restartCount``. A pod's own ``activeDeadlineSeconds`` fails it with reason ``DeadlineExceeded``.
``initContainers`` run one after another before the containers (``waiting: PodInitializing``
until then); one that fails fails a ``restartPolicy: Never`` pod. One with ``restartPolicy: Always``
is a native sidecar: the next starts once it started, it runs beside the containers and is stopped
once they ended (at once: the emulator gives it no grace period).
A deleted pod's containers are stopped (SIGTERM, then SIGKILL after the grace period for host
processes), the pod is marked ``Failed`` unless it had succeeded, and the kubelet's final delete
removes it once no finalizers remain.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from kjob.sandbox import detect_isolation
from kjob.testing.emulator import hostproc
from kjob.testing.emulator.api import Registry
from kjob.testing.emulator.behaviour import Behaviour, HostProcess, Outcome, PodScript, PodView
from kjob.testing.emulator.errors import ApiError, bad_request, not_found
from kjob.testing.emulator.nodes import internal_ip
from kjob.testing.emulator.util import Obj, deepcopy, format_time_nano, int_or, name_of, sub

MAX_TERMINATION_MESSAGE = 4096
FALLBACK_LINES = 80
FALLBACK_BYTES = 2048


# A pod whose containers run as processes of this machine shares its network, as on realk8s.
HOST_POD_IP = "127.0.0.1"


@dataclass
class Run:
    """One run of one container."""

    container: str
    image: str
    outcome: Outcome
    start_at: float
    started: float | None = None
    finish_at: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    logs: str = ""
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None
    termination_path: Path | None = None
    kill_at: float | None = None
    container_id: str = ""

    def log_text(self) -> str:
        if self.log_path is not None and self.log_path.exists():
            return self.log_path.read_bytes().decode(errors="replace")
        return self.logs


@dataclass
class PodRuntime:
    uid: str
    namespace: str
    name: str
    attempt: int
    runs: dict[str, Run] = field(default_factory=dict)
    previous: dict[str, Run] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    crash_until: dict[str, float] = field(default_factory=dict)
    pod_ip: str = ""
    started: float = 0.0
    phase: str = "Pending"
    pod_reason: str = ""
    pod_message: str = ""
    transitions: dict[str, str] = field(default_factory=dict)
    host_ip: str = ""
    root: Path | None = None
    deadline: float | None = None
    inits: dict[str, Run] = field(default_factory=dict)  # init containers that ran or run, in order
    initialized: bool = True  # every init container succeeded (or there is none)


class Kubelet:
    """The kubelets of all the nodes."""

    def __init__(
        self,
        registry: Registry,
        behaviour: Behaviour,
        workdir: Path,
        attempts: dict[str, int],
        *,
        crashloop_backoff: float = 10.0,
        errors: list[str] | None = None,
    ) -> None:
        self.registry = registry
        self.clock = registry.clock
        self.behaviour = behaviour
        self.workdir = workdir
        self.attempts = attempts
        self.crashloop_backoff = crashloop_backoff
        self.pods: dict[str, PodRuntime] = {}
        self._next_ip = 1
        self.errors: list[str] = [] if errors is None else errors
        self._feed = registry.store.feed()

    # ------------------------------------------------------------------------ the loop
    def step(self) -> float | None:
        """Sync the pods that changed or have a container event due (every pod on the first pass);
        returns the emulated time of the next timed event (None: none).

        A sync of any other pod would find nothing to do: it depends only on the pod and its
        runtime state, which changes with time only at the times :meth:`_due` lists (and while a
        host process runs).
        """
        now = self.clock.now()
        events, everything, touched = self.registry.store.drain(self._feed)
        for ev in events:
            if ev.resource == "pods":
                touched.add(str(sub(ev.obj, "metadata").get("uid")))
        live: set[str] = set()
        nodes = {name_of(n): internal_ip(n) for n in self.registry.store.items("nodes")}
        for pod in self.registry.store.items("pods"):  # read-only; writes go through mutate
            m = sub(pod, "metadata")
            uid = str(m.get("uid"))
            live.add(uid)
            if not (everything or uid in touched):
                rt = self.pods.get(uid)
                if rt is None or not any(t <= now for t in self._due(rt)):
                    continue
            host_ip = nodes.get(str(sub(pod, "spec").get("nodeName") or ""))
            if host_ip is None:
                continue  # not scheduled yet, or on a node nobody runs
            try:
                self._sync(pod, now, host_ip)
            except ApiError as e:  # the pod changed under us; next tick sees the new state
                self._feed.retry.add(uid)
                if e.code not in (404, 409):
                    self.errors.append(f"{m.get('name')}: {e.message}")
        for uid in [u for u in self.pods if u not in live]:
            self._forget(uid)
        self._feed.unfinished = False
        return self._next_due(now)

    def _due(self, rt: PodRuntime) -> list[float]:
        """When the pod's runtime state next changes by itself (``-inf``: a host process to poll)."""
        times: list[float] = []
        for run in [*rt.inits.values(), *rt.runs.values()]:
            if run.exit_code is not None:
                continue
            if run.process is not None:
                times.append(float("-inf"))
            elif run.started is None:
                times.append(run.start_at)
            elif run.finish_at is not None:
                times.append(run.finish_at)
        if rt.deadline is not None and rt.phase not in ("Succeeded", "Failed"):
            times.append(rt.deadline)
        return times

    def _next_due(self, now: float) -> float | None:
        future: list[float] = []
        for rt in self.pods.values():
            for t in self._due(rt):
                if t == float("-inf"):
                    return now  # host processes are polled every tick
                if t > now and t != float("inf"):
                    future.append(t)
        return min(future) if future else None

    # ------------------------------------------------------------------------- per pod
    def _sync(self, pod: Obj, now: float, host_ip: str) -> None:
        m = sub(pod, "metadata")
        uid = str(m.get("uid"))
        ns, name = str(m.get("namespace")), str(m.get("name"))
        phase = sub(pod, "status").get("phase")
        rt = self.pods.get(uid)
        if rt is None:
            if phase in ("Succeeded", "Failed"):
                if m.get("deletionTimestamp"):
                    self.registry.finalize_pod(ns, name)
                return
            rt = self._admit(pod, now, host_ip)
        if m.get("deletionTimestamp"):
            self._terminate(pod, rt, now)
            return
        if rt.phase in ("Succeeded", "Failed"):
            return
        spec = sub(pod, "spec")
        ads = spec.get("activeDeadlineSeconds")
        rt.deadline = rt.started + ads if isinstance(ads, int) else None
        if rt.deadline is not None and now >= rt.deadline:
            self._kill_all(rt, now)
            rt.phase, rt.pod_reason = "Failed", "DeadlineExceeded"
            rt.pod_message = "Pod was active on the node longer than the specified deadline"
            self._write(pod, rt, now)
            return
        if not rt.initialized and not self._initialize(pod, rt, now):
            self._write(pod, rt, now)
            return
        policy = str(spec.get("restartPolicy") or "Always")
        for cname, run in list(rt.runs.items()):
            self._advance(pod, rt, run, now)
            if run.exit_code is not None and (
                policy == "Always" or (policy == "OnFailure" and run.exit_code != 0)
            ):
                restarts = rt.restarts.get(cname, 0) + 1
                delay = min(self.crashloop_backoff * 2 ** (restarts - 1), 300.0)
                rt.restarts[cname] = restarts
                rt.previous[cname] = run
                rt.crash_until[cname] = now + delay
                rt.runs[cname] = self._new_run(pod, rt, cname, now + delay, waiting="CrashLoopBackOff")
                rt.runs[
                    cname
                ].waiting_message = (
                    f"back-off {int(delay)}s restarting failed container={cname} pod={name}_{ns}({uid})"
                )
        for run in rt.inits.values():
            if run.process is not None and run.exit_code is None:  # a native sidecar: polled
                code = run.process.poll()
                if code is not None:
                    self._finish_process(run, code, now)
        runs = list(rt.runs.values())
        if runs and all(r.exit_code is not None for r in runs):
            rt.phase = "Succeeded" if all(r.exit_code == 0 for r in runs) else "Failed"
            self._stop_sidecars(rt, now)
        elif any(r.started is not None for r in runs):
            rt.phase = "Running"
        self._write(pod, rt, now)

    def _initialize(self, pod: Obj, rt: PodRuntime, now: float) -> bool:
        """Run the init containers one after another, as a kubelet does: ``True`` once all
        succeeded (the containers may start); one that fails fails the pod (``restartPolicy:
        Never``) or runs again after a back-off."""
        spec = sub(pod, "spec")
        for c in spec.get("initContainers") or []:
            cname = str(c.get("name"))
            run = rt.inits.get(cname)
            if run is None:
                run = rt.inits[cname] = self._new_run(pod, rt, cname, None)
            self._advance(pod, rt, run, now)
            if c.get("restartPolicy") == "Always" and run.exit_code is None:  # a native sidecar
                if run.started is None:
                    return False
                continue  # started: the next one may start, and it runs beside the containers
            if run.exit_code is None:
                return False
            if run.exit_code != 0:
                if str(spec.get("restartPolicy") or "Always") == "Never":
                    rt.phase = "Failed"
                else:
                    restarts = rt.restarts.get(cname, 0) + 1
                    rt.restarts[cname], rt.previous[cname] = restarts, run
                    delay = min(self.crashloop_backoff * 2 ** (restarts - 1), 300.0)
                    rt.inits[cname] = self._new_run(pod, rt, cname, now + delay, waiting="CrashLoopBackOff")
                return False
        rt.initialized = True
        for run in rt.runs.values():
            if run.started is None and run.waiting_reason == "PodInitializing":
                run.start_at, run.waiting_reason = now, "ContainerCreating"
        return True

    def _stop_sidecars(self, rt: PodRuntime, now: float) -> None:
        """The containers ended: stop the native sidecars still running (the kubelet sends SIGTERM
        and waits for the grace period; the emulator kills them at once)."""
        for run in rt.inits.values():
            if run.process is not None and run.exit_code is None:
                _signal(run.process, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    run.process.wait(timeout=5)
                self._finish_process(run, run.process.returncode or 137, now)

    def _container(self, pod: Obj, cname: str) -> Obj:
        for c in [
            *(sub(pod, "spec").get("containers") or []),
            *(sub(pod, "spec").get("initContainers") or []),
        ]:
            if c.get("name") == cname:
                found: Obj = c
                return found
        return {"name": cname}

    def _admit(self, pod: Obj, now: float, host_ip: str) -> PodRuntime:
        m = sub(pod, "metadata")
        uid = str(m.get("uid"))
        rt = PodRuntime(uid, str(m.get("namespace")), str(m.get("name")), self.attempts.get(uid, 0))
        rt.host_ip = host_ip
        rt.pod_ip = f"10.244.{host_ip.rsplit('.', 1)[-1]}.{self._next_ip % 250 + 2}"
        self._next_ip += 1
        rt.started = now
        self.pods[uid] = rt
        rt.initialized = not sub(pod, "spec").get("initContainers")
        for c in sub(pod, "spec").get("containers") or []:
            cname = str(c.get("name"))
            rt.runs[cname] = self._new_run(pod, rt, cname, None)
            if not rt.initialized:
                rt.runs[cname].start_at, rt.runs[cname].waiting_reason = float("inf"), "PodInitializing"
        if any(isinstance(run.outcome, HostProcess) for run in rt.runs.values()):
            rt.pod_ip = HOST_POD_IP
        self._write(pod, rt, now)
        return rt

    def _outcome(self, pod: Obj, rt: PodRuntime, cname: str) -> Outcome:
        containers = [str(c.get("name")) for c in sub(pod, "spec").get("containers") or []]
        view = PodView(deepcopy(pod), rt.attempt, rt.restarts.get(cname, 0))
        main = self.behaviour(view)
        if cname == (containers[0] if containers else cname) or isinstance(main, HostProcess):
            return main
        return PodScript(duration=main.duration, start_delay=main.start_delay)

    def _new_run(
        self, pod: Obj, rt: PodRuntime, cname: str, start_at: float | None, waiting: str = "ContainerCreating"
    ) -> Run:
        outcome = self._outcome(pod, rt, cname)
        now = self.clock.now()
        if start_at is None:
            start_at = now + (outcome.start_delay if isinstance(outcome, PodScript) else 0.0)
        image = str(self._container(pod, cname).get("image") or "")
        run = Run(cname, image, outcome, start_at, waiting_reason=waiting)
        if isinstance(outcome, PodScript) and outcome.stuck_waiting:
            run.waiting_reason = outcome.stuck_waiting
            run.start_at = float("inf")
        return run

    def _advance(self, pod: Obj, rt: PodRuntime, run: Run, now: float) -> None:
        if run.exit_code is not None:
            return
        if run.started is None:
            if now < run.start_at:
                return
            self._start(pod, rt, run, now)
            if run.exit_code is not None:
                return
        if run.process is not None:
            code = run.process.poll()
            if code is None:
                return
            self._finish_process(run, code, now)
        elif run.finish_at is not None and now >= run.finish_at:
            assert isinstance(run.outcome, PodScript)
            self._finish(run, run.outcome.exit_code, now, run.outcome.reason, run.outcome.termination_message)

    def _start(self, pod: Obj, rt: PodRuntime, run: Run, now: float) -> None:
        run.container_id = "containerd://" + self.registry.names.hex(64)
        if isinstance(run.outcome, PodScript):
            run.started = now
            run.logs = run.outcome.logs
            run.finish_at = now + run.outcome.duration
            return
        container = self._container(pod, run.container)
        root = self._root(rt)
        try:
            prepared = hostproc.prepare(
                pod,
                container,
                root,
                self.workdir,
                self._lookup,
                extra_env=run.outcome.extra_env,
                inherit_env=run.outcome.inherit_env,
            )
        except hostproc.ContainerConfigError as e:
            run.waiting_reason, run.waiting_message = "CreateContainerConfigError", str(e)
            run.start_at = now + 0.5
            return
        run.termination_path = prepared.termination_path
        logs = root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        run.log_path = logs / f"{run.container}-{rt.restarts.get(run.container, 0)}.log"
        run.started = now
        if not prepared.argv:
            run.log_path.write_bytes(b"")
            self._finish(
                run,
                128,
                now,
                "StartError",
                "kjob emulator: host-process mode needs spec.containers[].command "
                "(the image's entrypoint is unknown)",
            )
            return
        argv = prepared.argv
        if run.outcome.private_tmp and detect_isolation().private_tmp:
            (root / "tmp").mkdir(exist_ok=True)
            argv = detect_isolation().wrap(argv, private_dir=str(root / "tmp"), workdir=str(prepared.cwd))
        run.log_file = run.log_path.open("wb")
        try:
            run.process = subprocess.Popen(
                argv,
                cwd=prepared.cwd,
                env=prepared.env,
                stdin=subprocess.DEVNULL,
                stdout=run.log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as e:
            run.log_file.close()
            run.log_file = None
            msg = (
                "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
                "runc create failed: unable to start container process: exec: "
                f'"{prepared.argv[0]}": {e.strerror or e}: unknown'
            )
            self._finish(run, 128, now, "StartError", msg)

    def _finish_process(self, run: Run, code: int, now: float) -> None:
        if run.log_file is not None:
            run.log_file.close()
            run.log_file = None
        exit_code = 128 - code if code < 0 else code
        message = ""
        if run.termination_path is not None and run.termination_path.exists():
            message = run.termination_path.read_bytes()[:MAX_TERMINATION_MESSAGE].decode(errors="replace")
        self._finish(run, exit_code, now, None, message)

    def _finish(self, run: Run, exit_code: int, now: float, reason: str | None, message: str) -> None:
        run.exit_code = exit_code
        run.finished = now
        run.reason = reason or ("Completed" if exit_code == 0 else "Error")
        run.message = message.encode()[:MAX_TERMINATION_MESSAGE].decode(errors="ignore")
        run.process = None

    def _apply_fallback(self, pod: Obj, run: Run) -> None:
        container = self._container(pod, run.container)
        if (
            container.get("terminationMessagePolicy") == "FallbackToLogsOnError"
            and not run.message
            and run.exit_code
        ):
            lines = run.log_text().splitlines(keepends=True)[-FALLBACK_LINES:]
            run.message = "".join(lines).encode()[-FALLBACK_BYTES:].decode(errors="ignore")

    def _kill_all(self, rt: PodRuntime, now: float, grace: float = 0.0) -> None:
        """Stop every running container: SIGTERM, then SIGKILL once ``grace`` has passed."""
        for run in [*rt.inits.values(), *rt.runs.values()]:
            if run.exit_code is not None or run.started is None:
                continue
            if run.process is not None:
                if run.kill_at is None:
                    run.kill_at = now + grace
                    _signal(run.process, signal.SIGTERM)
                if now >= run.kill_at:
                    _signal(run.process, signal.SIGKILL)
                code = run.process.poll()
                if code is None:
                    continue
                self._finish_process(run, code, now)
                run.reason = "Error" if run.exit_code else "Completed"
            else:
                self._finish(run, 137, now, "Error", "")

    def _terminate(self, pod: Obj, rt: PodRuntime, now: float) -> None:
        grace = float(int_or(sub(pod, "metadata").get("deletionGracePeriodSeconds"), 0))
        self._kill_all(rt, now, grace=grace)
        if any(r.process is not None for r in [*rt.inits.values(), *rt.runs.values()]):
            return
        if rt.phase != "Succeeded":
            rt.phase = "Failed"
        self._write(pod, rt, now)
        self.registry.finalize_pod(rt.namespace, rt.name)

    # ------------------------------------------------------------------------- status
    def _write(self, pod: Obj, rt: PodRuntime, now: float) -> None:
        ts = self.clock.timestamp
        statuses: list[Obj] = []
        for c in sub(pod, "spec").get("containers") or []:
            cname = str(c.get("name"))
            run = rt.runs.get(cname)
            if run is None:
                continue
            if run.exit_code is not None:
                self._apply_fallback(pod, run)
            statuses.append(self._container_status(rt, run, cname))
        inits = [
            self._container_status(rt, rt.inits[str(c.get("name"))], str(c.get("name")))
            for c in sub(pod, "spec").get("initContainers") or []
            if str(c.get("name")) in rt.inits
        ]
        ready = rt.phase == "Running" and all(s["ready"] for s in statuses)
        names = [s["name"] for s in statuses if not s["ready"]]

        def cond(type_: str, ok: bool, reason: str = "", message: str = "") -> Obj:
            key = f"{type_}={ok}"
            if rt.transitions.get(type_, "").split("@")[0] != key:
                rt.transitions[type_] = f"{key}@{ts(now)}"
            c: Obj = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None}
            c["lastTransitionTime"] = rt.transitions[type_].split("@")[1]
            if reason:
                c["reason"] = reason
            if message:
                c["message"] = message
            return c

        done = rt.phase in ("Succeeded", "Failed")
        done_reason = (
            "PodCompleted" if rt.phase == "Succeeded" else "PodFailed" if done else "ContainersNotReady"
        )
        unready_msg = "" if done else f"containers with unready status: [{' '.join(names)}]"
        conditions = [
            cond("PodReadyToStartContainers", not done),
            cond("Initialized", rt.initialized or done, "PodCompleted" if done else ""),
            cond("Ready", ready, "" if ready else done_reason, "" if ready else unready_msg),
            cond("ContainersReady", ready, "" if ready else done_reason, "" if ready else unready_msg),
        ]

        desired: Obj = {
            "phase": rt.phase,
            "hostIP": rt.host_ip,
            "hostIPs": [{"ip": rt.host_ip}],
            "podIP": rt.pod_ip,
            "podIPs": [{"ip": rt.pod_ip}],
            "startTime": ts(rt.started),
            "containerStatuses": statuses,
            **({"initContainerStatuses": inits} if inits else {}),
        }
        if rt.pod_reason:
            desired["reason"] = rt.pod_reason
            desired["message"] = rt.pod_message
        current = sub(pod, "status")
        sched = [c for c in current.get("conditions") or [] if c.get("type") == "PodScheduled"]
        desired["conditions"] = conditions + sched
        if all(current.get(k) == v for k, v in desired.items()):
            return  # nothing new to report: skip the write (and its copies)

        def update(p: Obj) -> None:
            status: Obj = p.setdefault("status", {})
            status.update(desired)
            status["conditions"] = conditions + [
                c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"
            ]

        self.registry.mutate("pods", rt.namespace, rt.name, update)

    def _container_status(self, rt: PodRuntime, run: Run, cname: str) -> Obj:
        ts = self.clock.timestamp
        image = run.image if ":" in run.image.rsplit("/", 1)[-1] else run.image + ":latest"
        status: Obj = {
            "name": cname,
            "image": image,
            "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{'0' * 64}",
            "ready": False,
            "restartCount": rt.restarts.get(cname, 0),
            "started": False,
            "lastState": {},
        }
        if run.started is not None:
            status["containerID"] = run.container_id
        if run.exit_code is not None:
            term: Obj = {
                "exitCode": run.exit_code,
                "reason": run.reason,
                "startedAt": ts(run.started if run.started is not None else run.finished),
                "finishedAt": ts(run.finished),
                "containerID": run.container_id,
            }
            if run.message:
                term["message"] = run.message
            status["state"] = {"terminated": term}
        elif run.started is not None:
            status["state"] = {"running": {"startedAt": ts(run.started)}}
            status["ready"] = True
            status["started"] = True
        else:
            waiting: Obj = {"reason": run.waiting_reason}
            if run.waiting_message:
                waiting["message"] = run.waiting_message
            status["state"] = {"waiting": waiting}
        prev = rt.previous.get(cname)
        if prev is not None and prev.exit_code is not None:
            status["lastState"] = {
                "terminated": {
                    "exitCode": prev.exit_code,
                    "reason": prev.reason,
                    "startedAt": ts(prev.started or prev.finished),
                    "finishedAt": ts(prev.finished),
                    "containerID": prev.container_id,
                    **({"message": prev.message} if prev.message else {}),
                }
            }
        return status

    # ------------------------------------------------------------------------ helpers
    def _lookup(self, plural: str, namespace: str, name: str) -> Obj | None:
        return self.registry.store.get(plural, namespace, name)

    def _root(self, rt: PodRuntime) -> Path:
        if rt.root is None:
            rt.root = self.workdir / "pods" / rt.namespace / f"{rt.name}-{rt.uid[:8]}"
            rt.root.mkdir(parents=True, exist_ok=True)
        return rt.root

    def _forget(self, uid: str) -> None:
        rt = self.pods.pop(uid)
        for run in [*rt.inits.values(), *rt.runs.values(), *rt.previous.values()]:
            if run.process is not None:
                _signal(run.process, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    run.process.wait(timeout=5)
            if run.log_file is not None:
                run.log_file.close()
        if rt.root is not None:
            shutil.rmtree(rt.root, ignore_errors=True)

    def shutdown(self) -> None:
        """Kill every host process (SIGKILL) and forget every pod."""
        for uid in list(self.pods):
            self._forget(uid)

    # --------------------------------------------------------------------------- logs
    def logs(self, pod: Obj, container: str | None, previous: bool) -> tuple[str, float, bool]:
        """``(text, started_at, still_running)`` for ``GET .../pods/{name}/log``."""
        m = sub(pod, "metadata")
        name = str(m.get("name"))
        names = [str(c.get("name")) for c in sub(pod, "spec").get("containers") or []]
        if container is None:
            if len(names) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                )
            container = names[0]
        inits = [str(c.get("name")) for c in sub(pod, "spec").get("initContainers") or []]
        if container not in names and container not in inits:
            raise bad_request(f"container {container} is not valid for pod {name}")
        rt = self.pods.get(str(m.get("uid")))
        run = None
        if rt is not None:
            run = (
                rt.previous.get(container) if previous else rt.runs.get(container) or rt.inits.get(container)
            )
        if previous and run is None:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        if run is None or run.started is None:
            reason = run.waiting_reason if run is not None else "ContainerCreating"
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
        return run.log_text(), run.started, run.exit_code is None


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def format_log(
    text: str, started: float, *, tail_lines: int | None, limit_bytes: int | None, timestamps: bool
) -> bytes:
    """Apply ``tailLines``, ``timestamps`` and ``limitBytes`` as the kubelet's log reader does."""
    lines = text.splitlines(keepends=True)
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    if timestamps:
        stamp = format_time_nano(started)
        lines = [f"{stamp} {line}" for line in lines]
    data = "".join(lines).encode()
    if limit_bytes is not None:
        data = data[:limit_bytes]
    return data


def pod_not_found(name: str) -> ApiError:
    return not_found("pods", "", name)
