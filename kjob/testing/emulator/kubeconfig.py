"""A kubeconfig file that points a client at the emulator (plain HTTP on 127.0.0.1, a bearer token
that names who the client is: the admin, or an identity made with ``Emulator.add_identity``)."""

from __future__ import annotations

from pathlib import Path

import yaml


def render(
    server: str, *, namespace: str = "default", context: str = "kjob-emulator", token: str | None = None
) -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": token or "kjob-emulator"}}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}
        ],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(
    path: str | Path,
    server: str,
    *,
    namespace: str = "default",
    context: str = "kjob-emulator",
    token: str | None = None,
) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(server, namespace=namespace, context=context, token=token))
    target.chmod(0o600)
    return target
