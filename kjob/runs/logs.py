"""What a run's tasks printed, read as ``kjob logs`` shows it and the web page reuses it.

Which attempts to show is decided from the run's record (:func:`choose`): tasks in the order they ran,
the last attempt of each (or one numbered attempt, or all of them).  Their lines come from a
:class:`LogSource`: :class:`LocalLogs` reads a local run's log files (and when each piece was written,
:mod:`kjob.backends.logtimes`); :class:`ClusterLogs` reads a Kubernetes run's pods as ``kubectl logs``
does.  :func:`follow_local` and :func:`follow_cluster` keep reading, new tasks included, until the run
ended.  :func:`failed_attempts` and :func:`last_lines` are what a failed run's summary shows.
"""

from __future__ import annotations

import collections
import datetime
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from kjob.backends.logtimes import ChunkTimes, read_times
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.runrecord import FAILED, FINISHED, NodeRecord, RunRecord

if TYPE_CHECKING:
    from kjob.backends.kubernetes.cluster import Cluster


@dataclass(frozen=True, slots=True)
class Shown:
    """One attempt whose log is shown: its node, its number (0 for the first) and its record."""

    node: str
    task: str
    number: int
    attempt_id: str
    log: str  # relative to the run directory
    started: float | None
    finished: float | None

    @property
    def key(self) -> tuple[str, int]:
        return self.node, self.number

    def label(self, *, numbered: bool) -> str:
        return f"{self.node}#{self.number}" if numbered else self.node


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a log (without its newline) and when it was written, if known."""

    text: str
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Which lines of each attempt: the last ``tail`` (all if ``None``), those written at or after
    ``since`` (wall-clock seconds)."""

    tail: int | None = None
    since: float | None = None

    def select(self, lines: Iterable[Line], *, ended: float | None = None) -> Iterator[Line]:
        """The lines in the window, read as they come (at most ``tail`` held at once).  A line of
        unknown time counts as written when its attempt ``ended`` (no later), or as recent if it has
        not ended."""
        if self.since is not None:
            since = self.since
            undated_old = ended is not None and ended < since
            lines = (line for line in lines if (line.at >= since if line.at is not None else not undated_old))
        if self.tail is None:
            yield from lines
        elif self.tail:
            yield from collections.deque(lines, maxlen=self.tail)

    def apply(self, lines: Iterable[Line], *, ended: float | None = None) -> list[Line]:
        return list(self.select(lines, ended=ended))


class LogSource(Protocol):
    """Where the lines of an attempt come from."""

    def lines(self, shown: Shown, window: Window) -> Iterable[Line] | None:
        """The attempt's lines in ``window``; ``None`` when its log is gone (a deleted pod)."""
        ...


# ------------------------------------------------------------------------------- which attempts
def choose(
    record: RunRecord,
    task: str | None = None,
    *,
    attempt: int | None = None,
    all_attempts: bool = False,
    not_yet: bool = False,
) -> list[Shown]:
    """The attempts to show, tasks in the order they ran (first attempt queued first), a task's
    attempts in order.  ``task`` is a node id, a task name (every node of that task, fan-out items
    included) or a fan-out's id (its items); ``attempt`` picks attempt N of each (0 is the first).
    ``not_yet``: a task or attempt the run has not come to (or not recorded yet) is no error: it is
    followed until it comes."""

    def named(node: NodeRecord) -> bool:
        return task is None or node.id == task or node.task == task or node.id.startswith(task + "(")

    nodes = [n for n in record.nodes if n.attempts and named(n)]
    if not nodes and task is not None and not not_yet:
        names = ", ".join(sorted({n.task for n in record.nodes if n.attempts})) or "none"
        raise KjobError(f"run {record.run_id} has no task '{task}'", hint=f"tasks with logs: {names}")
    order = {n.id: i for i, n in enumerate(nodes)}
    nodes.sort(key=lambda n: (_first_time(n), order[n.id]))
    shown: list[Shown] = []
    for node in nodes:
        last = len(node.attempts) - 1
        for number in range(len(node.attempts)):
            picked = number == attempt if attempt is not None else all_attempts or number == last
            if picked:
                shown.append(_shown(node, number))
    if attempt is not None and not shown and nodes and not not_yet:
        most = max(len(n.attempts) for n in nodes)
        what = f"task '{task}'" if task is not None else f"run {record.run_id}"
        raise KjobError(
            f"{what} has no attempt {attempt}",
            hint=f"attempts are numbered from 0; the most any task made is {most} (0 to {most - 1})",
        )
    return shown


def _shown(node: NodeRecord, number: int) -> Shown:
    a = node.attempts[number]
    return Shown(node.id, node.task, number, a.id, a.log, a.started, a.finished)


def _first_time(node: NodeRecord) -> float:
    first = node.attempts[0]
    for t in (first.started, first.queued):
        if t is not None:
            return t
    return math.inf


# ------------------------------------------------------------------------------------- local
BLOCK = 1 << 20  # bytes of a log read at once


def _tail_start(f: BinaryIO, count: int) -> int:
    """Where to start reading ``f`` to have its last ``count`` lines (and a cut one before them)."""
    pos = f.seek(0, os.SEEK_END)
    newlines = 0
    while pos > 0 and newlines <= count:
        step = min(BLOCK, pos)
        pos -= step
        f.seek(pos)
        newlines += f.read(step).count(b"\n")
    return pos


class LocalLogs:
    """A local run's logs: the files in its run directory, and when their pieces were written."""

    def __init__(self, run_dir: RunDir, *, timed: bool = True) -> None:
        self.run_dir = run_dir
        self.timed = timed  # whether lines carry their times (not needed without --timestamps/--since)
        self._times: dict[str, ChunkTimes] | None = None

    def lines(self, shown: Shown, window: Window) -> Iterator[Line]:
        """The attempt's lines in ``window``, read a block at a time (a log of any size is printed in
        little memory); with ``tail`` alone, only the end of the file is read.  An attempt with no
        log file (never started, or removed) has no lines."""
        tail = window.tail if window.since is None else None
        return window.select(self._stream(shown, tail), ended=shown.finished)

    def _stream(self, shown: Shown, tail: int | None) -> Iterator[Line]:
        path = self.run_dir.path / shown.log
        try:
            f = path.open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return
        except OSError as err:
            raise KjobError(f"cannot read the log of {shown.node}: {path}: {err.strerror}") from None
        with f:
            offset = _tail_start(f, tail) if tail is not None else 0
            partial = offset > 0  # the first line read is cut: not shown
            f.seek(offset)
            pending = b""
            while True:
                block = f.read(BLOCK)
                data = pending + block
                lines, next_offset = self._split(shown, data, offset, final=not block)
                yield from lines[1:] if partial and lines else lines
                partial = partial and not lines
                pending, offset = data[next_offset - offset :], next_offset
                if not block:
                    return

    def read_new(self, shown: Shown, offset: int, *, final: bool) -> tuple[list[Line], int]:
        """The complete lines written from ``offset`` on (and a last unterminated one if ``final``),
        and the offset to read from next."""
        data = self._read(shown, offset)
        if not data:
            return [], offset
        return self._split(shown, data, offset, final=final)

    def forget_times(self) -> None:
        """Read the line times again on next use (more was written since)."""
        self._times = None

    def _read(self, shown: Shown, offset: int) -> bytes | None:
        try:
            with (self.run_dir.path / shown.log).open("rb") as f:
                f.seek(offset)
                return f.read()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def _split(self, shown: Shown, data: bytes, offset: int, *, final: bool) -> tuple[list[Line], int]:
        """The lines in ``data`` (read at ``offset``), and the offset after the last one taken."""
        if not self.timed:
            cut = len(data) if final else data.rfind(b"\n") + 1
            texts = data[:cut].decode(errors="replace").split("\n")
            if not cut or data[cut - 1 : cut] == b"\n":
                texts.pop()
            return [Line(text.removesuffix("\r")) for text in texts], offset + cut
        times = self._chunk_times().get(shown.attempt_id)
        lines: list[Line] = []
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            if end < 0:
                if not final:
                    break
                end = len(data)
            text = data[start:end].decode(errors="replace").removesuffix("\r")
            last_byte = offset + (end if end < len(data) else len(data) - 1)  # its newline, if any
            at = times.at(last_byte) if times else None
            lines.append(Line(text, at))
            start = end + 1
        return lines, offset + min(start, len(data))

    def _chunk_times(self) -> dict[str, ChunkTimes]:
        if self._times is None:
            self._times = read_times(self.run_dir.path / "node")
        return self._times


UNWATCHED_GRACE = 2.0  # seconds


def follow_local(
    run_dir: RunDir,
    choose_from: Callable[[RunRecord], list[Shown]],
    window: Window,
    *,
    timed: bool = True,
    poll: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[Shown, Line]]:
    """Every line of the chosen attempts as it is written, new attempts included, until the record
    says the run ended (then what is left is read, and the iteration ends).  The ``window`` applies
    to what was written before following began; what comes later is all shown.

    A run recorded as running that no kjob watches any more (it was killed) ends the iteration too:
    nothing will write to it until ``kjob resume``."""
    local = LocalLogs(run_dir, timed=timed)
    following: dict[str, Shown] = {}  # by attempt id, in the order they were first chosen
    offsets: dict[str, int] = {}
    unwatched = 0.0  # seconds the run has been seen running with no kjob watching it
    while True:
        watched = run_dir.watched()
        record = RunRecord.read(run_dir.record, run_id=run_dir.run_id)
        unwatched = 0.0 if watched else unwatched + poll
        # kjob lets go of a run just before it records the end: a moment without a watcher is that
        ended = record.phase in FINISHED or unwatched > UNWATCHED_GRACE
        local.forget_times()
        for shown in choose_from(record):
            following.setdefault(shown.attempt_id, shown)
        # an attempt once followed is read to its end, even after a retry took its place
        for shown in list(following.values()):
            if shown.attempt_id not in offsets:
                lines, offsets[shown.attempt_id] = local.read_new(shown, 0, final=ended)
                for line in window.apply(lines, ended=shown.finished):
                    yield shown, line
                continue
            lines, offsets[shown.attempt_id] = local.read_new(shown, offsets[shown.attempt_id], final=ended)
            for line in lines:
                yield shown, line
        if ended:
            return
        sleep(poll)


# ----------------------------------------------------------------------------------- cluster
class ClusterLogs:
    """A Kubernetes run's logs, read from its pods through the official client as ``kubectl logs``
    reads them (``tailLines``, ``sinceSeconds``, ``timestamps``, ``follow``)."""

    def __init__(self, cluster: Cluster, run_id: str) -> None:
        self.cluster = cluster
        self.run_id = run_id
        self.pods: dict[tuple[str, int], str | None] = {}

    def locate(self, wanted: Iterable[Shown]) -> None:
        """Find the pods of ``wanted`` (two list requests, whatever their number)."""
        from kjob.backends.kubernetes.podlogs import find_pods

        self.pods.update(find_pods(self.cluster, self.run_id, [(s.node, s.number) for s in wanted]))

    def lines(self, shown: Shown, window: Window) -> list[Line] | None:
        from kubernetes import client

        pod = self.pods.get((shown.node, shown.number))
        if pod is None:
            return None
        try:
            text: str = self.cluster.core.read_namespaced_pod_log(
                pod,
                self.cluster.namespace,
                container="main",
                timestamps=True,
                tail_lines=window.tail,
                since_seconds=_since_seconds(window),
            )
        except client.ApiException as err:
            if err.status == 404:
                return None
            if err.status == 400:  # not started yet (ContainerCreating): nothing printed
                return []
            raise
        return window.apply([stamped(raw) for raw in text.splitlines()], ended=shown.finished)

    def follow(self, shown: Shown, window: Window) -> Iterator[Line] | None:
        """The attempt's lines as its container writes them, until it ends; ``None`` when its pod is
        gone.  A pod not started yet raises :class:`NotStarted`."""
        from kubernetes import client

        pod = self.pods.get((shown.node, shown.number))
        if pod is None:
            return None
        try:
            response = self.cluster.core.read_namespaced_pod_log(
                pod,
                self.cluster.namespace,
                container="main",
                timestamps=True,
                follow=True,
                _preload_content=False,
                tail_lines=window.tail,
                since_seconds=_since_seconds(window),
            )
        except client.ApiException as err:
            if err.status == 404:
                return None
            if err.status == 400:
                raise NotStarted(pod) from None
            raise
        return _stream_lines(response)


MAX_STREAMS = 64  # log streams open at once while following a cluster run
UNKNOWN_PATIENCE = 15.0  # seconds a cluster run may look left alone before following ends


def follow_cluster(
    read: Callable[[], RunRecord],
    logs: ClusterLogs,
    choose_from: Callable[[RunRecord], list[Shown]],
    window: Window,
    *,
    poll: float = 2.0,
) -> Iterator[tuple[Shown, Line | None]]:
    """Every line of the chosen attempts of a Kubernetes run as their containers write them (one
    stream per attempt, as ``kubectl logs -f``), new attempts included, until the run (as ``read``
    gives it) has ended and every stream has ended.  A run the cluster keeps no end of (``Unknown``:
    no Job going and no end noted) counts as ended once it has stayed so for ``UNKNOWN_PATIENCE``
    (a run between two tasks is Unknown for a moment).  ``(shown, None)`` says an attempt's pod is
    gone."""
    events: queue.Queue[tuple[Shown, Line | str | None]] = queue.Queue()
    # by (node, attempt number): a record read from the cluster and one kept here name attempts alike
    live: set[tuple[str, int]] = set()
    done: set[tuple[str, int]] = set()

    def pump(shown: Shown) -> None:
        try:
            stream = logs.follow(shown, window)
            if stream is None:
                events.put((shown, None))
                return
            for line in stream:
                events.put((shown, line))
            events.put((shown, "done"))
        except NotStarted:
            events.put((shown, "later"))
        except Exception as err:  # handed to the reading thread, which raises it
            events.put((shown, f"error: {err}"))

    unknown_since: float | None = None
    while True:
        record = read()
        # Unknown: no Job going and no end noted; between two tasks, or for good once it lasts
        # (a task waiting out its retry backoff is not left alone)
        idle = record.phase == "Unknown" and not any(n.next_retry is not None for n in record.nodes)
        unknown_since = (unknown_since or time.monotonic()) if idle else None
        lasted = unknown_since is not None and time.monotonic() - unknown_since >= UNKNOWN_PATIENCE
        ended = record.phase in FINISHED or lasted
        new = [
            s
            for s in choose_from(record)
            if s.key not in done and s.key not in live and (s.started is not None or ended)
        ]
        new = new[: max(0, MAX_STREAMS - len(live))]  # the rest when streams end
        if new:
            logs.locate(new)
        for shown in new:
            live.add(shown.key)
            threading.Thread(target=pump, args=(shown,), name="kjob-log", daemon=True).start()
        if ended and not live:
            return
        deadline = time.monotonic() + poll
        while (left := deadline - time.monotonic()) > 0:
            try:
                shown, got = events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(got, Line):
                yield shown, got
                continue
            live.discard(shown.key)
            if got is None:
                done.add(shown.key)
                yield shown, None
            elif got == "done" or (got == "later" and ended):
                done.add(shown.key)
            elif got.startswith("error: "):
                raise KjobError(f"could not follow the log of {shown.node}: {got[7:]}")


class NotStarted(Exception):
    """The pod's container has not started, so it has no log to follow yet."""


def _since_seconds(window: Window) -> int | None:
    """``sinceSeconds`` for the kubelet (whole seconds, rounded up; the lines are filtered exactly
    here)."""
    return None if window.since is None else max(1, math.ceil(time.time() - window.since))


def _stream_lines(response: object) -> Iterator[Line]:
    pending = b""
    try:
        for chunk in response.stream(4096):  # type: ignore[attr-defined]
            pending += chunk
            *whole, pending = pending.split(b"\n")
            for raw in whole:
                yield stamped(raw.decode(errors="replace"))
        if pending:
            yield stamped(pending.decode(errors="replace"))
    finally:
        response.release_conn()  # type: ignore[attr-defined]


def stamped(raw: str) -> Line:
    """A kubelet log line with ``timestamps=true``: ``2024-05-01T10:00:00.123456789Z text``."""
    stamp, sep, text = raw.partition(" ")
    at = parse_stamp(stamp) if sep or stamp.endswith("Z") else None
    return Line(text, at) if at is not None else Line(raw)


def parse_stamp(stamp: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time with up to nine fraction digits."""
    head, dot, fraction = stamp.removesuffix("Z").partition(".")
    try:
        when = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None
    if dot and not fraction.isdigit():
        return None
    return when.timestamp() + (float("0." + fraction) if dot else 0.0)


def format_stamp(at: float) -> str:
    """``2026-12-07T18:16:41.123456Z``: UTC, microseconds."""
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def last_lines(source: LogSource, shown: Shown, count: int) -> list[str] | None:
    """The last ``count`` lines an attempt printed (``None`` when its log is gone)."""
    lines = source.lines(shown, Window(tail=count))
    return None if lines is None else [line.text for line in lines]


def read_record(run_dir: RunDir) -> RunRecord:
    return RunRecord.read(Path(run_dir.record), run_id=run_dir.run_id)


def failed_attempts(record: RunRecord) -> list[tuple[NodeRecord, Shown]]:
    """Each failed task that ran (a leaf node that ended Failed or Error with attempts), with its last
    attempt, in the order the tasks ran: what a run's summary and page show the last lines of."""
    failed = [n for n in record.nodes if n.phase in FAILED and n.attempts and not n.group]
    order = {n.id: i for i, n in enumerate(failed)}
    failed.sort(key=lambda n: (_first_time(n), order[n.id]))
    return [(node, _shown(node, len(node.attempts) - 1)) for node in failed]
