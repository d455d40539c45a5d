"""The fetch step of an input artifact that needs no artifact repository: an ``http`` download or a
``git`` clone, as one POSIX sh script (:data:`FETCHER`) that does both the way Argo's executor does them.

On Kubernetes it wraps the task's command inside the pod (:func:`wrap`: kjob has no repository to stage
the file in, so the pod fetches it with what its image has: curl, else wget, else python3 for a
download, git for a clone).  The local backend runs the same script for a clone, with the host's git
(:mod:`kjob.backends.remote_fetch`).
"""

from __future__ import annotations

from kjob.backends.base import InputArtifact
from kjob.spec.model import GitSource, HttpSource

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
