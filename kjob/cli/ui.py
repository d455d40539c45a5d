"""``kjob ui [--port 8765]``: a local web page (bound to 127.0.0.1 only) listing runs and showing one as
its DAG, with task states updating live, a click on a task showing its inputs, outputs, attempts and
log, and a timeline of attempts."""

from __future__ import annotations

import click

from kjob.cli import console
from kjob.errors import KjobError


@click.command("ui")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free one).",
)
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (Kubernetes runs' logs)."
)
@click.option("--context", help="Kubeconfig context (Kubernetes runs' logs).")
@click.option(
    "-n", "--namespace", help="Where to find Kubernetes runs not recorded here (default: the context's)."
)
def command(port: int, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
    """Serve the runs' pages on http://127.0.0.1:PORT/ until interrupted."""
    from kjob.ui.server import UiServer
    from kjob.ui.source import RunSource

    try:
        server = UiServer(port, RunSource(kubeconfig=kubeconfig, context=context, namespace=namespace))
    except OSError as err:
        raise KjobError(
            f"cannot listen on 127.0.0.1:{port}: {err.strerror}", hint="pick another --port (0: any free one)"
        ) from None
    console.line(f"kjob ui: {server.url} (Ctrl-C stops it)")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
