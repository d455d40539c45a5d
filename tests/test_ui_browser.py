"""The DAG page in a real headless browser (Chromium, driven by selenium; skipped, saying why, without
them): a local run's page colours every task by its state, follows the run as a task finishes without
being reloaded, opens a task's log, and shows what tasks printed as text; a report opens from a file
and fetches nothing; a run on the real cluster shows its failed task in red and its log read from the
pod.  One browser for the module; screenshots are saved (``$KJOB_TEST_ARTEFACTS/ui``, else pytest's
temporary directory) and their paths printed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.render.svg_style import STATE_FILL
from tests.conftest import REPO, kjob_env
from tests.ui_browser import artefacts, boxes, chromium, rgb, screenshot
from tests.ui_runs import EMOJI_ITEM, HOSTILE_ITEM, GatedRun, served, wait_for


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artefacts(tmp_path_factory)


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatedRun]:
    """The gated workflow running on the local backend, its gate task waiting."""
    home = tmp_path_factory.mktemp("ui-browser")
    run = GatedRun(home, home)
    try:
        run.gate_attempt()
        yield run
    finally:
        run.close()


def finished(run: GatedRun) -> None:
    if run.process.poll() is None:
        run.open_gate()
    done = run.finish()
    assert done.returncode == 0, done.stderr


def expect_colours(found: dict[str, tuple[str, str, str]], states: dict[str, str]) -> None:
    assert {box: state for box, (state, _, _) in found.items()} == states
    for box, (state, fill, _) in found.items():
        assert fill == rgb(STATE_FILL[state]), f"{box} is {state} but drawn {fill}"


def ready(browser: Any) -> bool:
    return bool(browser.execute_script("return document.documentElement.getAttribute('data-ready')"))


def log_text(browser: Any) -> str:
    text: str = browser.execute_script(
        "const l = document.getElementById('log'); return l ? l.textContent : ''"
    )
    return text


def click_box(browser: Any, node: str) -> None:
    browser.execute_script(
        'document.querySelector(`#dag g.node[data-node="${arguments[0]}"] rect`)'
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        node,
    )


def test_a_running_local_run_is_drawn_in_its_colours_and_follows_a_task_finishing(
    browser: Any, gated: GatedRun, shots: Path
) -> None:
    with served(gated.home) as server:
        browser.get(f"{server.url}runs/{gated.run_id}")
        wait_for("the page", lambda: ready(browser), 30)
        browser.execute_script("window.kjobSamePage = true")
        running = {"first": "succeeded", "fan": "succeeded", "gate": "running", "last": "pending"}
        wait_for("the page to show the gate running", lambda: boxes(browser)["gate"][0] == "running", 30)
        found = boxes(browser)
        expect_colours(found, running)
        assert found["fan"][2] == "3 done"  # the fan-out is one box, counting its items
        assert browser.find_element("id", "phase").text == "Running"
        screenshot(browser, shots, "local-running")

        gated.open_gate()
        wait_for(
            "the page to show the run succeeded",
            lambda: browser.execute_script("return document.documentElement.dataset.phase") == "Succeeded",
            60,
        )
        assert browser.execute_script("return window.kjobSamePage") is True  # updated, not reloaded
        expect_colours(boxes(browser), dict.fromkeys(running, "succeeded"))
        assert browser.find_element("id", "progress").text == "6/6 tasks finished"

        rows = "return Array.from(document.querySelectorAll('#gantt g.row')).map(g => g.getAttribute('data-node'))"
        wait_for("the timeline", lambda: "last" in browser.execute_script(rows), 30)
        assert sorted(browser.execute_script(rows)) == sorted(
            ["first", "gate", "last", "fan(0:plain)", f"fan(1:{HOSTILE_ITEM})", f"fan(2:{EMOJI_ITEM})"]
        )
        click_box(browser, "gate")
        wait_for("the gate's log", lambda: "gate opened" in log_text(browser), 30)
        assert log_text(browser) == "gate waiting\ngate opened"
        screenshot(browser, shots, "local-gate-log")


def test_what_tasks_printed_shows_as_text_never_as_markup(browser: Any, gated: GatedRun, shots: Path) -> None:
    finished(gated)
    with served(gated.home) as server:
        browser.get(f"{server.url}runs/{gated.run_id}")
        wait_for("the page", lambda: ready(browser), 30)
        click_box(browser, "fan")
        wait_for("the fan-out's items", lambda: browser.find_elements("css selector", "ul.children a"), 30)
        items = [a.text for a in browser.find_elements("css selector", "ul.children a")]
        assert items == ["fan(0:plain)", f"fan(1:{HOSTILE_ITEM})", f"fan(2:{EMOJI_ITEM})"]
        browser.find_elements("css selector", "ul.children a")[1].click()
        wait_for("the item's log", lambda: log_text(browser).startswith("said"), 30)
        assert log_text(browser) == f"said {HOSTILE_ITEM}"
        assert browser.find_element("css selector", "#detail .inputs td.value").text == HOSTILE_ITEM
        browser.find_element("css selector", "#detail a.part-of").click()  # back to the fan-out
        wait_for(
            "the fan-out again", lambda: len(browser.find_elements("css selector", "ul.children a")) == 3
        )
        browser.find_elements("css selector", "ul.children a")[2].click()
        wait_for("the emoji item's log", lambda: log_text(browser) == f"said {EMOJI_ITEM}", 30)
        assert browser.execute_script("return document.querySelectorAll('img').length") == 0
        assert browser.execute_script("return window.pwned") is None
        screenshot(browser, shots, "local-items-as-text")

        browser.get(server.url)
        link = browser.find_element("link text", gated.run_id)
        assert link.get_attribute("href") == f"{server.url}runs/{gated.run_id}"


def test_a_report_opens_from_its_file_and_fetches_nothing(
    browser: Any, gated: GatedRun, shots: Path, tmp_path: Path
) -> None:
    finished(gated)
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "kjob", "report", gated.run_id, "-o", str(out)],
        capture_output=True,
        text=True,
        env=kjob_env(gated.home),
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    browser.get(out.as_uri())
    wait_for("the report", lambda: ready(browser), 30)
    expect_colours(boxes(browser), dict.fromkeys(("first", "fan", "gate", "last"), "succeeded"))
    click_box(browser, "gate")
    wait_for("the gate's log", lambda: "gate opened" in log_text(browser), 30)
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    screenshot(browser, shots, "report-gate-log")


CLUSTER_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ui-real-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: say, arguments: {parameters: [{name: word, value: hello-cluster}]}}
      - {name: fan, template: say, depends: first, arguments: {parameters: [{name: word, value: "{{item}}"}]}, withItems: [a, b]}
      - {name: boom, template: boom, depends: first}
      - {name: after, template: say, depends: boom && fan, arguments: {parameters: [{name: word, value: never}]}}
  - name: say
    inputs: {parameters: [{name: word}]}
    container: {image: alpine, command: [echo, "said {{inputs.parameters.word}}"]}
  - name: boom
    container: {image: alpine, command: [sh, -c, "echo boom on the cluster; exit 3"]}
"""


@pytest.mark.real_cluster
def test_a_run_on_the_real_cluster_shows_its_failure_and_the_pods_log(
    browser: Any, shots: Path, tmp_path: Path
) -> None:
    from tests.realk8s import namespace

    with namespace("kjob-ui") as ns:
        home = tmp_path / "home"
        home.mkdir()
        path = tmp_path / "real.yaml"
        path.write_text(CLUSTER_WORKFLOW)
        done = subprocess.run(
            [sys.executable, "-m", "kjob", "run", str(path), "--backend", "kubernetes", "-n", ns.name],
            capture_output=True,
            text=True,
            env=kjob_env(home, ns.kubeconfig),
            cwd=REPO,
            timeout=240,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        run_id = done.stdout.splitlines()[0].split()[1]
        with served(home, kubeconfig=str(ns.kubeconfig)) as server:
            browser.get(f"{server.url}runs/{run_id}")
            wait_for("the page", lambda: ready(browser), 30)
            found = boxes(browser)
            expect_colours(
                found, {"first": "succeeded", "fan": "succeeded", "boom": "failed", "after": "omitted"}
            )
            assert found["fan"][2] == "2 done"
            assert browser.find_element("id", "phase").text == "Failed"
            click_box(browser, "boom")
            wait_for("boom's log from its pod", lambda: "boom on the cluster" in log_text(browser), 60)
            assert log_text(browser) == "boom on the cluster"
            screenshot(browser, shots, "real-cluster-boom-log")

        # the same run, not recorded on this machine: read from its run object and Jobs
        shutil.rmtree(home / "runs" / run_id)
        with served(home, kubeconfig=str(ns.kubeconfig), namespace=ns.name) as server:
            browser.get(f"{server.url}runs/{run_id}")
            wait_for("the page", lambda: ready(browser), 30)
            found = boxes(browser)
            assert found["boom"][:2] == ("failed", rgb(STATE_FILL["failed"]))
            assert found["first"][:2] == ("succeeded", rgb(STATE_FILL["succeeded"]))
            click_box(browser, "boom")
            wait_for("boom's log from its pod", lambda: "boom on the cluster" in log_text(browser), 60)
            screenshot(browser, shots, "real-cluster-from-the-cluster")
            browser.get(server.url)
            assert browser.find_element("link text", run_id)

        out = tmp_path / "real.html"  # and as a report, the log read from the pod
        done = subprocess.run(
            [sys.executable, "-m", "kjob", "report", run_id, "-n", ns.name, "-o", str(out)],
            capture_output=True,
            text=True,
            env=kjob_env(home, ns.kubeconfig),
            cwd=REPO,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        browser.get(out.as_uri())
        wait_for("the report", lambda: ready(browser), 30)
        click_box(browser, "boom")
        wait_for("boom's log in the report", lambda: log_text(browser) == "boom on the cluster", 30)
