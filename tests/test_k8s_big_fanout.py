"""A big fan-out stays a handful of Kubernetes objects: the item template once, only what varies per
item, split into a few Indexed Jobs (each with its own ConfigMap) when one ConfigMap cannot hold the
items; the split is said once; a parallelism limit holds across the parts; ``kjob resume`` adopts
every item exactly once; and ``$(VAR)``/``$$`` mean in an Indexed Job what they mean in a Job of its
own.  Run through the CLI against the API emulator, with ``KJOB_ITEMS_CONFIGMAP_BYTES`` lowered so
that a few hundred items split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.render.intervals import parse_indexes
from kjob.testing.emulator import Emulator, host_process
from tests.conftest import kill_run_when

SPLIT_ENV = "KJOB_ITEMS_CONFIGMAP_BYTES"


def fan_out(count: int, *, name: str = "fan", parallelism: int | None = None) -> str:
    """``count`` items, each writing its own output: the item, and what the kubelet makes of
    ``$(N)``, ``$$(N)`` and ``$$`` in its command."""
    limit = f"  parallelism: {parallelism}\n" if parallelism else ""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: {name}}}
spec:
  entrypoint: main
{limit}  templates:
  - name: main
    dag:
      tasks:
      - name: work
        template: work
        arguments: {{parameters: [{{name: n, value: "{{{{item}}}}"}}]}}
        withSequence: {{count: "{count}"}}
  - name: work
    inputs: {{parameters: [{{name: n}}]}}
    container:
      image: alpine
      command:
      - sh
      - -c
      - echo "$0" '$(N)' '$$(N)' '$$' > /tmp/out
      - "{{{{inputs.parameters.n}}}}"
      env: [{{name: N, value: "n{{{{inputs.parameters.n}}}}"}}, {{name: SAME, value: same}}]
    outputs: {{parameters: [{{name: out, valueFrom: {{path: /tmp/out}}}}]}}
"""


def expected(n: int) -> str:
    return f"{n} n{n} $(N) $"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(host_process(private_tmp=True)) as emu:
        yield emu


def indexed_jobs(emu: Emulator) -> list[dict[str, Any]]:
    jobs = [j for j in emu.objects("jobs", "default") if j["spec"].get("completionMode") == "Indexed"]
    return sorted(
        jobs, key=lambda j: min(parse_indexes(j["metadata"]["annotations"]["kjob.dev/item-indexes"]))
    )


def outputs(done: Any, count: int) -> list[str]:
    nodes = done.nodes()
    return [nodes[f"work({i}:{i})"]["outputs"]["parameters"]["out"] for i in range(count)]


def covered(emu: Emulator) -> list[tuple[int, str]]:
    """(item, attempt) for every item of every Indexed Job."""
    return [
        (i, j["metadata"]["labels"]["kjob.dev/attempt"])
        for j in indexed_jobs(emu)
        for i in parse_indexes(j["metadata"]["annotations"]["kjob.dev/item-indexes"])
    ]


def test_items_beyond_one_configmap_split_into_a_few_indexed_jobs_and_all_run(
    kjob: Any, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SPLIT_ENV, "800")
    wf = tmp_path / "fan.yaml"
    wf.write_text(fan_out(120))
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    done = kjob("run", str(wf), "--backend", "kubernetes", "--kubeconfig", str(kubeconfig), timeout=300)
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done, 120) == [expected(i) for i in range(120)]
    jobs = indexed_jobs(emulator)
    assert 2 < len(jobs) <= 20  # each item's command differs (its own $(N)): about 8 items a part
    assert sorted(i for i, _ in covered(emulator)) == list(range(120))  # each item in exactly one Job
    said = [line for line in done.stderr.splitlines() if "Indexed Jobs" in line]
    assert len(said) == 1 and f"120 items in {len(jobs)} Indexed Jobs" in said[0], done.stderr
    assert "a ConfigMap holds 800 bytes" in said[0]
    configmaps = [c for c in emulator.objects("configmaps", "default") if c["metadata"]["name"] != "fan"]
    assert {c["metadata"]["name"] for c in configmaps} == {j["metadata"]["name"] for j in jobs}
    for cm in configmaps:
        assert sum(len(v.encode()) for v in cm["data"].values()) <= 800
        assert cm["data"]["run"].count("exec ") == 1  # the item template, once per part


def test_a_parallelism_limit_holds_across_the_parts_and_waiting_parts_get_a_share(
    kjob: Any, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SPLIT_ENV, "700")
    wf = tmp_path / "fan.yaml"
    wf.write_text(fan_out(100, parallelism=2))
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    done = kjob("run", str(wf), "--backend", "kubernetes", "--kubeconfig", str(kubeconfig), timeout=300)
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done, 100) == [expected(i) for i in range(100)]
    jobs = indexed_jobs(emulator)
    assert len(jobs) > 2
    # every part ran: those created waiting (parallelism 0) were handed a share as earlier ones ended
    assert all(j["spec"]["parallelism"] >= 1 for j in jobs)
    assert all(j["status"].get("succeeded") == j["spec"]["completions"] for j in jobs)
    handed = emulator.audit_counts(verb="patch", resource="jobs", code=200)
    assert sum(handed.values()) >= len(jobs) - 2


def test_resume_adopts_every_part_and_runs_no_item_twice(
    emulator: Emulator, tmp_path: Path, kjob_home: Path, kjob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SPLIT_ENV, "700")
    wf = tmp_path / "fan.yaml"
    wf.write_text(
        fan_out(80, name="fan-resume", parallelism=4).replace('> /tmp/out"', '> /tmp/out; sleep 0.2"')
    )
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    args = ["--backend", "kubernetes", "--kubeconfig", str(kubeconfig)]
    kill_run_when(
        kjob_home, [str(wf), *args], lambda: len(emulator.objects("pods", "default")) >= 20, within=120
    )
    before = len(indexed_jobs(emulator))
    assert before > 1

    done = kjob("resume", "fan-resume", "--kubeconfig", str(kubeconfig), timeout=300)
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done, 80) == [expected(i) for i in range(80)]
    pairs = covered(emulator)
    assert sorted(pairs) == [(i, "0") for i in range(80)], "an item was left out or ran twice"
    assert set(emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False).values()) == {1}


def test_per_item_jobs_and_an_indexed_job_give_a_command_the_same_dollars(
    kjob: Any, emulator: Emulator, tmp_path: Path
) -> None:
    wf = tmp_path / "fan.yaml"
    wf.write_text(fan_out(6))
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    args = ["--backend", "kubernetes", "--kubeconfig", str(kubeconfig)]
    batched = kjob("run", str(wf), *args)
    assert batched.code == 0, batched.stderr
    wf2 = tmp_path / "fan2.yaml"
    wf2.write_text(fan_out(6, name="fan2"))
    per_item = kjob("run", str(wf2), *args, "--no-indexed-jobs")
    assert per_item.code == 0, per_item.stderr
    assert outputs(batched, 6) == outputs(per_item, 6) == [expected(i) for i in range(6)]


def test_a_reference_only_the_kubelet_can_resolve_keeps_one_job_per_item(kjob: Any, tmp_path: Path) -> None:
    wf = tmp_path / "fan.yaml"
    wf.write_text(
        fan_out(3)
        .replace("'$$(N)'", "'$(POD)'")
        .replace(
            "{name: SAME, value: same}", "{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}"
        )
    )
    done = kjob("run", str(wf), "--dry-run")
    assert done.code == 0, done.stderr
    assert (
        "dry run: work: one Job per item ($(POD) is expanded by the kubelet in each container" in done.stderr
    )
