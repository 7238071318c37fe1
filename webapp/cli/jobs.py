"""``python -m webapp jobs``: list the background jobs, or re-run a failed one with the same parameters."""

from __future__ import annotations

import argparse

from webapp.cli import add_database_argument
from webapp.services.database import open_database
from webapp.services.jobs import recent_jobs, rerun_job

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "jobs", help="list recent jobs (`jobs list`) or re-run a failed one (`jobs rerun ID`)"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the most recent jobs, newest first")
    listing.add_argument("--kind", help="only jobs of this kind (retrain, score)")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    again = actions.add_parser("rerun", help="queue a failed or cancelled job again, same parameters")
    again.add_argument("job_id", type=int, metavar="ID", help="the job's number")
    for sub in (listing, again):
        add_database_argument(sub)
        sub.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.sessions() as session:
        if args.action == "rerun":
            job = rerun_job(session, args.job_id)
            print(f"job #{args.job_id} queued again as #{job.id} ({job.kind}, same parameters)")
            return 0
        for job in recent_jobs(session, kind=args.kind, limit=args.limit):
            error = f"  {job.error.splitlines()[0]}" if job.error else ""
            print(f"#{job.id}\t{job.kind}\t{job.status}\t{job.created_at:%Y-%m-%d %H:%M}{error}")
    return 0
