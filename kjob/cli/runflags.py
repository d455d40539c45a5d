"""What the verbs that manage an existing run share: the cluster flags and finding RUN.

A run is looked for on this machine first (its run directory, by id or a unique prefix); a Kubernetes
run, or one this machine never saw, is then read from the cluster the flags name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kjob.errors import KjobError
from kjob.runs.control import RunRef, find_run

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster

F = TypeVar("F", bound=Callable[..., Any])


def cluster_flags(command: F) -> F:
    """``--kubeconfig``, ``--context``, ``-n``: where a Kubernetes run is (a local run ignores them)."""
    for option in reversed(
        [
            click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file to use."),
            click.option("--context", help="Kubeconfig context to use."),
            click.option("-n", "--namespace", help="Namespace (default: the run's, else the context's)."),
        ]
    ):
        command = option(command)
    return command


def find(run: str, kubeconfig: str | None, context: str | None, namespace: str | None) -> RunRef:
    """RUN on this machine, else in the cluster; a clear error if neither has it."""

    def connect_to(recorded: str | None) -> Cluster:
        from kjob.backends.kubernetes import connect, kubeconfig_available

        if not kubeconfig_available(kubeconfig):
            raise KjobError(
                f"no run '{run}' on this machine, and no cluster is configured to look in",
                hint="`kjob list` shows the runs; name a cluster with --kubeconfig (or $KUBECONFIG)",
            )
        return connect(kubeconfig=kubeconfig, context=context, namespace=namespace or recorded)

    return find_run(run, connect_to)
