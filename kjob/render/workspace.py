"""Artifacts on Kubernetes: a run workspace volume (a PersistentVolumeClaim) and a POSIX ``sh`` wrapper.

The claim (``kjob run --workspace-pvc NAME``) is mounted at :data:`MOUNT` in every pod that passes
artifacts, and each stored artifact has a fixed place in it::

    runs/<run>/<node-hash>/<attempt>/<artifact>      a file, or a directory with its contents

That relative path is the artifact's *locator*: :attr:`AttemptFinished.artifacts` reports it and the
engine hands it back as the ``source`` of downstream input artifacts.  Being a function of (run,
node, attempt, name) only, it is the same when ``kjob resume`` adopts a Job that finished while no
client was watching.

The wrapper (:data:`WRAPPER`) copies each input artifact from the workspace to its path, runs the
command, and, if it exited 0, copies each output artifact that exists into the workspace (replacing
what an earlier run of the same attempt left) and writes one ``0``/``1`` per declared output
artifact to a *report* file in the attempt's directory.  The outputs wrapper of
:mod:`~kjob.render.manifests` runs outside it and returns the report in the termination
message under :data:`REPORT_KEY` (a key no parameter can have), next to the output parameters; the
backend turns a ``0`` of a non-optional artifact into a missing output, which the engine reports as
an error naming the artifact and its path.  Values only reach ``sh`` as positional arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kjob.backends.base import AttemptSpec
from kjob.errors import KjobError, SpecError
from kjob.render import names
from kjob.spec.model import Workflow

MOUNT = "/kjob/workspace"
VOLUME = "kjob-workspace"
CONFIGMAP_KEY = "workspace-pvc"  # the claim's name in the run ConfigMap, read back by `kjob resume`
REPORT_KEY = "kjob.dev/artifacts"  # parameter and artifact names cannot contain '.' or '/'
REPORT_FILE = ".kjob-report"
OPTION = "--workspace-pvc"

_CLAIM = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_UNSAFE_PART = re.compile(r"^\.|/|\x00")

# $1 workspace root; $2 = n, then n (name, path, location) input triples; then m, then m (name,
# path, location) output triples; then the report location; then the command.  Locations are
# relative to the root.  `eval` only assigns "$1".."$3" to fixed variable names.
WRAPPER = r"""
root=$1 n=$2; shift 2
fail() { printf 'kjob: %s\n' "$1" >&2; exit 1; }
parent() { case $1 in */*) dir=${1%/*}; dir=${dir:-/} ;; *) dir=. ;; esac; }
i=0
while [ "$i" -lt "$n" ]; do
  name=$1 path=$2 src=$root/$3; shift 3
  if [ -d "$src" ]; then
    mkdir -p -- "$path" && cp -R -- "$src/." "$path" \
      || fail "could not place input artifact '$name' at $path"
  elif [ -e "$src" ]; then
    parent "$path"
    mkdir -p -- "$dir" && cp -- "$src" "$path" || fail "could not place input artifact '$name' at $path"
  else
    fail "input artifact '$name' is not in the workspace (no $src)"
  fi
  i=$((i+1))
done
m=$1; shift; i=0
while [ "$i" -lt "$m" ]; do eval "on_$i=\$1 op_$i=\$2 ol_$i=\$3"; shift 3; i=$((i+1)); done
report=$1; shift
[ "$m" -gt 0 ] || exec "$@"
"$@"; rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
flags=''; i=0
while [ "$i" -lt "$m" ]; do
  eval "name=\$on_$i path=\$op_$i dest=\$root/\$ol_$i"
  rm -rf -- "$dest" || fail "could not clear $dest for output artifact '$name'"
  if [ -d "$path" ]; then
    mkdir -p -- "$dest" && cp -R -- "$path/." "$dest" || fail "could not store output artifact '$name'"
    flags=${flags}1
  elif [ -e "$path" ]; then
    parent "$dest"
    mkdir -p -- "$dir" && cp -- "$path" "$dest" || fail "could not store output artifact '$name'"
    flags=${flags}1
  else
    flags=${flags}0
  fi
  i=$((i+1))
done
parent "$root/$report"
mkdir -p -- "$dir" && printf '%s\n' "$flags" > "$root/$report" || fail "could not write $root/$report"
"""


def needed(spec: AttemptSpec) -> bool:
    """Whether this attempt passes artifacts (and so needs the workspace and the wrapper)."""
    stored = any(a.raw is None and a.remote is None for a in spec.input_artifacts)
    return stored or bool(spec.output_artifacts)


def require(workflow: Workflow, claim: str | None) -> None:
    """Refuse, before anything is created, a workflow that passes artifacts when no workspace is
    given; and a claim name that cannot be one."""
    if claim is not None and not (_CLAIM.fullmatch(claim) and len(claim) <= 253):
        raise KjobError(
            f"{OPTION} '{claim}' is not a valid PersistentVolumeClaim name",
            hint="lower-case letters, digits, '-' and '.', starting and ending alphanumeric",
        )
    if claim is not None:
        return
    for template in workflow.templates.values():
        if template.container is None:
            continue
        stored = (a for a in template.inputs.artifacts if a.raw is None and a.remote is None)
        io = (*stored, *template.outputs.artifacts)
        if not io:
            continue
        mark = io[0].mark if io[0].mark.line else template.mark
        message = (
            f"template '{template.name}' passes artifact '{io[0].name}': the kubernetes backend keeps "
            "artifacts in a run workspace volume, and none was given"
        )
        hint = (
            f"name a PersistentVolumeClaim with {OPTION} NAME (ReadWriteMany if tasks may run on "
            "different nodes), or run with --backend local"
        )
        if mark.line:
            raise SpecError(message, path=mark.path, line=mark.line, col=mark.col, hint=hint)
        raise KjobError(message, hint=hint)


def location(run_id: str, node_id: str, attempt: int, artifact: str) -> str:
    """Where an attempt's output artifact lives, relative to the workspace root."""
    for part in (run_id, artifact):
        if not part or _UNSAFE_PART.search(part):
            raise KjobError(f"'{part}' cannot name a place in the run workspace")
    return f"{_attempt_dir(run_id, node_id, attempt)}/{artifact}"


def _attempt_dir(run_id: str, node_id: str, attempt: int) -> str:
    return f"runs/{run_id}/{names.node_hash(run_id, node_id)}/{attempt}"


def _report(run_id: str, spec: AttemptSpec) -> str:
    return f"{_attempt_dir(run_id, spec.node_id, spec.attempt)}/{REPORT_FILE}"


def report_output(run_id: str, spec: AttemptSpec) -> tuple[str, str] | None:
    """The (key, container path) the outputs wrapper returns as the artifact report, if any."""
    if not spec.output_artifacts:
        return None
    return REPORT_KEY, f"{MOUNT}/{_report(run_id, spec)}"


def attach(
    spec: AttemptSpec, run_id: str, claim: str | None, argv: list[str]
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """``argv`` inside the artifact wrapper, the workspace volume and its mount (see the module
    docstring)."""
    if claim is None:
        raise KjobError(
            f"template '{spec.template_name}' passes artifacts: the kubernetes backend needs a run "
            "workspace for them",
            hint=f"name a PersistentVolumeClaim with {OPTION} NAME",
        )
    stored = [a for a in spec.input_artifacts if a.raw is None and a.remote is None]
    words = ["sh", "-c", WRAPPER, "kjob-artifacts", MOUNT, str(len(stored))]
    for inp in stored:
        words += [inp.name, inp.path, _checked_source(inp.source, inp.name)]
    words.append(str(len(spec.output_artifacts)))
    for out in spec.output_artifacts:
        words += [out.name, out.path, location(run_id, spec.node_id, spec.attempt, out.name)]
    words.append(_report(run_id, spec))
    volume = {"name": VOLUME, "persistentVolumeClaim": {"claimName": claim}}
    return [*words, *argv], volume, {"name": VOLUME, "mountPath": MOUNT}


# $1 = n, then n (path, content) pairs of raw artifacts to write; then the command.
RAW_WRITER = r"""
n=$1; shift
while [ "$n" -gt 0 ]; do
  case $1 in */*) dir=${1%/*}; dir=${dir:-/} ;; *) dir=. ;; esac
  mkdir -p -- "$dir" && printf '%s' "$2" > "$1" \
    || { printf 'kjob: could not write raw artifact at %s\n' "$1" >&2; exit 1; }
  shift 2; n=$((n - 1))
done
exec "$@"
"""


# $1 = n, then n (path, octal mode) pairs; then the command.
MODE_SETTER = r"""
n=$1; shift
while [ "$n" -gt 0 ]; do
  chmod "$2" "$1" || { printf 'kjob: could not set mode %s on %s\n' "$2" "$1" >&2; exit 1; }
  shift 2; n=$((n - 1))
done
exec "$@"
"""


def set_modes(spec: AttemptSpec, argv: list[str]) -> list[str]:
    """``argv`` after setting the ``mode`` of the attempt's input artifacts (inside the other wrappers,
    so once every artifact is placed); none with a mode: ``argv``."""
    moded = [a for a in spec.input_artifacts if a.mode is not None]
    if not moded:
        return argv
    words = ["sh", "-c", MODE_SETTER, "kjob-modes", str(len(moded))]
    for artifact in moded:
        words += [artifact.path, format(artifact.mode, "o")]
    return [*words, *argv]


def write_raw(spec: AttemptSpec, argv: list[str]) -> list[str]:
    """``argv`` after writing the attempt's raw input artifacts at their paths (none: ``argv``)."""
    raw = [a for a in spec.input_artifacts if a.raw is not None]
    if not raw:
        return argv
    words = ["sh", "-c", RAW_WRITER, "kjob-raw", str(len(raw))]
    for artifact in raw:
        words += [artifact.path, artifact.raw or ""]
    return [*words, *argv]


def _checked_source(source: str, name: str) -> str:
    parts = source.split("/")
    if source.startswith("/") or not source or ".." in parts or "\x00" in source:
        raise KjobError(f"input artifact '{name}': '{source}' is not a place in the run workspace")
    return source


def missing(spec: AttemptSpec, written: Mapping[str, str]) -> list[str]:
    """The non-optional output artifacts the task did not write, from the report among the outputs
    the outputs wrapper returned (no report: none was stored)."""
    flags = _flags(written)
    return [
        out.name
        for index, out in enumerate(spec.output_artifacts)
        if flags[index : index + 1] != "1" and not out.optional
    ]


def stored_artifacts(spec: AttemptSpec, run_id: str, message: str | None) -> dict[str, str]:
    """The output artifacts ({name: locator}) a succeeded attempt stored, from its termination
    message."""
    if not spec.output_artifacts:
        return {}
    try:
        data = json.loads(message or "{}")
    except json.JSONDecodeError:
        return {}
    flags = _flags(data) if isinstance(data, dict) else ""
    return {
        out.name: location(run_id, spec.node_id, spec.attempt, out.name)
        for index, out in enumerate(spec.output_artifacts)
        if flags[index : index + 1] == "1"
    }


def _flags(written: Mapping[str, Any]) -> str:
    return str(written.get(REPORT_KEY) or "").strip()
