"""The review app in a real headless Chromium: sign in, label with the keyboard whatever had focus,
blink, go back, flag, find flag and labels in the database; the layout at two screen sizes; a reload.

Screenshots go to ``test-artefacts/`` (not committed) for people to look at.
"""

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
ARTEFACTS = ROOT / "test-artefacts"
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
        cwd=ROOT,  # .streamlit/config.toml: the viewer's toolbar, the app's own menu
        args=[
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
            select(Candidate.source_id, Label.label_class, Label.flagged)
            .join(Candidate)
            .join(Expert)
            .where(Expert.name == expert)
            .order_by(Label.id)
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


#: The candidate panel's root inside the component's shadow DOM (Playwright's CSS locators pierce it too).
CANDIDATE_ROOT = """() => {
    const host = [...document.querySelectorAll('.st-key-candidate_view *')].find(e => e.shadowRoot);
    return host ? host.shadowRoot.querySelector('.cv-root') : null;
}"""


def _signed_in_page(browser, address: str, expert: str, viewport=(1440, 900)):  # noqa: ANN001, ANN202
    """A page of the app opened at ``address`` without a sign-in: the sign-in form comes first."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(address, timeout=60_000)
    name_box = page.get_by_label("…or a new expert name")
    name_box.wait_for(timeout=90_000)
    name_box.fill(expert)
    page.get_by_role("button", name="Sign in").click()
    return page


def _showing(page, source_id: int, timeout: float = 180_000) -> None:  # noqa: ANN001
    # A fresh 2-core CI machine took over 60 s for a server's first Review page (imports, first stamps).
    page.locator(".cv-title", has_text=f"ngc9999 #{source_id}").wait_for(timeout=timeout)


def _settled(page) -> None:  # noqa: ANN001
    """Wait until the server has answered the last key (the panel takes keys again)."""
    page.wait_for_function(
        f"(() => {{ const r = ({CANDIDATE_ROOT})(); return r && !r.dataset.pending; }})()", timeout=180_000
    )


def test_keyboard_after_a_filter_blink_back_flag(server) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, url = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, base, "kate")
        _showing(page, 6)  # least confident first; scores are shown by default
        page.get_by_text("StarcNet scores").wait_for(timeout=30_000)
        # choose a filter: the selectbox keeps the focus, and its search box would swallow keys
        page.get_by_label("Predicted class").click()
        page.get_by_role("option", name="2 asymmetric cluster").click()
        _wait_idle(page, timeout=120.0)  # the filter's own rerun has finished
        _settled(page)
        page.get_by_label("Predicted class").click()  # the box is focused and open
        page.keyboard.press("3")
        _showing(page, 2)  # the model puts 6 and 2 in class 2
        _settled(page)
        page.keyboard.press("b")  # blink: the composite's place shows NUV
        page.locator(".cv-main .cv-cap", has_text="NUV").wait_for(timeout=10_000)
        page.keyboard.press("ArrowLeft")
        _showing(page, 6)
        page.locator(".cv-sub", has_text="your label: 3").wait_for(timeout=30_000)
        _settled(page)
        page.keyboard.press("f")  # flag the candidate labelled already: stored with its label
        _settled(page)
        page.locator(".cv-flag").wait_for(timeout=30_000)
        page.keyboard.press("ArrowRight")
        _showing(page, 2)
        _settled(page)
        page.keyboard.press("1")
        page.get_by_text("Nothing left in this queue").wait_for(timeout=60_000)
        page.keyboard.press("q")  # not a shortcut: the page says so
        browser.close()
    assert _label_of(url, "kate") == [(6, "3", False), (6, "3", True), (2, "1", False)]


def _shown_text(page, label: str) -> str:  # noqa: ANN001
    """What a selectbox shows (its chosen option; empty when it shows its "Choose an option" hint)."""
    return page.get_by_label(label).input_value()


def test_a_key_pressed_while_a_filter_reruns_is_taken(server) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, url = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, base, "kate")
        _showing(page, 6)
        _settled(page)
        _wait_idle(page)
        assert _shown_text(page, "Predicted class") == "any"  # not the empty box's "Choose an option"
        # a filter whose queue starts elsewhere (#5), and the key at once, while the filter's run is going
        page.get_by_label("Predicted class").click()
        page.get_by_role("option", name="1 symmetric cluster").click(no_wait_after=True)
        page.keyboard.press("3")
        # the key goes down while the filter's run is going (#6 still on screen) or, on a fast
        # machine, just after it drew #5: either way the label goes to the candidate seen
        pressed_on = int(page.evaluate(f"(() => ({CANDIDATE_ROOT})().dataset.keyOn)()"))
        assert pressed_on in (6, 5)
        deadline = time.monotonic() + 120
        while not _label_of(url, "kate") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _label_of(url, "kate") == [(pressed_on, "3", False)]  # taken, on the candidate the expert saw
        _wait_idle(page, timeout=120.0)
        if pressed_on == 6:  # the race: the new filter's queue stays on screen, and the page says so
            _showing(page, 5)
            page.get_by_text("Previous #6: you 3").wait_for(timeout=30_000)
        else:
            _showing(page, 1)
        assert _shown_text(page, "Predicted class") == "1 symmetric cluster"
        _settled(page)
        on_screen = 5 if pressed_on == 6 else 1
        page.keyboard.press("1")  # and the keys go on with the candidate on screen
        deadline = time.monotonic() + 120
        while len(_label_of(url, "kate")) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        browser.close()
    assert _label_of(url, "kate") == [(pressed_on, "3", False), (on_screen, "1", False)]


def test_a_bookmark_while_signed_in_opens_its_page(server) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, _ = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, base, "kate")
        _showing(page, 6)
        _settled(page)
        page.goto(f"{base}/galaxies", timeout=60_000)  # a bookmark opened in the tab already signed in
        page.get_by_role("heading", name="Galaxies").wait_for(timeout=90_000)
        assert "/galaxies" in page.url and page.get_by_label("…or a new expert name").count() == 0
        # another window of the same browser (its cookie), straight to another page, then a reload
        other = browser.new_context(storage_state=page.context.storage_state()).new_page()
        other.goto(f"{base}/metrics", timeout=60_000)
        other.get_by_role("heading", name="Metrics").wait_for(timeout=90_000)
        other.reload()
        other.get_by_role("heading", name="Metrics").wait_for(timeout=90_000)
        assert "/metrics" in other.url and other.get_by_label("…or a new expert name").count() == 0
        # the app's own menu, never Streamlit's list of files
        other.get_by_role("link", name="Review", exact=True).wait_for(timeout=30_000)
        assert other.get_by_role("link", name="app", exact=True).count() == 0
        browser.close()


def _box(page, selector: str, index: int = 0) -> dict:  # noqa: ANN001
    return page.locator(selector).nth(index).bounding_box()


@pytest.mark.parametrize("viewport", [(1440, 900), (1920, 1080)])
def test_layout_uses_the_screen_and_a_reload_keeps_the_session(server, viewport) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, _ = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, f"{base}/galaxies", "lena", viewport)
        page.get_by_text("Field of").first.wait_for(timeout=90_000)  # back where the address pointed
        assert "/galaxies" in page.url
        page.goto(base, timeout=60_000)  # a new browser session: the cookie signs lena in again
        _showing(page, 6)
        _settled(page)
        page.keyboard.press("s")  # skipped: a reload must not bring it back
        _showing(page, 5)
        _settled(page)
        ARTEFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / f"review_{viewport[0]}x{viewport[1]}.png"))
        width, height = viewport
        main = _box(page, ".cv-main .cv-px")
        assert main["width"] >= 320 and main["height"] >= 320
        stamps = page.locator(".cv-stamp .cv-px")
        assert stamps.count() == 8  # five bands, three network views
        for i in range(8):
            box = _box(page, ".cv-stamp .cv-px", i)
            assert box["width"] >= 128 and box["x"] + box["width"] <= width, i
        for selector in (".cv-contour svg", ".cv-surface", ".cv-context .cv-px"):
            box = _box(page, selector)
            assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, selector
            assert abs(box["width"] - box["height"]) < 2, selector  # equal aspect
        for name in ("1 Symmetric", "2 Asymmetric", "3 Association", "4 Non-cluster", "u Unsure"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box["y"] + box["height"] <= height, name  # visible without scrolling
        assert page.get_by_text("Deploy").count() == 0
        page.reload()
        _showing(page, 5)
        browser.close()


def test_clicking_a_candidate_in_the_field_opens_it_in_review(server) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    base, _ = server
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _signed_in_page(browser, base, "kate")
        _showing(page, 6)
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
                _showing(page, 3, timeout=20_000)  # the Review page, on that candidate
                break
            except playwright_api.TimeoutError:
                if attempt == 2:
                    raise
        label_button = page.get_by_role("button", name="1 Symmetric")
        label_button.wait_for(timeout=30_000)
        assert label_button.count() == 1
        browser.close()
