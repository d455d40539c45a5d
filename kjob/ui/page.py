"""The HTML of the page: the runs list, and a run's page either served (``kjob ui``: the script and
stylesheet are fetched from kjob, states are polled) or as one self-contained file (``kjob report``:
script, stylesheet and every datum inlined, nothing fetched).

Every text a user or a task wrote goes through :func:`html.escape` here, or through ``textContent``
in the script; the data for the script sits in a ``<script type="application/json">`` whose JSON has
``<``, ``>`` and ``&`` escaped, so no record can close it.
"""

from __future__ import annotations

import time
from html import escape
from importlib import resources
from typing import Any

from kjob.render.svg_style import STATE_FILL, state_class
from kjob.ui.source import as_json

ASSETS = ("page.js", "page.css")


def asset(name: str) -> bytes:
    """One of :data:`ASSETS`, as shipped in the package."""
    return resources.files("kjob.ui").joinpath("assets", name).read_bytes()


def _pill_css() -> str:
    return "".join(f".pill.st-{name}{{background:{colour}}}" for name, colour in STATE_FILL.items())


def run_page(
    *, run_id: str, state: dict[str, Any], dag_svg: str, gantt_svg: str, inline: dict[str, Any] | None
) -> str:
    """A run's page.  ``inline`` holds ``details`` and ``logs`` for a self-contained report; ``None``
    makes the served page, which fetches them."""
    boot: dict[str, Any] = {"mode": "live" if inline is None else "static", "run": run_id, "state": state}
    if inline is not None:
        boot.update(inline)
        css = f"<style>{asset('page.css').decode()}{_pill_css()}</style>"
        script = f"<script>{asset('page.js').decode()}</script>"
    else:
        css = f'<link rel="stylesheet" href="/assets/page.css"><style>{_pill_css()}</style>'
        script = '<script src="/assets/page.js"></script>'
    back = '<a href="/">runs</a>' if inline is None else ""
    phase = str(state.get("phase") or "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(run_id)} · kjob</title>{css}</head><body>"
        f"<header>{back}<h1>{escape(run_id)}</h1>"
        f'<span id="phase" class="phase pill {state_class(phase)}">{escape(phase)}</span>'
        '<span id="progress"></span><span id="message"></span></header>'
        "<main>"
        '<section id="dag-pane"><h2>DAG</h2><div class="toolbar">'
        '<button id="zoom-out" title="smaller">&minus;</button><button id="zoom-in" title="larger">+</button>'
        '<button id="zoom-fit">fit</button><span>click a task for its inputs, outputs, attempts and log'
        "</span></div>"
        f'<div id="dag" class="canvas">{dag_svg}</div></section>'
        f'<section id="gantt-pane"><h2>Timeline</h2><div id="gantt">{gantt_svg}</div></section>'
        "</main>"
        '<aside id="detail" hidden></aside>'
        f'<script type="application/json" id="kjob-boot">{as_json(boot).decode()}</script>'
        f"{script}</body></html>\n"
    )


def runs_page(summaries: list[dict[str, Any]], problems: list[str]) -> str:
    """The list of runs, newest first, each a link to its page; and what kept some from it."""
    going = any(s["phase"] == "Running" for s in summaries)
    rows = []
    for s in summaries:
        run_id = escape(s["run_id"])
        done, total = s["progress"]
        rows.append(
            f'<tr><td><a href="/runs/{run_id}">{run_id}</a></td><td>{escape(s["workflow"])}</td>'
            f'<td><span class="pill {state_class(s["phase"])}">{escape(s["phase"])}</span></td>'
            f"<td>{escape(_when(s['started']))}</td><td>{escape(_duration(s))}</td>"
            f"<td>{done}/{total}</td><td>{escape(s['backend'])}</td></tr>"
        )
    body = (
        '<table class="runs"><tr><th>run</th><th>workflow</th><th>status</th><th>started</th>'
        "<th>duration</th><th>progress</th><th>backend</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>No runs yet: <code>kjob run FILE</code> starts one.</p>"
    )
    refresh = '<meta http-equiv="refresh" content="5">' if going else ""
    notes = "".join(f'<p class="problem">{escape(p)}</p>' for p in problems)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">{refresh}<title>runs · kjob</title>'
        f'<link rel="stylesheet" href="/assets/page.css"><style>{_pill_css()}</style></head><body>'
        f"<header><h1>kjob runs</h1><span>{len(summaries)} shown</span></header>"
        f'<main>{notes}<section id="runs">{body}</section></main></body></html>\n'
    )


def _when(t: Any) -> str:
    if not isinstance(t, (int, float)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _duration(summary: dict[str, Any]) -> str:
    start, end = summary.get("started"), summary.get("finished")
    if not isinstance(start, (int, float)):
        return ""
    seconds = (end if isinstance(end, (int, float)) else time.time()) - start
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
