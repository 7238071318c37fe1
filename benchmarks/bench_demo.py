"""App start-up: the first ``./run_app.sh`` on a fresh data directory, and a later start.

Runs ``./run_app.sh --port P`` with ``STARCNET_DATA_DIR`` in a temporary
directory (the venv already installed: its one-off ``pip install`` is not
part of the app's start), and times from launch until Streamlit answers its
health check, with the demo's stages (simulated galaxy, simulated survey,
training, scoring) from its progress lines. Then stops the app and starts it
again on the same data directory. Goals (issue 5): first run ready in at most
5 minutes on 2 cores, later starts usable in at most 15 s.

Run ``python benchmarks/bench_demo.py``; prints a markdown section.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_RUN_GOAL_S = 300.0
LATER_START_GOAL_S = 15.0
DEMO_LINE = re.compile(r"\[demo (\d)/\d\s+(\d+) s\] (.*)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_app(data_dir: str, timeout_s: float = 900.0) -> tuple[float, list[str]]:
    """Seconds from launching ``run_app.sh`` until the server is healthy, and its output lines."""
    port = _free_port()
    env = {**os.environ, "STARCNET_DATA_DIR": data_dir}
    env.pop("DATABASE_URL", None)
    lines: list[str] = []
    started = time.perf_counter()
    app = subprocess.Popen(
        [str(ROOT / "run_app.sh"), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    reader = threading.Thread(target=lambda: lines.extend(app.stdout), daemon=True)
    reader.start()
    try:
        while not _healthy(port):
            if app.poll() is not None:
                raise RuntimeError("run_app.sh exited:\n" + "".join(lines[-20:]))
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError(f"no healthy server after {timeout_s:.0f} s")
            time.sleep(0.2)
        return time.perf_counter() - started, lines
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=60)
        reader.join(timeout=10)


def demo_stages(lines: list[str]) -> list[tuple[str, float]]:
    """(stage message, seconds it took) from the demo's ``[demo i/4 T s] message`` lines."""
    marks = [
        (int(m[2]), m[3].strip())
        for m in map(DEMO_LINE.match, lines)
        if m and not m[3].startswith(("epoch", "training step"))  # progress inside the training stage
    ]
    ready = [float(m[1]) for m in map(re.compile(r"\[demo\] ready in (\d+) s").match, lines) if m]
    ends = [t for t, _ in marks[1:]] + ready[:1]
    return [(message, end - t) for (t, message), end in zip(marks, ends, strict=False)]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="starcnet-demo-") as data_dir:
        first_s, first_lines = start_app(data_dir)
        later_s, _ = start_app(data_dir)
    load = os.getloadavg()[0]
    lines = [
        "## App start-up (first run builds the demo)",
        "",
        "`python benchmarks/bench_demo.py`: `./run_app.sh` on a fresh data directory (SQLite), timed from launch "
        "until Streamlit answers its health check; the venv was already installed (its one-off `pip install` "
        f"is not included). 1-min load average at the end {load:.1f}.",
        "",
        "| start | seconds | goal |",
        "|---|---:|---:|",
        f"| first run (migrate, build demo, start worker and server) | {first_s:.0f} | {FIRST_RUN_GOAL_S:.0f} |",
        f"| later start | {later_s:.1f} | {LATER_START_GOAL_S:.0f} |",
        "",
        "Demo stages of the first run:",
        "",
        "| stage | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {message} | {seconds:.0f} |" for message, seconds in demo_stages(first_lines)]
    met = first_s <= FIRST_RUN_GOAL_S and later_s <= LATER_START_GOAL_S
    lines += ["", f"Goals (first run <= 5 min, later start <= 15 s): **{'met' if met else 'NOT met'}**."]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
