"""Table tests for the emulator's pure parts: selectors, index strings, patches, field errors, paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.testing.emulator.errors import ApiError, FieldError, invalid
from kjob.testing.emulator.hostproc import expand, rewrite
from kjob.testing.emulator.intervals import compress_indexes, parse_indexes
from kjob.testing.emulator.jobs import pod_generate_name
from kjob.testing.emulator.patch import json_patch, merge_patch, strategic_merge_patch
from kjob.testing.emulator.selectors import parse_field_selector, parse_label_selector
from kjob.testing.emulator.util import NAME_ALPHABET, NameGenerator

LABELS = {"app": "web", "tier": "front", "n": "5"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web, db)", True),
        ("app in (db)", False),
        ("app notin (db)", True),
        ("missing notin (db)", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("app=web,tier=front", True),
        ("app=web,tier=back", False),
        ("n>4", True),
        ("n<5", False),
        ("empty=", False),
        ("example.com/key", False),
    ],
)
def test_label_selector_matching(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize(
    "bad", ["app in (web", "app=web=x", "a b", "Bad Key=x", "app=bad value!", "n>x", "!"]
)
def test_bad_label_selectors_are_400(bad: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_label_selector(bad)
    assert err.value.code == 400 and err.value.message.startswith("unable to parse requirement")


def test_field_selectors() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns"}, "status": {"phase": "Running"}}
    assert parse_field_selector("status.phase=Running", "pods").matches(pod)
    assert parse_field_selector("status.phase!=Running", "pods").matches(pod) is False
    assert parse_field_selector("metadata.name==p,metadata.namespace=ns", "pods").matches(pod)
    with pytest.raises(ApiError) as err:
        parse_field_selector("status.phase=Running", "configmaps", "/v1, Resource=configmaps")
    assert err.value.code == 400 and err.value.message.endswith("field label not supported: status.phase")


@pytest.mark.parametrize(
    ("indexes", "text"),
    [
        (set(), ""),
        ({0}, "0"),
        ({0, 1, 2, 3, 5}, "0-3,5"),
        ({0, 1, 3}, "0,1,3"),  # a run of two is two numbers, as the Job controller writes it
        ({1, 3, 4, 9, 10, 11}, "1,3,4,9-11"),
        ({0, 1, 2}, "0-2"),
        ({4, 5}, "4,5"),
    ],
)
def test_index_intervals_round_trip(indexes: set[int], text: str) -> None:
    assert compress_indexes(indexes) == text
    assert parse_indexes(text) == indexes


def test_index_ranges_of_two_are_parsed_too() -> None:
    assert parse_indexes("0-1,3") == {0, 1, 3}


def test_generated_names_use_the_kubernetes_alphabet_and_repeat_with_a_seed() -> None:
    a, b = NameGenerator(3), NameGenerator(3)
    names = [a.generate("x" * 70) for _ in range(5)]
    assert names == [b.generate("x" * 70) for _ in range(5)]
    assert all(len(n) == 63 and set(n[58:]) <= set(NAME_ALPHABET) for n in names)
    assert a.uid() == b.uid()


def test_indexed_pod_generate_name_keeps_the_index() -> None:
    assert pod_generate_name("job", None) == "job-"
    assert pod_generate_name("job", 7) == "job-7-"
    long = pod_generate_name("j" * 60, 12)
    assert long.endswith("-12-") and len(long) == 58


def test_merge_patch() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert merge_patch(target, {"a": {"b": None, "d": 3}, "l": [3]}) == {"a": {"c": 2, "d": 3}, "l": [3]}
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2]}


def test_strategic_merge_patch_merges_keyed_lists_and_directives() -> None:
    target: dict[str, Any] = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "x",
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                },
                {"name": "side", "image": "y"},
            ]
        },
    }
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
        "spec": {
            "containers": [
                {"name": "main", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]},
                {"name": "side", "$patch": "delete"},
            ]
        },
    }
    out = strategic_merge_patch(target, patch)
    assert out["metadata"]["finalizers"] == ["b"]
    (main,) = out["spec"]["containers"]
    assert main["image"] == "x"
    assert main["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    replaced = strategic_merge_patch(target, {"spec": {"$patch": "replace", "x": 1}})
    assert replaced["spec"] == {"x": 1}


def test_json_patch() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "copy", "from": "/b", "path": "/d"},
            {"op": "remove", "path": "/a/0"},
            {"op": "test", "path": "/d/c", "value": 2},
        ],
    )
    assert out == {"a": [2, 3], "b": {"c": 2}, "d": {"c": 2}}
    with pytest.raises(ApiError) as err:
        json_patch(doc, [{"op": "replace", "path": "/nope/x", "value": 1}])
    assert err.value.code == 422


def test_field_errors_render_like_the_apiserver() -> None:
    errors = [
        FieldError(
            "Required", "spec.template.spec.restartPolicy", detail='valid values: "OnFailure", "Never"'
        ),
        FieldError("NotSupported", "spec.completionMode", "Sometimes", supported=("NonIndexed", "Indexed")),
        FieldError("Invalid", "metadata.name", "Bad", "a lowercase RFC 1123 subdomain must …"),
    ]
    status = invalid("Job", "batch", "x", errors).status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"] == (
        'Job.batch "x" is invalid: [spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", '
        '"Never", spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed", '
        'metadata.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain must …]'
    )
    assert [c["reason"] for c in status["details"]["causes"]] == [
        "FieldValueRequired",
        "FieldValueNotSupported",
        "FieldValueInvalid",
    ]


def test_path_rewriting_and_variable_expansion() -> None:
    mapping = {"/dev/termination-log": Path("/tmp/r/t"), "/data": Path("/tmp/r/v")}
    assert rewrite("echo x > /dev/termination-log; ls /data/in /database /x/data", mapping) == (
        "echo x > /tmp/r/t; ls /tmp/r/v/in /database /x/data"
    )
    assert expand("$(A)-$(B)-$$(A)-$(", {"A": "1"}) == "1-$(B)-$(A)-$("
