"""``kjob run --dry-run``: print every object a Kubernetes run would create, and create nothing.

No cluster is contacted and nothing is recorded under ``KJOB_HOME``: the namespace comes from ``-n``,
the workflow, the kubeconfig context (read from the file, never sent anywhere) or ``default``, as a
real run would choose it.  stdout carries only the manifests (YAML or JSON), so it can be piped;
notices go to stderr.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from kjob.cli import console
from kjob.cli.bar import step_bar
from kjob.cli.common import dry_run_id
from kjob.spec.model import Workflow


def print_dry_run(
    file: str,
    workflow: Workflow,
    *,
    dry_run: bool,
    backend: str,
    output: str | None,
    parameters: dict[str, str],
    parallelism: int | None,
    ttl: int | None,
    queue: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    workspace_claim: str | None = None,
    indexed_jobs: bool = True,
) -> None:
    """Render the run's manifests to stdout (``output``: yaml, the default, or json)."""
    if not dry_run:
        raise click.UsageError("-o/--output goes with --dry-run (a run shows its progress instead)")
    if backend == "local":
        raise click.UsageError("--dry-run shows the Kubernetes manifests of a run: drop --backend local")
    from kjob.backends import dryrun
    from kjob.backends.kubernetes.cluster import configured_namespace

    text = Path(file).read_text()
    ns = namespace or workflow.namespace or configured_namespace(kubeconfig, context) or "default"
    run_id = dry_run_id(workflow, text, parameters)
    with step_bar() as on_bulk:  # a big fan-out's items take a while: a bar on a terminal
        rendered = dryrun.dry_run(
            workflow,
            run_id=run_id,
            namespace=ns,
            workflow_text=text,
            parameters=parameters,
            parallelism=parallelism,
            ttl_seconds_after_finished=ttl,
            queue=queue,
            workspace_claim=workspace_claim,
            indexed_jobs=indexed_jobs,
            on_bulk=on_bulk,
        )
    console.data(dryrun.to_json(rendered) if output == "json" else dryrun.to_yaml(rendered, source=file))
    for note in rendered.notes:
        console.notice(f"dry run: {note}")
    kinds = Counter(str(m["kind"]) for m in rendered.manifests)
    shown = " and ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(kinds.items()))
    console.notice(
        f"dry run: run {run_id} in namespace {ns}: {shown} shown, nothing created; "
        f"ownerReferences carry the placeholder uid {dryrun.PLACEHOLDER_UID}"
    )
