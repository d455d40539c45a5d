"""Delivering ``kjob stop`` / ``kjob terminate`` and telling what became of it (both verbs' body)."""

from __future__ import annotations

import sys

import click

from kjob.cli import EXIT_FAILED, EXIT_OK, console
from kjob.runs.manage import STOP_TIMEOUT, ask_to_end, find

timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=STOP_TIMEOUT,
    show_default=True,
    help="Seconds to wait for a run watched on this machine to end.",
)


def deliver(
    action: str,
    run: str,
    timeout: float,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    done = ask_to_end(ref, action, timeout=timeout)
    past = "stopped" if action == "stop" else "terminated"
    if done.watched:
        if not done.ended:
            console.failure(f"run {ref.run_id} was asked to {action} but has not ended after {timeout:g}s")
            sys.exit(EXIT_FAILED)
        record = done.record
        how = "ended" if record is None else record.phase
        how += f": {record.message}" if record is not None and record.message else ""
        console.line(f"run {ref.run_id} {past} ({how})")
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
