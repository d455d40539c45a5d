"""Where the page reads runs from: the run directories under ``$KJOB_HOME/runs`` (a Kubernetes run's
record is kept there too, by the kjob that ran it) and, for a Kubernetes run's logs, its pods.

A record is parsed again only when its file changed (size and mtime), so a page polling a big run
every second costs a ``stat`` until something happens.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kjob.errors import KjobError
from kjob.render.dag_layout import Layout, layout
from kjob.rundir import RunDir, runs_root
from kjob.runrecord import RunRecord
from kjob.ui.model import RunView, run_view, workflow_boxes

if TYPE_CHECKING:
    from kjob.runs.logs import ClusterLogs, Shown

T = TypeVar("T")
RUN_ID = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
LOG_LINES = 5000
CLUSTER_EVERY = 1.0
"""A run read from the cluster is read again at most this often (seconds), however many pages poll it."""
CLUSTER_RETRY = 15.0
"""A cluster that could not tell a run is asked about it again after this long (seconds)."""
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

    def __init__(
        self, *, kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace  # where to look for runs not recorded here (default: the context's)
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple[int, int], Loaded]] = {}
        self._layouts: dict[str, Layout] = {}
        self._remote: dict[str, tuple[float, Loaded]] = {}
        self._failed: dict[str, tuple[float, str]] = {}  # run: (when the cluster could not tell it, why)
        self._workflow_edges_seen: dict[str, list[tuple[str, str]]] = {}  # by run: the workflow copy's
        self._summaries: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}

    def run_dir(self, run_id: str) -> RunDir:
        if not RUN_ID.match(run_id):
            raise NoSuchRun(f"'{run_id}' is not a run id")
        path = runs_root() / run_id
        if not (path / "run.json").is_file():
            raise NoSuchRun(f"no run '{run_id}' under {runs_root()}")
        return RunDir(path)

    def load(self, run_id: str) -> Loaded:
        """The run as recorded on this machine (parsed again only if ``run.json`` changed); or, for a
        Kubernetes run that no kjob here is watching or that was never recorded here, as the cluster
        tells it (:func:`kjob.runs.get_run`, asked at most once per :data:`CLUSTER_EVERY` seconds)."""
        if not RUN_ID.match(run_id):
            raise NoSuchRun(f"'{run_id}' is not a run id")
        local = self._load_local(run_id)
        if local is not None and (
            local.record.backend != "kubernetes"
            or local.record.finished_phase
            or RunDir(runs_root() / run_id).watched()
            or not self.cluster_wanted()
        ):
            return local
        if local is None and not self.cluster_wanted():
            raise NoSuchRun(f"no run '{run_id}' under {runs_root()}")
        return self._load_from_cluster(run_id, local)

    def abandoned(self, loaded: Loaded) -> bool:
        """A local run recorded as going on that no kjob is watching (killed, or the machine
        restarted): its record will not change until ``kjob resume`` picks it up."""
        record = loaded.record
        if record.backend != "local" or record.finished_phase:
            return False
        path = runs_root() / record.run_id
        return (path / "run.json").is_file() and not RunDir(path).watched()

    def _load_local(self, run_id: str) -> Loaded | None:
        path = runs_root() / run_id / "run.json"
        key = _stamp(path)
        if key == (0, 0):
            return None
        with self._lock:
            cached = self._loaded.get(run_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        loaded = self._loaded_of(RunRecord.read(path, run_id=run_id), f'"{key[0]:x}-{key[1]:x}"')
        with self._lock:
            self._loaded[run_id] = (key, loaded)
        return loaded

    def _load_from_cluster(self, run_id: str, local: Loaded | None) -> Loaded:
        from kjob.runs.query import get_run

        with self._lock:
            cached = self._remote.get(run_id)
            failed = self._failed.get(run_id)
        if cached is not None and time.monotonic() - cached[0] < CLUSTER_EVERY:
            return cached[1]
        if failed is not None and time.monotonic() - failed[0] < CLUSTER_RETRY:
            if local is not None:
                return local
            raise NoSuchRun(failed[1])
        try:
            record = get_run(
                run_id, namespace=self.namespace, kubeconfig=self.kubeconfig, context=self.context
            )
        except KjobError as err:
            with self._lock:  # a cluster that cannot answer is asked again only after a while
                self._failed[run_id] = (time.monotonic(), err.message)
            if local is not None:
                return local  # the cluster cannot be asked: what was recorded here
            raise NoSuchRun(err.message) from None
        etag = '"' + hashlib.sha256(record.to_json()).hexdigest()[:16] + '"'
        loaded = cached[1] if cached is not None and cached[1].etag == etag else self._loaded_of(record, etag)
        with self._lock:
            self._remote[run_id] = (time.monotonic(), loaded)
        return loaded

    def _loaded_of(self, record: RunRecord, etag: str) -> Loaded:
        view = run_view(record)
        if not view.edges and len(view.boxes) > 1:
            with self._lock:
                edges = self._workflow_edges_seen.get(record.run_id)
            if edges is None:
                edges = self._workflow_edges(record)
                with self._lock:
                    self._workflow_edges_seen[record.run_id] = edges
            view = run_view(record, edges)
        return Loaded(record, view, self._layout(view), etag)

    def _workflow_edges(self, record: RunRecord) -> list[tuple[str, str]]:
        """The edges between the entrypoint's tasks as the run's copy of its workflow has them, for a
        record written before kjob kept each node's ``depends`` (none if that copy cannot be read)."""
        path = runs_root() / record.run_id / "workflow.yaml"
        if not path.is_file():
            return []
        from kjob.spec import load_file

        try:
            loaded = load_file(path, lenient=True)
        except (KjobError, OSError):
            return []
        named = [w for w in loaded.workflows if w.display_name == record.workflow_name]
        candidates = named or list(loaded.workflows)
        if len(candidates) != 1:
            return []
        try:
            return workflow_boxes(candidates[0])[1]
        except (KjobError, KeyError):
            return []

    def cluster_wanted(self) -> bool:
        """Whether a cluster is configured (``--kubeconfig``, ``$KUBECONFIG``, ``~/.kube/config``)."""
        from kjob.runs.query import Where

        return Where("auto", None, self.kubeconfig, self.context).wants_cluster()

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

    def summaries(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The newest :data:`LISTED` runs, newest first (id, workflow, backend, phase, times,
        progress): those recorded here, and with a cluster configured, those the cluster has
        (:func:`kjob.runs.list_runs`); and a line for each thing that kept some from the list."""
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
        by_id: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for _, path in found[:LISTED]:
            summary = self._summary(RunDir(path))
            if isinstance(summary, str):
                problems.append(summary)
            else:
                by_id[summary["run_id"]] = summary
        if self.cluster_wanted():
            from kjob.runs.query import list_runs

            try:
                listed = list_runs(
                    backend="kubernetes",
                    namespace=self.namespace,
                    kubeconfig=self.kubeconfig,
                    context=self.context,
                )
            except KjobError as err:
                problems.append(f"{err.message}: only the runs recorded on this machine are listed")
            else:
                problems.extend(listed.problems)
                for record in listed.runs[:LISTED]:
                    by_id[record.run_id] = summary_of(record)
        out = sorted(by_id.values(), key=lambda s: (-(s["started"] or 0), s["run_id"]))
        return out[:LISTED], problems

    def _summary(self, run_dir: RunDir) -> dict[str, Any] | str:
        """What the list shows of a run recorded here, or why it cannot show it."""
        key = _stamp(run_dir.record)
        with self._lock:
            cached = self._summaries.get(run_dir.run_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            record = RunRecord.read(run_dir.record, run_id=run_dir.run_id)
        except KjobError as err:
            return err.message
        summary = summary_of(record)
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


def summary_of(record: RunRecord) -> dict[str, Any]:
    """What the runs list shows of a run."""
    return {
        "run_id": record.run_id,
        "workflow": record.workflow_name,
        "backend": record.backend,
        "phase": record.phase,
        "started": record.started,
        "finished": record.finished,
        "progress": list(record.progress()),
    }


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
