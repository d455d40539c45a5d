"""``spec.volumeClaimTemplates``: PersistentVolumeClaims made for each run, as Argo makes them.

Each claim template (a PersistentVolumeClaim without a namespace) becomes one claim per run, named
``<run>-<name>`` as Argo names it, which the run's pods mount as the volume ``<name>``: the loader adds
a ``persistentVolumeClaim`` volume of that name to the workflow's pod volumes, its claim name written
with a ``workflow.name`` reference that each attempt renders.  The kubernetes backend creates the claims,
owned by the run object so that deleting the run deletes them; the local backend gives each claim a
directory of the run that all its tasks share.
"""

from __future__ import annotations

from typing import Any

from kjob.spec.reader import NAME, Reader
from kjob.spec.values import plain
from kjob.spec.yamlnodes import YamlMap

KEY = "volumeClaimTemplates"


def claims(r: Reader, spec: YamlMap) -> tuple[tuple[dict[str, Any], ...], list[dict[str, Any]]]:
    """The claim templates (plain, as written) and the pod volumes that mount them."""
    found: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    hint = "write `volumeClaimTemplates: [{metadata: {name: work}, spec: {accessModes: [...], ...}}]`"
    for node, mark in r.items(r.sequence(spec, KEY, hint=hint), "volume claim template"):
        meta = r.mapping(node, "metadata")
        name = r.string(meta, "name") if meta is not None else None
        if not name or not NAME.fullmatch(name) or name != name.lower():
            where = r.src.value(meta, "name") if meta is not None and "name" in meta else mark
            r.diag.error(
                "a volume claim template needs metadata.name, in lower-case letters, digits and '-'",
                where,
                hint="add `metadata: {name: work}`; the run's pods mount it as the volume `work`",
            )
            continue
        if r.mapping(node, "spec") is None:
            r.diag.error(f"volume claim template '{name}' has no spec", mark, hint=hint)
            continue
        found.append(plain(node))
        volumes.append({"name": name, "persistentVolumeClaim": {"claimName": claim_name_text(name, r.argo)}})
    return tuple(found), volumes


def claim_name_text(name: str, argo: bool) -> str:
    """The claim name of volume ``name``, as a text each attempt renders (``<run>-<name>``)."""
    return ("{{workflow.name}}" if argo else "<<workflow.name>>") + f"-{name}"


def claim_name(run_id: str, name: str) -> str:
    """The claim name of volume ``name`` in run ``run_id``."""
    return f"{run_id}-{name}"
