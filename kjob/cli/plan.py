"""``kjob plan FILE``: the DAG's levels and critical path, as text, YAML or JSON."""

from __future__ import annotations

import io
import json
from typing import Any, cast

import click
import numpy as np
from ruamel.yaml import YAML

from kjob.cli import console
from kjob.cli.common import lenient_option, load, pick_workflow
from kjob.errors import CycleError
from kjob.graph import Graph, expand
from kjob.plan import plan_edges


@click.command("plan")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--levels", "show_levels", is_flag=True, help="Print the tasks of each level.")
@click.option(
    "-o", "--output", type=click.Choice(["yaml", "json"]), help="Print the whole plan in this format."
)
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@lenient_option
def command(
    file: str, show_levels: bool, output: str | None, workflow_name: str | None, lenient: bool
) -> None:
    """Plan the workflow in FILE: levels (tasks that may run together) and the critical path."""
    workflow = pick_workflow(load(file, lenient=lenient), file, workflow_name)
    graph = expand(workflow)
    data = plan_document(graph, workflow.display_name, workflow.entrypoint or "")
    if output == "json":
        console.out.print(json.dumps(data, indent=2), markup=False, highlight=False)
    elif output == "yaml":
        buffer = io.StringIO()
        yaml = YAML()
        yaml.default_flow_style = False
        yaml.dump(data, buffer)
        console.out.print(buffer.getvalue().rstrip("\n"), markup=False, highlight=False)
    if show_levels or output is None:
        for level, names in enumerate(data["levelTasks"]):
            console.line(f"level {level}: {', '.join(names)}")
        path = data["criticalPath"]
        console.line(f"critical path ({path['length']:g} tasks): {' -> '.join(path['tasks'])}")


def plan_document(graph: Graph, name: str, entrypoint: str) -> dict[str, Any]:
    """The plan as plain data, in a stable order (byte-identical output for the same input)."""
    n = len(graph.nodes)
    try:
        plan = plan_edges(n, graph.src, graph.dst)
    except CycleError as err:
        raise CycleError([graph.nodes[cast(int, i)].id for i in err.nodes]) from None
    levels = [int(x) for x in plan.level]
    length, path = plan.critical_path(np.ones(n))
    by_level: list[list[str]] = [[] for _ in range(plan.levels)]
    for node, level in zip(graph.nodes, levels, strict=True):
        by_level[level].append(node.id)
    tasks = []
    for node, level in zip(graph.nodes, levels, strict=True):
        entry: dict[str, Any] = {
            "name": node.id,
            "task": node.task,
            "template": node.template,
            "level": level,
            "dependencies": list(graph.dependencies.get(node.task, ())),
        }
        if node.fan_out:
            entry["fanOut"] = node.fan_out + (" (items known at run time)" if node.dynamic else "")
        tasks.append(entry)
    return {
        "workflow": name,
        "entrypoint": entrypoint,
        "levels": plan.levels,
        "levelTasks": [sorted(names) for names in by_level],
        "criticalPath": {"length": float(length), "tasks": [graph.nodes[int(i)].id for i in path]},
        "tasks": tasks,
    }
