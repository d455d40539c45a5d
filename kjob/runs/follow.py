"""Following a run until it ends: ``kjob watch``, and Python users who want the same.

    from kjob.runs.follow import follow_run, succeeded
    for record in follow_run("etl-x7k2p"):      # now, then each time it is read again
        print(record.phase, record.progress())
    # the last record yielded is the run's end

Each read is :func:`kjob.runs.query.get_run` (this machine's record, and for a Kubernetes run the
cluster's Jobs), every ``interval`` seconds, or less often when reading takes long (it never takes
more than a fifth of the time).  A run nobody runs any more does not keep a follower waiting: a local
run whose kjob no longer holds its lock raises :class:`RunAbandoned`; a cluster run with no Job going
and no end recorded (``Unknown``: every task ended, and only the kjob that ran it knew the rest) is
taken as ended once that has lasted a while.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.runrecord import FAILED, RunRecord

# Seconds a run may look left alone before that is believed: a kjob between two steps of a run (its
# lock taken again by `kjob resume`, its next Job not created yet) is not mistaken for gone.
LOCAL_PATIENCE = 1.0
CLUSTER_PATIENCE = 15.0
RECORD_PATIENCE = 30.0  # seconds to wait for the record of a run whose directory already exists
READ_SHARE = 5  # wait at least this many times as long as the last read took


class RunAbandoned(KjobError):
    """The run is not finished, but no kjob runs it any more (it was killed)."""

    exit_code = 1


def follow_run(
    run_id: str,
    *,
    interval: float = 1.0,
    backend: str = "auto",
    namespace: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[RunRecord]:
    """The run's record now, then again every ``interval`` seconds until it has ended (the last one
    yielded).  Raises :class:`KjobError` if there is no such run, :class:`RunAbandoned` if it was left
    unfinished."""
    from kjob.runs.query import get_run

    def read() -> RunRecord:
        return get_run(run_id, backend=backend, namespace=namespace, kubeconfig=kubeconfig, context=context)

    _await_record(run_id, interval, sleep)
    record = read()
    yield record
    local = _local_dir(record)
    alone_since: float | None = None
    pause = interval
    # an Unknown end (every task ended, no end noted) is believed only once it has lasted: read between
    # one Job's end and the next one's creation, a running cluster run looks exactly like that
    while record.phase == "Unknown" or not ended(record):
        alone = (local is not None and not local.watched()) or record.phase == "Unknown"
        if alone:
            now = time.monotonic()
            alone_since = now if alone_since is None else alone_since
            patience = LOCAL_PATIENCE if local is not None else CLUSTER_PATIENCE
            if now - alone_since >= max(patience, 2 * interval):
                if record.phase == "Unknown":
                    return
                raise RunAbandoned(
                    f"run {record.run_id} is not finished, but nothing runs it any more "
                    "(was its kjob killed?)",
                    hint=f"`kjob resume {record.run_id}` finishes it",
                )
        else:
            alone_since = None
        sleep(pause)
        began = time.monotonic()
        record = read()
        pause = max(interval, READ_SHARE * (time.monotonic() - began))
        yield record


def ended(record: RunRecord) -> bool:
    """Whether the record says the run is over (or was left running, detached, for a later resume)."""
    return record.finished_phase or record.finished is not None or record.detached


def succeeded(record: RunRecord) -> bool:
    """Succeeded; or, for a run whose end the cluster does not keep (``Unknown``), no task failed."""
    if record.phase == "Unknown":
        return not any(n.phase in FAILED for n in record.leaves())
    return record.phase == "Succeeded"


def _await_record(run_id: str, interval: float, sleep: Callable[[float], None]) -> None:
    """A run just started here has its directory a moment before its record: wait for it (a while)."""
    try:
        run_dir = RunDir.find(run_id)
    except KjobError:
        return  # not recorded here: the cluster may know it
    waited = 0.0
    while not run_dir.record.exists() and waited < RECORD_PATIENCE:
        sleep(interval)
        waited += interval


def _local_dir(record: RunRecord) -> RunDir | None:
    """The directory of a local-backend run (its kjob holds a lock there while it runs)."""
    if record.backend != "local":
        return None
    try:
        return RunDir.find(record.run_id)
    except KjobError:
        return None
