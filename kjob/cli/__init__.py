"""``kjob`` command line: one module per verb, all output through :mod:`kjob.cli.console`.

A verb's module is imported only when that verb is run (or ``--help`` lists them all), so that
``kjob --version`` loads nothing but click and ``kjob lint`` never pays for the engine, the simulator,
numpy's plotting helpers or the Kubernetes client.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from typing import Any

import click

from kjob import __version__
from kjob.errors import KjobError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# Each verb and the module whose ``command`` it is, in the order ``kjob --help`` lists them.
VERBS: Mapping[str, str] = {
    "run": "kjob.cli.run",
    "resume": "kjob.cli.resume",
    "list": "kjob.cli.list",
    "get": "kjob.cli.get",
    "lint": "kjob.cli.lint",
    "plan": "kjob.cli.plan",
    "logs": "kjob.cli.logs",
    "watch": "kjob.cli.watch",
    "sim": "kjob.cli.sim",
    "cron": "kjob.cli.cron",
    "stop": "kjob.cli.stop",
    "terminate": "kjob.cli.terminate",
    "retry": "kjob.cli.retry",
    "resubmit": "kjob.cli.resubmit",
    "delete": "kjob.cli.delete",
    "template": "kjob.cli.template",
    "viz": "kjob.cli.viz",
    "ui": "kjob.cli.ui",
    "report": "kjob.cli.report",
    "compat": "kjob.cli.compat",
}


class KjobGroup(click.Group):
    """Turns every :class:`KjobError` into its one-line message and exit code, never a traceback.

    ``verbs`` maps command names to modules imported on first use (see :data:`VERBS`).
    """

    def __init__(self, *args: Any, verbs: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verbs = dict(verbs or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.verbs, *(name for name in self.commands if name not in self.verbs)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.verbs:
            module = importlib.import_module(self.verbs[cmd_name])
            self.add_command(module.command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KjobError as exc:
            from kjob.cli import console

            console.error(exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            from kjob.cli import console

            console.notice("interrupted")
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=KjobGroup, verbs=VERBS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kjob")
def cli() -> None:
    """Run Argo-style DAG workflows as plain Kubernetes Jobs (or locally), plan and simulate them."""
    from kjob.cli import console

    console.reset()


def main() -> None:
    cli(prog_name="kjob")
