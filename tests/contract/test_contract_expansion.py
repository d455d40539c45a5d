"""What a container's process receives for ``$(VAR)`` and ``$$`` in its env values, command and args,
and the API's cap on an Indexed Job's completions: the same on the emulator and on a real cluster.

kjob relies on both: it expands an Indexed Job's item commands itself with
:mod:`kjob.kubelet_expansion` (so they must read as the kubelet reads a Job of its own), and it
splits a fan-out into parts of at most 100,000 items.  Only cases where the node agent of the test
cluster (``realk8s``'s ``fake_kubelet.py``) and the kubelet agree are here; the image's own
variables (``$(PATH)``, ``$(HOSTNAME)``), which the real kubelet never expands and that agent does,
are pinned by ``tests/test_k8s_kubelet_expansion.py`` instead.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from kjob.kubelet_expansion import command, container_env
from tests.contract.conftest import Cluster

ENV = [
    ("A", "alpha"),
    ("B", "$(A)-beta"),  # an earlier variable
    ("C", "$(LATER)"),  # a later one: not yet declared, left as written
    ("LATER", "z"),
    ("D", "$$(A) $$ cost$"),
]
ARGS = ["$(A)", "$(B)", "$(C)", "$(D)", "$$(A)", "$$", "$(NOPE)", "$(A $$", "$((1+2))", "x$$$(A)"]


def test_env_values_command_and_args_are_expanded_as_the_kubelet_does(cluster: Cluster) -> None:
    script = 'for a in "$@"; do printf "%s|" "$a"; done; printf "%s|%s|%s|%s" "$A" "$B" "$C" "$D"'
    body = cluster.job("expand", script)
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["sh", "-c", script, "$(A)"]  # $0 is expanded too
    container["args"] = ARGS
    container["env"] = [{"name": n, "value": v} for n, v in ENV]
    cluster.create_job(body)
    cluster.finished("expand")
    (pod,) = cluster.pods("expand")
    log = cluster.core.read_namespaced_pod_log(pod.metadata.name, cluster.namespace, container="main")
    env = container_env(ENV)
    want = "".join(f"{a}|" for a in command(ARGS, env)) + "|".join(env[k] for k in "ABCD")
    assert log == want
    assert log.startswith("alpha|alpha-beta|$(LATER)|$(A) $ cost$|$(A)|$|$(NOPE)|$(A $|$((1+2))|x$alpha|")


@pytest.mark.parametrize(
    ("completions", "parallelism", "accepted"), [(100_000, 100_000, True), (100_001, 10, False)]
)
def test_backoff_limit_per_index_caps_completions_at_100000(
    cluster: Cluster, completions: int, parallelism: int, accepted: bool
) -> None:
    body = cluster.job(
        "capped",
        "true",
        completionMode="Indexed",
        completions=completions,
        parallelism=parallelism,
        backoffLimitPerIndex=0,
    )
    try:
        cluster.batch.create_namespaced_job(cluster.namespace, body, dry_run="All")
    except client.ApiException as err:
        assert not accepted, err.body
        assert err.status == 422
        assert (
            "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000"
            in (err.body or "")
        )
    else:
        assert accepted
