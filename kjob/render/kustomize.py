"""A directory of objects as kustomize and GitOps tools read it: one YAML file per object and a
``kustomization.yaml`` that lists them, every byte the same for the same objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kjob.render.yamltext import yaml_text

API = "kustomize.config.k8s.io/v1beta1"


def file_name(manifest: Mapping[str, Any], prefix: str = "") -> str:
    """``<prefix><kind>-<name>.yaml``, the kind in lower case."""
    return f"{prefix}{str(manifest['kind']).lower()}-{manifest['metadata']['name']}.yaml"


def object_text(manifest: Mapping[str, Any]) -> str:
    """One object as YAML, its mappings' keys sorted (their order carries no meaning)."""
    return yaml_text(sorted_keys(manifest))


def kustomization(resources: Sequence[str]) -> str:
    return yaml_text({"apiVersion": API, "kind": "Kustomization", "resources": list(resources)})


def ordered_files(objects: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Objects to apply in this order: numbered files and the kustomization listing them in order."""
    width = max(2, len(str(len(objects) - 1)))
    files = {file_name(m, f"{i:0{width}d}-"): object_text(m) for i, m in enumerate(objects)}
    files["kustomization.yaml"] = kustomization(list(files))
    return files


def sorted_keys(value: Any) -> Any:
    """Mappings with their keys sorted, lists as they are."""
    if isinstance(value, Mapping):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value
