"""A 150-item fan-out through ``kjob run`` on the emulator and on the real cluster, with the items'
ConfigMap limit lowered (``KJOB_ITEMS_CONFIGMAP_BYTES``) so that it splits: a handful of Indexed Jobs,
every item run exactly once with its own output, the split said once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.render import permissions
from kjob.render.intervals import parse_indexes
from tests.contract.conftest import Cluster, restricted_kubeconfig
from tests.contract.test_kjob_on_cluster import Kjob, explain, jobs_of, kubeconfig, on_cluster, write
from tests.test_k8s_big_fanout import expected, fan_out

__all__ = ["kubeconfig", "on_cluster"]  # fixtures used here

COUNT = 150  # enough to split; each item is a pod the real controller paces at 20 creates/s


def test_a_150_item_fan_out_splits_into_a_few_indexed_jobs_and_runs_every_item_once(
    cluster: Cluster, on_cluster: Kjob, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KJOB_ITEMS_CONFIGMAP_BYTES", "3000")
    wf = write(tmp_path, "fan.yaml", fan_out(COUNT, name="big-fan", parallelism=60))
    done = on_cluster("run", str(wf), timeout=600)
    assert done.code == 0, explain(done)
    jobs = [j for j in jobs_of(cluster, done.run_id()) if j.spec.completion_mode == "Indexed"]
    assert 2 <= len(jobs) <= 10
    items = sorted(i for j in jobs for i in parse_indexes(j.metadata.annotations["kjob.dev/item-indexes"]))
    assert items == list(range(COUNT))
    assert sum(j.status.succeeded or 0 for j in jobs) == COUNT and not any(j.status.failed for j in jobs)
    said = [line for line in done.stderr.splitlines() if "Indexed Jobs" in line]
    assert len(said) == 1 and f"{COUNT:,} items in {len(jobs)} Indexed Jobs" in said[0]
    nodes = done.nodes()
    assert [nodes[f"work({i}:{i})"]["outputs"]["parameters"]["out"] for i in range(COUNT)] == [
        expected(i) for i in range(COUNT)
    ]


def test_parts_waiting_their_turn_start_under_the_role_kjob_generates(
    cluster: Cluster, kjob: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More parts than the parallelism limit: the extra parts are created waiting (``parallelism: 0``)
    and each is started by a ``patch`` as an earlier one ends — which an identity allowed exactly
    the Role kjob generates for a plain run (no TTL) may send."""
    monkeypatch.setenv("KJOB_ITEMS_CONFIGMAP_BYTES", "400")
    wf = write(tmp_path, "fan.yaml", fan_out(20, name="turns", parallelism=2))
    restricted = restricted_kubeconfig(cluster, permissions.role_rules(), name="kjob-role")
    done = kjob("run", str(wf), "--kubeconfig", str(restricted), "-n", cluster.namespace, timeout=300)
    assert done.code == 0, explain(done)
    jobs = [j for j in jobs_of(cluster, done.run_id()) if j.spec.completion_mode == "Indexed"]
    assert len(jobs) > 2  # more parts than may run at once, so some waited for a patch
    assert sum(j.status.succeeded or 0 for j in jobs) == 20
    nodes = done.nodes()
    assert [nodes[f"work({i}:{i})"]["outputs"]["parameters"]["out"] for i in range(20)] == [
        expected(i) for i in range(20)
    ]
