"""Run ``kjob run`` through the CLI on the API emulator, on a real cluster and on the local backend, and
compare the runs.

Used by ``test_k8s_examples.py``, ``test_k8s_faults.py`` and ``real/test_examples_real.py``.  Every run
gets its own ``KJOB_HOME`` (and, on the emulator, its own emulator), so runs can go at the same time:
:func:`concurrently` starts them in threads, which keeps these end-to-end tests within CI's time budget.
An emulator is closed when its run ends; its audit log and stored objects stay readable.

Some examples draw random numbers (03's size, 04's failures).  With ``random_seed`` every Python task
of the run seeds :mod:`random` with it at start-up (through a ``sitecustomize`` module on
``PYTHONPATH``), on either backend, so two runs of the same example draw the same numbers and their
results can be compared exactly.  The workflow files are used unchanged.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from kjob.testing.emulator import Emulator, HostProcess, PodView
from kjob.testing.emulator import kubeconfig as emulator_kubeconfig
from tests.conftest import EXAMPLES, REPO, Completed, kjob_env

T = TypeVar("T")

RANDOM_SEED_VAR = "KJOB_TEST_RANDOM_SEED"
SITECUSTOMIZE = f"""\
import os

if os.environ.get({RANDOM_SEED_VAR!r}):
    import random

    random.seed(int(os.environ[{RANDOM_SEED_VAR!r}]))
"""


@dataclass
class KubeRun:
    """One ``kjob run --backend kubernetes`` and the (closed) emulator it ran on."""

    done: Completed
    emulator: Emulator
    kubeconfig: Path
    #: what each pod printed, read before the emulator closed (its kubelet keeps the logs)
    pod_logs: dict[str, str]
    proxy: LossyProxy | None = None

    def jobs_created(self) -> Counter[tuple[str, str, str]]:
        """``(verb, resource, name)`` → how many creates of that Job answered 201."""
        return self.emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)

    def faults(self) -> Counter[str]:
        """How many requests the fault injector failed, by kind (``error``, ``throttle``, ``drop``)."""
        return Counter(e.fault for e in self.emulator.audit() if e.fault is not None)

    def requests(self) -> int:
        return len(self.emulator.audit())

    def watches(self) -> int:
        """Watch requests served: one per (re)connection of the run's watch."""
        return len(self.emulator.audit(verb="watch", code=200))


@dataclass
class Runner:
    """Starts runs under ``root``, each in a fresh directory; ``random_seed`` as in the module doc."""

    root: Path
    _numbers: Iterator[int] = field(default_factory=lambda: count(1))

    def __post_init__(self) -> None:
        # written once, before any run, so no task ever reads it half-written
        (self.root / "seeded-random").mkdir(parents=True, exist_ok=True)
        (self.root / "seeded-random" / "sitecustomize.py").write_text(SITECUSTOMIZE)

    def _fresh(self, label: str) -> Path:
        path = self.root / f"{next(self._numbers):02d}-{label}"
        path.mkdir(parents=True)
        return path

    def _env(self, home: Path, random_seed: int | None) -> dict[str, str]:
        env = kjob_env(home)
        if random_seed is not None:
            env.update(self._seed_env(random_seed))
        return env

    def _seed_env(self, random_seed: int) -> dict[str, str]:
        seeds = str(self.root / "seeded-random")
        path = os.pathsep.join(p for p in (seeds, os.environ.get("PYTHONPATH", "")) if p)
        return {"PYTHONPATH": path, RANDOM_SEED_VAR: str(random_seed)}

    def local(self, workflow: Path, *args: str, random_seed: int | None = None) -> Completed:
        home = self._fresh("local")
        return _kjob(self._env(home, random_seed), home, "run", str(workflow), "--backend", "local", *args)

    def kubernetes(
        self,
        workflow: Path,
        *args: str,
        random_seed: int | None = None,
        faults: Mapping[str, Any] | None = None,
        lose: Callable[[str, str, Any], bool] | None = None,
    ) -> KubeRun:
        """``kjob run WORKFLOW --backend kubernetes --kubeconfig K -n default ARGS`` on a fresh emulator,
        with ``faults`` (keyword arguments of :meth:`Emulator.faults`) from the first request on, and
        with ``lose``: the client talks through a :class:`LossyProxy` that loses those responses."""
        home = self._fresh("kubernetes")
        extra_env = self._seed_env(random_seed) if random_seed is not None else {}
        outcome = HostProcess(extra_env=extra_env)  # each container's command runs on this host

        def behaviour(_pod: PodView) -> HostProcess:
            return outcome

        emu = Emulator(behaviour)
        proxy: LossyProxy | None = None
        with emu, contextlib.ExitStack() as stack:
            if lose is not None:
                proxy = stack.enter_context(LossyProxy(emu.url, lose))
            server = proxy.url if proxy is not None else emu.url
            kubeconfig = emulator_kubeconfig.write(home / "kubeconfig", server, namespace="default")
            if faults:
                emu.faults(**faults)
            done = _kjob(
                self._env(home, random_seed),
                home,
                "run",
                str(workflow),
                "--backend",
                "kubernetes",
                "--kubeconfig",
                str(kubeconfig),
                "-n",
                "default",
                *args,
            )
            pod_logs = {
                pod["metadata"]["name"]: emu.pod_log("default", pod["metadata"]["name"])
                for pod in emu.objects("pods", "default")
            }
        return KubeRun(done, emu, kubeconfig, pod_logs, proxy)

    def on_cluster(self, kubeconfig: Path, namespace: str, workflow: Path, *args: str) -> Completed:
        """``kjob run WORKFLOW --backend kubernetes -n NAMESPACE ARGS`` with ``KUBECONFIG=kubeconfig``, as
        a user types it for a cluster of theirs."""
        home = self._fresh("cluster")
        return _kjob(
            kjob_env(home, kubeconfig),
            home,
            "run",
            str(workflow),
            "--backend",
            "kubernetes",
            "-n",
            namespace,
            *args,
            timeout=CLUSTER_RUN_TIMEOUT,
        )


#: a run on a real cluster waits for pods to be scheduled and started, possibly among other tests' pods
CLUSTER_RUN_TIMEOUT = 300


def logs(done: Completed, *args: str, kubeconfig: Path | None = None) -> Completed:
    """``kjob logs RUN ARGS`` for a run that is done, with that run's ``KJOB_HOME`` (and, for a run on a
    cluster, ``KUBECONFIG=kubeconfig``)."""
    return _kjob(kjob_env(done.home, kubeconfig), done.home, "logs", done.run_id(), *args)


def fast_retries(directory: Path) -> Path:
    """Example 04 with its backoff 100 times shorter (100ms, 200ms, 400ms), nothing else changed."""
    text = (EXAMPLES / "04-retries.yaml").read_text()
    assert text.count('duration: "10s"') == 1, "04-retries.yaml changed: update this test"
    path = directory / "04-retries-fast.yaml"
    path.write_text(text.replace('duration: "10s"', 'duration: "100ms"'))
    return path


def _kjob(env: dict[str, str], home: Path, *args: str, timeout: float = 120) -> Completed:
    done = subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr, home)


class LossyProxy(ThreadingHTTPServer):
    """An HTTP proxy in front of the emulator that loses chosen responses *after* the emulator has
    processed the request: ``lose(method, path, body)`` true means the request is forwarded and
    answered, and then the client's connection is cut instead of sending the answer.

    This is the fault the emulator's own injector does not make (it fails requests before serving
    them): a create that took effect although its client never heard so, as when a connection or a
    proxy/load balancer in front of a real apiserver drops a response.  Everything else, watches
    included, is passed through as it comes.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, upstream: str, lose: Callable[[str, str, Any], bool]) -> None:
        split = urlsplit(upstream)
        self.upstream = (split.hostname or "127.0.0.1", split.port or 80)
        self.lose = lose
        self.lost: list[tuple[str, str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def should_lose(self, method: str, path: str, body: Any) -> bool:
        with self._lock:
            if not self.lose(method, path, body):
                return False
            self.lost.append((method, path, body))
            return True

    def __enter__(self) -> LossyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LossyProxy

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test's output is what kjob printed."""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=120)
        try:
            upstream.request(self.command, self.path, body=raw, headers=headers)
            response = upstream.getresponse()
            body = _json_or_none(raw)
            if self.server.should_lose(self.command, self.path, body):
                response.read()  # the emulator has done it; the client never hears
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while chunk := response.read1(65536):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, http.client.HTTPException):
            self.close_connection = True  # either side went away: so does this connection
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


def _json_or_none(raw: bytes | None) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


MAX_AT_ONCE = 6


def concurrently(*calls: Callable[[], T], at_once: int = MAX_AT_ONCE) -> list[T]:
    """Call each, up to ``at_once`` at the same time (threads: the work is in subprocesses), so that
    each run still gets its share of a small CI machine; results in order.  Runs on a real cluster
    spend most of their time waiting for pods, and can all go at once."""
    with ThreadPoolExecutor(max_workers=min(len(calls), at_once)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def results(done: Completed) -> dict[str, dict[str, Any]]:
    """What a run recorded that must not depend on the backend or on faults: per node its phase,
    message, output parameters, and per attempt its phase and exit code."""
    return {
        node_id: {
            "phase": node["phase"],
            "message": node["message"],
            "parameters": node["outputs"]["parameters"],
            "exit_code": node["outputs"]["exit_code"],
            "attempts": [(a["phase"], a["exit_code"]) for a in node["attempts"]],
        }
        for node_id, node in done.nodes().items()
    }


def attempts(done: Completed) -> int:
    """Attempts of every node: one Job each on Kubernetes."""
    return sum(len(node["attempts"]) for node in done.nodes().values())


def explain(done: Completed) -> str:
    """For assertion messages: what the CLI printed."""
    return f"exit {done.code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
