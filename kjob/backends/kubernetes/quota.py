"""The namespace's ResourceQuotas and LimitRanges, read from the cluster for ``kjob plan
--check-quota`` (the same kubeconfig, context and namespace rules as ``kjob run``)."""

from __future__ import annotations

import urllib3

from kjob.backends.kubernetes.cluster import connect, describe_error
from kjob.errors import ClusterError
from kjob.plan.quota import Limits, QuotaObjectError, read_objects
from kubernetes import client


def read_limits(*, kubeconfig: str | None, context: str | None, namespace: str | None) -> tuple[str, Limits]:
    """The namespace checked and what limits it there."""
    conn = connect(kubeconfig=kubeconfig, context=context, namespace=namespace)
    try:
        ns = conn.namespace
        try:
            quotas = conn.core.list_namespaced_resource_quota(ns)
            ranges = conn.core.list_namespaced_limit_range(ns)
        except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterError(
                f"cannot read the quotas of namespace {ns} ({conn.where}): {describe_error(err)}",
                hint="this needs list on resourcequotas and limitranges; or give --quota FILE",
            ) from None
        items = [
            {"kind": kind, **conn.api.sanitize_for_serialization(obj)}  # type: ignore[no-untyped-call]
            for kind, listing in (("ResourceQuota", quotas), ("LimitRange", ranges))
            for obj in listing.items
        ]
        try:
            return ns, read_objects(([i], item) for i, item in enumerate(items))
        except QuotaObjectError as err:  # the API server validated them: not expected
            raise ClusterError(f"namespace {ns}: {err}") from None
    finally:
        conn.close()
