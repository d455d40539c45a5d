"""The colours of task states and the small stylesheet every kjob drawing carries inside itself, so a
saved ``dag.svg`` shows its colours opened alone as it does in the page."""

from __future__ import annotations

#: a task's phase (lower case, as the drawings' ``st-*`` classes spell it) → its fill colour
STATE_FILL: dict[str, str] = {
    "pending": "#e5e7eb",
    "running": "#93c5fd",
    "succeeded": "#86efac",
    "failed": "#fca5a5",
    "error": "#fdba74",
    "skipped": "#d6d3d1",
    "omitted": "#f5f5f4",
}

#: the words a collapsed box counts its tasks in, in the order they are shown
COUNT_WORDS: dict[str, str] = {
    "running": "running",
    "succeeded": "done",
    "failed": "failed",
    "error": "errored",
    "pending": "waiting",
    "skipped": "skipped",
    "omitted": "omitted",
}


def state_class(phase: str) -> str:
    """``st-running`` for ``Running``; an unknown phase draws as pending."""
    lowered = phase.lower()
    return f"st-{lowered if lowered in STATE_FILL else 'pending'}"


def stylesheet() -> str:
    rules = [f".st-{name}>rect{{fill:{colour}}}" for name, colour in STATE_FILL.items()]
    rules += [f".bar.st-{name}{{fill:{colour}}}" for name, colour in STATE_FILL.items()]
    return "".join(
        [
            "svg.kjob{font-family:system-ui,sans-serif;font-size:12px}",
            ".node>rect{stroke:#475569;stroke-width:1}",
            ".node.kind-group>rect,.node.kind-nested>rect{stroke-width:2.5}",
            ".node.kind-exit>rect{stroke-dasharray:6 3}",
            ".node.st-omitted>rect,.node.st-skipped>rect{stroke-dasharray:3 3}",
            ".node.st-running>rect{stroke:#1d4ed8;stroke-width:2}",
            ".node.st-failed>rect,.node.st-error>rect{stroke:#b91c1c;stroke-width:2}",
            ".node{cursor:pointer}.node.selected>rect{stroke:#111827;stroke-width:3}",
            ".node .label{font-weight:600;fill:#111827}.node .detail{fill:#374151}",
            ".edges{fill:none;stroke:#94a3b8;stroke-width:1.2}",
            ".axis{stroke:#cbd5e1}.tick{fill:#475569;font-size:10px}",
            ".bar{stroke:#475569;stroke-width:.5}.row-label{fill:#111827;font-size:11px}",
            *rules,
        ]
    )


def style_element() -> str:
    """The stylesheet as an SVG ``<style>`` (it holds no ``<`` or ``&``, so it reads the same in XML,
    in HTML's foreign content and in an HTML ``<style>``)."""
    return f"<style>{stylesheet()}</style>"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (the full text is in the ``<title>``)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def num(value: float) -> str:
    """A coordinate as SVG reads it: plain decimals, one place at most (never ``1e+06``)."""
    if value == int(value):
        return str(int(value))
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
