"""Runs recorded on this machine: each directory of ``$KJOB_HOME/runs`` with a ``run.json``.

A local-backend run lives only here.  A Kubernetes run started from this machine is recorded here too
(its engine ran here), which tells its end and its messages even after the cluster dropped its Jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kjob.errors import KjobError
from kjob.render.names import LABEL_RUN
from kjob.rundir import RunDir, runs_root
from kjob.runrecord import RunRecord

LABEL_WORKFLOW = "kjob.dev/workflow"
LABEL_BACKEND = "kjob.dev/backend"


@dataclass(frozen=True, slots=True)
class LocalRuns:
    """The records read, and one line per directory whose record could not be (damaged)."""

    records: list[RunRecord]
    problems: list[str]


def read_local_runs(root: Path | None = None) -> LocalRuns:
    """Every run recorded under ``root`` (default ``$KJOB_HOME/runs``), in no particular order.  A
    directory without ``run.json`` is a run being created (or one that could not start): skipped."""
    root = runs_root() if root is None else root
    records: list[RunRecord] = []
    problems: list[str] = []
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return LocalRuns(records, problems)
    except OSError as err:
        raise KjobError(f"cannot read the runs under {root}: {err.strerror}") from None
    for entry in entries:
        path = entry / "run.json"
        try:
            records.append(RunRecord.read(path, run_id=entry.name))
        except KjobError as err:
            if path.exists():
                problems.append(err.message)
    return LocalRuns(records, problems)


def read_local_run(run_id: str) -> RunRecord:
    """The run recorded here as ``run_id`` (a unique prefix is enough)."""
    run_dir = RunDir.find(run_id)
    return RunRecord.read(run_dir.record, run_id=run_dir.run_id)


def local_labels(record: RunRecord) -> dict[str, str]:
    """The labels a ``-l`` selector sees on a run recorded here: its id, workflow and backend."""
    return {LABEL_RUN: record.run_id, LABEL_WORKFLOW: record.workflow_name, LABEL_BACKEND: record.backend}
