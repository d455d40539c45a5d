"""``kjob logs RUN [TASK]``: print what a run's tasks printed.  A local run's logs are files in its run
directory; a Kubernetes run's are read from its pods, as ``kubectl logs`` would."""

from __future__ import annotations

import sys
from typing import Any

import click

from kjob.cli import console
from kjob.errors import ClusterError, KjobError
from kjob.rundir import RunDir


@click.command("logs")
@click.argument("run")
@click.argument("task", required=False)
@click.option("--all-attempts", is_flag=True, help="Every attempt, not only the last one.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (Kubernetes runs).")
@click.option("--context", help="Kubeconfig context (Kubernetes runs).")
@click.option("-n", "--namespace", help="Namespace (default: the run's).")
def command(
    run: str,
    task: str | None,
    all_attempts: bool,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Print the logs of RUN: every task's lines prefixed with its name, or one TASK's as they are."""
    run_dir = RunDir.find(run)
    record = run_dir.read_record()
    nodes: list[dict[str, Any]] = [n for n in record.get("nodes", []) if n.get("attempts")]
    if task is not None:
        chosen = [n for n in nodes if n["id"] == task or n["task"] == task or n["id"].startswith(task + "(")]
        if not chosen:
            names = ", ".join(sorted({n["task"] for n in nodes})) or "none"
            raise KjobError(f"run {run_dir.run_id} has no task '{task}'", hint=f"tasks with logs: {names}")
        nodes = chosen
    shown = [
        (node, number, attempt)
        for node in nodes
        for number, attempt in enumerate(node["attempts"])
        if all_attempts or number == len(node["attempts"]) - 1
    ]
    remote: dict[tuple[str, int], str | None] = {}
    if record.get("backend") == "kubernetes":
        remote = _from_cluster(
            run_dir.run_id,
            [(node["id"], number) for node, number, _ in shown],
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace or record.get("namespace"),
        )
    prefix = task is None or len(nodes) > 1
    gone: list[str] = []
    for node, number, attempt in shown:
        if record.get("backend") == "kubernetes":
            text = remote.get((node["id"], number))
            if text is None:
                gone.append(node["id"])
                continue
        else:
            try:
                text = (run_dir.path / attempt["log"]).read_text(errors="replace")
            except FileNotFoundError:
                continue
        label = node["id"] if not all_attempts else f"{node['id']}#{number}"
        for line in text.splitlines():
            if prefix or all_attempts:
                console.out.print(f"[bold]{label}[/]: ", end="")
            sys.stdout.flush()
            console.out.print(line, markup=False, highlight=False)
    if record.get("phase") == "Running" and record.get("backend") == "local" and not run_dir.watched():
        console.notice(
            f"run {run_dir.run_id} is recorded as Running but no kjob is watching it (was it killed?): "
            f"`kjob resume {run_dir.run_id}` finishes it"
        )
    if gone:
        console.notice(
            f"no pod left for {', '.join(sorted(set(gone)))}: the cluster has deleted it "
            "(Job TTL or pod garbage collection), and its log with it"
        )


def _from_cluster(
    run_id: str,
    wanted: list[tuple[str, int]],
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> dict[tuple[str, int], str | None]:
    import urllib3
    from kubernetes import client

    from kjob.backends.kubernetes import connect
    from kjob.backends.kubernetes.cluster import describe_error
    from kjob.backends.kubernetes.podlogs import read_logs

    cluster = connect(kubeconfig=kubeconfig, context=context, namespace=namespace)
    try:
        return read_logs(cluster, run_id, wanted)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterError(
            f"could not read the logs of run {run_id} from {cluster.where}: {describe_error(err)}",
            hint="check --kubeconfig/--context/-n, and that you may list and read pods there",
        ) from None
    finally:
        cluster.close()
