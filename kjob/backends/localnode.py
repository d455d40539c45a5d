"""The local node agent: what the kubelet is to a pod, for a local run's task processes.

``kjob run`` starts one agent per local run (``python -m kjob.backends.localnode RUN_DIR``, in its own
session, so a Ctrl-C meant for kjob does not reach it).  kjob sends it one JSON line per request on
its stdin (``start`` an attempt, ``stop`` one, ``stop_all``) and reads one JSON line per event on its
stdout (``started``; ``exited``, with how the attempt ended and, when short, its last stdout bytes;
``failed``).  The agent

- starts each attempt's process in its own process group, with ``KJOB_ATTEMPT_ID`` in its
  environment, first making the directories kjob names (``mkdirs``: an attempt kjob places no
  file in);
- copies its stdout and stderr into the attempt's log as they come, keeping the last bytes of stdout,
  and notes when each piece came (:mod:`kjob.backends.logtimes`);
- enforces its deadline, and stops it (SIGTERM, SIGKILL after a grace period) when asked;
- when the attempt's main process ends, ends the rest of it too, as a container's end does on
  Kubernetes: its process group, and (the agent is a child subreaper) every descendant that left the
  group with ``setsid`` and was handed to the agent when its parent died.  A background child that
  keeps stdout open therefore does not keep the attempt running;
- once an attempt exited 0, removes the directories kjob names (``rmdirs``: an attempt whose
  outputs kjob does not read), if they are empty (the ``exited`` event says whether they went);
- writes each start and each end to the run's journal (:mod:`kjob.backends.localjournal`);
- never waits for kjob to read an event: what kjob has not read yet waits in the agent, so a kjob
  busy sending a thousand requests and an agent answering them cannot block each other.

When kjob goes away (its end of the request pipe closes: killed, crashed, or done), the agent starts
nothing more, lets the attempts already running finish, records how each ended, and exits: a
``kjob resume`` reads the journal (and, while the agent lives, waits for it) instead of losing them.
"""

from __future__ import annotations

import contextlib
import ctypes
import heapq
import itertools
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from kjob import jsonlines
from kjob.backends.localjournal import Exit, Journal, fields_of
from kjob.backends.logtimes import TimesWriter

RESULT_LIMIT = 256 * 1024


def _stop_grace() -> float:
    """Seconds between SIGTERM and SIGKILL when a task is stopped: 3, or ``$KJOB_STOP_GRACE``."""
    try:
        value = float(os.environ.get("KJOB_STOP_GRACE", "3"))
    except ValueError:
        return 3.0
    return value if 0 <= value < 86_400 else 3.0


STOP_GRACE = _stop_grace()
TAIL_IN_EVENT = 4096  # bytes of stdout an ``exited`` event carries itself (kjob reads longer ones)
DRAIN_AFTER_EXIT = 1.0  # seconds to read what is left in the pipes once the attempt's processes ended
_PR_SET_CHILD_SUBREAPER = 36


@dataclass(eq=False)
class _Attempt:
    attempt_id: str
    proc: subprocess.Popen[bytes]
    log: BinaryIO
    deadline: float | None
    tail: bytearray = field(default_factory=bytearray)
    open_streams: int = 2
    code: int | None = None
    timed_out: bool = False
    stopped: str = ""
    drain_until: float | None = None
    rmdirs: tuple[str, ...] = ()  # removed once it ended well, innermost first
    written: int = 0  # bytes in its log


class Agent:
    """One run's processes.  Single-threaded: one selector loop over the request pipe, the attempts'
    output pipes and a SIGCHLD wake-up pipe, plus a heap of timers."""

    def __init__(self, journal: Journal, *, requests: int = 0, events: int = 1) -> None:
        self.journal = journal
        self.times = TimesWriter(journal.path)
        self.requests = requests
        self.events = events
        self.client = True
        self.attempts: dict[str, _Attempt] = {}
        self.by_pid: dict[int, _Attempt] = {}
        self.sel = selectors.DefaultSelector()
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._buffer = b""
        self._outbox = bytearray()  # events kjob has not read yet
        self.started = time.time()

    # -------------------------------------------------------------------------------- loop
    def run(self) -> None:
        _become_subreaper()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(
            signal.SIGTERM, lambda *_: self._stop_all("stopped: kjob's node agent was terminated", kill=False)
        )
        self.sel.register(wake_r, selectors.EVENT_READ, "wake")
        self.sel.register(self.requests, selectors.EVENT_READ, "requests")
        os.set_blocking(self.events, False)
        self.journal.set_agent(os.getpid(), started=self.started, orphaned=False)
        while self.client or self.attempts:
            for key, _ in self.sel.select(self._timeout()):
                if key.data == "wake":
                    os.read(wake_r, 4096)
                elif key.data == "requests":
                    self._read_requests()
                elif key.data == "events":
                    self._send_events()
                else:
                    self._pump(*key.data)
            self._reap()
            self._run_timers()
        self._kill_strays(everything=True)
        self._flush_events()
        self.journal.set_agent(os.getpid(), started=self.started, orphaned=not self.client, ended=time.time())

    def _timeout(self) -> float | None:
        if not self.timers:
            return None
        return max(0.0, self.timers[0][0] - time.monotonic())

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self._seq), action))

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            heapq.heappop(self.timers)[2]()

    # ---------------------------------------------------------------------------- requests
    def _read_requests(self) -> None:
        chunk = os.read(self.requests, 1 << 20)
        if not chunk:  # kjob is gone: start nothing more, finish what runs
            self.sel.unregister(self.requests)
            self.client = False
            self._buffer = b""  # a request cut short by kjob's end was never answered: dropped
            self.journal.set_agent(os.getpid(), started=self.started, orphaned=True)
            return
        self._handle_lines(self._buffer + chunk)

    def _handle_lines(self, data: bytes) -> None:
        *lines, self._buffer = data.split(b"\n")
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self._handle(jsonlines.loads(line))

    def _handle(self, request: dict[str, Any]) -> None:
        op = request["op"]
        if op == "start":
            self._start(request)
        elif op == "stop":
            attempt = self.attempts.get(request["id"])
            if attempt is not None:
                self._stop(attempt, request.get("reason") or "stopped", kill=bool(request.get("kill")))
        elif op == "stop_all":
            self._stop_all(request.get("reason") or "stopped", kill=bool(request.get("kill")))

    def _start(self, request: dict[str, Any]) -> None:
        attempt_id: str = request["id"]
        env = {**os.environ, **request["env"], "KJOB_ATTEMPT_ID": attempt_id}  # kjob's, plus the task's
        try:
            for directory in request.get("mkdirs", ()):
                os.makedirs(directory, exist_ok=True)
        except OSError as err:
            message = f"cannot make the directory {err.filename}: {err.strerror}"
            self._emit({"ev": "failed", "id": attempt_id, "message": message})
            return
        log = open(request["log"], "ab", buffering=0)  # noqa: SIM115 - closed when the attempt ends
        try:
            proc = subprocess.Popen(
                request["argv"],
                cwd=request["cwd"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as err:
            log.close()
            message = f"cannot start {request['argv'][0]}: {err.strerror}"
            self._emit({"ev": "failed", "id": attempt_id, "message": message})
            return
        assert proc.stdout is not None and proc.stderr is not None
        attempt = _Attempt(
            attempt_id,
            proc,
            log,
            request.get("deadline"),
            rmdirs=tuple(request.get("rmdirs", ())),
            written=log.tell(),
        )
        self.attempts[attempt_id] = attempt
        self.by_pid[proc.pid] = attempt
        for stream, name in ((proc.stdout, "out"), (proc.stderr, "err")):
            os.set_blocking(stream.fileno(), False)
            self.sel.register(stream, selectors.EVENT_READ, (attempt, name))
        started = time.time()
        self.journal.set_started(attempt_id, pid=proc.pid, agent=os.getpid(), at=started)
        self._emit({"ev": "started", "id": attempt_id, "pid": proc.pid, "at": started})
        if attempt.deadline is not None:
            self._after(attempt.deadline, lambda: self._deadline(attempt))

    # ------------------------------------------------------------------------------- output
    def _pump(self, attempt: _Attempt, stream: str) -> None:
        pipe = attempt.proc.stdout if stream == "out" else attempt.proc.stderr
        assert pipe is not None
        try:
            chunk = os.read(pipe.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            self._close_stream(attempt, pipe)
            return
        attempt.log.write(chunk)
        attempt.written += len(chunk)
        self.times.wrote(attempt.attempt_id, attempt.written, time.time())
        if stream == "out":
            attempt.tail += chunk
            if len(attempt.tail) > 2 * RESULT_LIMIT:
                del attempt.tail[:-RESULT_LIMIT]

    def _close_stream(self, attempt: _Attempt, pipe: IO[bytes]) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(pipe)
        pipe.close()
        attempt.open_streams -= 1
        self._maybe_end(attempt)

    # -------------------------------------------------------------------------------- ends
    def _reap(self) -> None:
        reaped_any = False
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                break
            if info is None:
                break
            reaped_any = True
            attempt = self.by_pid.pop(info.si_pid, None)
            if attempt is None:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(info.si_pid, 0)  # a stray handed to us as subreaper
                continue
            attempt.code = attempt.proc.wait()
            _signal_group(attempt.proc.pid, signal.SIGKILL)  # the container ends with its main process
            attempt.drain_until = time.monotonic() + DRAIN_AFTER_EXIT
            self._after(DRAIN_AFTER_EXIT, lambda a=attempt: self._end(a))  # type: ignore[misc]
        if reaped_any:
            self._kill_strays(everything=False)
            for attempt in list(self.attempts.values()):
                self._maybe_end(attempt)

    def _maybe_end(self, attempt: _Attempt) -> None:
        if attempt.code is not None and attempt.open_streams == 0:
            self._end(attempt)

    def _end(self, attempt: _Attempt) -> None:
        if self.attempts.get(attempt.attempt_id) is not attempt or attempt.code is None:
            return
        for pipe in (attempt.proc.stdout, attempt.proc.stderr):
            if pipe is not None and not pipe.closed:
                # what a process outside the attempt still holds open is not waited for
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(pipe)
                pipe.close()
        attempt.log.close()
        del self.attempts[attempt.attempt_id]
        ended = Exit(attempt.code, time.time(), timed_out=attempt.timed_out, stopped=attempt.stopped)
        tail = bytes(attempt.tail[-RESULT_LIMIT:])
        self.journal.set_exited(attempt.attempt_id, ended, tail)
        event: dict[str, Any] = {"ev": "exited", "id": attempt.attempt_id, **fields_of(ended)}
        if attempt.rmdirs and attempt.code == 0 and not attempt.timed_out and not attempt.stopped:
            event["cleaned"] = _remove_empty(attempt.rmdirs)
        if len(tail) <= TAIL_IN_EVENT:  # else kjob reads it from the journal
            event["tail"] = tail.decode("latin-1")
        self._emit(event)

    def _kill_strays(self, *, everything: bool) -> None:
        """Kill our children that are no attempt's main process and belong to an attempt that ended
        (``everything``: to any attempt, or to none we know)."""
        mains = {a.proc.pid for a in self.attempts.values() if a.code is None}
        for pid in _children():
            if pid in mains:
                continue
            owner = attempt_of(pid)
            running = owner in self.attempts and self.attempts[owner].code is None
            if everything or (owner is not None and not running):
                _signal_group(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    # -------------------------------------------------------------------------------- stops
    def _deadline(self, attempt: _Attempt) -> None:
        if attempt.code is None and attempt.attempt_id in self.attempts:
            attempt.timed_out = True
            self._stop(attempt, "", kill=False)

    def _stop_all(self, reason: str, *, kill: bool) -> None:
        for attempt in list(self.attempts.values()):
            self._stop(attempt, reason, kill=kill)

    def _stop(self, attempt: _Attempt, reason: str, *, kill: bool) -> None:
        if attempt.code is not None:
            return
        attempt.stopped = attempt.stopped or reason
        if kill:
            _signal_group(attempt.proc.pid, signal.SIGKILL)
            return
        _signal_group(attempt.proc.pid, signal.SIGTERM)
        self._after(STOP_GRACE, lambda: self._stop(attempt, reason, kill=True))

    # ------------------------------------------------------------------------------- events
    def _emit(self, event: dict[str, Any]) -> None:
        if not self.client:
            return
        waiting = bool(self._outbox)
        self._outbox += jsonlines.dumps(event) + b"\n"
        if not waiting:
            self._send_events()

    def _send_events(self) -> None:
        """Write what the events pipe takes now; wait for it to take the rest (never block on it)."""
        try:
            sent = os.write(self.events, self._outbox)
        except BlockingIOError:
            sent = 0
        except OSError:  # kjob is gone
            self.client = False
            sent = len(self._outbox)
        del self._outbox[:sent]
        watched = self.events in self.sel.get_map()
        if self._outbox and not watched:
            self.sel.register(self.events, selectors.EVENT_WRITE, "events")
        elif not self._outbox and watched:
            self.sel.unregister(self.events)

    def _flush_events(self) -> None:
        """Before exiting: hand kjob, if it still reads, what it has not read."""
        if self._outbox:
            with contextlib.suppress(OSError):
                os.set_blocking(self.events, True)
                os.write(self.events, self._outbox)


def _remove_empty(directories: tuple[str, ...]) -> bool:
    """Remove ``directories`` (innermost first) if empty; ``False`` if one is not (kjob removes
    what a task left behind, off this loop)."""
    try:
        for directory in directories:
            os.rmdir(directory)
    except OSError:
        return False
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _become_subreaper() -> None:
    """Orphaned descendants of our attempts become our children (Linux), so none escapes the end of
    its attempt by ``setsid``; elsewhere only the process group is ended."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children() -> list[int]:
    pids: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in Path(f"/proc/self/task/{task}/children").read_text().split()]
    return pids


def attempt_of(pid: int) -> str | None:
    """The attempt a process belongs to (its ``KJOB_ATTEMPT_ID``), if it is ours to see (Linux)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for entry in environ.split(b"\0"):
        if entry.startswith(b"KJOB_ATTEMPT_ID="):
            return entry[len(b"KJOB_ATTEMPT_ID=") :].decode(errors="replace")
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m kjob.backends.localnode RUN_DIR/node", file=sys.stderr)
        return 2
    Agent(Journal(Path(argv[0])).ensure()).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
