"""The review app in a real headless Chromium: sign in, label a candidate with the keyboard, find the label."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine
from db.models import Candidate, Expert, Label
from tests.app_testing import prepared_database

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_server(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not start")


@pytest.fixture
def server(tmp_path: Path):
    url = prepared_database(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "STARCNET_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("STARCNET_PASSWORD", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "webapp" / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_server(port, process)
        yield f"http://127.0.0.1:{port}", url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_idle(page, timeout: float = 30.0) -> None:  # noqa: ANN001 - playwright Page
    """Wait until Streamlit shows no running-script indicator for a moment."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.1)
    raise TimeoutError("the app kept running")


def _label_of(url: str, expert: str) -> list[tuple[int, str]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Candidate.source_id, Label.label_class)
            .join(Candidate)
            .join(Expert)
            .where(Expert.name == expert)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


#: Where plotly drew the marker of a catalog id (WebGL markers are not DOM nodes), in page pixels.
MARKER_POSITION = """(sourceId) => {
    const plot = document.querySelector('.js-plotly-plot');
    const box = plot.getBoundingClientRect();
    const xaxis = plot._fullLayout.xaxis, yaxis = plot._fullLayout.yaxis;
    for (const trace of plot._fullData) {
        const i = (trace.customdata || []).indexOf(sourceId);
        if (i >= 0) return {x: box.left + xaxis._offset + xaxis.l2p(trace.x[i]),
                            y: box.top + yaxis._offset + yaxis.l2p(trace.y[i])};
    }
}"""


def _signed_in_page(browser, base: str, expert: str):
    """A laptop-sized page of the app at ``base``, signed in as a new ``expert``."""
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(base, timeout=60_000)
    page.get_by_text("Sign in first").wait_for(timeout=60_000)
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("…or a new expert name").fill(expert)
    page.get_by_role("button", name="Sign in").click()
    return page


def test_sign_in_and_label_with_the_keyboard(server) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, url = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, base, "kate")
        page.get_by_text("left in ngc9999").wait_for(timeout=60_000)
        page.get_by_text("ngc9999 #6").wait_for(timeout=30_000)  # least confident first
        page.get_by_role("button", name="3 Association").wait_for(timeout=30_000)
        _wait_idle(page)  # shortcuts are bound once the script run has finished
        page.keyboard.press("3")
        page.get_by_text("ngc9999 #5").wait_for(timeout=30_000)  # the next candidate is on screen
        browser.close()
    assert _label_of(url, "kate") == [(6, "3")]


def test_clicking_a_candidate_in_the_field_opens_it_in_review(server) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, _ = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, base, "kate")
        page.get_by_text("ngc9999 #6").wait_for(timeout=60_000)
        page.get_by_role("link", name="Galaxies").first.click()
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        _wait_idle(page)
        # On a busy machine plotly may still be laying out when we first click: look again and retry.
        for attempt in range(3):
            page.evaluate("document.querySelector('.js-plotly-plot').scrollIntoView({block: 'center'})")
            _wait_idle(page)
            spot = page.evaluate(MARKER_POSITION, 3)
            page.mouse.move(spot["x"], spot["y"])
            page.mouse.click(spot["x"], spot["y"])
            try:
                page.get_by_text("ngc9999 #3").wait_for(timeout=20_000)  # the Review page, on that candidate
                break
            except playwright_api.TimeoutError:
                if attempt == 2:
                    raise
        label_button = page.get_by_role("button", name="1 Symmetric")
        label_button.wait_for(timeout=30_000)  # the page renders in parts on a busy machine
        assert label_button.count() == 1
        browser.close()
