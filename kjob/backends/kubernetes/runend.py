"""How a run ended, kept on its run object (the annotation ``kjob.dev/ended``: JSON with ``phase``,
``message`` and ``finished``, wall-clock seconds), so that a machine that did not run it — ``kjob
list`` elsewhere, the page, a CI job — reads the end as the kjob that ran it saw it, not only what
the Jobs let it guess.  A run taken up again (``kjob resume``, ``kjob retry``) creates Jobs after that
time, which tells a reader the note is stale until the run ends again and rewrites it.

Writing it is a courtesy: if the cluster refuses (or cannot be reached) the run's outcome stands, and
a notice says the note is missing."""

from __future__ import annotations

import json
from collections.abc import Callable

import urllib3

from kjob.backends.base import Backend
from kjob.backends.kubernetes.backend import KubernetesBackend
from kjob.backends.kubernetes.cluster import describe_error
from kjob.render import names
from kubernetes import client

MESSAGE_KEPT = 1000  # characters of the run's message kept in the annotation


def mark_run_end(
    backend: Backend, *, phase: str, message: str, finished: float | None, notice: Callable[[str], None]
) -> None:
    """Note on a Kubernetes run's object that it ended ``phase`` at ``finished`` (nothing for another
    backend); ``notice`` says it if that cannot be done."""
    if not isinstance(backend, KubernetesBackend):
        return
    ended = {"phase": phase, "message": message[:MESSAGE_KEPT], "finished": finished}
    body = {"metadata": {"annotations": {names.ANNOTATION_ENDED: json.dumps(ended, sort_keys=True)}}}
    run = backend.run
    try:
        backend.cluster.core.patch_namespaced_config_map(run.run_id, run.namespace, body)
    except (client.ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        notice(
            f"could not note the run's end on its ConfigMap ({describe_error(err)}): "
            "kjob list on another machine will not know how it ended"
        )
