"""An artifact's ``http`` or ``git`` source: a file downloaded or a repository cloned as the task starts.

Neither needs an artifact repository, so kjob takes them (the repositories themselves, S3 and the like,
are a later release).  Only inputs: Argo cannot save to git either, and an upload (an ``http`` output)
is not supported by kjob yet.  Their text fields may hold references, rendered as the task starts.
"""

from __future__ import annotations

from kjob.spec import fields as F
from kjob.spec.loaded import SiteKind
from kjob.spec.model import GitSource, HttpSource
from kjob.spec.reader import Reader
from kjob.spec.yamlnodes import YamlMap


def remote(r: Reader, node: YamlMap, name: str, role: str) -> HttpSource | GitSource | None:
    """The ``http`` or ``git`` source of artifact ``name`` (``role``: inputs, outputs or arguments)."""
    given = [key for key in ("http", "git") if r.mapping(node, key) is not None]
    if not given:
        return None
    key = given[0]
    if role == "outputs":
        if key == "git":
            r.diag.error(
                f"output artifact '{name}' cannot be saved to git",
                r.src.key(node, key),
                hint="Argo takes git artifacts only as inputs; keep the files in the run with an output path",
            )
        else:
            r.diag.unsupported(
                f"'http' on an output artifact (an upload) is not supported by kjob yet ('{name}')",
                r.src.key(node, key),
                hint="kjob keeps output artifacts in its run workspace; upload in the task's own command",
            )
        return None
    return _http(r, node, name) if key == "http" else _git(r, node, name)


def _http(r: Reader, node: YamlMap, name: str) -> HttpSource | None:
    body = r.mapping(node, "http")
    assert body is not None
    r.fields(body, F.HTTP_ARTIFACT, f"http of artifact '{name}'")
    url = r.text(body, "url", f"http url of artifact '{name}'")
    if not url:
        r.diag.error(
            f"http artifact '{name}' has no url", r.src.key(node, "http"), hint="add `url: https://...`"
        )
        return None
    headers: list[tuple[str, str]] = []
    for header, mark in r.items(r.sequence(body, "headers"), f"header of http artifact '{name}'"):
        r.fields(header, F.HTTP_ARTIFACT_HEADER, f"header of http artifact '{name}'")
        header_name = r.string(header, "name")
        if not header_name:
            r.diag.error(f"a header of http artifact '{name}' has no name", mark, hint="add `name: ...`")
            continue
        headers.append((header_name, r.text(header, "value", f"header '{header_name}'") or ""))
    return HttpSource(url=url, headers=tuple(headers))


def _git(r: Reader, node: YamlMap, name: str) -> GitSource | None:
    body = r.mapping(node, "git")
    assert body is not None
    r.fields(body, F.GIT_ARTIFACT, f"git of artifact '{name}'")
    repo = r.text(body, "repo", f"git repo of artifact '{name}'")
    if not repo:
        r.diag.error(
            f"git artifact '{name}' has no repo",
            r.src.key(node, "git"),
            hint="add `repo: https://host/owner/name.git`",
        )
        return None
    single = bool(r.boolean(body, "singleBranch"))
    branch = r.text(body, "branch", f"git branch of artifact '{name}'")
    if single and not branch:
        r.diag.error(
            f"git artifact '{name}' has singleBranch without a branch",
            r.src.key(body, "singleBranch"),
            hint="add `branch: <name>`, as Argo requires",
        )
    fetch: list[str] = []
    refspecs = r.sequence(body, "fetch")
    for index, item in enumerate(refspecs if refspecs is not None else ()):
        assert refspecs is not None
        mark = r.src.item(refspecs, index)
        if not isinstance(item, str) or not item:
            r.diag.error(f"each fetch refspec of git artifact '{name}' must be a string", mark)
            continue
        r.site(item, f"fetch refspec of '{name}'", mark, SiteKind.TEXT)
        fetch.append(item)
    return GitSource(
        repo=repo,
        revision=r.text(body, "revision", f"git revision of artifact '{name}'") or None,
        branch=branch or None,
        depth=r.integer(body, "depth") or None,
        single_branch=single,
        fetch=tuple(fetch),
        submodules=not r.boolean(body, "disableSubmodules"),
        insecure=bool(r.boolean(body, "insecureSkipTLS")),
    )
