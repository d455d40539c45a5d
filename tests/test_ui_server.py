"""``kjob ui``'s server and ``kjob report``, over HTTP without a browser: what the page is made of, that
it listens on 127.0.0.1 only and refuses other Host names, that a poll of an unchanged run costs a
304, and that nothing a task or a user wrote reaches the page as markup."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.ui.server import UiServer
from tests.conftest import REPO, kjob_env
from tests.ui_runs import EMOJI_ITEM, HOSTILE_ITEM, GatedRun, fan_workflow, served, virtual_run


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished local run of the gated workflow, and a virtual 2,000-item fan-out with failures."""
    home = tmp_path_factory.mktemp("ui-server")
    run = GatedRun(home, home)
    try:
        run.open_gate()
        done = run.finish()
    finally:
        run.close()
    assert done.returncode == 0, done.stderr
    (home / "gated-id").write_text(run.run_id)
    virtual_run(home, fan_workflow(2000), "fan-2000", failing=("many(7:7)", "many(8:8)"))
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[UiServer]:
    with served(home) as server:
        yield server


def get(
    server: UiServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{server.port}", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def gated_id(home: Path) -> str:
    return (home / "gated-id").read_text()


def test_it_listens_on_loopback_only_and_refuses_other_host_names(server: UiServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    for host in ("evil.example", f"evil.example:{server.port}", f"127.0.0.1:{server.port + 1}", ""):
        status, _, body = get(server, "/", {"Host": host})
        assert status == 403, host
        assert b"127.0.0.1 only" in body
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
        assert get(server, "/", {"Host": host})[0] == 200


def test_the_runs_list_links_every_run_with_its_status_and_progress(server: UiServer, home: Path) -> None:
    status, headers, body = get(server, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    page = body.decode()
    assert f'<a href="/runs/{gated_id(home)}">' in page
    assert '<a href="/runs/fan-2000">' in page
    assert "2002/2002" in page  # start, end and 2,000 items finished (two of them failed)
    assert "script-src 'self'" in headers["content-security-policy"]


def test_a_fan_out_is_one_box_counting_its_items_by_state(server: UiServer) -> None:
    status, _, body = get(server, "/api/runs/fan-2000/state")
    assert status == 200
    state = json.loads(body)
    assert state["phase"] == "Failed"
    assert state["progress"] == [2002, 2002]
    assert state["boxes"]["many"] == ["failed", "1998 done · 2 failed"]
    assert state["boxes"]["start"] == ["succeeded", ""]
    assert state["boxes"]["end"][0] == "omitted"
    assert len(state["boxes"]) == 3
    # the drawing has one group per box, not one per item
    svg = get(server, "/api/runs/fan-2000/dag.svg")[2].decode()
    assert svg.count('class="node ') == 3
    assert 'data-node="many"' in svg and "1998 done · 2 failed" in svg


def test_polling_an_unchanged_run_is_answered_not_modified(server: UiServer) -> None:
    _, headers, _ = get(server, "/api/runs/fan-2000/state")
    etag = headers["etag"]
    status, _, body = get(server, "/api/runs/fan-2000/state", {"If-None-Match": etag})
    assert status == 304 and body == b""


def test_a_task_shows_its_inputs_outputs_attempts_and_log(server: UiServer, home: Path) -> None:
    run_id = gated_id(home)
    status, _, body = get(server, f"/api/runs/{run_id}/node?id=first")
    assert status == 200
    detail = json.loads(body)
    assert detail["phase"] == "Succeeded"
    assert detail["inputs"] == {"word": "hello"}
    assert detail["outputs"]["exit_code"] == 0
    assert [a["phase"] for a in detail["attempts"]] == ["Succeeded"]
    status, headers, body = get(server, f"/api/runs/{run_id}/log?id=first&attempt=0")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert body.decode().strip() == "said hello"
    fan = json.loads(get(server, f"/api/runs/{run_id}/node?id=fan")[2])
    assert [c["id"] for c in fan["children"]] == [
        "fan(0:plain)",
        f"fan(1:{HOSTILE_ITEM})",
        f"fan(2:{EMOJI_ITEM})",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/runs/no-such-run",
        "/runs/..%2F..%2Fetc",
        "/api/runs/..%2F..%2F/state",
        "/api/runs/fan-2000/node?id=nope",
        "/api/runs/fan-2000/log?id=start&attempt=9",
        "/api/runs/fan-2000/elsewhere",
        "/assets/../server.py",
    ],
)
def test_what_does_not_exist_is_404(server: UiServer, path: str) -> None:
    assert get(server, path)[0] == 404


def test_nothing_a_task_or_user_wrote_reaches_the_page_as_markup(server: UiServer, home: Path) -> None:
    run_id = gated_id(home)
    page = get(server, f"/runs/{run_id}")[2].decode()
    svg = get(server, f"/api/runs/{run_id}/dag.svg")[2].decode()
    gantt = get(server, f"/api/runs/{run_id}/gantt.svg")[2].decode()
    for text in (page, svg, gantt):
        assert "<img" not in text
    assert "&lt;img src=x" in gantt  # the item's row is there, escaped
    boot = re.search(r'<script type="application/json" id="kjob-boot">(.*?)</script>', page, re.S)
    assert boot is not None and "<" not in boot.group(1)
    log = get(server, f"/api/runs/{run_id}/log?id=fan(1:{HOSTILE_ITEM})&attempt=0".replace(" ", "%20"))[2]
    assert log.decode().strip() == f"said {HOSTILE_ITEM}"  # as text/plain, exactly as printed


def run_kjob(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        capture_output=True,
        text=True,
        env=kjob_env(home),
        cwd=REPO,
        timeout=120,
        check=False,
    )


def test_a_report_is_one_file_that_fetches_nothing(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    done = run_kjob(home, "report", gated_id(home), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"report: run {gated_id(home)} written to {out}"
    html = out.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "<img" not in html
    boot = re.search(r'<script type="application/json" id="kjob-boot">(.*?)</script>', html, re.S)
    assert boot is not None
    data: dict[str, Any] = json.loads(boot.group(1))
    assert data["mode"] == "static"
    assert data["logs"]["gate#0"] == "gate waiting\ngate opened"
    assert data["details"]["first"]["inputs"] == {"word": "hello"}


def test_report_of_an_unknown_run_is_a_one_line_error(home: Path, tmp_path: Path) -> None:
    done = run_kjob(home, "report", "no-such-run", "-o", str(tmp_path / "x.html"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: no run 'no-such-run'")
    assert "Traceback" not in done.stderr


def test_kjob_ui_says_where_it_listens_and_a_taken_port_is_a_usage_error(home: Path) -> None:
    ui = subprocess.Popen(
        [sys.executable, "-m", "kjob", "ui", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kjob_env(home),
        cwd=REPO,
    )
    try:
        assert ui.stdout is not None
        first = ui.stdout.readline()
        match = re.fullmatch(r"kjob ui: http://127\.0\.0\.1:(\d+)/ \(Ctrl-C stops it\)\n", first)
        assert match is not None, first
        port = int(match.group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/", headers={"Host": f"127.0.0.1:{port}"})
        assert conn.getresponse().status == 200
        conn.close()
        taken = run_kjob(home, "ui", "--port", str(port))
        assert taken.returncode == 2
        assert taken.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
        assert "pick another --port" in taken.stderr
    finally:
        ui.terminate()
        ui.wait(timeout=20)


def test_a_damaged_record_is_named_in_the_list_and_its_page_says_why(server: UiServer, home: Path) -> None:
    broken = home / "runs" / "broken-run"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "run.json").write_text('{"run_id": "broken-run", "nodes": [{"id": 3}]}')
    status, _, body = get(server, "/")
    assert status == 200
    assert "damaged run record" in body.decode() and "fan-2000" in body.decode()
    status, _, body = get(server, "/runs/broken-run")
    assert status == 500
    assert "damaged run record" in body.decode() and "Traceback" not in body.decode()


def test_a_local_run_nobody_watches_says_how_to_finish_it(server: UiServer, home: Path) -> None:
    recorded = json.loads((home / "runs" / gated_id(home) / "run.json").read_text())
    killed = home / "runs" / "killed-run"
    killed.mkdir(exist_ok=True)
    (killed / "run.json").write_text(json.dumps({**recorded, "run_id": "killed-run", "phase": "Running"}))
    state = json.loads(get(server, "/api/runs/killed-run/state")[2])
    assert state["note"] == (
        "recorded as Running but no kjob is watching it (was it killed?): `kjob resume killed-run`"
    )
    assert "note" not in json.loads(get(server, f"/api/runs/{gated_id(home)}/state")[2])
    assert "kjob resume killed-run" in get(server, "/runs/killed-run")[2].decode()
