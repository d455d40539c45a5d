"""An Indexed Job's name leaves room for its pods' ``-<index>`` host names: the API server refuses one
whose last index would not fit in a DNS label, so a long run id (Argo's long generateNames) must not
make kjob's fan-outs fail.  Checked against the emulator and a real cluster (suspended Jobs: no pod)."""

from __future__ import annotations

import pytest
from kubernetes import client

from kjob.render import names
from kjob.render.indexed import MAX_COMPLETIONS
from tests.contract.conftest import Cluster

RUN = "synchronization-tmpl-level-mtnxg"  # as long as Argo's example names make them
NODE = "synchronization-acquire-lock"


def indexed_job(name: str) -> dict[str, object]:
    return {
        "metadata": {"name": name},
        "spec": {
            "completionMode": "Indexed",
            "completions": MAX_COMPLETIONS,
            "parallelism": 1,
            "suspend": True,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
                }
            },
        },
    }


def test_an_indexed_jobs_name_leaves_room_for_its_last_index(cluster: Cluster) -> None:
    plain = names.job_name(RUN, NODE, 0)
    roomy = names.job_name(RUN, NODE, 0, room=names.INDEXED_ROOM)
    assert len(plain) == 63 and len(roomy) + len(f"-{MAX_COMPLETIONS - 1}") <= 63
    with pytest.raises(client.ApiException) as caught:
        cluster.batch.create_namespaced_job(cluster.namespace, indexed_job(plain))
    assert (
        caught.value.status == 422
        and "will not able to create pod with invalid DNS label" in caught.value.body
    )
    created = cluster.batch.create_namespaced_job(cluster.namespace, indexed_job(roomy))
    assert created.metadata.name == roomy
