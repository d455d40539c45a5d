"""The kubeconfig the emulator writes, and ``python -m kjob.testing.emulator``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client, config

from kjob.testing.emulator import Emulator


def test_kubeconfig_works_with_load_kube_config(tmp_path: Path) -> None:
    with Emulator() as emu:
        path = emu.write_kubeconfig(tmp_path / "kube" / "config", namespace="team")
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        _, active = config.list_kube_config_contexts(config_file=str(path))
        assert active["name"] == "kjob-emulator" and active["context"]["namespace"] == "team"
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(path), client_configuration=cfg)
        assert cfg.host == emu.url and emu.url.startswith("http://127.0.0.1:")
        with client.ApiClient(cfg) as api:
            assert client.VersionApi(api).get_code().git_version == "v1.31.0"
            names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
        assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kjob.testing.emulator",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--version",
            "v1.30.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while not kubeconfig.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert kubeconfig.exists(), proc.stderr.read() if proc.stderr else ""
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        with client.ApiClient(cfg) as api:
            assert client.VersionApi(api).get_code().git_version == "v1.30.2"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.startswith("kjob emulator serving http://127.0.0.1:")
