"""``python -m webapp agreement``: expert and model agreement of a galaxy (the paper's Fig. 3)."""

from __future__ import annotations

import argparse
import json

from webapp.cli import add_database_argument
from webapp.services.agreement import agreement_report
from webapp.services.database import open_database

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "agreement", help="agreement between experts, with the consensus, and the model"
    )
    parser.add_argument("--galaxy", help="galaxy name (default: all galaxies)")
    parser.add_argument("--model", help="model version name (default: the active one)")
    parser.add_argument("--humans-only", action="store_true", help="leave out catalog pseudo-experts")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    add_database_argument(parser)
    parser.set_defaults(func=_run)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _run(args: argparse.Namespace) -> int:
    database = open_database(args.database_url)
    with database.read_sessions() as session:
        report = agreement_report(
            session,
            galaxy=args.galaxy,
            model=args.model,
            roles=["expert", "admin"] if args.humans_only else None,
        )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    experts = report["experts"]
    print(f"galaxy: {args.galaxy or 'all'}; {experts['n_candidates']} labelled candidates")
    for pair in experts["pairwise"]:
        print(
            f"  {pair['expert_a']} vs {pair['expert_b']}: {_percent(pair['agreement'])} "
            f"(binary {_percent(pair['binary_agreement'])}) on {pair['n']}"
        )
    for row in experts["vs_consensus"]:
        print(
            f"  {row['expert']} vs consensus: {_percent(row['agreement'])} "
            f"(binary {_percent(row['binary_agreement'])}) on {row['n']}"
        )
    model = report["model"]
    if model is not None:
        print(
            f"  model {report['model_name']} vs consensus: {_percent(model['agreement'])} "
            f"(binary {_percent(model['binary_agreement'])}) on {model['n']}"
        )
    return 0
