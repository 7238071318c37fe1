"""Review app latency: building a candidate, a label to the next candidate, and the same in a real browser.

Builds a database with one 1000 x 1000 px galaxy of ``--candidates`` candidates
and an active model in a temporary directory, then times (warm, median and
95th percentile over ``--repeat`` candidates):

* ``view``: :func:`webapp.services.review.build_candidate_view` plus the
  panel's whole payload (every stamp as PNG, contours, 3D surface, context);
* ``label -> next``: recording a label and building the next candidate's
  view (the queue read, progress and payload included);
* ``AppTest rerun``: a full server-side rerun of the review page after a
  label click, through Streamlit's AppTest;
* with ``--browser``: the app served by Streamlit and driven by Playwright in
  headless Chromium (``/usr/bin/chromium``) at 1440x900, ``--labels`` labels
  with the keyboard: from the key press (its event time stamp) to the next
  candidate's header and every image of it decoded on screen ("shown"), and
  to the server's answer taken in (the panel takes keys again: "confirmed");
  a blink step, and back / forward.

Goals (issues 5, 16, 19): view <= 250 ms, label -> next <= 300 ms; in the
browser key -> next candidate median <= 300 / p95 <= 500 ms, whole candidate
drawn median <= 400 / p95 <= 700 ms, blink and back/forward median <= 150 ms.
Run ``python benchmarks/bench_app.py [--plain] [--browser]``; prints a docs/BENCHMARKS.md section.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.run_all import cpu_line  # noqa: E402
from starcnet_core.io.bands import BANDS  # noqa: E402
from starcnet_core.io.mosaics import open_mosaics  # noqa: E402
from tests.app_testing import prepared_database  # noqa: E402
from webapp.components.candidate_view import candidate_payload  # noqa: E402
from webapp.services.database import open_database  # noqa: E402
from webapp.services.labels import get_expert  # noqa: E402
from webapp.services.review import (  # noqa: E402
    build_candidate_view,
    next_candidates,
    session_progress,
    submit_label,
)


def render(session, candidate_id: int, arrays, expert_id: int, blind: bool):  # noqa: ANN001, ANN201
    """Everything the review page computes for one candidate: the view and the panel's payload."""
    view = build_candidate_view(session, candidate_id, arrays, expert_id=expert_id, blind=blind)
    return view, candidate_payload(view)


def _stats(seconds: list[float]) -> tuple[float, float]:
    values = np.array(seconds) * 1000
    return float(np.median(values)), float(np.percentile(values, 95))


def _apptest_rerun(url: str, repeat: int) -> list[float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["DATABASE_URL"] = url
    st.cache_resource.clear()
    app = AppTest.from_file(str(ROOT / "webapp" / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("pages/sign_in.py").run()
    app.selectbox[0].select("bob")
    app.button[0].click().run()
    app.switch_page("pages/review.py").run()
    times = []
    for i in range(repeat + 2):
        start = time.perf_counter()
        app.button(key=f"label_{1 + i % 4}").click().run()
        if i >= 2:  # the first reruns warm caches
            times.append(time.perf_counter() - start)
    return times


#: In the page: the candidate panel's root (inside the component's shadow DOM).
_ROOT_JS = """() => {
    const host = [...document.querySelectorAll('.st-key-candidate_view *')].find(e => e.shadowRoot);
    return host ? host.shadowRoot.querySelector('.cv-root') : null;
}"""
#: Records each key's event time stamp (window capture runs before the panel's document listener).
_KEY_CLOCK_JS = "window.addEventListener('keydown', e => { window.__keyAt = e.timeStamp; }, true)"
#: After a key: ms to "shown" (the watched attribute changed, every image decoded, one frame painted)
#: and to "confirmed" (the server's answer arrived: the panel takes keys again).
_MEASURE_JS = """async ([attribute, before]) => {
    const root = (ROOT)();
    const frame = () => new Promise(r => requestAnimationFrame(() => r()));
    const decoded = () => [...root.querySelectorAll('img')].every(i => !i.getAttribute('src') || (i.complete && i.naturalWidth > 0));
    while (root.dataset[attribute] === before || !decoded()) await frame();
    await frame();
    const shown = performance.now() - window.__keyAt;
    while (root.dataset.pending) await frame();
    return [shown, performance.now() - window.__keyAt];
}""".replace("ROOT", _ROOT_JS)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _browser(url: str, data_dir: Path, labels: int) -> dict[str, list[float]]:
    """Serve the app on ``url``'s database and label ``labels`` candidates with the keyboard in Chromium."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "STARCNET_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("STARCNET_PASSWORD", None)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "webapp" / "app.py"), "--server.port"]
    command += [str(port), "--server.headless", "true", "--server.fileWatcherType", "none"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    times: dict[str, list[float]] = {"shown": [], "confirmed": [], "blink": [], "back": [], "forward": []}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"http://127.0.0.1:{port}", timeout=120_000)
            page.get_by_label("…or a new expert name").fill("bench")
            page.get_by_role("button", name="Sign in").click()
            page.locator(".cv-title").wait_for(timeout=120_000)
            page.evaluate(_KEY_CLOCK_JS)

            def press(key: str, attribute: str = "candidate") -> tuple[float, float]:
                page.wait_for_function(
                    f"(() => {{ const r = ({_ROOT_JS})(); return r && !r.dataset.pending; }})()"
                )
                before = page.evaluate(f"(() => ({_ROOT_JS})().dataset.{attribute})()")
                page.keyboard.press(key)
                return page.evaluate(_MEASURE_JS, [attribute, before])

            for i in range(labels + 3):
                shown, confirmed = press(str(1 + i % 4))
                if i >= 3:  # the first labels warm the caches
                    times["shown"].append(shown / 1000)
                    times["confirmed"].append(confirmed / 1000)
                if i % 5 == 4:
                    times["blink"].append(press("b", "frame")[0] / 1000)
                    times["back"].append(press("ArrowLeft")[0] / 1000)
                    times["forward"].append(press("ArrowRight")[0] / 1000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--plain", action="store_true", help="aligned text instead of a markdown section")
    parser.add_argument("--browser", action="store_true", help="also time the app in headless Chromium")
    parser.add_argument("--labels", type=int, default=50, help="keyboard labels in the browser")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = prepared_database(Path(folder), n_extra=args.candidates - 6)
        database = open_database(url)
        with database.sessions() as session:
            from db.models import Galaxy

            galaxy = session.query(Galaxy).one()
            arrays = open_mosaics([galaxy.mosaic_paths[b] for b in BANDS]).arrays()
            ann = get_expert(session, "ann").id
            queue = next_candidates(session, expert_id=ann, limit=args.repeat * 2 + 4)
            for warm in queue[:3]:
                render(session, warm, arrays, ann, blind=False)
            view_times = []
            for cid in queue[3 : 3 + args.repeat]:
                start = time.perf_counter()
                render(session, cid, arrays, ann, blind=False)
                view_times.append(time.perf_counter() - start)
            label_times = []
            current = queue[3 + args.repeat]
            view, _ = render(session, current, arrays, ann, blind=False)
            pending = list(queue[4 + args.repeat :])
            for _ in range(min(args.repeat, len(pending))):
                start = time.perf_counter()
                submit_label(session, view, expert_id=ann, label_class=1, blind=False)
                session.commit()
                current = pending.pop(0)
                session_progress(session, ann, galaxy.id)
                view, _ = render(session, current, arrays, ann, blind=False)
                session.commit()
                label_times.append(time.perf_counter() - start)
        database.engine.dispose()
        app_times = _apptest_rerun(url, min(args.repeat, 10))
        browser = _browser(url, Path(folder) / "data", args.labels) if args.browser else None
    rows = [
        ("candidate view (payload: all images and plots)", *_stats(view_times), "250"),
        ("label -> next candidate (services)", *_stats(label_times), "300"),
        ("label -> next candidate (AppTest full rerun)", *_stats(app_times), "300"),
    ]
    if browser is not None:
        rows += [
            (
                f"browser: key -> next header + images ({args.labels} labels)",
                *_stats(browser["shown"]),
                "300 / 500",
            ),
            ("browser: key -> whole candidate drawn", *_stats(browser["shown"]), "400 / 700"),
            ("browser: key -> server's answer taken in", *_stats(browser["confirmed"]), "-"),
            (f"browser: blink step ({len(browser['blink'])})", *_stats(browser["blink"]), "150 median"),
            ("browser: back (←)", *_stats(browser["back"]), "150 median"),
            ("browser: forward (→)", *_stats(browser["forward"]), "150 median"),
        ]
    load = os.getloadavg()[0]
    lines = [
        "## Review app (benchmarks/bench_app.py)",
        "",
        f"{args.candidates} candidates, 1000 x 1000 px mosaics, SQLite; {cpu_line()}; "
        f"1-min load average {load:.1f} at the end; {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "| step | median (ms) | 95th pct (ms) | goal (ms, median / p95) |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {median:.0f} | {p95:.0f} | {goal} |" for name, median, p95, goal in rows),
    ]
    if args.plain:
        for name, median, p95, goal in rows:
            print(f"{name:56s} median {median:6.0f} ms  p95 {p95:6.0f} ms  (goal {goal} ms)")
        print(f"load average {load:.1f}")
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
