"""The options that say how much of a run's progress to show (``kjob run``, ``resume``, ``watch``):
``--expand TASK`` and ``--quiet``.  They are kept in click's context, so that the verbs pass them on
without naming them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
_KEY = "kjob.view"


@dataclass(frozen=True, slots=True)
class ViewChoice:
    expand: frozenset[str] = frozenset()
    quiet: bool = False


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    ctx.meta.setdefault(_KEY, {})[param.name] = value


expand_option = click.option(
    "--expand",
    metavar="TASK",
    multiple=True,
    expose_value=False,
    callback=_remember,
    help="List the items of fan-out TASK one per line instead of counting them (repeat it; 'all' for "
    "every fan-out).",
)
quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_remember,
    help="Show no progress (no live view, progress lines or bars), only the outcome.",
)


def view_options(command: F) -> F:
    return expand_option(quiet_option(command))


def chosen_view() -> ViewChoice:
    """What the current command was asked to show (the defaults outside a command)."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(_KEY, {}) if ctx is not None else {}
    return ViewChoice(expand=frozenset(given.get("expand") or ()), quiet=bool(given.get("quiet")))
