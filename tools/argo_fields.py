"""Write kjob/spec/argo_fields.json: the field names of each Argo object, from Argo's published JSON schema.

kjob keeps only the names (not Argo's 600 KB schema): every Argo object type reachable from the workflow
kinds (Workflow, CronWorkflow, WorkflowTemplate, ClusterWorkflowTemplate, WorkflowEventBinding), without
their controller-written status, plus the few Kubernetes types kjob checks key by key.  kjob/spec/fields.py
derives what is "not supported by kjob yet" from it: Argo's fields minus those kjob reads.

    python tools/argo_fields.py [SCHEMA] [--check]

SCHEMA defaults to Argo's api/jsonschema/schema.json in /work/argo; ``--check`` exits 1 if the committed
file differs from what the schema gives, instead of writing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ARGO = "io.argoproj.workflow.v1alpha1."
# Kubernetes objects that kjob checks key by key (a container, its env, resources and probes, an
# object's metadata, the references of a semaphore and a memoize cache).
KUBERNETES = (
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
    *(
        f"io.k8s.api.core.v1.{name}"
        for name in (
            "Container",
            "EnvVar",
            "ResourceRequirements",
            "Probe",
            "ExecAction",
            "HTTPGetAction",
            "TCPSocketAction",
            "ConfigMapKeySelector",
            "LocalObjectReference",
        )
    ),
)
SOURCE = "argo-workflows v4.1.2, api/jsonschema/schema.json"
DEFAULT_SCHEMA = Path("/work/argo/api/jsonschema/schema.json")
OUTPUT = Path(__file__).resolve().parent.parent / "kjob" / "spec" / "argo_fields.json"


def _refs(node: Any) -> Iterator[str]:
    """The definitions a schema node refers to, at any depth."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _short(definition: str) -> str:
    return definition.rsplit(".", 1)[-1]


def argo_fields(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``{"source": ..., "objects": {TypeName: [field, ...]}}`` for the objects of Argo's workflow kinds."""
    definitions: Mapping[str, Any] = schema["definitions"]
    todo = list(_refs(schema["oneOf"]))
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or not name.startswith(ARGO) or name.endswith("Status"):
            continue
        seen.add(name)
        definition = dict(definitions[name])
        properties = definition.get("properties", {})
        definition["properties"] = {k: v for k, v in properties.items() if k != "status"}
        todo.extend(_refs(definition))
    objects: dict[str, list[str]] = {}
    for name in sorted(seen | set(KUBERNETES)):
        properties = definitions[name].get("properties", {})
        if not properties and definitions[name].get("type") != "object":
            continue  # a list (ParallelSteps) or a plain value, not an object with fields
        short = _short(name)
        if short in objects:
            raise SystemExit(f"two object types are named {short}")
        objects[short] = sorted(properties)
    return {"source": SOURCE, "objects": dict(sorted(objects.items()))}


def render(data: Mapping[str, Any]) -> str:
    """The file's text: one object per line, so a diff shows which object gained a field."""
    lines = ["{", f'  "source": {json.dumps(data["source"])},', '  "objects": {']
    items = list(data["objects"].items())
    for i, (name, names) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(names)}{comma}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("schema", nargs="?", type=Path, default=DEFAULT_SCHEMA)
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args(argv)
    text = render(argo_fields(json.loads(args.schema.read_text())))
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python tools/argo_fields.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
