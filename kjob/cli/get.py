"""``kjob get RUN [TASK]``: a run and the tree of its tasks — state, duration, attempts, and the message
that says why a task failed, was skipped (the ``when`` and the values that made it false) or omitted.

Exit status, so a script can ask how a run (or one TASK) stands: 0 it succeeded (or was skipped),
1 it failed or errored, 3 it has not finished (pending, running, or unknown to the cluster), 2 a
usage mistake, a run that is not there, a damaged record."""

from __future__ import annotations

import sys

import click

from kjob.cli import console
from kjob.cli.runargs import complete_run, complete_task, where_options
from kjob.cli.runview import SYMBOL, columns, dump, one_line, run_took, took, when
from kjob.errors import KjobError
from kjob.runrecord import FAILED, NodeRecord, RunRecord

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_UNFINISHED = 0, 1, 3
HEADER = ("STEP", "STATUS", "DURATION", "ATTEMPTS", "MESSAGE")
WIDE = ("STEP", "STATUS", "DURATION", "ATTEMPTS", "TEMPLATE", "EXIT", "STARTED", "LAST ATTEMPT", "MESSAGE")


@click.command("get")
@click.argument("run", shell_complete=complete_run)
@click.argument("task", required=False, shell_complete=complete_task)
@click.option("-o", "--output", type=click.Choice(["wide", "json", "yaml"]), help="Output format.")
@where_options
def command(
    run: str,
    task: str | None,
    output: str | None,
    backend: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Show RUN (a unique prefix of a local run's id is enough) and its tasks as a tree; with TASK
    (a task name or node id), only that task and what it holds.  The exit status says how it stands:
    0 succeeded, 1 failed, 3 not finished."""
    from kjob.runs.query import get_run

    record = get_run(run, backend=backend, namespace=namespace, kubeconfig=kubeconfig, context=context)
    chosen = _chosen(record, task) if task is not None else None
    if output == "json" and chosen is None:
        console.data(record.pretty_json())
    elif output in ("json", "yaml"):
        data = record.to_dict()
        if chosen is not None:
            data = {
                "run_id": record.run_id,
                "nodes": [n for n in data["nodes"] if n["id"] in _subtree_ids(record, chosen)],
            }
        console.data(dump(data, output))
    else:
        if chosen is None:
            console.data(_header(record))
        console.data(_tree(record, chosen, wide=output == "wide"))
    phases = [n.phase for n in chosen] if chosen is not None else [record.phase]
    sys.exit(_exit_status(phases))


def _exit_status(phases: list[str]) -> int:
    if any(p in FAILED for p in phases):
        return EXIT_FAILED
    if all(p in ("Succeeded", "Skipped", "Omitted") for p in phases):
        return EXIT_SUCCEEDED
    return EXIT_UNFINISHED


def _chosen(record: RunRecord, task: str) -> list[NodeRecord]:
    """The nodes TASK names (its id, or its task name: every item of a fan-out), outermost only."""
    matches = [n for n in record.nodes if n.id == task] or [n for n in record.nodes if n.task == task]
    if not matches:
        tasks = ", ".join(sorted({n.task for n in record.nodes if n.task})[:20]) or "none"
        raise KjobError(f"run {record.run_id} has no task '{task}'", hint=f"its tasks: {tasks}")
    ids = {n.id for n in matches}
    return [n for n in matches if not _ancestors(record, n) & ids]


def _ancestors(record: RunRecord, node: NodeRecord) -> set[str]:
    parents = {n.id: n.parent_id for n in record.nodes}
    found: set[str] = set()
    parent = node.parent_id
    while parent is not None and parent not in found:
        found.add(parent)
        parent = parents.get(parent)
    return found


def _subtree_ids(record: RunRecord, tops: list[NodeRecord]) -> set[str]:
    tree = record.children()
    ids: set[str] = set()
    stack = [n.id for n in tops]
    while stack:
        node_id = stack.pop()
        if node_id not in ids:
            ids.add(node_id)
            stack.extend(c.id for c in tree.get(node_id, []))
    return ids


def _header(record: RunRecord) -> str:
    done, total = record.progress()
    workflow = record.workflow_name or "-"
    if record.workflow and record.workflow != record.workflow_name:
        workflow += f" ({record.workflow})"
    fields = [
        ("Name", record.run_id),
        ("Workflow", workflow),
        (
            "Backend",
            record.backend + (f", namespace {record.namespace}" if record.backend == "kubernetes" else ""),
        ),
        ("Status", record.phase),
        ("Message", one_line(record.message, 500)),
        ("Started", when(record.started)),
        ("Finished", when(record.finished)),
        ("Duration", run_took(record)),
        ("Progress", f"{done}/{total}"),
        ("Parameters", ", ".join(f"{k}={v}" for k, v in record.parameters.items())),
        ("Resumed", ", ".join(when(t) for t in record.resumed)),
        ("Metrics", _metrics_line(record)),
    ]
    width = max(len(name) for name, _ in fields) + 2
    lines = [f"{name + ':':<{width}}{value}".rstrip() for name, value in fields if value]
    return "\n".join(lines) + "\n\n"


def _metrics_line(record: RunRecord) -> str:
    """How many custom metric series the run recorded (and failed to emit); ``-o json`` shows them."""
    if not record.metrics:
        return ""
    failed = sum(1 for m in record.metrics if m.error)
    names = len({m.name for m in record.metrics if not m.error})
    text = f"{len(record.metrics) - failed} series of {names} metrics"
    if failed:
        text += f", {failed} not emitted"
    return text + " (kjob get RUN -o json)"


def _tree(record: RunRecord, tops: list[NodeRecord] | None, *, wide: bool) -> str:
    """Every node under ``tops`` (the top nodes if ``None``), drawn as a tree in record order."""
    tree = record.children()
    rows: list[list[str]] = []

    def walk(node: NodeRecord, lead: str, branch: str, parent: str | None) -> None:
        rows.append(_row(node, lead + branch, _name(node, parent), wide=wide))
        kids = tree.get(node.id, [])
        below = lead + ("" if not branch else "  " if branch == "└─" else "│ ")
        for i, kid in enumerate(kids):
            walk(kid, below, "└─" if i == len(kids) - 1 else "├─", node.id)

    for top in tops if tops is not None else tree.get(None, []):
        walk(top, "", "", top.parent_id if tops is not None else None)
    return columns(WIDE if wide else HEADER, rows)


def _name(node: NodeRecord, parent: str | None) -> str:
    """A node's id without its parent's (``inner`` under ``outer`` for ``outer.inner``)."""
    if parent and node.id.startswith(parent + "."):
        return node.id[len(parent) + 1 :]
    return node.id


def _row(node: NodeRecord, lead: str, name: str, *, wide: bool) -> list[str]:
    step = f"{lead}{SYMBOL.get(node.phase, '?')} {name}"
    attempts = str(len(node.attempts)) if node.attempts else ""
    message = one_line(node.message)
    if not wide:
        return [step, node.phase, took(node.duration), attempts, message]
    last = node.attempts[-1].id if node.attempts else ""
    code = node.outputs.exit_code
    return [
        step,
        node.phase,
        took(node.duration),
        attempts,
        node.template,
        "" if code is None else str(code),
        when(node.started),
        last,
        message,
    ]
