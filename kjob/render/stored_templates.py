"""WorkflowTemplates kept in a cluster as ConfigMaps (``kjob template apply``), since kjob installs no
CRD: one ConfigMap per template, labelled ``kjob.dev/template: <kind>``, its name in an annotation
and its YAML document under ``template.yaml``.

A ClusterWorkflowTemplate is stored the same way, in the namespace it is applied to: without a CRD
there is no cluster-scoped object to hold it, so it is shared by the runs of that namespace.
"""

from __future__ import annotations

import hashlib
from typing import Any

LABEL_TEMPLATE = "kjob.dev/template"  # its value: the kind
ANNOTATION_NAME = "kjob.dev/template-name"
TEXT_KEY = "template.yaml"
_PREFIX = {"WorkflowTemplate": "kjob-wftmpl-", "ClusterWorkflowTemplate": "kjob-cwftmpl-"}
_NAME_CHARS = 253  # a ConfigMap's name is a DNS subdomain

Manifest = dict[str, Any]


def configmap_name(kind: str, name: str) -> str:
    """``kjob-wftmpl-<name>`` (``kjob-cwftmpl-`` for a ClusterWorkflowTemplate); a name that would not
    fit is cut, with a hash of the whole so that two long names stay apart."""
    full = _PREFIX[kind] + name
    if len(full) <= _NAME_CHARS:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{full[: _NAME_CHARS - 11].rstrip('-.')}-{digest}"


def template_configmap(kind: str, name: str, text: str, namespace: str) -> Manifest:
    """The ConfigMap that holds the template ``name`` of ``kind``, whose YAML document is ``text``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(kind, name),
            "namespace": namespace,
            "labels": {LABEL_TEMPLATE: kind, "app.kubernetes.io/managed-by": "kjob"},
            "annotations": {ANNOTATION_NAME: name},
        },
        "data": {TEXT_KEY: text},
    }


def selector(kind: str | None = None) -> str:
    """The label selector of the stored templates (of one kind)."""
    return f"{LABEL_TEMPLATE}={kind}" if kind else LABEL_TEMPLATE
