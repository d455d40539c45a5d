"""Why a task was skipped or omitted, in words a user can check: the ``when`` text and the values its
references had, or the ``depends`` text and how the tasks it names ended; so ``kjob run``'s summary,
``kjob get`` and the page all say what decided it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable

from kjob.expr import Lookup, parse_template

VALUE_CHARS = 60  # a value longer than this is cut (the whole one is in the task's outputs)
VALUES_SHOWN = 6  # references named at most; more are counted


def when_false(text: str, lookup: Lookup, *, argo_braces: bool) -> str:
    """``when "{{tasks.a.outputs.result}} == yes" was false: tasks.a.outputs.result = "no"``.

    Each reference is named once, in the order it appears, with its value quoted as JSON (so an empty
    value, spaces and control characters stay visible).  Called after ``text`` evaluated false, so
    every reference resolves."""
    said = f"when {json.dumps(text, ensure_ascii=False)} was false"
    paths = list(dict.fromkeys(ref.path for ref in parse_template(text, argo_braces=argo_braces).refs))
    if not paths:
        return said
    values = [f"{path} = {_quoted(lookup, path)}" for path in paths[:VALUES_SHOWN]]
    if len(paths) > VALUES_SHOWN:
        values.append(f"and {len(paths) - VALUES_SHOWN} more")
    return f"{said}: {', '.join(values)}"


def _quoted(lookup: Lookup, path: str) -> str:
    try:
        value = lookup(path)
    except KeyError:  # pragma: no cover - the condition was evaluated with this lookup
        return "(unresolved)"
    if len(value) > VALUE_CHARS:
        return json.dumps(value[:VALUE_CHARS], ensure_ascii=False)[:-1] + '…" (' + f"{len(value)} chars)"
    return json.dumps(value, ensure_ascii=False)


def depends_false(text: str, tasks: Iterable[str], result_of: Callable[[str], str]) -> str:
    """``depends "a.Succeeded && b" was false: a Failed, b Succeeded``: each task it names, in the
    order the text names them, with how it ended (the words ``depends`` uses)."""
    named = sorted(tasks, key=lambda task: (_first_use(text, task), task))
    return f"depends {json.dumps(text, ensure_ascii=False)} was false: " + ", ".join(
        f"{task} {result_of(task)}" for task in named
    )


def _first_use(text: str, task: str) -> int:
    found = re.search(rf"(?<![\w-]){re.escape(task)}(?![\w-])", text)
    return found.start() if found else len(text)
