"""``python -m kjob.testing.emulator``: serve the emulator until interrupted.

Point ``kubectl --kubeconfig FILE`` or ``kjob --kubeconfig FILE`` at it. Pods run their container
commands as host processes unless ``--behaviour succeed`` is given.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from kjob.testing.emulator import Emulator, host_process
from kjob.testing.emulator.behaviour import succeed_instantly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kjob.testing.emulator", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for the emulator to this file")
    parser.add_argument("--namespace", default="default", help="namespace of the kubeconfig context")
    parser.add_argument("--version", default="v1.31.0", help="Kubernetes version to report and emulate")
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument(
        "--pod-backoff", type=float, default=10.0, help="Job pod-failure back-off base, seconds"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--behaviour",
        choices=("host", "succeed"),
        default="host",
        help="run container commands on the host, or succeed at once",
    )
    parser.add_argument("--workdir", help="directory for host-process pod roots (default: a temporary one)")
    parser.add_argument(
        "--feature-gates",
        default="",
        metavar="GATE=BOOL,...",
        help="as kube-apiserver's, e.g. JobBackoffLimitPerIndex=false (default: the version's defaults)",
    )
    args = parser.parse_args(argv)
    gates: dict[str, bool] = {}
    for item in filter(None, args.feature_gates.split(",")):
        gate, _, value = item.partition("=")
        if value.lower() not in ("true", "false"):
            parser.error(f"--feature-gates: {item!r} is not GATE=true or GATE=false")
        gates[gate.strip()] = value.lower() == "true"

    behaviour = host_process() if args.behaviour == "host" else succeed_instantly
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with Emulator(
        behaviour,
        port=args.port,
        version=args.version,
        speed=args.speed,
        pod_backoff=args.pod_backoff,
        seed=args.seed,
        workdir=args.workdir,
        feature_gates=gates,
    ) as emu:
        if args.kubeconfig:
            emu.write_kubeconfig(args.kubeconfig, namespace=args.namespace)
        sys.stdout.write(f"kjob emulator serving {emu.url} (Kubernetes {args.version})\n")
        if args.kubeconfig:
            sys.stdout.write(f"kubeconfig: {args.kubeconfig}\n")
        sys.stdout.write("press Ctrl-C to stop\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
