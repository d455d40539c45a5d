"""Fetching an input artifact that needs no artifact repository on this host (the local backend): an
``http`` download with :mod:`urllib`, a ``git`` clone with the host's git through the same script a
pod runs (:mod:`kjob.render.remote_fetch`)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from kjob.backends.base import InputArtifact
from kjob.errors import KjobError
from kjob.render.remote_fetch import FETCHER, words
from kjob.spec.model import GitSource, HttpSource

DOWNLOAD_TIMEOUT = 60.0  # seconds without a byte before a download fails
CLONE_TIMEOUT = 600.0  # seconds for a whole clone


def fetch_here(artifact: InputArtifact, target: Path) -> None:
    """Fetch ``artifact`` at ``target`` on this host (the local backend): a :class:`KjobError` naming its
    source when that fails, which ends the attempt in Error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source = artifact.remote
    if isinstance(source, HttpSource):
        _download(artifact.name, source, target)
        return
    if shutil.which("git") is None:
        raise KjobError(f"input artifact '{artifact.name}': no git on this host to clone {_repo(artifact)}")
    argv = ["sh", "-c", FETCHER, "kjob-fetch", "1", *words(artifact, str(target))]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CLONE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise KjobError(
            f"input artifact '{artifact.name}': cloning {_repo(artifact)} took over {CLONE_TIMEOUT:.0f}s"
        ) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        said = next(
            (line.removeprefix("kjob: ") for line in reversed(lines) if line.startswith("kjob: ")), ""
        )
        detail = " ".join(line.strip() for line in lines if not line.startswith("kjob: "))[-300:]
        raise KjobError(
            f"input artifact '{artifact.name}': {said or 'could not clone ' + _repo(artifact)}"
            + (f" ({detail})" if detail else "")
        )


def _repo(artifact: InputArtifact) -> str:
    return artifact.remote.repo if isinstance(artifact.remote, GitSource) else ""


def _download(name: str, source: HttpSource, target: Path) -> None:
    request = urllib.request.Request(source.url, headers=dict(source.headers))
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason: object = err
        if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
            reason = err.reason  # the connection's own error, without "<urlopen error ...>"
        raise KjobError(f"input artifact '{name}': could not download {source.url}: {reason}") from None
