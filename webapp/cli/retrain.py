"""``python -m webapp retrain``: queue a retraining job (and optionally wait for it)."""

from __future__ import annotations

import argparse
import sys

from webapp.cli import add_by_argument, add_database_argument, expert_name
from webapp.services.database import open_database
from webapp.services.held_out import interval_text
from webapp.services.jobs import wait_for_job
from webapp.services.retrain import (
    CONSENSUS_RULES,
    FEW_LABELS,
    MODES,
    SCRATCH_PRESETS,
    RetrainRequest,
    estimate_seconds,
    request_retrain,
)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "retrain", help="retrain StarcNet on the experts' labels (a background job)"
    )
    parser.add_argument("--mode", choices=MODES, default="quick", help="quick: FC layers only; full; scratch")
    parser.add_argument(
        "--include-catalog", action="store_true", help="also use labels imported with catalogs"
    )
    parser.add_argument("--min-votes", type=int, default=1, help="votes a consensus class needs (default 1)")
    parser.add_argument(
        "--consensus",
        choices=CONSENSUS_RULES,
        default="mode",
        help="train on the mode of the votes or the expert-weighted Dawid-Skene consensus",
    )
    parser.add_argument("--epochs", type=int, help="default: 40 quick, 5 full, 15 scratch")
    parser.add_argument(
        "--preset",
        choices=SCRATCH_PRESETS,
        help="scratch: the network (default: lite on a CPU, paper on a GPU)",
    )
    parser.add_argument(
        "--auto-promote", action="store_true", help="promote if not worse on the held-out set"
    )
    parser.add_argument("--estimate", action="store_true", help="only print the time estimate")
    parser.add_argument("--wait", action="store_true", help="wait for the job and print its progress")
    add_by_argument(parser, "asks for the retrain")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        request = RetrainRequest(
            mode=args.mode,
            include_catalog=args.include_catalog,
            consensus=args.consensus,
            min_votes=args.min_votes,
            epochs=args.epochs,
            auto_promote=args.auto_promote,
            preset=args.preset,
            requested_by=expert_name(session, args.by),
        )
        estimate = estimate_seconds(session, request)
        print(estimate["summary"])
        if estimate["n_train"] < FEW_LABELS:
            print(
                f"warning: only {estimate['n_train']} labels to train on; a model retrained on fewer "
                f"than {FEW_LABELS} mostly learns their noise",
                file=sys.stderr,
            )
        if args.estimate:
            return 0
        job = request_retrain(session, request)
    print(f"queued retrain job #{job.id} (run `python -m webapp worker` if no worker is running)")
    if not args.wait:
        return 0
    last = [""]

    def show(state) -> None:  # noqa: ANN001 - JobInfo
        line = f"{state.status} {state.progress:4.0%} {state.message}"
        if line != last[0]:
            print(line, flush=True)
            last[0] = line

    state = wait_for_job(database.sessions, job.id, on_update=show)
    if state.status != "succeeded":
        print(f"retrain job #{job.id} {state.status}: {state.error or state.message}", file=sys.stderr)
        return 1
    result = state.result
    metrics, baseline = result["metrics"], result["baseline_metrics"]
    print(
        f"model version {result['model_version_id']}: held-out accuracy {interval_text(metrics, 'accuracy')}"
        f" on {metrics['n']} (active {interval_text(baseline, 'accuracy')}); promoted: {result['promoted']}"
        + (f" ({result['promotion_note']})" if result.get("promotion_note") else "")
    )
    return 0
