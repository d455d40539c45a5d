"""Options and helpers shared by several verbs."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import click

from kjob.cli import console
from kjob.errors import KjobError
from kjob.spec import LoadResult, load_file
from kjob.spec.model import Workflow
from kjob.spec.resolve_refs import TemplateLibrary, as_submitted

RUNNABLE = ("Workflow", "CronWorkflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generateName

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


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    """The cluster a command's options name (``--kubeconfig``, ``--context``, ``-n``)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


def load(path: str, *, lenient: bool, cluster: ClusterTarget | None = None) -> LoadResult:
    """Load a file (with the ``--templates`` given to the command) and show its warnings.

    Without ``--templates``, a file that refers to WorkflowTemplates reads those stored in ``cluster``
    (``kjob template apply``) when a cluster is configured."""
    ctx = click.get_current_context(silent=True)
    directories = ctx.meta.get(_TEMPLATES_KEY) if ctx is not None else None
    library = None
    if directories:
        from kjob.spec.templates_dir import load_library  # here: only a run with --templates needs it

        library = load_library(directories, lenient=lenient)
    elif cluster is not None and _refers_to_templates(path):
        library = _stored_library(cluster, lenient=lenient)
    loaded = load_file(path, lenient=lenient, templates=library)
    for warning in loaded.warnings:
        console.notice(warning.render())
    return loaded


def _refers_to_templates(path: str) -> bool:
    from kjob.spec.loader import read_text

    text = read_text(path)
    return "templateRef" in text or "workflowTemplateRef" in text


def _stored_library(cluster: ClusterTarget, *, lenient: bool) -> TemplateLibrary | None:
    """The templates stored in the cluster's namespace; ``None`` when no cluster is configured."""
    from kjob.backends.kubernetes import connect, kubeconfig_available

    if not kubeconfig_available(cluster.kubeconfig):
        return None
    from kjob.backends.kubernetes.templates import list_templates
    from kjob.spec.templates_dir import library_of_texts

    conn = connect(kubeconfig=cluster.kubeconfig, context=cluster.context, namespace=cluster.namespace)
    try:
        stored = list_templates(conn)
    finally:
        conn.close()
    texts = [(t.where, t.text) for t in stored]
    return library_of_texts(
        texts, origin=f"the templates stored in namespace {conn.namespace}", lenient=lenient
    )


def pick_workflow(loaded: LoadResult, path: str, name: str | None) -> Workflow:
    """The one workflow of a file to run or plan (``--workflow NAME`` picks among several)."""
    candidates = [w for w in loaded.workflows if w.kind in RUNNABLE]
    if name is not None:
        chosen = [w for w in candidates if name in (w.name, w.generate_name, w.display_name)]
        if not chosen:
            names = ", ".join(w.display_name for w in candidates) or "none"
            raise KjobError(f"{path}: no workflow named '{name}' (found: {names})")
        return as_submitted(chosen[0])
    if not candidates:
        raise KjobError(f"{path}: no Workflow, CronWorkflow or WorkflowTemplate in this file")
    if len(candidates) > 1:
        names = ", ".join(w.display_name for w in candidates)
        raise KjobError(
            f"{path} holds {len(candidates)} workflows ({names})", hint="pick one with --workflow NAME"
        )
    return as_submitted(candidates[0])


def run_id_for(workflow: Workflow) -> str:
    """``metadata.name``; ``generateName`` plus 5 random characters; a CronWorkflow's name plus the
    Unix time, as Argo names the workflows a CronWorkflow starts."""
    if workflow.cron is not None:
        return f"{workflow.display_name}-{int(time.time())}"
    if workflow.name:
        return workflow.name
    import secrets  # here: only a run needs it, and it costs lint's start-up (random, hmac, base64)

    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{workflow.generate_name or 'workflow-'}{suffix}"


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
