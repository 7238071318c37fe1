"""``python -m webapp bootstrap-demo``: build the embedded demo (simulated galaxy, lite model, scores)."""

from __future__ import annotations

import argparse
import re
import time

from webapp.cli import add_database_argument
from webapp.services.database import init_database
from webapp.services.demo import DemoSettings, build_demo, demo_ready

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bootstrap-demo",
        help="simulate a galaxy, train a lite StarcNet on a simulated survey, activate and score (idempotent)",
    )
    add_database_argument(parser)
    parser.add_argument(
        "--epochs", type=int, default=DemoSettings.epochs, help="training epochs (default %(default)s)"
    )
    parser.add_argument(
        "--if-missing", action="store_true", help="do nothing when the demo is already built and scored"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = init_database(args.database_url)
    if args.if_missing and demo_ready(database):
        print("[demo] already built")
        return 0
    print(
        "[demo] first start: building the demo (a simulated galaxy, a starting model trained on a simulated "
        "survey, its scores); a few minutes on 2 cores, progress below",
        flush=True,
    )
    start = time.monotonic()
    stage_start = {}

    def progress(step: int, n_steps: int, message: str) -> None:
        now = time.monotonic()
        stage_start.setdefault(step, now)
        done = re.match(r"training step (\d+) of (\d+)", message)
        if done and int(done[1]) > 0:  # the steps so far say how long the rest takes
            left = (now - stage_start[step]) * (int(done[2]) - int(done[1])) / int(done[1])
            message += f" (training done in about {left:.0f} s)"
        print(f"[demo {step}/{n_steps} {now - start:5.0f} s] {message}", flush=True)

    build_demo(database, settings=DemoSettings(epochs=args.epochs), progress=progress)
    print(f"[demo] ready in {time.monotonic() - start:.0f} s", flush=True)
    return 0
