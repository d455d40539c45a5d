"""``kjob viz FILE [-o dag.svg]``: draw a workflow's DAG before it runs, as SVG drawn by kjob (no
Graphviz): the entrypoint's tasks in columns by the planner's levels, a fan-out as one box saying how
many items it expands to."""

from __future__ import annotations

from pathlib import Path

import click

from kjob.cli import console
from kjob.cli.common import lenient_option, load, pick_workflow, templates_option
from kjob.errors import KjobError


@click.command("viz")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="FILE", help="Write the SVG to FILE (default: standard output).")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@lenient_option
@templates_option
def command(file: str, output: str | None, workflow_name: str | None, lenient: bool) -> None:
    """Draw the DAG of the workflow in FILE as SVG."""
    from kjob.render.dag_layout import layout
    from kjob.render.svg_dag import dag_svg
    from kjob.ui.model import workflow_boxes

    workflow = pick_workflow(load(file, lenient=lenient), file, workflow_name)
    boxes, edges = workflow_boxes(workflow)
    svg = dag_svg(layout(boxes, edges), title=workflow.display_name) + "\n"
    if output is None or output == "-":
        console.data(svg)
        return
    try:
        Path(output).write_text(svg, encoding="utf-8")
    except OSError as err:
        raise KjobError(f"-o {output}: cannot write it: {err.strerror}") from None
    console.notice(f"viz: {len(boxes)} tasks drawn to {output}")
