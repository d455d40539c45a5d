"""``kjob resume RUN``: finish a run whose kjob stopped (killed, crashed, detached), never running a
finished task again (the work is :mod:`kjob.runs.resumed`'s; this adds the options and the view).
``kjob resume RUN --node NAME``: resume a suspended node of a running run instead
(:mod:`kjob.runs.noderesume`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kjob.cli import console
from kjob.cli.common import parse_parameters
from kjob.cli.execute import cluster_options, execute, given_options
from kjob.cli.viewoptions import view_options
from kjob.errors import KjobError
from kjob.runs.manage import resume_launch
from kjob.runs.resumed import local_run

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster


@click.command("resume")
@click.argument("run")
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@click.option(
    "--node",
    metavar="NAME",
    help="Resume the suspended node NAME (its id or its task's name) of the running RUN instead.",
)
@click.option(
    "-p",
    "--set",
    "values",
    multiple=True,
    metavar="NAME=VALUE",
    help="With --node: the value of the node's supplied output (or input) NAME.",
)
@cluster_options
@view_options
def command(
    run: str,
    parallelism: int | None,
    node: str | None,
    values: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    qps: float,
    burst: int,
    detach: bool,
) -> None:
    """Finish RUN: adopt what is still running, replay what finished, start only the rest.

    A Kubernetes run's existing Jobs are adopted (never created twice). A local run's finished
    tasks are not run again, and tasks still running under its node agent are waited for.

    With --node NAME, resume the suspended node NAME of RUN while it runs (a `suspend` template),
    giving its supplied outputs with --set NAME=VALUE."""
    if node is not None:
        _resume_node(run, node, parse_parameters(values), kubeconfig, context, namespace)
        return
    if values:
        raise KjobError("--set gives a suspended node's values: use it with --node NAME")
    local = local_run(run)
    if local is not None:
        names = ("kubeconfig", "context", "namespace", "qps", "burst", "detach")
        if given := given_options(click.get_current_context(), names):
            raise KjobError(
                f"{', '.join(given)}: only for a Kubernetes run, and {local.run_id} ran on this machine"
            )

    def connect() -> Cluster:
        from kjob.backends.kubernetes.cluster import connect

        return connect(kubeconfig=kubeconfig, context=context, namespace=namespace, qps=qps, burst=burst)

    execute(resume_launch(run, connect, parallelism=parallelism, notice=console.notice), detach=detach)


def _resume_node(
    run: str,
    node: str,
    values: dict[str, str],
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    from kjob.runs.manage import find
    from kjob.runs.noderesume import request_resume

    ref = find(run, kubeconfig=kubeconfig, context=context, namespace=namespace)
    done = request_resume(ref, node, values)
    if done.watched is False:
        console.line(
            f"run {ref.run_id}: resume of node {node} requested, but no kjob watches the run now; "
            f"`kjob resume {ref.run_id}` carries it out"
        )
    elif done.watched is None:
        console.line(
            f"run {ref.run_id}: resume of node {node} requested; the kjob watching the run (a driver Job, "
            f"or a kjob elsewhere) acts on it within seconds. If none does, `kjob resume {ref.run_id}` does"
        )
    else:
        console.line(f"run {ref.run_id}: node {node} resumes within seconds")
