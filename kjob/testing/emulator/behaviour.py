"""What a pod does, decided by the test: a scripted outcome or the container's command on the host.

A *behaviour* is a callable ``behaviour(pod: PodView) -> PodScript | HostProcess``. The kubelet
calls it once per container run (again after each restart of a ``restartPolicy: OnFailure`` pod),
when the pod has been scheduled.

* :class:`PodScript` says how long the container takes to start and to run, its exit code, its log
  and its termination message.
* :class:`HostProcess` runs the container's ``command`` + ``args`` as a host process (see
  :mod:`kjob.testing.emulator.hostproc` for how paths, env and the termination log are mapped).

:func:`scripted` builds a behaviour from tables keyed by Job name, label or completion index, with
per-attempt lists; :func:`host_process` runs everything on the host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kjob.testing.emulator.util import Obj, annotations_of, labels_of, sub

INDEX_KEY = "batch.kubernetes.io/job-completion-index"


@dataclass(frozen=True)
class PodScript:
    """A scripted container run. Times are in emulated seconds (see ``Emulator(speed=)``)."""

    duration: float = 0.0
    exit_code: int = 0
    logs: str = ""
    termination_message: str = ""
    start_delay: float = 0.0
    #: ``state.terminated.reason``; default ``Completed`` for exit 0, else ``Error``
    #: (``OOMKilled`` is the usual override, with exit code 137).
    reason: str | None = None
    #: Keep the pod Pending forever with this waiting reason (e.g. ``ImagePullBackOff``).
    stuck_waiting: str | None = None


@dataclass(frozen=True)
class HostProcess:
    """Run the container's command on the host. ``extra_env`` is added to the container's env.
    ``private_tmp``: the container sees its own empty ``/tmp``, as in a real container (through a
    mount namespace, as the local backend does; where that is not permitted, the host ``/tmp``)."""

    extra_env: Mapping[str, str] = field(default_factory=dict)
    inherit_env: tuple[str, ...] = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
    private_tmp: bool = False


Outcome = PodScript | HostProcess


@dataclass(frozen=True)
class PodView:
    """What a behaviour sees of a pod (``raw`` is a copy of the whole object)."""

    raw: Obj
    #: 0 for the first pod of a Job (or of an index of an Indexed Job), 1 for its replacement…
    attempt: int
    #: Container restarts so far in this pod (``restartPolicy: OnFailure``).
    restart_count: int = 0

    @property
    def name(self) -> str:
        return str(sub(self.raw, "metadata").get("name") or "")

    @property
    def namespace(self) -> str:
        return str(sub(self.raw, "metadata").get("namespace") or "")

    @property
    def labels(self) -> dict[str, str]:
        return labels_of(self.raw)

    @property
    def annotations(self) -> dict[str, str]:
        return annotations_of(self.raw)

    @property
    def job_name(self) -> str | None:
        return self.labels.get("batch.kubernetes.io/job-name") or self.labels.get("job-name")

    @property
    def index(self) -> int | None:
        """The completion index of a pod of an Indexed Job."""
        text = self.annotations.get(INDEX_KEY)
        return int(text) if text is not None and text.isdigit() else None

    @property
    def container(self) -> Obj:
        containers = sub(self.raw, "spec").get("containers") or [{}]
        first: Obj = containers[0]
        return first

    @property
    def command(self) -> list[str]:
        c = self.container
        return [str(x) for x in (c.get("command") or [])] + [str(x) for x in (c.get("args") or [])]

    @property
    def env(self) -> dict[str, str]:
        """Literal ``value`` env entries of the first container."""
        return {
            str(e.get("name")): str(e.get("value", ""))
            for e in self.container.get("env") or []
            if "valueFrom" not in e
        }


Behaviour = Callable[[PodView], Outcome]
Rule = Outcome | Sequence[Outcome] | Behaviour


def _resolve(rule: Rule, pod: PodView) -> Outcome:
    if isinstance(rule, PodScript | HostProcess):
        return rule
    if callable(rule):
        return rule(pod)
    seq: Sequence[Any] = rule
    if not seq:
        return PodScript()
    item = seq[min(pod.attempt + pod.restart_count, len(seq) - 1)]
    return _resolve(item, pod)


def scripted(
    default: Rule = PodScript(),
    *,
    by_job: Mapping[str, Rule] | None = None,
    by_index: Mapping[int, Rule] | None = None,
    by_label: Mapping[tuple[str, str], Rule] | None = None,
) -> Behaviour:
    """A behaviour from tables. The first table with a matching key wins: job, then label, then index.

    A rule is a :class:`PodScript`/:class:`HostProcess`, a list of them indexed by attempt (the last
    one repeats), or another behaviour, so tables nest::

        scripted(by_job={"train": scripted(by_index={0: PodScript(exit_code=1), 1: PodScript()})})
    """
    jobs = dict(by_job or {})
    indexes = dict(by_index or {})
    labels = dict(by_label or {})

    def behaviour(pod: PodView) -> Outcome:
        job = pod.job_name
        if job is not None and job in jobs:
            return _resolve(jobs[job], pod)
        for (k, v), rule in labels.items():
            if pod.labels.get(k) == v:
                return _resolve(rule, pod)
        if pod.index is not None and pod.index in indexes:
            return _resolve(indexes[pod.index], pod)
        return _resolve(default, pod)

    return behaviour


def host_process(*, private_tmp: bool = False, **extra_env: str) -> Behaviour:
    """Run every container's command as a host process (with ``extra_env`` added; ``private_tmp``:
    each container gets its own ``/tmp``, as in a real container)."""
    outcome = HostProcess(extra_env=dict(extra_env), private_tmp=private_tmp)

    def behaviour(pod: PodView) -> Outcome:
        return outcome

    return behaviour


def succeed_instantly(pod: PodView) -> Outcome:
    """The default behaviour: every container exits 0 at once, with no output."""
    return PodScript()
