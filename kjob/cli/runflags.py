"""What the verbs that manage an existing run share: finding RUN where ``--backend`` says
(the flags are :func:`kjob.cli.runargs.where_options`, as ``kjob get`` and ``kjob logs`` take them).

A run is looked for on this machine first (its run directory, by id or a unique prefix); a Kubernetes
run, or one this machine never saw, is then read from the cluster the flags name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kjob.errors import KjobError
from kjob.runs.control import RunRef, find_run

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster


def find(
    run: str, backend: str, kubeconfig: str | None, context: str | None, namespace: str | None
) -> RunRef:
    """RUN on this machine, else in the cluster (``backend``: ``local`` looks only here,
    ``kubernetes`` only in the cluster); a clear error if neither has it."""

    def connect_to(recorded: str | None) -> Cluster:
        from kjob.backends.kubernetes import connect, kubeconfig_available

        if not kubeconfig_available(kubeconfig):
            raise KjobError(
                f"no run '{run}' on this machine, and no cluster is configured to look in",
                hint="`kjob list` shows the runs; name a cluster with --kubeconfig (or $KUBECONFIG)",
            )
        return connect(kubeconfig=kubeconfig, context=context, namespace=namespace or recorded)

    return find_run(run, connect_to, where=backend)
