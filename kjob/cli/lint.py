"""``kjob lint FILE...``: check workflow files without running anything."""

from __future__ import annotations

import sys

import click

from kjob.backends import localsecrets, localshape, localvolumes, resources
from kjob.cli import EXIT_OK, EXIT_USAGE, console
from kjob.cli.common import lenient_option, load, templates_option
from kjob.errors import KjobError
from kjob.render import entrypoint, podshape
from kjob.spec import build_gc, build_pdb
from kjob.spec.diagnostics import SpecWarning
from kjob.spec.model import Mark


@click.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@lenient_option
@templates_option
def command(files: tuple[str, ...], lenient: bool) -> None:
    """Check FILES: every mistake is reported as file:line:col with a hint; exit 2 if any."""
    bad = 0
    for path in files:
        try:
            loaded = load(path, lenient=lenient)
        except KjobError as exc:
            console.error(exc)
            bad += 1
            continue
        for wf in loaded.workflows:
            for problem in [*entrypoint.problems(wf), *podshape.problems(wf)]:  # runs locally, not on k8s
                where = Mark(problem.path, problem.line, problem.col)
                console.notice(SpecWarning(problem.message, where, problem.hint).render())
            for message, where, hint in [*build_gc.local_notes(wf), *build_pdb.local_note(wf)]:
                console.notice(SpecWarning(f"on the local backend: {message}", where, hint).render())
            for problem in [*localvolumes.problems(wf), *resources.problems(wf)]:  # runs on Kubernetes only
                where = Mark(problem.path, problem.line, problem.col)
                message = f"on the local backend: {problem.message}"
                console.notice(SpecWarning(message, where, problem.hint).render())
            for problem in localsecrets.problems(wf):  # needs a cluster to read the Secret from
                where = Mark(problem.path, problem.line, problem.col)
                message = f"on the local backend: {problem.message}"
                console.notice(SpecWarning(message, where, problem.hint).render())
            for problem in localshape.problems(wf):  # applies in part on the local backend
                where = Mark(problem.path, problem.line, problem.col)
                message = f"on the local backend: {problem.message}"
                console.notice(SpecWarning(message, where, problem.hint).render())
            tasks = sum(
                len(t.dag.tasks) if t.dag else sum(len(g) for g in t.steps or ())
                for t in wf.templates.values()
            )
            console.line(
                f"{path}: ok ({wf.kind} {wf.display_name}, {len(wf.templates)} templates, {tasks} tasks)"
            )
    if bad:
        console.failure(f"{bad} of {len(files)} files have errors")
    sys.exit(EXIT_USAGE if bad else EXIT_OK)
