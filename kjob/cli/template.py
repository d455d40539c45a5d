"""``kjob template apply|list|get|delete``: WorkflowTemplates kept in the cluster, for runs that refer
to them (``templateRef``, ``workflowTemplateRef``) without a ``--templates`` directory.

kjob installs no CRD: each template is a ConfigMap labelled ``kjob.dev/template``
(:mod:`kjob.render.stored_templates`); a ClusterWorkflowTemplate is kept in the namespace it is applied
to and shared by the runs there.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import click

from kjob.cli import console
from kjob.cli.runargs import address_options
from kjob.errors import KjobError

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster

KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")


def _connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Cluster:
    from kjob.backends.kubernetes import connect

    return connect(kubeconfig=kubeconfig, context=context, namespace=namespace)


def _kind(cluster: bool) -> str:
    return KINDS[1] if cluster else KINDS[0]


cluster_flag = click.option(
    "--cluster", "cluster", is_flag=True, help="A ClusterWorkflowTemplate (default: a WorkflowTemplate)."
)


@click.group("template")
def command() -> None:
    """Keep WorkflowTemplates in the cluster for runs that refer to them (templateRef)."""


@command.command("apply")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@address_options
def apply(paths: tuple[str, ...], kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """Store the WorkflowTemplates and ClusterWorkflowTemplates of each file (or directory of YAML
    files) in PATHS. Every template is checked first: nothing is stored if any has a mistake."""
    from kjob.backends.kubernetes.templates import apply_template
    from kjob.spec.loader import read_text
    from kjob.spec.templates_dir import template_documents, yaml_files

    files = [f for p in paths for f in (yaml_files(p) if os.path.isdir(p) else [p])]
    documents = [d for f in files for d in template_documents(f, read_text(f))]
    if not documents:
        raise KjobError(
            f"no WorkflowTemplate or ClusterWorkflowTemplate in {', '.join(paths)}",
            hint="kjob template apply stores templates; run a Workflow with kjob run",
        )
    conn = _connect(kubeconfig, context, namespace)
    for doc in documents:
        outcome = apply_template(conn, doc.kind, doc.name, doc.text)
        console.line(f"{doc.kind.lower()}/{doc.name} {outcome}")


@command.command("list")
@click.option("-o", "--output", type=click.Choice(["name", "json", "wide"]), help="Output format.")
@address_options
def list_(output: str | None, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """List the templates stored in the namespace."""
    from kjob.backends.kubernetes.templates import list_templates

    conn = _connect(kubeconfig, context, namespace)
    found = list_templates(conn)
    if output == "name":
        for t in found:
            console.line(f"{t.kind.lower()}/{t.name}")
        return
    if output == "json":
        items = [
            {"kind": t.kind, "name": t.name, "configMap": t.configmap, "created": t.created} for t in found
        ]
        console.data(json.dumps(items, indent=2) + "\n")
        return
    if not found:
        console.notice(f"no templates stored in namespace {conn.namespace} (kjob template apply FILE)")
        return
    header = ["NAME", "KIND", "CREATED"] + (["CONFIGMAP"] if output == "wide" else [])
    rows = [[t.name, t.kind, t.created] + ([t.configmap] if output == "wide" else []) for t in found]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        console.line("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@command.command("get")
@click.argument("name")
@cluster_flag
@address_options
def get(name: str, cluster: bool, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """Print the stored template NAME as YAML (as it was applied)."""
    from kjob.backends.kubernetes.templates import get_template

    template = get_template(_connect(kubeconfig, context, namespace), _kind(cluster), name)
    console.data(template.text if template.text.endswith("\n") else template.text + "\n")


@command.command("delete")
@click.argument("names", nargs=-1, required=True)
@cluster_flag
@address_options
def delete(
    names: tuple[str, ...], cluster: bool, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Remove the stored templates NAMES (runs that already started carry their own copy)."""
    from kjob.backends.kubernetes.templates import delete_template

    conn = _connect(kubeconfig, context, namespace)
    for name in names:
        delete_template(conn, _kind(cluster), name)
        console.line(f"{_kind(cluster).lower()}/{name} deleted")
