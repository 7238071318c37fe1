"""``python -m webapp worker``: run the background job worker."""

from __future__ import annotations

import argparse
import logging

from webapp.cli import add_database_argument, add_precision_argument, precision_of
from webapp.services.database import open_database
from webapp.worker import Worker, default_handlers

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="run queued jobs (retraining, re-scoring)")
    add_database_argument(parser)
    parser.add_argument("--once", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between looks at an empty queue")
    parser.add_argument(
        "--stale-after",
        type=float,
        default=60.0,
        help="seconds without heartbeat before a job counts as lost",
    )
    add_precision_argument(parser, "this worker's scoring jobs score")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    precision = precision_of(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    database = open_database(args.database_url)
    worker = Worker(
        database.engine,
        default_handlers(precision=precision),
        poll_s=args.poll,
        stale_after_s=args.stale_after,
    )
    count = worker.run(idle_exit=args.once)
    print(f"worker {worker.worker_id}: ran {count} job(s)")
    return 0
