"""Where the page reads runs from: the run directories under ``$KJOB_HOME/runs`` (a Kubernetes run's
record is kept there too, by the kjob that ran it) and, for a Kubernetes run's logs, its pods.

A record is parsed again only when its file changed (size and mtime), so a page polling a big run
every second costs a ``stat`` until something happens.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kjob.errors import KjobError
from kjob.render.dag_layout import Layout, layout
from kjob.rundir import RunDir, runs_root
from kjob.runrecord import RunRecord
from kjob.ui.model import RunView, run_view

if TYPE_CHECKING:
    from kjob.runs.logs import ClusterLogs, Shown

T = TypeVar("T")
RUN_ID = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
LOG_LINES = 5000
LISTED = 500


class NoSuchRun(KjobError):
    """The run id names no run directory (or is not a run id at all)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """One parse of a run's record, with what the page draws from it."""

    record: RunRecord
    view: RunView
    drawing: Layout
    etag: str
    #: what was made of this parse once (the drawn SVG, the state document), by name
    made: dict[str, Any] = field(default_factory=dict, compare=False)

    def once(self, name: str, make: Callable[[], T]) -> T:
        """``make()``, called once per parse of the record (the record is immutable; a changed
        ``run.json`` is a new :class:`Loaded`)."""
        if name not in self.made:
            self.made[name] = make()
        value: T = self.made[name]
        return value


class RunSource:
    """Reads runs for the page; safe to share between the server's threads."""

    def __init__(self, *, kubeconfig: str | None = None, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple[int, int], Loaded]] = {}
        self._layouts: dict[str, Layout] = {}
        self._summaries: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}

    def run_dir(self, run_id: str) -> RunDir:
        if not RUN_ID.match(run_id):
            raise NoSuchRun(f"'{run_id}' is not a run id")
        path = runs_root() / run_id
        if not (path / "run.json").is_file():
            raise NoSuchRun(f"no run '{run_id}' under {runs_root()}")
        return RunDir(path)

    def load(self, run_id: str) -> Loaded:
        """The run's record and view, parsed again only if ``run.json`` changed."""
        run_dir = self.run_dir(run_id)
        key = _stamp(run_dir.record)
        with self._lock:
            cached = self._loaded.get(run_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        record = RunRecord.read(run_dir.record, run_id=run_id)
        view = run_view(record)
        drawing = self._layout(view)
        loaded = Loaded(record, view, drawing, f'"{key[0]:x}-{key[1]:x}"')
        with self._lock:
            self._loaded[run_id] = (key, loaded)
        return loaded

    def _layout(self, view: RunView) -> Layout:
        """The layout of a view, computed once per shape (states change; the shape seldom does)."""
        from kjob.render.dag_layout import shape_of

        shape = shape_of(view.boxes, view.edges)
        with self._lock:
            known = self._layouts.get(shape)
        if known is None:
            known = layout(view.boxes, view.edges)
            with self._lock:
                self._layouts[shape] = known
        return known

    def summaries(self) -> list[dict[str, Any]]:
        """The newest :data:`LISTED` runs, newest first: id, workflow, backend, phase, times, progress."""
        root = runs_root()
        found: list[tuple[float, Path]] = []
        if root.is_dir():
            for entry in os.scandir(root):
                try:
                    stat = os.stat(os.path.join(entry.path, "run.json"))
                except OSError:
                    continue
                found.append((stat.st_mtime, Path(entry.path)))
        found.sort(key=lambda f: (-f[0], f[1].name))
        out = []
        for _, path in found[:LISTED]:
            summary = self._summary(RunDir(path))
            if summary is not None:
                out.append(summary)
        out.sort(key=lambda s: (-(s["started"] or 0), s["run_id"]))
        return out

    def _summary(self, run_dir: RunDir) -> dict[str, Any] | None:
        key = _stamp(run_dir.record)
        with self._lock:
            cached = self._summaries.get(run_dir.run_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            record = RunRecord.read(run_dir.record, run_id=run_dir.run_id)
        except KjobError:
            return None
        view = run_view(record)
        summary = {
            "run_id": run_dir.run_id,
            "workflow": record.workflow_name,
            "backend": record.backend,
            "phase": view.phase,
            "started": record.started,
            "finished": record.finished,
            "progress": [view.done, view.total],
        }
        with self._lock:
            self._summaries[run_dir.run_id] = (key, summary)
        return summary

    def logs(
        self, run_id: str, wanted: Iterable[tuple[str, int]], *, tail: int = LOG_LINES
    ) -> dict[str, str]:
        """The last ``tail`` lines of the log of each wanted ``(node id, attempt number)``, keyed
        ``"node#attempt"``, read as ``kjob logs`` reads them; a log that cannot be had says why."""
        from kjob.runs.logs import LocalLogs, LogSource, Window, choose

        loaded = self.load(run_id)
        want = set(wanted)
        shown = [s for s in choose(loaded.record, all_attempts=True) if (s.node, s.number) in want]
        if not shown:
            return {}
        keys = [f"{s.node}#{s.number}" for s in shown]
        source: LogSource
        if loaded.record.backend == "kubernetes":
            try:
                source = self._cluster_logs(loaded.record, shown)
            except KjobError as err:
                return dict.fromkeys(keys, f"(the log could not be read: {err.message})")
        else:
            source = LocalLogs(self.run_dir(run_id))
        out: dict[str, str] = {}
        for key, one in zip(keys, shown, strict=True):
            try:
                lines = source.lines(one, Window(tail=tail))
            except Exception as err:
                out[key] = f"(the log could not be read: {err})"
                continue
            if lines is None:
                out[key] = "(no pod left: the cluster has deleted it, and its log with it)"
            else:
                out[key] = "\n".join(line.text for line in lines)
        return out

    def _cluster_logs(self, record: RunRecord, shown: list[Shown]) -> ClusterLogs:
        """The run's pods, found once per request (two list calls, whatever the number of attempts)."""
        from kubernetes import client

        from kjob.backends.kubernetes import connect
        from kjob.backends.kubernetes.cluster import describe_error
        from kjob.runs.logs import ClusterLogs

        cluster = connect(kubeconfig=self.kubeconfig, context=self.context, namespace=record.namespace)
        source = ClusterLogs(cluster, record.run_id)
        try:
            source.locate(shown)
        except (client.ApiException, OSError) as err:
            raise KjobError(f"cannot list the run's pods: {describe_error(err)}") from None
        return source


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def as_json(data: Any) -> bytes:
    """``data`` as JSON that is safe inside an HTML ``<script>`` too: ASCII only (a lone surrogate
    a task printed stays an escape), and ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()
