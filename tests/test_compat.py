"""`kjob compat DIR`: every file of a directory linted, its outcome counted, and nothing ever crashes."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from kjob import compat
from kjob.compat import Outcome, check_directory
from kjob.errors import KjobError
from kjob.spec import fields as F
from kjob.spec.loader import load_text
from kjob.spec.templates_dir import workflow_documents

DATA = Path(__file__).resolve().parent / "data" / "compat"

EXPECTED = {
    "accepted.yaml": Outcome.ACCEPTED,
    "library/templates.yaml": Outcome.ACCEPTED,
    "mistake.yaml": Outcome.WRONGLY_REJECTED,
    "mixed.yaml": Outcome.ACCEPTED,
    "no-name.yaml": Outcome.ARGO_REJECTS,
    "not-a-workflow.yaml": Outcome.NOT_WORKFLOW,
    "unsupported.yaml": Outcome.UNSUPPORTED,
    "uses-templates.yaml": Outcome.ACCEPTED,
}


def test_each_file_of_the_directory_gets_its_outcome() -> None:
    report = check_directory(str(DATA))
    assert {str(Path(r.path).relative_to(DATA)): r.outcome for r in report.files} == EXPECTED
    assert report.features() == [("artifactRepositoryRef", 1), ("s3", 1)]
    assert report.workflow_files == 7 and not report.failed
    [wrong] = report.with_outcome(Outcome.WRONGLY_REJECTED)
    assert wrong.first_error == f"{DATA}/mistake.yaml:13:19: unknown template 'nowhere' (defined: main)"
    [argo] = report.with_outcome(Outcome.ARGO_REJECTS)
    assert argo.why is not None and "name or generateName is required" in argo.why


def test_the_text_report_counts_and_ranks(kjob: Any) -> None:
    done = kjob("compat", str(DATA))
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[:13] == [
        f"{DATA}: 8 files",
        "  not workflows         1",
        "  accepted              4 (57% of 7 workflow files; 66.7% of the 6 Argo accepts)",
        "  unsupported           1",
        "  rejected as Argo      1",
        "  wrongly rejected      1",
        "  crashed               0",
        "",
        "not supported by kjob yet (files using each):",
        "      1  artifactRepositoryRef",
        "      1  s3",
        "",
        "wrongly rejected (first error):",
    ]


def test_the_json_report_parses_back(kjob: Any) -> None:
    done = kjob("compat", "-o", "json", str(DATA))
    assert done.code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["files"] == 8
    assert report["counts"] == {
        "not-workflow": 1,
        "accepted": 4,
        "unsupported": 1,
        "argo-rejects": 1,
        "wrongly-rejected": 1,
        "crashed": 0,
        "unreadable": 0,
    }
    assert report["features"] == [
        {"feature": "artifactRepositoryRef", "files": 1},
        {"feature": "s3", "files": 1},
    ]
    outcomes = {str(Path(r["path"]).relative_to(DATA)): r["outcome"] for r in report["results"]}
    assert outcomes == {name: outcome.value for name, outcome in EXPECTED.items()}


def test_a_crash_or_an_unreadable_file_is_counted_and_fails_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yaml").write_text((DATA / "accepted.yaml").read_text())
    (tmp_path / "b.yaml").write_bytes(b"\xff\xfe not utf-8")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(compat, "load_text", broken)
    report = check_directory(str(tmp_path))
    assert [r.outcome for r in report.files] == [Outcome.CRASHED, Outcome.UNREADABLE]
    assert report.files[0].first_error == f"{tmp_path}/a.yaml: RuntimeError: boom"
    assert report.failed


def test_a_directory_that_is_not_there_is_a_usage_error(kjob: Any, tmp_path: Path) -> None:
    done = kjob("compat", str(tmp_path / "nowhere"))
    assert done.code == 2 and "Traceback" not in done.stderr
    with pytest.raises(KjobError, match="no such directory"):
        check_directory(str(tmp_path / "nowhere"))


def test_other_kinds_of_object_are_blanked_line_for_line() -> None:
    text = (DATA / "mixed.yaml").read_text()
    documents = workflow_documents(text)
    assert documents.kinds == ("Workflow",) and documents.other_kinds == ("ConfigMap",)
    assert len(documents.text.splitlines()) == len(text.splitlines())
    assert documents.text.splitlines()[8:] == text.splitlines()[8:]
    misspelt = workflow_documents("apiVersion: argoproj.io/v1alpha1\nkind: Workflw\n")
    assert misspelt.kinds == ("Workflw",) and not misspelt.other_kinds  # left for lint to name


_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: guard-}}
spec:
  entrypoint: main
  {spec}
  templates:
  - name: main
    steps:
    - - name: s
        template: leaf
        {step}
  - name: leaf
    inputs:
      parameters:
      - name: p
        value: x
        {parameter}
      artifacts:
      - name: a
        path: /tmp/a
        optional: true
        {artifact}
    container:
      image: alpine
      command: [echo]
      {container}
    {template}
"""
_PLACES = {
    "spec": "WorkflowSpec",
    "template": "Template",
    "step": "WorkflowStep",
    "parameter": "Parameter",
    "artifact": "Artifact",
    "container": "Container",
}
_VALUES = ("", "x", "1", "[]", "{}", "[{}]", "{a: b}", "'{{inputs.parameters.p}}'")


@pytest.mark.parametrize("place", sorted(_PLACES))
def test_no_argo_field_with_any_value_crashes_the_loader(place: str) -> None:
    for field in sorted(F.ARGO_FIELDS[_PLACES[place]]):
        for value in _VALUES:
            slots = dict.fromkeys(_PLACES, "")
            slots[place] = f"{field}: {value}"
            with contextlib.suppress(KjobError):  # a mistake, or a feature kjob lacks: never a crash
                load_text(_WORKFLOW.format(**slots), path="guard.yaml")


def test_a_template_defined_twice_is_that_files_error_and_the_first_one_still_serves(tmp_path: Path) -> None:
    library = (DATA / "library" / "templates.yaml").read_text()
    (tmp_path / "a-templates.yaml").write_text(library)
    (tmp_path / "b-again.yaml").write_text(library)
    (tmp_path / "c-uses.yaml").write_text((DATA / "uses-templates.yaml").read_text())
    report = check_directory(str(tmp_path))
    outcomes = {Path(r.path).name: r.outcome for r in report.files}
    assert outcomes == {
        "a-templates.yaml": Outcome.ACCEPTED,
        "b-again.yaml": Outcome.WRONGLY_REJECTED,
        "c-uses.yaml": Outcome.ACCEPTED,
    }
    [again] = report.with_outcome(Outcome.WRONGLY_REJECTED)
    assert (
        again.first_error is not None
        and "WorkflowTemplate 'compat-greet' is defined twice" in again.first_error
    )


@pytest.mark.parametrize(
    ("message", "feature"),
    [
        ("'s3' is not supported by kjob yet", "s3"),
        ("'{{steps.prepare.id}}' is not supported by kjob yet", "{{steps.<name>.id}}"),
        ("'{{tasks.a.startedAt}}' is not supported by kjob yet", "{{tasks.<name>.startedAt}}"),
        ("'{{steps.name}}' is not supported by kjob yet", "{{steps.name}}"),
        (
            "'{{outputs.parameters.n.path}}' is not supported by kjob yet",
            "{{outputs.parameters.<name>.path}}",
        ),
        (
            "'{{workflow.outputs.artifacts.x}}' is not supported by kjob yet",
            "{{workflow.outputs.artifacts.<name>}}",
        ),
        (
            "'{{workflow.creationTimestamp.Y}}' is not supported by kjob yet",
            "{{workflow.creationTimestamp.<format>}}",
        ),
    ],
)
def test_a_feature_counts_once_whatever_task_or_parameter_it_names(message: str, feature: str) -> None:
    assert compat._feature(message) == feature
