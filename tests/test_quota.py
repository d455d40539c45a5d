"""``kjob plan --check-quota --quota FILE``: each level against ResourceQuotas and LimitRanges read
from a file, as a user sees it (output and exit code)."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from kjob.quantity import human, parse_quantity
from tests.conftest import EXAMPLES


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _fan_out(tmp_path: Path, *, items: int, memory: str | None, parallelism: str = "") -> str:
    text = _write(
        tmp_path,
        "wf.yaml",
        f"""\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {{name: fan}}
        spec:
          entrypoint: main
          templates:
          - name: main
            dag:
              tasks:
              - {{name: first, template: work}}
              - {{name: many, template: work, dependencies: [first], withItems: {list(range(items))}}}
          - name: work
            container:
              image: busybox
              command: [sh, -c, "true"]
        """,
    )
    if parallelism:
        path = Path(text)
        path.write_text(
            path.read_text().replace("  entrypoint: main\n", f"  entrypoint: main{parallelism}\n")
        )
    if memory:
        with open(text, "a") as f:
            f.write(f"      resources: {{requests: {{memory: {memory}}}}}\n")
    return text


QUOTA = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ResourceQuota
  metadata: {name: compute}
  spec:
    hard: {requests.cpu: "1", requests.memory: 1Gi}
  status:
    used: {requests.cpu: 200m}
"""


def test_a_level_that_does_not_fit_is_named_with_its_shortfall(kjob: Any, tmp_path: Path) -> None:
    quota = _write(tmp_path, "quota.yaml", QUOTA)
    done = kjob("plan", str(EXAMPLES / "06-resources.yaml"), "--check-quota", "--quota", quota)
    assert done.code == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"quota ({quota}): resourcequota/compute",
        "level 0 (1 pod): fits",
        "level 1 (1 pod): does not fit",
        "  resourcequota/compute: requests.cpu needs 2, 800m left (hard 1, used 200m): 1200m short",
        "  resourcequota/compute: requests.memory needs 4Gi, 1Gi left (hard 1Gi, used 0): 3Gi short",
        "some of the plan will not fit: see above",
    ]


def test_everything_fits_exit_0(kjob: Any, tmp_path: Path) -> None:
    quota = _write(tmp_path, "quota.yaml", QUOTA.replace('"1"', '"8"').replace("1Gi", "16Gi"))
    done = kjob("plan", str(EXAMPLES / "06-resources.yaml"), "--check-quota", "--quota", quota)
    assert done.code == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "all levels fit"


LIMITS = """\
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: mem}
spec:
  hard: {requests.memory: 1Gi, pods: "10"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits:
  - type: Container
    defaultRequest: {memory: 300Mi}
"""


def test_limitrange_defaults_fill_containers_without_requests(kjob: Any, tmp_path: Path) -> None:
    wf = _fan_out(tmp_path, items=4, memory=None)
    quota = _write(tmp_path, "quota.yaml", LIMITS)
    done = kjob("plan", wf, "--check-quota", "--quota", quota)
    assert done.code == 1
    assert "level 0 (1 pod): fits" in done.stdout
    assert (
        "level 1 (4 pods): does not fit\n"
        "  resourcequota/mem: requests.memory needs 1.17Gi, 1Gi left (hard 1Gi, used 0): 176Mi short"
    ) in done.stdout


def test_a_quota_on_memory_refuses_pods_that_do_not_say_theirs(kjob: Any, tmp_path: Path) -> None:
    wf = _fan_out(tmp_path, items=2, memory=None)
    quota = _write(tmp_path, "quota.yaml", LIMITS.split("---\napiVersion: v1\nkind: LimitRange")[0])
    done = kjob("plan", wf, "--check-quota", "--quota", quota)
    assert done.code == 1
    assert "resourcequota/mem: must specify requests.memory: first (pods refused)" in done.stdout
    assert "resourcequota/mem: must specify requests.memory: many (pods refused)" in done.stdout


def test_parallelism_bounds_what_a_level_runs_at_once(kjob: Any, tmp_path: Path) -> None:
    quota = _write(tmp_path, "quota.yaml", LIMITS)
    wide = kjob("plan", _fan_out(tmp_path, items=4, memory="300Mi"), "--check-quota", "--quota", quota)
    assert wide.code == 1
    capped = _fan_out(tmp_path, items=4, memory="300Mi", parallelism="\n  parallelism: 3")
    done = kjob("plan", capped, "--check-quota", "--quota", quota)
    assert done.code == 0, done.stdout
    assert "level 1 (3 pods, 3 of 4 tasks at once (parallelism)): fits" in done.stdout


def test_limitrange_max_refuses_a_task(kjob: Any, tmp_path: Path) -> None:
    quota = _write(
        tmp_path,
        "quota.yaml",
        """\
        kind: LimitRange
        apiVersion: v1
        metadata: {name: caps}
        spec:
          limits:
          - {type: Container, max: {memory: 2Gi}}
        """,
    )
    done = kjob("plan", str(EXAMPLES / "06-resources.yaml"), "--check-quota", "--quota", quota)
    assert done.code == 1
    assert (
        "task crunch: refused: limitrange/caps: memory limit 8Gi is above the maximum 2Gi per Container"
        in done.stdout
    )
    # the max is also the default limit: prepare (no limit) gets 2Gi and is admitted
    assert "task prepare" not in done.stdout


def test_jobs_count_for_every_level_so_far(kjob: Any, tmp_path: Path) -> None:
    quota = _write(
        tmp_path,
        "quota.yaml",
        """\
        kind: ResourceQuota
        apiVersion: v1
        metadata: {name: objects}
        spec: {hard: {count/jobs.batch: "4"}}
        status: {used: {count/jobs.batch: "1"}}
        """,
    )
    done = kjob("plan", _fan_out(tmp_path, items=3, memory="1Mi"), "--check-quota", "--quota", quota)
    assert done.code == 1
    assert "resourcequota/objects: count/jobs.batch needs 4, 3 left (hard 4, used 1): 1 short" in done.stdout


def test_scoped_quota_counts_only_its_pods(kjob: Any, tmp_path: Path) -> None:
    quota = _write(
        tmp_path,
        "quota.yaml",
        """\
        kind: ResourceQuota
        apiVersion: v1
        metadata: {name: deadlines}
        spec: {hard: {pods: "1"}, scopes: [Terminating]}
        """,
    )
    done = kjob("plan", _fan_out(tmp_path, items=3, memory="1Mi"), "--check-quota", "--quota", quota)
    assert done.code == 0, done.stdout  # no task has activeDeadlineSeconds


def test_run_time_fan_out_is_an_assumption(kjob: Any, tmp_path: Path) -> None:
    quota = _write(tmp_path, "quota.yaml", QUOTA.replace("1Gi", "64Gi").replace('"1"', '"64"'))
    done = kjob("plan", str(EXAMPLES / "05-parallel-withparam.yaml"), "--check-quota", "--quota", quota)
    assert "assumed: process-partition: withParam items are known only at run time (counted as 1)" in (
        done.stdout
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "kind: ResourceQuota\nmetadata: {name: q}\nspec:\n  hard:\n    cpu: lots\n",
            "quota.yaml:5:5: error: cpu: 'lots' is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 4Gi)",
        ),
        ("kind: ResourceQuota\nspec: [1\n", "quota.yaml:3:1: error: not YAML"),
        ("kind: ConfigMap\n", "quota.yaml:1:1: error: no ResourceQuota or LimitRange in the file"),
        (
            "kind: LimitRange\nspec:\n  limits:\n  - type: Node\n",
            "quota.yaml:4:5: error: type 'Node' is not one of Container, Pod, PersistentVolumeClaim",
        ),
    ],
)
def test_bad_quota_file_is_a_located_error(kjob: Any, tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "quota.yaml").write_text(text)
    done = kjob(
        "plan", str(EXAMPLES / "06-resources.yaml"), "--check-quota", "--quota", "quota.yaml", cwd=tmp_path
    )
    assert done.code == 2
    assert done.stderr.startswith(expected), done.stderr
    assert "Traceback" not in done.stderr


def test_quantities_parse_exactly_and_print_short() -> None:
    assert parse_quantity("1500m") == Fraction(3, 2)
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("1e3") == 1000
    with pytest.raises(ValueError):
        parse_quantity("1e3Gi")
    assert human("requests.cpu", Fraction(6, 5)) == "1200m"
    assert human("memory", Fraction(3 * 2**29)) == "1.5Gi"


def test_a_nested_template_counts_as_its_largest_level(kjob: Any, tmp_path: Path) -> None:
    wf = _write(
        tmp_path,
        "nested.yaml",
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: nested}
        spec:
          entrypoint: main
          templates:
          - name: main
            dag:
              tasks:
              - {name: a, template: inner}
              - {name: b, template: work}
          - name: inner
            dag:
              tasks:
              - {name: x, template: work}
              - {name: y, template: work, dependencies: [x], withItems: [1, 2, 3]}
          - name: work
            container:
              image: busybox
              command: [sh, -c, "true"]
              resources: {requests: {cpu: 500m}}
        """,
    )
    quota = _write(
        tmp_path,
        "quota.yaml",
        """\
        kind: ResourceQuota
        apiVersion: v1
        metadata: {name: cpu}
        spec: {hard: {requests.cpu: 1900m}}
        """,
    )
    done = kjob("plan", wf, "--check-quota", "--quota", quota)
    assert done.code == 1
    assert (
        "level 0 (4 pods): does not fit\n"
        "  resourcequota/cpu: requests.cpu needs 2, 1900m left (hard 1900m, used 0): 100m short"
    ) in done.stdout


def test_without_a_cluster_or_a_file_it_says_what_to_give(kjob: Any) -> None:
    done = kjob("plan", str(EXAMPLES / "06-resources.yaml"), "--check-quota")
    assert done.code == 2
    assert done.stderr.startswith("error: --check-quota: no cluster is configured"), done.stderr
    assert "hint: give --quota FILE" in done.stderr
