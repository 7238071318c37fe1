"""Review app latency: building a candidate view, and a label click to the next candidate.

Builds a database with one 1000 x 1000 px galaxy of ``--candidates`` candidates
and an active model in a temporary directory, then times (warm, median and
95th percentile over ``--repeat`` candidates):

* ``view``: :func:`webapp.services.review.build_candidate_view` plus every
  figure of the page (contours, 3D surface, scores) serialised to JSON and
  every image encoded to PNG, as Streamlit sends them;
* ``label -> next``: recording a label and building the next candidate's
  view (the queue read, progress and figures included);
* ``AppTest rerun``: a full server-side rerun of the review page after a
  label click, through Streamlit's AppTest.

Goals (issue 5): view <= 250 ms, label -> next <= 300 ms.
Run ``python benchmarks/bench_app.py [--plain]``; prints a docs/BENCHMARKS.md section.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starcnet_core.io.bands import BANDS  # noqa: E402
from starcnet_core.io.mosaics import open_mosaics  # noqa: E402
from tests.app_testing import prepared_database  # noqa: E402
from webapp.components.candidate_figures import contour_figure, enlarge, scores_figure, surface_figure  # noqa: E402
from webapp.services.database import open_database  # noqa: E402
from webapp.services.labels import get_expert  # noqa: E402
from webapp.services.review import (  # noqa: E402
    build_candidate_view,
    next_candidates,
    session_progress,
    submit_label,
)


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def render(session, candidate_id: int, arrays, expert_id: int, blind: bool):  # noqa: ANN001, ANN201
    """Everything the review page computes for one candidate (view, figures as JSON, images as PNG)."""
    view = build_candidate_view(session, candidate_id, arrays, expert_id=expert_id, blind=blind)
    figures = [contour_figure(view.v_band), surface_figure(view.v_band)]
    if view.scores is not None:
        figures.append(scores_figure(view.scores))
    payload = [figure.to_json() for figure in figures]
    images = [_png(enlarge(view.rgb, 4))] + [_png(enlarge(b, 2)) for b in view.bands]
    images += [_png(enlarge(v, 4)) for v in view.network_rgb]
    return view, payload, images


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
    app.toggle(key="review_blind").set_value(False).run()
    times = []
    for i in range(repeat + 2):
        start = time.perf_counter()
        app.button(key=f"label_{1 + i % 4}").click().run()
        if i >= 2:  # the first reruns warm caches
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--plain", action="store_true", help="aligned text instead of a markdown section")
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
            view, _, _ = render(session, current, arrays, ann, blind=False)
            pending = list(queue[4 + args.repeat :])
            for _ in range(min(args.repeat, len(pending))):
                start = time.perf_counter()
                submit_label(session, view, expert_id=ann, label_class=1, blind=False)
                session.commit()
                current = pending.pop(0)
                session_progress(session, ann, galaxy.id)
                view, _, _ = render(session, current, arrays, ann, blind=False)
                session.commit()
                label_times.append(time.perf_counter() - start)
        database.engine.dispose()
        app_times = _apptest_rerun(url, min(args.repeat, 10))
    rows = [
        ("candidate view (all images and plots)", *_stats(view_times), 250),
        ("label -> next candidate (services)", *_stats(label_times), 300),
        ("label -> next candidate (AppTest full rerun)", *_stats(app_times), 300),
    ]
    load = os.getloadavg()[0]
    lines = [
        "## Review app (benchmarks/bench_app.py)",
        "",
        f"{args.candidates} candidates, 1000 x 1000 px mosaics, SQLite; {os.cpu_count()} CPUs, load average {load:.1f}.",
        "",
        "| step | median (ms) | 95th pct (ms) | goal (ms) |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {median:.0f} | {p95:.0f} | {goal} |" for name, median, p95, goal in rows),
    ]
    if args.plain:
        for name, median, p95, goal in rows:
            print(f"{name:48s} median {median:6.0f} ms  p95 {p95:6.0f} ms  (goal {goal} ms)")
        print(f"load average {load:.1f}")
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
