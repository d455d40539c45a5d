"""Options and helpers shared by several verbs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import click

from kjob.cli import console
from kjob.runs.workflowfile import SUFFIX_ALPHABET as _SUFFIX_ALPHABET
from kjob.runs.workflowfile import ClusterTarget as ClusterTarget
from kjob.runs.workflowfile import load_workflow_file
from kjob.runs.workflowfile import pick_workflow as pick_workflow
from kjob.runs.workflowfile import run_id_for as run_id_for
from kjob.spec import LoadResult
from kjob.spec.model import Workflow

lenient_option = click.option(
    "--lenient", is_flag=True, help="Report unknown fields as warnings instead of errors."
)


_TEMPLATES_KEY = "kjob.templates"


def _remember_templates(ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> None:
    if value:
        ctx.meta[_TEMPLATES_KEY] = value


templates_option = click.option(
    "--templates",
    metavar="DIR",
    multiple=True,
    type=click.Path(file_okay=False),
    envvar="KJOB_TEMPLATES",
    expose_value=False,
    callback=_remember_templates,
    help="A directory of WorkflowTemplate and ClusterWorkflowTemplate YAML files that templateRef "
    "and workflowTemplateRef name; repeat it for several (default: $KJOB_TEMPLATES, split by ':').",
)


def load(path: str, *, lenient: bool, cluster: ClusterTarget | None = None) -> LoadResult:
    """Load a file (with the ``--templates`` given to the command) and show its warnings.

    Without ``--templates``, a file that refers to WorkflowTemplates reads those stored in ``cluster``
    (``kjob template apply``) when a cluster is configured."""
    ctx = click.get_current_context(silent=True)
    directories = (ctx.meta.get(_TEMPLATES_KEY) if ctx is not None else None) or ()
    loaded = load_workflow_file(path, lenient=lenient, templates=directories, cluster=cluster)
    for warning in loaded.warnings:
        console.notice(warning.render())
    return loaded


def dry_run_id(workflow: Workflow, workflow_text: str, parameters: Mapping[str, str]) -> str:
    """:func:`run_id_for` without chance or clock, for ``--dry-run``: ``metadata.name`` as it is, else
    the same prefix with a suffix drawn from a hash of the file and the parameters (the same input
    always gets the same name; a real run's suffix is random, or the time for a CronWorkflow)."""
    if workflow.cron is None and workflow.name:
        return workflow.name
    import hashlib  # here: only --dry-run needs them, and they cost every verb's start-up
    import json

    seed = json.dumps([workflow.display_name, workflow_text, sorted(parameters.items())])
    digest = hashlib.sha256(seed.encode()).digest()
    suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:5])
    if workflow.cron is not None:
        return f"{workflow.display_name}-{suffix}"
    return f"{workflow.generate_name or 'workflow-'}{suffix}"


def parse_parameters(values: Sequence[str]) -> dict[str, str]:
    """``-p name=value`` pairs; a malformed one is a usage error (exit 2)."""
    parsed: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{raw}' is not NAME=VALUE", param_hint="-p/--parameter")
        parsed[name.strip()] = value
    return parsed
