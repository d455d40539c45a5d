"""Input artifacts fetched as the task starts, with no artifact repository: ``http`` downloads and
``git`` clones, the template's own or a task argument's (references rendered), on the local backend
(kjob downloads, the host's git clones) and on the real cluster (``KJOB_TEST_KUBECONFIG``: the pod's own
curl/wget/python3 and git, in a wrapper around its command).  The files are served by a local HTTP
server and the repository is a bare one on disk: no network beyond this machine."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kjob.backends import remote_fetch
from kjob.backends.base import InputArtifact
from kjob.errors import SpecErrors
from kjob.render import remote_fetch as fetch_script
from kjob.render.manifests import RunObject, job_manifest
from kjob.spec.loader import load_text
from kjob.spec.model import GitSource, HttpSource
from tests.k8s_runs import Runner
from tests.realk8s import namespace
from tests.test_k8s_artifacts import attempt

REMOTE = Path(__file__).resolve().parent / "data" / "remote_artifacts.yaml"
EXPECTED = {"download": "hello from http", "given": "other page", "tagged": "one", "branch": "three\n1"}


@dataclass
class Served:
    server: str  # http://127.0.0.1:PORT, serving the files
    repo: str  # file:// URL of a bare repository: main (tag v1 on its first commit) and next
    headers: list[str]  # the X-Kjob-Test header of each request served

    def parameters(self) -> list[str]:
        return ["-p", f"server={self.server}", "-p", f"repo={self.repo}"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True)


def _repository(root: Path) -> Path:
    work, bare = root / "work", root / "repo.git"
    work.mkdir()
    _git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    _git(work, "init", "-q", "-b", "main")
    for text, extra in (("one", ("tag", "v1")), ("two", ()), ("three", ())):
        if text == "three":
            _git(work, "checkout", "-qb", "next")
        (work / "version.txt").write_text(text + "\n")
        _git(work, "add", "version.txt")
        _git(work, "commit", "-qm", text)
        if extra:
            _git(work, *extra)
    _git(work, "push", "-q", str(bare), "main", "next", "v1")
    return bare


@contextmanager
def served(root: Path) -> Iterator[Served]:
    """The files and the repository under ``root`` (outside /tmp for the real cluster: its pods have
    a private /tmp), served until the block ends."""
    www = root / "www"
    www.mkdir(parents=True)
    (www / "page.txt").write_text("hello from http")
    (www / "other.txt").write_text("other page")
    bare = _repository(root)
    headers: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            headers.append(self.headers.get("X-Kjob-Test", ""))

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", bare.as_uri(), headers)
    finally:
        server.shutdown()
        server.server_close()


def results(nodes: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: nodes[name]["outputs"]["parameters"]["seen"] for name in EXPECTED}


def test_http_and_git_inputs_on_the_local_backend(tmp_path: Path) -> None:
    with served(tmp_path / "served") as at:
        done = Runner(tmp_path).local(REMOTE, *at.parameters())
    assert done.code == 0, done.stdout + done.stderr
    assert results(done.nodes()) == EXPECTED
    assert sorted(at.headers) == ["", "from " + done.run_id()]  # the argument's header, rendered


@pytest.mark.real_cluster
def test_http_and_git_inputs_on_the_real_cluster(tmp_path: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="kjob-test-remote-", dir="/var/tmp"))
    try:
        with namespace("kjob-remote") as ns, served(root) as at:
            done = Runner(tmp_path).on_cluster(ns.kubeconfig, ns.name, REMOTE, *at.parameters())
        assert done.code == 0, done.stdout + done.stderr
        assert results(done.nodes()) == EXPECTED
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_failed_download_ends_the_task_in_error_naming_the_url(tmp_path: Path) -> None:
    with served(tmp_path / "served") as at:
        done = Runner(tmp_path).local(REMOTE, "-p", f"server={at.server}/missing", "-p", f"repo={at.repo}")
    assert done.code != 0
    node = done.nodes()["download"]
    assert node["phase"] == "Error"
    assert node["message"] == (
        f"input artifact 'page': could not download {at.server}/missing/page.txt: HTTP Error 404: File not found"
    )


def test_a_missing_revision_ends_the_task_in_error_naming_it(tmp_path: Path) -> None:
    with served(tmp_path / "served") as at:
        target = tmp_path / "clone"
        spec = InputArtifact("src", "/src", "", remote=GitSource(repo=at.repo, revision="v9"))
        with pytest.raises(Exception, match=f"input artifact 'src': no revision v9 in {at.repo}"):
            remote_fetch.fetch_here(spec, target)


def test_the_pod_fetches_its_artifacts_in_a_wrapper_around_its_command() -> None:
    spec = attempt(
        ["cat", "/in/page"],
        inputs=(
            InputArtifact("page", "/in/page", "", remote=HttpSource("http://h/p", (("A", "b c"),))),
            InputArtifact("src", "/src", "", remote=GitSource("https://h/r.git", "v1", fetch=("refs/x",))),
        ),
    )
    pod = job_manifest(spec, RunObject("r", "default", "uid", None))["spec"]["template"]["spec"]
    [main] = pod["containers"]
    assert main["command"] == ["sh"]
    assert main["args"][:4] == ["-c", fetch_script.FETCHER, "kjob-fetch", "2"]
    assert main["args"][4:] == [
        *("http", "/in/page", "http://h/p", "1", "A: b c"),
        *("git", "/src", "https://h/r.git", "v1", "", "", "0", "1", "0", "1", "refs/x"),
        *("cat", "/in/page"),
    ]
    assert "volumes" not in pod  # no run workspace: nothing is staged


WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: remote-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      artifacts:
      - name: src
        path: /src
        git: {repo: https://example.com/r.git, singleBranch: true}
    outputs:
      artifacts:
      - name: out
        path: /out
        %s
    container: {image: alpine, command: [ls, /src]}
"""


@pytest.mark.parametrize(
    ("output", "errors"),
    [
        (
            "git: {repo: https://example.com/r.git}",
            [
                ("git artifact 'src' has singleBranch without a branch", 12),
                ("output artifact 'out' cannot be saved to git", 17),
            ],
        ),
        (
            "http: {url: https://example.com/upload}",
            [
                ("git artifact 'src' has singleBranch without a branch", 12),
                ("'http' on an output artifact (an upload) is not supported by kjob yet ('out')", 17),
            ],
        ),
    ],
)
def test_fetched_sources_are_checked_at_lint(output: str, errors: list[tuple[str, int]]) -> None:
    with pytest.raises(SpecErrors) as raised:
        load_text(WORKFLOW % output, path="remote.yaml")
    assert [(e.message, e.line) for e in raised.value.errors] == errors


def test_git_credentials_from_secrets_are_not_supported_yet() -> None:
    text = (WORKFLOW % "").replace("singleBranch: true", "usernameSecret: {name: s, key: u}")
    with pytest.raises(SpecErrors) as raised:
        load_text(text, path="remote.yaml")
    [error] = raised.value.errors
    assert error.message == "'usernameSecret' is not supported by kjob yet"
    assert error.hint is not None and "git credentials from Secrets" in error.hint


@pytest.mark.parametrize("tool", ["curl", "wget", "python3"])
def test_the_pod_downloads_with_whichever_tool_its_image_has(tmp_path: Path, tool: str) -> None:
    found = sys.executable if tool == "python3" else shutil.which(tool)
    if found is None:
        pytest.skip(f"no {tool} on this host")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in (("sh", shutil.which("sh")), ("mkdir", shutil.which("mkdir")), (tool, found)):
        assert target is not None
        (bin_dir / name).symlink_to(target)
    page = HttpSource("", (("X-Kjob-Test", "a header"),))
    with served(tmp_path / "served") as at:
        artifact = InputArtifact("page", str(tmp_path / "in" / "page.txt"), "", remote=page)
        fetched = dataclasses.replace(artifact, remote=dataclasses.replace(page, url=f"{at.server}/page.txt"))
        argv = fetch_script.wrap((fetched,), [])
        done = subprocess.run(argv, env={"PATH": str(bin_dir)}, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "in" / "page.txt").read_text() == "hello from http"
    assert at.headers == ["a header"]
