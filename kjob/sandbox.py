"""A private ``/tmp`` for each task run as a host process, through a Linux mount namespace.

Used by the local backend and by the API emulator's kubelet (:mod:`kjob.testing.emulator`), which
must not import backend code; so it lives here, outside ``kjob/backends``.

Two tasks that both write ``/tmp/data.json`` must not collide, exactly as two pods would not.  The task
is started by ``unshare`` in a new mount namespace where a per-attempt host directory is bind-mounted
on ``/tmp``.  As root this needs nothing more; as another user it needs unprivileged user namespaces
(``unshare -r``).  Where neither works, tasks share the host ``/tmp`` and the user is warned once.

The wrapper is a fixed POSIX ``sh`` script: every value reaches it as a positional argument, never
inside the script text, so no parameter is ever interpreted by a shell of ours.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

# $1 private dir, $2 a host dir under /tmp to keep visible ("" for none), $3 working dir, then argv.
_WRAPPER = r"""
priv=$1 keep=$2 work=$3; shift 3
if [ -n "$keep" ]; then
  mkdir -p "$priv${keep#/tmp}" && mount --bind "$keep" "$priv${keep#/tmp}" || exit 126
fi
mount --rbind "$priv" /tmp || exit 126
cd "$work" || exit 126
exec "$@"
"""


@dataclass(frozen=True, slots=True)
class Isolation:
    """How local tasks get a private ``/tmp``: ``unshare`` flags, or ``None`` when unavailable."""

    unshare_flags: tuple[str, ...] | None
    reason: str = ""

    @property
    def private_tmp(self) -> bool:
        return self.unshare_flags is not None

    def wrap(self, argv: list[str], *, private_dir: str, workdir: str) -> list[str]:
        """``argv`` run in a namespace where ``private_dir`` is ``/tmp`` and the cwd is ``workdir``."""
        assert self.unshare_flags is not None
        keep = _under_tmp_root(workdir)
        return [
            "unshare",
            *self.unshare_flags,
            "sh",
            "-c",
            _WRAPPER,
            "kjob-sandbox",
            private_dir,
            keep,
            workdir,
            *argv,
        ]


def hidden_by_private_tmp(host_path: str, workdir: str) -> bool:
    """Whether a task working in ``workdir`` with a private ``/tmp`` cannot see ``host_path`` (a host
    path under ``/tmp`` outside the directory kept visible for its working directory)."""
    real = os.path.realpath(host_path)
    if real != "/tmp" and not real.startswith("/tmp/"):
        return False
    keep = _under_tmp_root(workdir)
    return not keep or not (real == keep or real.startswith(keep + os.sep))


def _under_tmp_root(path: str) -> str:
    """The top directory below ``/tmp`` that holds ``path`` (it must stay visible), or ``""``."""
    real = os.path.join(_real_dir(os.path.dirname(path)), os.path.basename(path))
    parts = real.split(os.sep)
    if len(parts) > 2 and parts[1] == "tmp":
        return os.sep + os.path.join(parts[1], parts[2])
    return ""


@functools.lru_cache(maxsize=256)
def _real_dir(path: str) -> str:
    """``realpath`` of a directory, once: every task of a run lives in the same one."""
    return os.path.realpath(path)


@functools.cache
def detect_isolation() -> Isolation:
    """Find out once per process whether private ``/tmp`` works here, by trying it."""
    if os.environ.get("KJOB_LOCAL_ISOLATION", "").lower() == "none":
        return Isolation(None, "KJOB_LOCAL_ISOLATION=none")
    if shutil.which("unshare") is None:
        return Isolation(None, "the 'unshare' command (util-linux) is not installed")
    candidates: list[tuple[str, ...]] = [("-m", "--propagation", "private")]
    if os.geteuid() != 0:
        candidates.insert(0, ("-r", "-m", "--propagation", "private"))
    last = ""
    with tempfile.TemporaryDirectory(prefix="kjob-probe-") as probe:
        for flags in candidates:
            argv = ["unshare", *flags, "sh", "-c", 'mount --bind "$0" /tmp', probe]
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            except (OSError, subprocess.TimeoutExpired) as err:
                last = str(err)
                continue
            if done.returncode == 0:
                return Isolation(flags)
            lines = done.stderr.strip().splitlines()
            last = lines[-1] if lines else f"exit status {done.returncode}"
    return Isolation(None, f"mount namespaces are not permitted here ({last or 'unshare failed'})")
