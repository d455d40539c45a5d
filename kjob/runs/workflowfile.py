"""The workflow a run runs: a file loaded with the WorkflowTemplates it refers to, the one workflow of
it to run, and the id a new run of it gets.  Shared by ``kjob run`` (and the verbs that read a file)
and :func:`kjob.run`."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kjob.errors import KjobError
from kjob.spec import LoadResult, load_text
from kjob.spec.loader import read_text
from kjob.spec.model import Workflow
from kjob.spec.resolve_refs import TemplateLibrary, as_submitted

RUNNABLE = ("Workflow", "CronWorkflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generateName


@dataclass(frozen=True, slots=True)
class ClusterTarget:
    """The cluster a command's options name (``--kubeconfig``, ``--context``, ``-n``)."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


def load_workflow_file(
    path: str, *, lenient: bool, templates: Sequence[str] = (), cluster: ClusterTarget | None = None
) -> LoadResult:
    """Load the file at ``path`` with the templates of the directories ``templates``.  Without them, a
    file that refers to WorkflowTemplates reads those stored in ``cluster`` (``kjob template apply``)
    when a cluster is configured.  Its warnings are in the result, for the caller to show."""
    text = read_text(path)  # once: it also says whether the file refers to templates at all
    library = None
    if templates:
        from kjob.spec.templates_dir import load_library  # here: only a run with templates needs it

        library = load_library(templates, lenient=lenient)
    elif cluster is not None and ("templateRef" in text or "workflowTemplateRef" in text):
        library = _stored_library(cluster, lenient=lenient)
    return load_text(text, path=path, lenient=lenient, templates=library)


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

    suffix = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(5))
    return f"{workflow.generate_name or 'workflow-'}{suffix}"


def parameter_values(values: Mapping[str, object]) -> dict[str, str]:
    """Workflow parameters as kjob passes them: text as it is, anything else as JSON (``3``,
    ``true``, ``[1, 2]``)."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
