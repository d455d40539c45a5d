"""How a container's command runs as a host process (:class:`~kjob.testing.emulator.HostProcess`).

The container gets a private directory, its *pod root*, that stands in for its filesystem:

* every path the pod mounts (``volumeMounts[].mountPath``) and the container's
  ``terminationMessagePath`` (default ``/dev/termination-log``) gets a host file or directory under
  the pod root, and **occurrences of those container paths in ``command``, ``args`` and env values
  are rewritten to the host paths** (also inside the text of files mounted from ConfigMaps, e.g.
  scripts). So ``sh -c 'echo done > /dev/termination-log'`` writes the
  termination message, and ``cat /config/x`` reads a mounted ConfigMap key. The env variable
  ``KJOB_EMULATOR_TERMINATION_LOG`` also names the host file, for programs that compute the path;
  ``KJOB_EMULATOR_POD_ROOT`` names the pod root;
* volumes: ``emptyDir`` is a directory of the pod; ``configMap`` and ``secret`` volumes are filled
  from the stored objects (``items`` honoured); a ``persistentVolumeClaim`` is a directory shared by
  every pod of the namespace that mounts the same claim; ``hostPath`` is a directory under the
  emulator's work directory (never the real host path); other sources are empty directories;
* env is built as the kubelet builds it: ``envFrom`` then ``env`` in order, ``$(VAR)`` expanded
  (``$$`` escapes), ``valueFrom`` resolved (``fieldRef`` metadata/spec/status fields, including
  ``JOB_COMPLETION_INDEX``; ``configMapKeyRef``; ``secretKeyRef``), a missing reference being the
  kubelet's ``CreateContainerConfigError``; only a few host variables (``PATH``…) are inherited and
  ``HOME`` is a directory in the pod root;
* ``workingDir`` maps like a path (default: the pod root); the image is ignored.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kjob.kubelet_expansion import command as kubelet_command
from kjob.kubelet_expansion import expand as kubelet_expand
from kjob.testing.emulator.util import Obj, annotations_of, labels_of, sub

Lookup = Callable[[str, str, str], Obj | None]  # (plural, namespace, name) -> object


class ContainerConfigError(Exception):
    """``CreateContainerConfigError``: a referenced ConfigMap/Secret (or key) does not exist."""


@dataclass(frozen=True)
class Prepared:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    termination_path: Path


_PATH_CHAR = r"A-Za-z0-9_.~/-"


def rewrite(text: str, mapping: Mapping[str, Path]) -> str:
    """Replace whole container paths in ``text`` with their host paths (longest first)."""
    for cpath in sorted(mapping, key=len, reverse=True):
        pattern = rf"(?<![{_PATH_CHAR}]){re.escape(cpath.rstrip('/') or '/')}(?=$|/|[^{_PATH_CHAR}])"
        host = str(mapping[cpath])
        text = re.sub(pattern, lambda _m: host, text)  # noqa: B023 - used at once, inside the loop
    return text


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion (see :mod:`kjob.kubelet_expansion`): unknown references stay as
    written, ``$$`` is a ``$``."""
    return kubelet_expand(text, env)


def _field_ref(pod: Obj, path: str) -> str:
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        source = labels_of(pod) if m.group(1) == "labels" else annotations_of(pod)
        return source.get(m.group(2), "")
    simple = {
        "metadata.name": sub(pod, "metadata").get("name"),
        "metadata.namespace": sub(pod, "metadata").get("namespace"),
        "metadata.uid": sub(pod, "metadata").get("uid"),
        "spec.nodeName": sub(pod, "spec").get("nodeName"),
        "spec.serviceAccountName": sub(pod, "spec").get("serviceAccountName"),
        "status.hostIP": sub(pod, "status").get("hostIP"),
        "status.podIP": sub(pod, "status").get("podIP"),
        "status.podIPs": sub(pod, "status").get("podIP"),
        "status.hostIPs": sub(pod, "status").get("hostIP"),
    }
    return str(simple.get(path) or "")


def _key_ref(kind: str, ref: Obj, namespace: str, lookup: Lookup) -> str | None:
    plural = "configmaps" if kind == "ConfigMap" else "secrets"
    name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
    obj = lookup(plural, namespace, name)
    if obj is None:
        if ref.get("optional"):
            return None
        raise ContainerConfigError(f'{kind.lower()} "{name}" not found')
    data = obj.get("data") or {}
    if key not in data:
        if ref.get("optional"):
            return None
        raise ContainerConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    value = str(data[key])
    return base64.b64decode(value).decode(errors="replace") if kind == "Secret" else value


def _fill_volume(vol: Obj, target: Path, namespace: str, lookup: Lookup) -> None:
    for kind, plural, name_key in (("configMap", "configmaps", "name"), ("secret", "secrets", "secretName")):
        src = vol.get(kind)
        if not isinstance(src, dict):
            continue
        name = str(src.get(name_key) or "")
        obj = lookup(plural, namespace, name)
        if obj is None:
            if src.get("optional"):
                return
            raise ContainerConfigError(
                f'{"configmap" if kind == "configMap" else "secret"} "{name}" not found'
            )
        data: dict[str, bytes] = {}
        for k, v in (obj.get("data") or {}).items():
            data[k] = base64.b64decode(str(v)) if kind == "secret" else str(v).encode()
        for k, v in (obj.get("binaryData") or {}).items():
            data[k] = base64.b64decode(str(v))
        items = src.get("items")
        pairs = (
            [(str(i["key"]), str(i.get("path") or i["key"])) for i in items]
            if items
            else [(k, k) for k in data]
        )
        for key, rel in pairs:
            if key not in data:
                if src.get("optional"):
                    continue
                raise ContainerConfigError(f"configmap references non-existent config key: {key}")
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data[key])


def _rewrite_files(directory: Path, mapping: Mapping[str, Path]) -> None:
    """Rewrite container paths inside mounted ConfigMap text (a script that writes its output file
    must write the host file that stands in for it)."""
    for path in directory.rglob("*"):
        if path.is_file():
            try:
                text = path.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            path.write_text(rewrite(text, mapping))


def prepare(
    pod: Obj,
    container: Obj,
    pod_root: Path,
    shared_root: Path,
    lookup: Lookup,
    *,
    extra_env: Mapping[str, str],
    inherit_env: tuple[str, ...],
) -> Prepared:
    """Work out argv, cwd, env and the host termination-log file for one container run."""
    namespace = str(sub(pod, "metadata").get("namespace") or "")
    cname = str(container.get("name") or "main")
    spec = sub(pod, "spec")
    volumes = {str(v.get("name")): v for v in spec.get("volumes") or []}
    mapping: dict[str, Path] = {}
    for vm in container.get("volumeMounts") or []:
        vname = str(vm.get("name") or "")
        vol = volumes.get(vname, {})
        if "persistentVolumeClaim" in vol:
            claim = str(sub(vol, "persistentVolumeClaim").get("claimName") or vname)
            host = shared_root / "pvc" / namespace / claim
        elif "hostPath" in vol:
            host = shared_root / "hostpath" / str(sub(vol, "hostPath").get("path") or "/").lstrip("/")
        else:
            host = pod_root / "volumes" / vname
            if not host.exists():
                host.mkdir(parents=True, exist_ok=True)
                _fill_volume(vol, host, namespace, lookup)
        host.mkdir(parents=True, exist_ok=True)
        if vm.get("subPath"):
            host = host / str(vm["subPath"])
            host.mkdir(parents=True, exist_ok=True)
        mapping[str(vm.get("mountPath") or "/")] = host
    tpath = str(container.get("terminationMessagePath") or "/dev/termination-log")
    termination = pod_root / "termination" / cname / Path(tpath).name
    termination.parent.mkdir(parents=True, exist_ok=True)
    termination.write_bytes(b"")
    mapping[tpath] = termination
    home = pod_root / "home"
    home.mkdir(parents=True, exist_ok=True)

    # What the kubelet expands $(VAR) with: envFrom, then env in order (never the image's or the
    # host's own variables); the process gets a few host variables and HOME besides.
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if not isinstance(ref, dict):
                continue
            obj = lookup(
                "configmaps" if kind == "ConfigMap" else "secrets", namespace, str(ref.get("name") or "")
            )
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ContainerConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
            for k, v in (obj.get("data") or {}).items():
                env[prefix + k] = (
                    base64.b64decode(str(v)).decode(errors="replace") if kind == "Secret" else str(v)
                )
    container_env: dict[str, str] = {}
    for e in container.get("env") or []:
        name = str(e.get("name") or "")
        src = e.get("valueFrom")
        value: str | None
        if isinstance(src, dict):
            if isinstance(src.get("fieldRef"), dict):
                value = _field_ref(pod, str(src["fieldRef"].get("fieldPath") or ""))
            elif isinstance(src.get("configMapKeyRef"), dict):
                value = _key_ref("ConfigMap", src["configMapKeyRef"], namespace, lookup)
            elif isinstance(src.get("secretKeyRef"), dict):
                value = _key_ref("Secret", src["secretKeyRef"], namespace, lookup)
            else:
                value = ""
        else:
            value = expand(str(e.get("value", "")), {**env, **container_env})
        if value is not None:
            container_env[name] = value
    env.update(container_env)
    env.update(extra_env)
    argv_env = dict(env)
    env = {
        **{k: os.environ[k] for k in inherit_env if k in os.environ},
        "HOME": str(home),
        "HOSTNAME": str(spec.get("hostname") or sub(pod, "metadata").get("name") or ""),
        **env,
    }
    env = {k: rewrite(v, mapping) for k, v in env.items()}
    env["KJOB_EMULATOR_TERMINATION_LOG"] = str(termination)
    env["KJOB_EMULATOR_POD_ROOT"] = str(pod_root)

    for vm in container.get("volumeMounts") or []:
        if "configMap" in volumes.get(str(vm.get("name") or ""), {}):
            _rewrite_files(mapping[str(vm.get("mountPath") or "/")], mapping)
    words = [str(x) for x in (container.get("command") or [])] + [
        str(x) for x in (container.get("args") or [])
    ]
    argv = [rewrite(w, mapping) for w in kubelet_command(words, argv_env)]
    workdir = container.get("workingDir")
    if workdir:
        mapped = rewrite(str(workdir), mapping)
        cwd = Path(mapped) if mapped != workdir else pod_root / "fs" / str(workdir).lstrip("/")
    else:
        cwd = pod_root
    cwd.mkdir(parents=True, exist_ok=True)
    return Prepared(argv, cwd, env, termination)
