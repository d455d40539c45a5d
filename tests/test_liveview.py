"""The live view of ``kjob run`` and ``kjob watch``, drawn from its state at a fixed size (80 by 24, no
colours), exactly: a fan-out is one row with its items counted, a run of thousands of tasks fits the
terminal with its failing and running tasks first, and names and messages are shown as written."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import pytest
from rich.cells import cell_len

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.cli.livestate import Bulk, Kind, LiveState, NodeTracker, Row, Tally, state_from_record
from kjob.cli.liveview import render_text
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.record import RunRecorder
from kjob.engine.state import Node, Phase
from kjob.rundir import RunDir
from kjob.runrecord import RunRecord
from kjob.spec.model import Workflow
from tests.test_engine import workflow

FANOUT = workflow(
    """\
    entrypoint: main
    templates:
    - name: main
      parallelism: 12
      dag:
        tasks:
        - {name: prepare, template: work}
        - {name: fanout, template: work, dependencies: [prepare], withSequence: {count: "80"}}
        - {name: report, template: work, dependencies: [fanout]}
    - name: work
      retryStrategy: {limit: 2, backoff: {duration: "30s"}}
      container: {image: alpine, command: ["true"]}
    """
)
# Item 13 fails every time; item 20 fails once, then succeeds.
FANOUT_OUTCOMES: dict[str, Outcome | list[Outcome]] = {
    "fanout(13:13)": Outcome(exit_code=3),
    "fanout(20:20)": [Outcome(exit_code=1), Outcome()],
}


Ready = Callable[[Tally], bool]


class Snapshot:
    """An engine observer that draws the live view once ``ready`` first holds of the tasks' tally."""

    def __init__(self, backend: VirtualBackend, ready: Ready, expand: Collection[str]) -> None:
        self.backend = backend
        self.ready = ready
        self.expand = expand
        self.tracker = NodeTracker("main")
        self.text: str | None = None

    def node_changed(self, node: Node) -> None:
        self.tracker.changed(node)
        if self.text is None and self.ready(self.tracker.tasks):
            state = self.tracker.state(
                run="wf", phase="Running", now=self.backend.now(), started=0.0, expand=self.expand
            )
            self.text = render_text(state, width=80, height=24)


def snapshot(
    wf: Workflow,
    outcomes: Mapping[str, Outcome | Sequence[Outcome]],
    ready: Ready,
    expand: Collection[str] = (),
) -> str:
    backend = VirtualBackend(scripted(outcomes))
    snap = Snapshot(backend, ready, expand)
    Engine(wf, backend, run_id="wf", observers=[snap]).run()
    assert snap.text is not None
    return snap.text


def test_an_80_item_fanout_is_one_row_that_counts_its_items() -> None:
    text = snapshot(FANOUT, FANOUT_OUTCOMES, lambda tasks: tasks["Succeeded"] >= 41)
    assert text == textwrap.dedent(
        """\
        wf  ● Running  5.0s  41/82 done · 6 running · 2 retrying
        TASK           STATUS       DURATION  MESSAGE
        prepare        ✔ Succeeded  1.0s
        ▸ fanout (80)  ● Running    4.0s      6 running · 40 done · 2 retrying · 32 pen…
        report         ◷ Pending
        """
    )


def test_an_expanded_fanout_lists_its_items_retrying_and_running_first_and_counts_the_rest() -> None:
    text = snapshot(FANOUT, FANOUT_OUTCOMES, lambda tasks: tasks["Succeeded"] >= 41, expand={"fanout"})
    lines = text.splitlines()
    assert len(lines) == 24
    assert lines[:6] == [
        "wf  ● Running  5.0s  41/82 done · 6 running · 2 retrying",
        "TASK             STATUS            DURATION  MESSAGE",
        "▾ fanout (80)    ● Running         4.0s      6 running · 40 done · 2 retrying ·…",
        "  fanout(13:13)  ↻ retry in 28.0s  3.0s      exit code 3; retry 1 at +30s",
        "  fanout(20:20)  ↻ retry in 28.0s  3.0s      exit code 1; retry 1 at +30s",
        "  fanout(42:42)  ● Running         1.0s",
    ]
    assert lines[-1] == "… 62 more: 41 done · 21 pending"


def _many_tasks(count: int) -> Workflow:
    tasks = "\n".join(
        f"    - {{name: t{i:04d}, template: work, continueOn: {{failed: true}}}}" for i in range(count)
    )
    return workflow(
        "entrypoint: main\ntemplates:\n- name: main\n  parallelism: 40\n  dag:\n    tasks:\n"
        + tasks
        + "\n- name: work\n  container: {image: alpine, command: ['true']}\n"
    )


def test_a_2000_task_run_fits_an_80_by_24_terminal_failed_and_running_first() -> None:
    outcomes = {f"t{i:04d}": Outcome(exit_code=1) for i in (3, 700, 1100)}
    text = snapshot(
        _many_tasks(2000), outcomes, lambda tasks: tasks.finished >= 1200 and tasks["Running"] == 40
    )
    lines = text.splitlines()
    assert len(lines) == 24
    assert all(cell_len(line) <= 80 for line in lines)
    assert lines[0] == "wf  ● Running  30.0s  1,200/2,000 done · 40 running · 3 failed"
    assert lines[1] == "TASK   STATUS     DURATION  MESSAGE"
    assert lines[2:5] == [
        "t0003  ✖ Failed   1.0s      exit code 1",
        "t0700  ✖ Failed   1.0s      exit code 1",
        "t1100  ✖ Failed   1.0s      exit code 1",
    ]
    assert lines[5:23] == [f"t{i:04d}  ● Running  0.0s" for i in range(1200, 1218)]
    assert lines[23] == "… 1,979 more: 22 running · 1,197 done · 760 pending"


def test_the_header_stays_on_top_however_small_the_terminal() -> None:
    rows = [Row(f"task-{i}", Kind.TASK, Phase.RUNNING, started=0.0) for i in range(50)]
    state = LiveState(
        "run-1", "Running", now=3.0, started=0.0, finished=None, rows=rows, tasks=Tally({"Running": 50})
    )
    assert render_text(state, width=40, height=4).splitlines() == [
        "run-1  ● Running  3.0s  0/50 done · 50 …",
        "TASK    STATUS     DURATION",
        "task-0  ● Running  3.0s",
        "… 49 more: 49 running",
    ]


@pytest.mark.parametrize("text", [":100:", "[bold]x[/]", "[red]:warning:[/red] \\[b]"])
def test_names_and_messages_are_shown_as_written_never_as_markup_or_emoji(text: str) -> None:
    rows = [Row(f"say-{text}", Kind.TASK, Phase.FAILED, started=0.0, finished=1.0, attempts=1, message=text)]
    state = LiveState(
        text, "Failed", now=1.0, started=0.0, finished=1.0, rows=rows, tasks=Tally({"Failed": 1})
    )
    out = render_text(state, width=80, height=24)
    assert out.splitlines()[0].startswith(f"{text}  ✖ Failed")
    assert out.splitlines()[2] == f"say-{text}  ✖ Failed  1.0s      {text}"


def test_watch_shows_from_run_json_what_run_shows_from_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rows whether drawn from the engine's nodes or from the record it wrote."""
    monkeypatch.setenv("KJOB_HOME", str(tmp_path))
    backend = VirtualBackend(scripted(FANOUT_OUTCOMES))
    tracker = NodeTracker("main")
    run_dir = RunDir.create("wf")
    recorder = RunRecorder(run_dir, header={"run_id": "wf"}, clock_now=0.0)

    class Track:
        def node_changed(self, node: Node) -> None:
            tracker.changed(node)

    result = Engine(FANOUT, backend, run_id="wf", observers=[Track(), recorder]).run()
    recorder.finish(result)
    record = RunRecord.read(run_dir.record)
    for expand in (set(), {"fanout"}):
        live = tracker.state(run="wf", phase="Failed", now=result.finished_at, started=0.0, expand=expand)
        watched = state_from_record(record, now=record.finished or 0.0, expand=expand)
        drawn = [render_text(s, width=100).splitlines()[1:] for s in (live, watched)]
        assert drawn[0] == drawn[1]
        assert live.tasks == watched.tasks
    collapsed = render_text(state_from_record(record, now=0.0, expand=()), width=100)
    assert "▸ fanout (80)  ✖ Failed" in collapsed


def test_a_big_fanout_reports_its_items_being_made_started_and_submitted() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: many, template: work, withSequence: {count: "5000"}}
        - name: work
          container: {image: alpine, command: ["true"]}
        """
    )
    reports: list[tuple[str, int, int]] = []
    backend = VirtualBackend(scripted({}), batches=True)
    options = EngineOptions(on_bulk=lambda what, done, total: reports.append((what, done, total)))
    Engine(wf, backend, run_id="wf", options=options).run()
    assert reports == [
        (f"{step} many's items", done, 5000)
        for step in ("making", "starting", "submitting")
        for done in (2048, 4096, 5000)
    ]


def test_a_long_step_under_way_is_a_bar_under_the_header() -> None:
    state = LiveState(
        "big",
        "Running",
        now=2.0,
        started=0.0,
        finished=None,
        rows=[],
        tasks=Tally(),
        bulk=Bulk("making many's items", 50_000, 200_000),
    )
    assert render_text(state, width=80).splitlines()[:2] == [
        "big  ● Running  2.0s  0/0 done",
        "making many's items  " + "█" * 10 + "░" * 33 + "  50,000/200,000",
    ]
