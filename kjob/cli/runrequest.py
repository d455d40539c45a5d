"""Delivering ``kjob stop`` / ``kjob terminate`` and telling what became of it (both verbs' body)."""

from __future__ import annotations

import sys

from kjob.cli import EXIT_FAILED, EXIT_OK, console
from kjob.cli.runflags import find
from kjob.rundir import RunDir
from kjob.runrecord import RunRecord
from kjob.runs.control import request, wait_until_unwatched


def deliver(
    action: str,
    run: str,
    timeout: float,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    ref = find(run, backend, kubeconfig, context, namespace)
    done = request(ref, action)
    past = "stopped" if action == "stop" else "terminated"
    if done.watched:
        if not wait_until_unwatched(ref, timeout):
            console.failure(f"run {ref.run_id} was asked to {action} but has not ended after {timeout:g}s")
            sys.exit(EXIT_FAILED)
        console.line(f"run {ref.run_id} {past} ({_phase(ref.run_dir)})")
    elif done.watched is None:
        console.line(
            f"run {ref.run_id}: {action} requested; the kjob watching it (a driver Job, or a kjob "
            f"elsewhere) acts on it within seconds. If none does, `kjob resume {ref.run_id}` carries it out"
        )
    else:
        console.line(
            f"run {ref.run_id}: {action} requested, but no kjob watches it now; "
            f"`kjob resume {ref.run_id}` carries it out"
        )
    sys.exit(EXIT_OK)


def _phase(run_dir: RunDir | None) -> str:
    if run_dir is None:
        return "ended"
    record = RunRecord.read(run_dir.record)
    return f"{record.phase}: {record.message}" if record.message else record.phase
