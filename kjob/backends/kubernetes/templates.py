"""WorkflowTemplates stored in the cluster (:mod:`kjob.render.stored_templates`): apply, list, read
and delete them, and read them all for a run that refers to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kjob.backends.kubernetes.cluster import Cluster, describe_error
from kjob.errors import ClusterError, KjobError, NotFoundError
from kjob.render import stored_templates as stored
from kubernetes import client


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    kind: str
    name: str
    text: str
    configmap: str
    created: str  # RFC 3339, as the server gave it

    @property
    def where(self) -> str:
        """How a message names it: ``configmap/kjob-wftmpl-NAME``."""
        return f"configmap/{self.configmap}"


def apply_template(conn: Cluster, kind: str, name: str, text: str) -> str:
    """Store the template (create, or replace the one of that name): ``created`` or ``configured``,
    as ``kubectl apply`` says."""
    body: Any = stored.template_configmap(kind, name, text, conn.namespace)
    configmap = body["metadata"]["name"]
    try:
        conn.core.create_namespaced_config_map(conn.namespace, body)
        return "created"
    except client.ApiException as err:
        if err.status != 409:
            raise _error(f"store {kind} '{name}'", err, conn) from None
    try:
        current: Any = conn.core.read_namespaced_config_map(configmap, conn.namespace)
        if (current.metadata.labels or {}).get(stored.LABEL_TEMPLATE) is None:
            raise KjobError(
                f"configmap '{configmap}' in namespace {conn.namespace} exists and holds no kjob template",
                hint="rename the template, or remove that ConfigMap",
            )
        if (current.data or {}).get(stored.TEXT_KEY) == text:
            return "unchanged"
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        conn.core.replace_namespaced_config_map(configmap, conn.namespace, body)
        return "configured"
    except client.ApiException as err:
        raise _error(f"replace {kind} '{name}'", err, conn) from None


def list_templates(conn: Cluster, kind: str | None = None) -> list[StoredTemplate]:
    """The stored templates (of one kind), by kind then name."""
    try:
        found = conn.core.list_namespaced_config_map(conn.namespace, label_selector=stored.selector(kind))
    except client.ApiException as err:
        raise _error("list the stored templates", err, conn) from None
    except Exception as err:  # a connection error: said in one line
        raise ClusterError(f"could not list the stored templates: {describe_error(err)}") from None
    templates = [t for t in map(_stored, found.items) if t is not None]
    return sorted(templates, key=lambda t: (t.kind, t.name))


def get_template(conn: Cluster, kind: str, name: str) -> StoredTemplate:
    configmap = stored.configmap_name(kind, name)
    try:
        found = _stored(conn.core.read_namespaced_config_map(configmap, conn.namespace))
    except client.ApiException as err:
        if err.status != 404:
            raise _error(f"read {kind} '{name}'", err, conn) from None
        found = None
    if found is None:
        names = ", ".join(t.name for t in list_templates(conn, kind)) or "none"
        raise NotFoundError(
            f"no {kind} '{name}' in namespace {conn.namespace} (stored: {names})",
            hint="store it with `kjob template apply FILE`",
        )
    return found


def delete_template(conn: Cluster, kind: str, name: str) -> None:
    template = get_template(conn, kind, name)
    try:
        conn.core.delete_namespaced_config_map(template.configmap, conn.namespace)
    except client.ApiException as err:
        if err.status != 404:
            raise _error(f"delete {kind} '{name}'", err, conn) from None


def _stored(cm: Any) -> StoredTemplate | None:
    meta = cm.metadata
    kind = (meta.labels or {}).get(stored.LABEL_TEMPLATE)
    name = (meta.annotations or {}).get(stored.ANNOTATION_NAME)
    text = (cm.data or {}).get(stored.TEXT_KEY)
    if kind is None or name is None or text is None:
        return None
    created = meta.creation_timestamp.isoformat() if meta.creation_timestamp else ""
    return StoredTemplate(kind, name, text, meta.name, created)


def _error(what: str, err: client.ApiException, conn: Cluster) -> ClusterError:
    if err.status == 403:
        return ClusterError(
            f"could not {what}: not allowed in namespace {conn.namespace} ({describe_error(err)})",
            hint="kjob keeps templates in ConfigMaps: ask for get, list, create, update and delete on them",
        )
    if err.status == 404:
        return ClusterError(
            f"could not {what}: namespace '{conn.namespace}' does not exist",
            hint="create it, or choose another with -n",
        )
    return ClusterError(f"could not {what}: {describe_error(err)}")
