"""Fetching an input artifact that needs no artifact repository: an ``http`` download or a ``git`` clone.

One POSIX sh script, :data:`FETCHER`, does both the way Argo's executor does them.  On Kubernetes it
wraps the task's command inside the pod (kjob has no repository to stage the file in, so the pod
fetches it with what its image has: curl, else wget, else python3 for a download, git for a clone).
The local backend downloads with :mod:`urllib` itself and runs the same script for a clone, with the
host's git.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from kjob.backends.base import InputArtifact
from kjob.errors import KjobError
from kjob.spec.model import GitSource, HttpSource

DOWNLOAD_TIMEOUT = 60.0  # seconds without a byte before a download fails
CLONE_TIMEOUT = 600.0  # seconds for a whole clone

# $1 = n, then n items, each `http PATH URL NHEADERS "Name: value"...` or
# `git PATH REPO REVISION BRANCH DEPTH SINGLE SUBMODULES INSECURE NFETCH REFSPEC...`; then the command
# (none: just fetch).  A failure prints one line naming the artifact's source and exits 1.
FETCHER = r"""
fail() { printf 'kjob: %s\n' "$*" >&2; exit 1; }
parent() {
  case $1 in */*) d=${1%/*}; mkdir -p -- "${d:-/}" || fail "could not make the folder of $1" ;; esac
}
download() {  # dest url k header*k (the rest ignored)
  dest=$1 url=$2 hk=$3; shift 3; hn=$#
  if command -v curl >/dev/null 2>&1; then
    for h do [ "$hk" -gt 0 ] && { set -- "$@" -H "$h"; hk=$((hk - 1)); }; done; shift "$hn"
    curl -fsSL --retry 2 --connect-timeout 30 -o "$dest" "$@" --url "$url"
  elif command -v wget >/dev/null 2>&1; then
    for h do [ "$hk" -gt 0 ] && { set -- "$@" "--header=$h"; hk=$((hk - 1)); }; done; shift "$hn"
    wget -q -T 60 -O "$dest" "$@" "$url"
  elif command -v python3 >/dev/null 2>&1; then
    for h do [ "$hk" -gt 0 ] && { set -- "$@" "$h"; hk=$((hk - 1)); }; done; shift "$hn"
    python3 -c 'import shutil, sys, urllib.request as u
r = u.Request(sys.argv[2], headers=dict(h.split(": ", 1) for h in sys.argv[3:]))
with u.urlopen(r, timeout=60) as s, open(sys.argv[1], "wb") as f: shutil.copyfileobj(s, f)' \
      "$dest" "$url" "$@"
  else
    fail "no curl, wget or python3 in the image to download $url"
  fi || fail "could not download $url"
}
clone() {  # dest repo rev branch depth single subs insecure k refspec*k (the rest ignored)
  dest=$1 repo=$2 rev=$3 branch=$4 depth=$5 single=$6 subs=$7 insecure=$8 fk=$9; shift 9; fn=$#
  for f do [ "$fk" -gt 0 ] && { set -- "$@" "$f"; fk=$((fk - 1)); }; done; shift "$fn"
  command -v git >/dev/null 2>&1 || fail "no git in the image to clone $repo"
  g() { if [ "$insecure" = 1 ]; then git -c http.sslVerify=false "$@"; else git "$@"; fi; }
  if [ "$single" = 1 ]; then
    g clone -q ${depth:+--depth "$depth"} --single-branch --branch "$branch" -- "$repo" "$dest"
  else
    g clone -q ${depth:+--depth "$depth"} -- "$repo" "$dest"
  fi || fail "could not clone $repo"
  if [ $# -gt 0 ]; then
    g -C "$dest" fetch -q ${depth:+--depth "$depth"} origin "$@" || fail "could not fetch $* from $repo"
  fi
  if [ -n "$rev" ]; then
    spec='refs/heads/*:refs/heads/*'
    [ "$single" = 1 ] && spec="refs/heads/$branch:refs/heads/$branch"
    g -C "$dest" fetch -q --update-head-ok origin "$spec" || fail "could not fetch the branches of $repo"
    g -C "$dest" -c advice.detachedHead=false checkout -q "$rev" || fail "no revision $rev in $repo"
  fi
  if [ "$subs" = 1 ] && [ -f "$dest/.gitmodules" ]; then
    g -C "$dest" submodule -q update --init --recursive || fail "could not update the submodules of $repo"
  fi
}
left=$1; shift
while [ "$left" -gt 0 ]; do
  kind=$1 path=$2; shift 2; parent "$path"
  if [ "$kind" = http ]; then
    skip=$((2 + $2)); download "$path" "$@" || exit 1
  else
    skip=$((8 + $8)); clone "$path" "$@" || exit 1
  fi
  shift "$skip"; left=$((left - 1))
done
[ $# -eq 0 ] || exec "$@"
"""


def words(artifact: InputArtifact, path: str) -> list[str]:
    """The item of :data:`FETCHER` that fetches ``artifact`` at ``path``."""
    source = artifact.remote
    if isinstance(source, HttpSource):
        return ["http", path, source.url, str(len(source.headers)), *(f"{k}: {v}" for k, v in source.headers)]
    assert isinstance(source, GitSource)
    return [
        "git",
        path,
        source.repo,
        source.revision or "",
        source.branch or "",
        str(source.depth or ""),
        "1" if source.single_branch else "0",
        "1" if source.submodules else "0",
        "1" if source.insecure else "0",
        str(len(source.fetch)),
        *source.fetch,
    ]


def wrap(artifacts: tuple[InputArtifact, ...], argv: list[str]) -> list[str]:
    """``argv`` after fetching the ``http``/``git`` ones of ``artifacts`` at their paths (none: ``argv``)."""
    fetched = [a for a in artifacts if a.remote is not None]
    if not fetched:
        return argv
    items = [word for a in fetched for word in words(a, a.path)]
    return ["sh", "-c", FETCHER, "kjob-fetch", str(len(fetched)), *items, *argv]


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
