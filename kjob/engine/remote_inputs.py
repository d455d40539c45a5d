"""Input artifacts fetched as the task starts (``http`` downloads, ``git`` clones): which source a task's
input takes, and that source with its references rendered."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from kjob.spec.model import DagTask, GitSource, HttpSource

Remote = HttpSource | GitSource


def remote_input(task: DagTask, name: str, own: Remote | None) -> Remote | None:
    """The ``http``/``git`` source of the input artifact ``name`` whose template gives ``own``: the
    task's argument's, else the template's, unless the argument gives another source."""
    given = task.arguments.artifact(name)
    return own if given is None else given.remote


def rendered(source: Remote, render: Callable[[str], str]) -> Remote:
    """``source`` with every text field rendered (a url or revision may read parameters)."""
    if isinstance(source, HttpSource):
        return HttpSource(url=render(source.url), headers=tuple((k, render(v)) for k, v in source.headers))
    return dataclasses.replace(
        source,
        repo=render(source.repo),
        revision=render(source.revision) if source.revision else None,
        branch=render(source.branch) if source.branch else None,
        fetch=tuple(render(spec) for spec in source.fetch),
    )
