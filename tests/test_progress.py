"""What ``kjob run`` shows: the summary written directly when there are no colours is, character for
character, what rich lays out (so a run of thousands of tasks does not pay rich's price for it)."""

from __future__ import annotations

import io

from rich.console import Console

from kjob.backends.virtual import Outcome
from kjob.cli.progress import _table, plain_table, shown
from tests.test_engine import run, workflow

WIDE = workflow(
    """\
    entrypoint: main
    templates:
    - name: main
      dag:
        tasks:
        - {name: ok, template: job}
        - {name: naive, template: job, arguments: {parameters: []}}
        - {name: boom, template: job}
        - {name: after, template: job, dependencies: [boom]}
        - {name: each, template: job, withItems: [a, bb, ccc]}
    - name: job
      container: {image: alpine, command: ["true"]}
    """
)


def test_the_plain_summary_is_what_rich_would_print() -> None:
    result, _ = run(WIDE, {"boom": Outcome(duration=75, error="it broke — ünïcode ✔ too")})
    nodes = shown(result.nodes, "main")
    assert {n.id for n in nodes} >= {"ok", "naive", "boom", "after", "each(2:ccc)"}
    out = io.StringIO()
    Console(file=out, color_system=None, width=500, soft_wrap=True).print(_table(nodes))
    assert plain_table(nodes) + "\n" == out.getvalue()
    assert "it broke — ünïcode ✔ too" in out.getvalue()
