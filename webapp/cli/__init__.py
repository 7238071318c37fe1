"""``python -m webapp``: one module per subcommand (see :mod:`starcnet_core.commandline`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from starcnet_core.commandline import build_parser, run

__all__ = [
    "main",
    "add_database_argument",
    "add_by_argument",
    "add_precision_argument",
    "precision_of",
    "expert_name",
]


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    """``--database-url``, which every command that opens the database takes."""
    parser.add_argument(
        "--database-url", help="default: $DATABASE_URL or the SQLite file in $STARCNET_DATA_DIR"
    )


def add_by_argument(parser: argparse.ArgumentParser, action: str) -> None:
    """``--by NAME``: the expert on whose behalf a command changes the models, kept for the record."""
    parser.add_argument(
        "--by", metavar="NAME", help=f"the expert who {action} (must exist; recorded with the job)"
    )


def add_precision_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--precision``: the inference backend ``what`` (e.g. "scores") uses; check it with :func:`precision_of`."""
    parser.add_argument(
        "--precision",
        default="auto",
        help=f"inference backend {what} with: auto (default: the fastest that agrees with fp32 on this "
        "machine), fp32 (the published bits, the same classes on every machine), bf16, int8 or "
        "fp32-openvino; each prediction records the one that computed it",
    )


def precision_of(args: argparse.Namespace) -> str:
    """``args.precision``, refused (exit status 2) unless it is one of the backends."""
    from starcnet_core.errors import UserInputError
    from starcnet_core.nn.backends import PRECISIONS  # torch loads only for a command that scores

    if args.precision not in PRECISIONS:
        raise UserInputError(f"--precision {args.precision!r} is not one of {', '.join(PRECISIONS)}")
    return args.precision


def expert_name(session, name: str | None) -> str | None:  # noqa: ANN001 - a SQLAlchemy Session
    """``name`` checked against the experts (an unknown name is refused), or None when not given."""
    if name is None:
        return None
    from webapp.services.labels import get_expert

    return get_expert(session, name).name


def main(args: Sequence[str] | None = None) -> int:
    """Run the administration CLI with ``args`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser(
        "python -m webapp",
        "StarcNet Studio administration: database, imports, labels, scoring, jobs, export.",
        __name__,
    )
    return run(parser, args)
