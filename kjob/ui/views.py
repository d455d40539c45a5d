"""A loaded run as the page's pieces: the state document, the DAG and timeline SVGs, the served page
and the self-contained report (the same page with every detail and log tail inlined)."""

from __future__ import annotations

import time
from typing import Any

from kjob.render.svg_dag import dag_svg
from kjob.render.svg_gantt import gantt_svg
from kjob.runrecord import FAILED
from kjob.ui.model import Tree, gantt_rows, node_detail, state_document
from kjob.ui.page import run_page
from kjob.ui.source import Loaded, RunSource

REPORT_LOG_LINES = 400
"""A report keeps the last 400 lines of each attempt's log."""
REPORT_LOGS_MAX = 2000
"""... of at most this many attempts (the last ones of the tasks that failed first)."""


def state_of(loaded: Loaded, *, abandoned: bool = False) -> dict[str, Any]:
    """The state document; for a run no kjob is watching any more, with a note saying how to finish it."""
    state = loaded.once("state", lambda: state_document(loaded.view, loaded.drawing.shape))
    if not abandoned:
        return state
    run_id = loaded.record.run_id
    note = f"recorded as {state['phase']} but no kjob is watching it (was it killed?): `kjob resume {run_id}`"
    return {**state, "note": note}


def dag_of(loaded: Loaded) -> str:
    return loaded.once("dag", lambda: dag_svg(loaded.drawing, loaded.view.states))


def gantt_of(loaded: Loaded) -> str:
    """The timeline; drawn once for a finished run, again each time for one still going (its running
    bars grow with the clock, not only when the record changes)."""
    if loaded.record.finished_phase:
        return loaded.once("gantt", lambda: _gantt(loaded))
    return _gantt(loaded)


def _gantt(loaded: Loaded) -> str:
    rows, span = gantt_rows(loaded.record, time.time())
    return gantt_svg(rows, now=span)


def served_page(loaded: Loaded, *, abandoned: bool = False) -> str:
    """The served page: the DAG drawn in; the timeline (a row per attempted task, so thousands of rows
    for a big fan-out) is fetched by the page once the DAG is on screen."""
    return run_page(
        run_id=loaded.view.run_id,
        state=state_of(loaded, abandoned=abandoned),
        dag_svg=dag_of(loaded),
        gantt_svg="",
        inline=None,
    )


def report(source: RunSource, run_id: str) -> str:
    """``kjob report``: the run's page as one file, with every node's details and the tail of its
    attempts' logs inlined (failed tasks first when there are too many to keep)."""
    loaded = source.load(run_id)
    record = loaded.record
    tree = Tree(record)
    details = {node_id: node_detail(record, node_id, tree) for node_id in tree.nodes}
    wanted = [
        (n.id, number)
        for n in sorted(record.nodes, key=lambda n: n.phase not in FAILED)
        for number in range(len(n.attempts))
    ][:REPORT_LOGS_MAX]
    logs = source.logs(run_id, wanted, tail=REPORT_LOG_LINES)
    return run_page(
        run_id=run_id,
        state=state_of(loaded),
        dag_svg=dag_of(loaded),
        gantt_svg=gantt_of(loaded),
        inline={"details": details, "logs": logs},
    )
