"""How ``kjob list`` and ``kjob get`` show runs: times, durations, aligned columns, a run's summary as
plain values for ``-o json|yaml``.  Plain text only (a table of a thousand runs is joined, not drawn
by rich), and what a task or a user wrote is printed as it is, never read as markup."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Sequence
from typing import Any

from kjob.runrecord import RunRecord

FORMATS = ("wide", "json", "yaml", "name")
SYMBOL = {
    "Pending": "◷",
    "Running": "●",
    "Succeeded": "✔",
    "Failed": "✖",
    "Error": "⚠",
    "Skipped": "○",
    "Omitted": "-",
}


def when(stamp: float | None) -> str:
    """A wall-clock time in the local time zone, to the second (``2026-12-07 18:16:52``)."""
    if stamp is None:
        return ""
    return datetime.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")


def took(seconds: float | None) -> str:
    """``0.8s``, ``42.0s``, ``3m05s``, ``2h07m``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def run_took(run: RunRecord, now: float | None = None) -> str:
    """How long the run took, or has been going (a running run counts until ``now``; one whose end
    is not known shows none)."""
    if run.started is None:
        return ""
    if run.finished is not None:
        return took(run.duration)
    if run.phase not in ("Running", "Pending"):
        return ""
    return took(max(0.0, (time.time() if now is None else now) - run.started))


def one_line(text: str, limit: int = 200) -> str:
    """A message as one line: its first line, cut at ``limit`` characters, ``…`` if anything was left."""
    first, newline, _ = text.strip().partition("\n")
    cut = len(first) > limit
    return first[:limit] + ("…" if cut or newline else "")


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, each column as wide as its widest cell and three spaces apart (the last
    column is not padded), as kubectl and argo print tables."""
    table = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    lines = []
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def summary(run: RunRecord) -> dict[str, Any]:
    """A run without its tasks, as ``kjob list -o json`` gives each one."""
    done, total = run.progress()
    return {
        "run_id": run.run_id,
        "phase": run.phase,
        "message": run.message,
        "backend": run.backend,
        "namespace": run.namespace,
        "workflow": run.workflow,
        "workflow_name": run.workflow_name,
        "started": run.started,
        "finished": run.finished,
        "duration": run.duration,
        "progress": {"finished": done, "total": total},
    }


def dump(data: Any, fmt: str) -> str:
    """``data`` as JSON (indented, keys in their order) or YAML."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import yaml

    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1_000_000)
    return text
