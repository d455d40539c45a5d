"""Failures in plain sight: under a run's summary, each failed task's last lines and the exact command
that prints all of them.

    c failed: exit code 3 (retry limit 1 reached). Its last lines:
      line 7
      oops
      all of it: kjob logs demo c

What a task printed is shown as it is: never read as markup or emoji codes (``[bold]``, ``:100:``).
"""

from __future__ import annotations

import shlex
from collections.abc import Collection

from kjob.backends.base import Backend
from kjob.cli import console
from kjob.cli.verbatim import Verbatim
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.runrecord import NodeRecord
from kjob.runs import logs

LAST_LINES = 5  # of each failed task
TASKS_SHOWN = 5  # failed tasks shown in full; the rest are counted
LINE_CHARS = 300  # a longer line is cut (the whole of it is in the log)


def show_failures(run_dir: RunDir, backend: Backend, logless: Collection[str] = ()) -> None:
    """Print the failed tasks of the run recorded in ``run_dir`` (its record is complete), reading
    their logs where ``backend`` ran them (the tasks of the templates ``logless`` names, resource
    templates that kjob performs itself, have none: their message says it all).  Nothing is printed
    for a run without failed tasks, and nothing here changes how the run ends: a record that cannot
    be read is said in one line."""
    try:
        record = logs.read_record(run_dir)
    except KjobError as err:
        console.notice(f"the failed tasks' last lines are not shown: {err.message}")
        return
    failed = logs.failed_attempts(record)
    if not failed:
        return
    if logless:
        out = Verbatim()
        for node, _ in [f for f in failed if f[0].template in logless]:
            out.line()
            out.line((_said(node), "bold"))
        out.flush()
        failed = [f for f in failed if f[0].template not in logless]
        if not failed:
            return
    tails = _last_lines(_source(run_dir, backend), [shown for _, shown in failed[:TASKS_SHOWN]])
    out = Verbatim()
    for (node, _), lines in zip(failed, tails, strict=False):
        out.line()
        said = _said(node)
        if isinstance(lines, str):
            out.line((f"{said}. {lines}", "bold"))
        elif not lines:
            out.line((f"{said}. It printed nothing.", "bold"))
        else:
            out.line((f"{said}. Its last lines:", "bold"))
            for text in lines:
                out.line("  " + (text if len(text) <= LINE_CHARS else text[:LINE_CHARS] + " …"))
        out.line(f"  all of it: {command(run_dir.run_id, node.id)}")
    if len(failed) > TASKS_SHOWN:
        out.line()
        out.line(f"and {len(failed) - TASKS_SHOWN} more failed tasks: {command(run_dir.run_id, None)}")
    out.flush()


def _said(node: NodeRecord) -> str:
    return f"{node.id} {node.phase.lower()}" + (f": {node.message}" if node.message else "")


def command(run_id: str, task: str | None) -> str:
    """The ``kjob logs`` command, quoted for a POSIX shell."""
    words = ["kjob", "logs", run_id] + ([task] if task is not None else [])
    return " ".join(shlex.quote(w) for w in words)


def _source(run_dir: RunDir, backend: Backend) -> logs.LogSource | None:
    if backend.name != "kubernetes":
        return logs.LocalLogs(run_dir, timed=False)
    from kjob.backends.kubernetes import KubernetesBackend

    if not isinstance(backend, KubernetesBackend):
        return None
    return logs.ClusterLogs(backend.cluster, run_dir.run_id)


def _last_lines(source: logs.LogSource | None, shown: list[logs.Shown]) -> list[list[str] | str]:
    """Each attempt's last lines, or why there are none to show."""
    if source is None:
        return ["Its log is not at hand here."] * len(shown)
    if not isinstance(source, logs.ClusterLogs):
        return [_local_tail(source, s) for s in shown]
    import urllib3
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error

    try:
        source.locate(shown)  # every pod at once: two list requests
        return [_or_gone(logs.last_lines(source, s, LAST_LINES)) for s in shown]
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        return [f"Its log could not be read ({describe_error(err)})."] * len(shown)


def _local_tail(source: logs.LogSource, shown: logs.Shown) -> list[str] | str:
    try:
        return _or_gone(logs.last_lines(source, shown, LAST_LINES))
    except KjobError as err:  # a log file that cannot be read
        return f"Its log could not be read ({err.message})."


def _or_gone(lines: list[str] | None) -> list[str] | str:
    return "Its log is gone (its pod was deleted)." if lines is None else lines
