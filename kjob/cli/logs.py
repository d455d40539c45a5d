"""``kjob logs RUN [TASK]``: print what a run's tasks printed, tasks in the order they ran.  A local run's
logs are files in its run directory; a Kubernetes run's are read from its pods, as ``kubectl logs``
would.  The reading is :mod:`kjob.runs.logs`; this module parses options and prints."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from kjob.cli import console
from kjob.cli.runargs import complete_run, complete_task, where_options
from kjob.cli.verbatim import Verbatim
from kjob.errors import ClusterError, KjobError
from kjob.rundir import RunDir
from kjob.runrecord import RunRecord
from kjob.runs import logs
from kjob.runs.logs import Line, Shown, Window

if TYPE_CHECKING:
    from kjob.backends.kubernetes.cluster import Cluster


def _since(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    """``--since``: a Go duration, in seconds."""
    if value is None:
        return None
    from kjob.spec.durations import parse_duration

    try:
        return parse_duration(value)
    except KjobError as err:
        raise click.BadParameter(f"{err.message} (e.g. 30s, 5m, 1h30m)") from None


@click.command("logs")
@click.argument("run", shell_complete=complete_run)
@click.argument("task", required=False, shell_complete=complete_task)
@click.option("-f", "--follow", is_flag=True, help="Print new lines, and new tasks', until the run ends.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N", help="The last N lines of each attempt.")
@click.option(
    "--since",
    metavar="DURATION",
    callback=_since,
    help="Only lines written in the last DURATION (30s, 5m, 1h).",
)
@click.option("--timestamps", is_flag=True, help="Start each line with the time it was written (UTC).")
@click.option(
    "--attempt", type=click.IntRange(min=0), metavar="N", help="Attempt N of each task (0 is the first)."
)
@click.option("--all-attempts", is_flag=True, help="Every attempt, not only the last one.")
@where_options
def command(
    run: str,
    task: str | None,
    follow: bool,
    tail: int | None,
    since: float | None,
    timestamps: bool,
    attempt: int | None,
    all_attempts: bool,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Print the logs of RUN: every task's lines prefixed with its name, or one TASK's as they are.

    Tasks come in the order they ran.  TASK is a task name (all of its fan-out items), a fan-out item's
    id, or a nested task's id (outer.inner).  With -f, a run still going is followed until it ends.
    A Kubernetes run is read from its pods, also one started on another machine."""
    if attempt is not None and all_attempts:
        raise click.BadParameter("give --attempt N or --all-attempts, not both", param_hint="--attempt")
    from kjob.runs.query import get_run

    def read() -> RunRecord:
        return get_run(run, backend=backend, namespace=namespace, kubeconfig=kubeconfig, context=context)

    record = read()
    window = Window(tail=tail, since=None if since is None else _now() - since)

    def choose_from(rec: RunRecord) -> list[Shown]:
        return logs.choose(rec, task, attempt=attempt, all_attempts=all_attempts, not_yet=follow)

    def check(rec: RunRecord) -> list[Shown]:
        """The same, where a task not seen is an error (once the run ended, for ``-f``)."""
        return logs.choose(rec, task, attempt=attempt, all_attempts=all_attempts)

    shown = choose_from(record) if follow and not record.finished_phase else check(record)
    one_node = task is not None and any(n.id == task and not n.group for n in record.nodes)
    printer = _Printer(prefix=not one_node or all_attempts, numbered=all_attempts, timestamps=timestamps)
    if record.backend != "kubernetes":
        _print_local(
            RunDir.find(record.run_id), record, shown, choose_from, window, printer, check, follow=follow
        )
        return
    gone: list[str] = []
    with _cluster(record.run_id, kubeconfig, context, namespace or record.namespace) as cluster:
        source = logs.ClusterLogs(cluster, record.run_id)
        if follow and not record.finished_phase:
            for s, got in logs.follow_cluster(read, source, choose_from, window):
                if got is None:
                    gone.append(s.node)
                else:
                    printer.line(s, got)
                    printer.flush()
                if printer.gone:
                    break
            else:
                final = read()
                check(final)
                if not final.finished_phase:
                    console.notice(
                        f"run {record.run_id} has had no Job going for a while and no end recorded "
                        f"(was its kjob stopped?): `kjob resume {record.run_id}` finishes it"
                    )
        else:
            source.locate(shown)
            for s in shown:
                lines = source.lines(s, window)
                if lines is None:
                    gone.append(s.node)
                for line in lines or []:
                    printer.line(s, line)
    printer.flush()
    if gone:
        console.notice(
            f"no pod left for {', '.join(sorted(set(gone)))}: the cluster has deleted it "
            "(Job TTL or pod garbage collection), and its log with it"
        )


def _print_local(
    run_dir: RunDir,
    record: RunRecord,
    shown: list[Shown],
    choose_from: Callable[[RunRecord], list[Shown]],
    window: Window,
    printer: _Printer,
    check: Callable[[RunRecord], list[Shown]],
    *,
    follow: bool,
) -> None:
    """A local run's logs from its files; followed while a kjob still runs it (then ``check`` says
    if what was asked for never came)."""
    timed = printer.timestamps or window.since is not None
    if follow and not record.finished_phase and run_dir.watched():
        for s, line in logs.follow_local(run_dir, choose_from, window, timed=timed):
            printer.line(s, line)
            printer.flush()
            if printer.gone:
                return
        record = logs.read_record(run_dir)  # as the run ended
    else:
        local = logs.LocalLogs(run_dir, timed=timed)
        for s in shown:
            for line in local.lines(s, window) or []:
                printer.line(s, line)
    printer.flush()
    check(record)
    if not record.finished_phase and not run_dir.watched():
        console.notice(
            f"run {run_dir.run_id} is recorded as Running but no kjob is watching it (was it killed?): "
            f"`kjob resume {run_dir.run_id}` finishes it"
        )


def _now() -> float:
    import time

    return time.time()


class _Printer:
    """Each line as ``TASK: TIME TEXT`` (the parts asked for), the task's label in bold on a terminal."""

    def __init__(self, *, prefix: bool, numbered: bool, timestamps: bool) -> None:
        self.prefix = prefix
        self.numbered = numbered
        self.timestamps = timestamps
        self.out = Verbatim()
        self._stamped: tuple[float | None, str] = (None, "")

    def line(self, shown: Shown, line: Line) -> None:
        label = f"{shown.label(numbered=self.numbered)}: " if self.prefix else ""
        text = line.text
        if self.timestamps and line.at is not None:  # a node may keep no times (realk8s's kubelet)
            if line.at != self._stamped[0]:  # the lines of one piece of output share their time
                self._stamped = (line.at, logs.format_stamp(line.at))
            text = f"{self._stamped[1]} {text}"
        self.out.line((label, "bold"), text)

    def flush(self) -> None:
        self.out.flush()

    @property
    def gone(self) -> bool:
        """Whoever read the output went away (``kjob logs -f RUN | head``): following can stop."""
        return bool(getattr(self.out.out.file, "broken", False))


class _cluster:  # a context manager, named like open()
    """The cluster connection for a Kubernetes run's logs; API failures become one-line errors."""

    def __init__(
        self, run_id: str, kubeconfig: str | None, context: str | None, namespace: str | None
    ) -> None:
        from kjob.backends.kubernetes import connect

        self.run_id = run_id
        self.conn: Cluster = connect(kubeconfig=kubeconfig, context=context, namespace=namespace)

    def __enter__(self) -> Cluster:
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, _tb: object) -> None:
        self.conn.close()
        if err is None:
            return
        import urllib3
        from kubernetes import client

        from kjob.backends.kubernetes.cluster import describe_error

        if isinstance(err, client.ApiException | urllib3.exceptions.HTTPError | OSError):
            raise ClusterError(
                f"could not read the logs of run {self.run_id} from {self.conn.where}: {describe_error(err)}",
                hint="check --kubeconfig/--context/-n, and that you may list and read pods there",
            ) from None
