"""Argo expressions on the Kubernetes backend against kjob's API emulator: tests/data/expressions.yaml
gives the same results as on the local backend (the real cluster's run is test_expressions_real.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kjob.testing.emulator import Emulator
from tests.test_k8s_artifacts import CLAIM, cluster, k8s_args  # noqa: F401 - the emulator fixture
from tests.test_local_expressions import DATA, check_expressions_run


@pytest.mark.slow  # about 10 s: a fresh emulator and nine pods
def test_expressions_on_the_emulator(kjob: Any, cluster: tuple[Emulator, str]) -> None:  # noqa: F811
    _emu, kubeconfig = cluster
    done = kjob("run", str(DATA / "expressions.yaml"), *k8s_args(kubeconfig, "--workspace-pvc", CLAIM))
    assert done.code == 0, done.stdout + done.stderr
    check_expressions_run(done.nodes())
