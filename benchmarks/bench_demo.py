"""App start-up: the first ``./run_app.sh`` on a fresh data directory, and a later start.

Runs ``./run_app.sh --port P`` with ``STARCNET_DATA_DIR`` in a temporary
directory (the venv already installed: its one-off ``pip install`` is not
part of the app's start), and times from launch until Streamlit answers its
health check, with the demo's stages (simulated galaxy, simulated survey,
training, scoring) from its progress lines. Then stops the app and starts it
again on the same data directory. Goals (issue 5): first run ready in at most
5 minutes on 2 cores, later starts usable in at most 15 s.

Run it alone on the machine, under the shared benchmark lock, and let the
runner stamp and file the section::

    flock /tmp/starcnet-bench.lock python benchmarks/run_all.py demo

(or ``python benchmarks/bench_demo.py`` to print the section only). The
demo's progress lines are echoed on stderr while it builds; a first run that
is not healthy after ``--timeout`` seconds is reported with the stages it
reached, not as a crash.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
sys.path.insert(0, str(ROOT))
from benchmarks.run_all import cpu_line  # noqa: E402

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


def _echo(lines: list[str], stream) -> None:  # noqa: ANN001 - the app's stdout
    for line in stream:
        lines.append(line)
        print(f"  | {line.rstrip()}", file=sys.stderr, flush=True)


def start_app(data_dir: str, timeout_s: float = 900.0) -> tuple[float | None, list[str]]:
    """Seconds from launching ``run_app.sh`` until the server is healthy (``None``: not within ``timeout_s``), and its output lines."""
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
    reader = threading.Thread(target=_echo, args=(lines, app.stdout), daemon=True)
    reader.start()
    try:
        while not _healthy(port):
            if app.poll() is not None:
                raise RuntimeError("run_app.sh exited:\n" + "".join(lines[-20:]))
            if time.perf_counter() - started > timeout_s:
                return None, lines
            time.sleep(0.2)
        return time.perf_counter() - started, lines
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=60)
        reader.join(timeout=10)


def demo_stages(lines: list[str], stopped_s: float | None = None) -> list[tuple[str, float]]:
    """(stage message, seconds it took) from the demo's ``[demo i/4 T s] message`` lines.

    When the demo did not finish, the stage it was in is given up to
    ``stopped_s`` (seconds after the demo started) and marked "unfinished".
    """
    marks = [
        (int(m[2]), m[3].strip())
        for m in map(DEMO_LINE.match, lines)
        if m and not m[3].startswith(("epoch", "training step"))  # progress inside the training stage
    ]
    ready = [float(m[1]) for m in map(re.compile(r"\[demo\] ready in (\d+) s").match, lines) if m]
    if marks and not ready and stopped_s is not None:
        marks[-1] = (marks[-1][0], f"{marks[-1][1]} (unfinished)")
        ready = [stopped_s]
    ends = [t for t, _ in marks[1:]] + ready[:1]
    return [(message, end - t) for (t, message), end in zip(marks, ends, strict=False)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the first run may take")
    parser.add_argument(
        "--later-only",
        metavar="DATA_DIR",
        help="only time later starts on this data directory, where the demo is already built",
    )
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    if args.later_only:
        times = [start_app(args.later_only, timeout_s=120.0)[0] for _ in range(3)]
        load_after = os.getloadavg()[0]
        shown = ", ".join("no healthy server in 120 s" if t is None else f"{t:.1f} s" for t in times)
        print(
            f"Later starts of `./run_app.sh` on {args.later_only} (demo built): {shown} "
            f"(goal {LATER_START_GOAL_S:.0f} s). Machine: {cpu_line()}. Started {started:%Y-%m-%d %H:%M} UTC; "
            f"1-min load average {load_before:.1f} at the start, {load_after:.1f} at the end."
        )
        return
    with tempfile.TemporaryDirectory(prefix="starcnet-demo-") as data_dir:
        first_s, first_lines = start_app(data_dir, timeout_s=args.timeout)
        later_s = start_app(data_dir, timeout_s=120.0)[0] if first_s is not None else None
    load_after = os.getloadavg()[0]
    first = f"{first_s:.0f}" if first_s is not None else f"not ready after {args.timeout:.0f}"
    later = f"{later_s:.1f}" if later_s is not None else "not measured"
    lines = [
        "## App start-up (first run builds the demo)",
        "",
        "`flock /tmp/starcnet-bench.lock python benchmarks/run_all.py demo`: `./run_app.sh` on a fresh data "
        "directory (SQLite), timed from launch until Streamlit answers its health check; the venv was already "
        "installed (its one-off `pip install` is not included).",
        f"Machine: {cpu_line()}. Started {started:%Y-%m-%d %H:%M} UTC; 1-min load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end (2 means both cores busy).",
        "",
        "| start | seconds | goal |",
        "|---|---:|---:|",
        f"| first run (migrate, build demo, start worker and server) | {first} | {FIRST_RUN_GOAL_S:.0f} |",
        f"| later start | {later} | {LATER_START_GOAL_S:.0f} |",
        "",
        "Demo stages of the first run:",
        "",
        "| stage | seconds |",
        "|---|---:|",
    ]
    # an unfinished stage is timed to the timeout (the demo's clock starts a moment after launch)
    lines += [
        f"| {message} | {seconds:.0f} |"
        for message, seconds in demo_stages(first_lines, None if first_s is not None else args.timeout)
    ]
    met = (
        first_s is not None
        and later_s is not None
        and first_s <= FIRST_RUN_GOAL_S
        and later_s <= LATER_START_GOAL_S
    )
    lines += ["", f"Goals (first run <= 5 min, later start <= 15 s): **{'met' if met else 'NOT met'}**."]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
