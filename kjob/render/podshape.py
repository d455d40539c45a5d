"""The pod around a task's main container: init containers, sidecars and a containerSet.

Kubernetes has no order among a pod's containers, and a Job's pod ends only when every container has
ended.  kjob renders, without Argo's executor:

- **initContainers** as they are (run in order before the others; one failing fails the attempt).
  ``mirrorVolumeMounts`` gives one the main container's volumeMounts as well.
- **sidecars**, where the API server keeps ``restartPolicy: Always`` on an init container (native
  sidecars: Kubernetes 1.29+, or 1.28 with the SidecarContainers gate), as such restartable init
  containers after the user's own: they start before the main container and the kubelet stops them
  once it ended.  Elsewhere a sidecar is an ordinary container whose command runs under a small
  POSIX ``sh`` watcher (:data:`SIDECAR_WRAPPER`): it starts the command in the background and, once
  every main container has written its exit code to the pod's shared ``emptyDir`` (:data:`POD_DIR`),
  sends SIGTERM to the container's processes, SIGKILL to the command after :data:`SIDECAR_GRACE`
  seconds, and exits 0, so the pod (and the Job) ends with the main container, and a sidecar's
  failure never fails the task (its log says how it ended).  The main containers therefore run under
  :data:`SET_WRAPPER` too, which writes their exit code there.
- a **containerSet** as one container per member, each under :data:`SET_WRAPPER`: it waits for the
  exit-code file of each container it depends on (a non-zero one ends it at once, code 1, as Argo's
  executor does), runs the command (again, up to the set's ``retries`` times, while it fails) and
  writes its own exit code to the shared directory.  The set's ``main`` container (else its last)
  carries the outputs.

All wrappers take values only as positional arguments (no text of the user's is pasted into shell
code), and need the container's ``command``: a container running its image's entrypoint cannot be
wrapped, which is refused with a hint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kjob.errors import KjobError, SpecError
from kjob.render import entrypoint
from kjob.spec.model import Container, Workflow

POD_DIR = "/kjob/pod"
POD_VOLUME = "kjob-pod"
SIDECAR_GRACE = 10  # seconds between a fallback sidecar's SIGTERM and SIGKILL
MAIN = "main"

# $1: this container's name, $2: how many more runs a failure gets, $3: seconds after the first run
# that no run starts ("" for no limit), $4: how many dependencies, then their names, then the command.
SET_WRAPPER = r"""
d=/kjob/pod; me=$1; tries=$2; within=$3; n=$4; shift 4
done_with() { echo "$1" > "$d/.$me.rc" && mv "$d/.$me.rc" "$d/$me.rc"; exit "$1"; }
while [ "$n" -gt 0 ]; do
  dep=$1; shift; n=$((n-1))
  while [ ! -f "$d/$dep.rc" ]; do sleep 0.1; done
  rc=$(cat "$d/$dep.rc")
  if [ "$rc" != 0 ]; then
    echo "dependency \"$dep\" exited with non-zero code: $rc" >&2
    done_with 1
  fi
done
i=0; start=$(date +%s)
while :; do
  "$@"; rc=$?
  if [ "$rc" = 0 ] || [ "$i" -ge "$tries" ]; then break; fi
  if [ -n "$within" ] && [ "$(( $(date +%s) - start ))" -ge "$within" ]; then break; fi
  i=$((i+1))
done
done_with "$rc"
"""

# $1: the grace period, $2: how many main containers, then their names, then the command.  Once the
# mains ended, SIGTERM goes to the container's whole process group (the wrapper ignores it: it was
# started before the wrapper's own trap), SIGKILL to the command after the grace period.
SIDECAR_WRAPPER = r"""
d=/kjob/pod; grace=$1; n=$2; shift 2; mains=''
while [ "$n" -gt 0 ]; do mains="$mains $1"; shift; n=$((n-1)); done
"$@" &
pid=$!
trap '' TERM
ended() { for m in $mains; do [ -f "$d/$m.rc" ] || return 1; done; return 0; }
while kill -0 "$pid" 2>/dev/null && ! ended; do sleep 0.2; done
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM 0 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt "$((grace * 10))" ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid"; rc=$?
  echo "kjob: sidecar stopped as the main container ended (exit code $rc)" >&2
else
  wait "$pid"; rc=$?
  echo "kjob: sidecar ended on its own (exit code $rc)" >&2
fi
exit 0
"""


def container_fields(c: Container) -> dict[str, Any]:
    """A container's env, workingDir, resources and the fields kept verbatim (volumeMounts apart)."""
    fields: dict[str, Any] = {}
    env = [
        {
            "name": e.name,
            **({"value": e.value} if e.value is not None else {}),
            **({"valueFrom": dict(e.value_from)} if e.value_from else {}),
        }
        for e in c.env
    ]
    if env:
        fields["env"] = env
    if c.working_dir:
        fields["workingDir"] = c.working_dir
    resources: dict[str, Any] = {
        k: dict(v) for k, v in (("requests", c.resources.requests), ("limits", c.resources.limits)) if v
    }
    if c.resources.claims:
        resources["claims"] = [dict(claim) for claim in c.resources.claims]
    if resources:
        fields["resources"] = resources
    for key in sorted(c.extra):
        if key not in ("volumeMounts", "name"):
            fields[key] = c.extra[key]
    return fields


def helper(c: Container, main_mounts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An init container or sidecar as the user wrote it (``mirrorVolumeMounts``: with the main
    container's mounts first)."""
    out: dict[str, Any] = {"name": c.name, "image": c.image}
    if c.command:
        out["command"] = list(c.command)
    if c.args:
        out["args"] = list(c.args)
    out.update(container_fields(c))
    mounts = [*(main_mounts if c.mirror_volume_mounts else ()), *(c.extra.get("volumeMounts") or ())]
    if mounts:
        out["volumeMounts"] = [dict(m) for m in mounts]
    return out


def shape(
    template: str,
    main: dict[str, Any],
    *,
    init_containers: Sequence[Container],
    sidecars: Sequence[Container],
    container_set: Sequence[Container],
    set_retries: int,
    native_sidecars: bool,
    set_retry_duration: float | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The pod's ``initContainers``, ``containers`` and the volumes kjob adds, around ``main`` (the
    rendered main container, or the rendered main member of a containerSet)."""
    main_mounts = [
        m for m in main.get("volumeMounts") or () if not str(m.get("name", "")).startswith("kjob-")
    ]
    inits = [helper(c, main_mounts) for c in init_containers]
    members = [main] if not container_set else [_member(c, main) for c in container_set]
    helpers = [helper(c, main_mounts) for c in sidecars]
    shared = bool(container_set) or (bool(sidecars) and not native_sidecars)
    if shared:
        retry = (set_retries, set_retry_duration) if container_set else (0, None)
        members = [
            _in_set(template, m, deps, retry) for m, deps in _with_dependencies(members, container_set)
        ]
        names = [str(m["name"]) for m in members]
        if not native_sidecars:
            helpers = [_watching(template, h, names) for h in helpers]
    for container in (*members, *([] if native_sidecars else helpers)):
        if shared:
            _mount_pod_dir(container)
    if native_sidecars:
        inits += [{**h, "restartPolicy": "Always"} for h in helpers]
        helpers = []
    volumes = [{"name": POD_VOLUME, "emptyDir": {}}] if shared else []
    return inits, [*members, *helpers], volumes


def _member(c: Container, main: dict[str, Any]) -> dict[str, Any]:
    if c.name == main.get("name"):
        return main
    out: dict[str, Any] = {"name": c.name, "image": c.image}
    if c.command:
        out["command"] = list(c.command)
    if c.args:
        out["args"] = list(c.args)
    out.update(container_fields(c))
    mounts = c.extra.get("volumeMounts") or ()
    if mounts:
        out["volumeMounts"] = [dict(m) for m in mounts]
    return out


def _with_dependencies(
    members: list[dict[str, Any]], container_set: Sequence[Container]
) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    if not container_set:
        return [(m, ()) for m in members]
    return [(m, c.dependencies) for m, c in zip(members, container_set, strict=True)]


def _in_set(
    template: str, c: dict[str, Any], deps: tuple[str, ...], retry: tuple[int, float | None]
) -> dict[str, Any]:
    argv = _argv(template, c, "wait for the containers it depends on")
    retries, within = retry
    limit = "" if within is None else str(max(1, round(within)))
    wrapped = [
        "sh",
        "-c",
        SET_WRAPPER,
        "kjob-set",
        str(c["name"]),
        str(retries),
        limit,
        str(len(deps)),
        *deps,
    ]
    wrapped += argv
    return {**c, "command": wrapped[:1], "args": wrapped[1:]}


def _watching(template: str, c: dict[str, Any], mains: list[str]) -> dict[str, Any]:
    argv = _argv(template, c, "stop its sidecar when the main container ends")
    wrapped = [
        "sh",
        "-c",
        SIDECAR_WRAPPER,
        "kjob-sidecar",
        str(SIDECAR_GRACE),
        str(len(mains)),
        *mains,
        *argv,
    ]
    return {**c, "command": wrapped[:1], "args": wrapped[1:]}


def _argv(template: str, c: dict[str, Any], why: str) -> list[str]:
    if not c.get("command"):
        raise KjobError(
            f"container '{c['name']}' of template '{template}' has no command: on Kubernetes kjob runs a "
            f"wrapper around it to {why}, and only the container runtime knows the image's ENTRYPOINT",
            hint=entrypoint.HINT,
        )
    return [*c["command"], *(c.get("args") or ())]


def _mount_pod_dir(c: dict[str, Any]) -> None:
    c["volumeMounts"] = [*(c.get("volumeMounts") or ()), {"name": POD_VOLUME, "mountPath": POD_DIR}]


def problems(workflow: Workflow) -> list[SpecError]:
    """A located warning for each container kjob must wrap but that names no command: a
    containerSet's (wrapped on Kubernetes, and run by its command on the local backend) and a sidecar
    (wrapped on a cluster without native sidecars)."""
    found: list[SpecError] = []
    for template in workflow.templates.values():
        members = template.container_set.containers if template.container_set is not None else ()
        for container, why in [
            *((c, "wait for the containers it depends on") for c in members),
            *(
                (c, "stop it when the main container ends, on a cluster without native sidecars")
                for c in template.sidecars
            ),
        ]:
            if container.command:
                continue
            mark = container.mark if container.mark.line else template.mark
            found.append(
                SpecError(
                    f"container '{container.name}' of template '{template.name}' has no command: on "
                    f"Kubernetes kjob runs a wrapper around it to {why}, and only the container runtime "
                    "knows the image's ENTRYPOINT",
                    path=mark.path,
                    line=mark.line,
                    col=mark.col,
                    hint=entrypoint.HINT,
                )
            )
    return found
