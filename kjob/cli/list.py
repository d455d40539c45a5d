"""``kjob list``: the runs, newest first — NAME STATUS STARTED DURATION PROGRESS (finished/all tasks).

Exit status: 0 when the list was made (even empty); 1 when the cluster refused or could not be
reached with ``--backend kubernetes``; 2 for a usage mistake (an unknown ``--status``, a selector that
does not read).  Records that could not be read, or a cluster ``auto`` could not reach, are said on
stderr, and the other runs are listed."""

from __future__ import annotations

import click

from kjob.cli import console
from kjob.cli.runargs import where_options
from kjob.cli.runview import columns, dump, one_line, run_took, summary, when

HEADER = ("NAME", "STATUS", "STARTED", "DURATION", "PROGRESS")
WIDE = ("BACKEND", "NAMESPACE", "WORKFLOW", "MESSAGE")


@click.command("list")
@click.option("-A", "--all-namespaces", is_flag=True, help="Cluster runs of every namespace.")
@click.option(
    "-l",
    "--selector",
    metavar="SELECTOR",
    help="Only runs with these labels (key=value, key!=value, 'key in (a,b)', key, !key; comma-joined). "
    "Every run has kjob.dev/run, kjob.dev/workflow and kjob.dev/backend.",
)
@click.option(
    "--status",
    multiple=True,
    metavar="PHASE[,PHASE]",
    help="Only runs in these phases: Pending, Running, Succeeded, Failed, Error, Skipped, Unknown.",
)
@click.option("-o", "--output", type=click.Choice(["wide", "json", "yaml", "name"]), help="Output format.")
@where_options
def command(
    all_namespaces: bool,
    selector: str | None,
    status: tuple[str, ...],
    output: str | None,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """List runs, newest first: the runs recorded on this machine and, when a cluster is configured,
    the runs in its namespace (-A: in every namespace), whoever started them."""
    from kjob.runs.query import list_runs

    found = list_runs(
        backend=backend,
        namespace=namespace,
        all_namespaces=all_namespaces,
        selector=selector,
        status=status,
        kubeconfig=kubeconfig,
        context=context,
    )
    for problem in found.problems:
        console.notice(f"warning: {problem}")
    runs = found.runs
    if output in ("json", "yaml"):
        console.data(dump({"kind": "RunList", "items": [summary(r) for r in runs]}, output))
        return
    if output == "name":
        console.data("".join(f"{r.run_id}\n" for r in runs))
        return
    if not runs:
        console.notice("no runs")
        return
    rows = []
    for run in runs:
        done, total = run.progress()
        row = [run.run_id, run.phase, when(run.started), run_took(run), f"{done}/{total}"]
        if output == "wide":
            row += [
                run.backend,
                run.namespace if run.backend == "kubernetes" else "-",
                run.workflow_name,
                one_line(run.message),
            ]
        rows.append(row)
    console.data(columns(HEADER + (WIDE if output == "wide" else ()), rows))
