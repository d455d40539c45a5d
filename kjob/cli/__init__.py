"""``kjob`` command line: one module per verb, all output through :mod:`kjob.cli.console`."""

from __future__ import annotations

import sys

import click

from kjob import __version__
from kjob.cli import console
from kjob.errors import KjobError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class KjobGroup(click.Group):
    """Turns every :class:`KjobError` into its one-line message and exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KjobError as exc:
            console.error(exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.notice("interrupted")
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=KjobGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kjob")
def cli() -> None:
    """Run Argo-style DAG workflows as plain Kubernetes Jobs (or locally), plan and simulate them."""
    console.reset()


def _register() -> None:
    from kjob.cli import lint, logs, plan, resume, run, sim

    for module in (run, resume, lint, plan, logs, sim):
        cli.add_command(module.command)


_register()


def main() -> None:
    cli(prog_name="kjob")
