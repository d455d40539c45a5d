"""Argo's field names, kept as data (kjob/spec/argo_fields.json), and what kjob makes of each."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kjob.spec import fields as F

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path("/work/argo/api/jsonschema/schema.json")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("argo_fields_tool", ROOT / "tools" / "argo_fields.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _field_sets() -> dict[str, F.FieldSet]:
    return {name: value for name, value in vars(F).items() if isinstance(value, F.FieldSet)}


@pytest.mark.skipif(not SCHEMA.is_file(), reason=f"Argo's schema is not at {SCHEMA}")
def test_the_data_is_what_the_tool_makes_of_argos_schema() -> None:
    tool = _tool()
    assert F.ARGO_FIELDS_FILE.read_text() == tool.render(tool.argo_fields(json.loads(SCHEMA.read_text())))


def test_every_field_set_names_its_argo_object() -> None:
    for name, fields in _field_sets().items():
        assert fields.argo in F.ARGO_FIELDS, f"{name}.argo is {fields.argo!r}"


@pytest.mark.parametrize("name", sorted(_field_sets()))
def test_every_argo_field_is_read_or_not_supported_yet_never_unknown(name: str) -> None:
    fields = _field_sets()[name]
    assert fields.argo is not None
    argo = F.ARGO_FIELDS[fields.argo]
    for issue in F.check_keys(sorted(argo), fields):
        assert issue.unsupported, issue.message
        assert issue.message == f"'{issue.key}' is not supported by kjob yet"
    assert argo <= fields.allowed | fields.unsupported
    assert not fields.unsupported & fields.allowed


def test_a_field_new_in_argo_is_not_supported_yet_and_one_kjob_reads_is_not() -> None:
    fields = F.FieldSet("dag", argo="DAGTemplate", supported=frozenset({"tasks"}))
    assert fields.unsupported == F.ARGO_FIELDS["DAGTemplate"] - {"tasks"}
    assert [i.unsupported for i in F.check_keys(["target", "tasks", "targets"], fields)] == [True, False]


def test_artifact_repositories_are_said_to_come_later() -> None:
    for key in ("s3", "gcs", "azure", "oss", "hdfs", "artifactory", "plugin", "archiveLogs", "artifactGC"):
        [issue] = F.check_keys([key], F.ARTIFACT)
        assert issue.hint is not None and "planned for a later kjob release" in issue.hint, key
    for key in ("artifactRepositoryRef", "archiveLogs"):
        [issue] = F.check_keys([key], F.WORKFLOW_SPEC)
        assert issue.hint is not None and "planned for a later kjob release" in issue.hint, key


def test_the_committed_fields_table_is_current() -> None:
    from kjob.spec.field_docs import argo_fields_markdown

    committed = (ROOT / "docs" / "argo-fields.md").read_text()
    assert committed == argo_fields_markdown(), "run: kjob compat --fields > docs/argo-fields.md"


def test_the_fields_table_gives_each_field_its_status() -> None:
    from kjob.spec.field_docs import argo_fields_markdown

    table = argo_fields_markdown()
    artifact = table.split("## Artifact (`artifact`)")[1].split("\n## ")[0]
    assert "| `from` | supported |" in artifact
    assert "| `s3` | not yet: artifact repositories" in artifact
    container = table.split("## Container (`container`)")[1].split("\n## ")[0]
    assert "| `volumeMounts` | partly: kept as written for the Kubernetes pod" in container
    cron = table.split("## CronWorkflowSpec")[1].split("\n## ")[0]
    assert "| `stopStrategy` | partly: read and warned about" in cron
