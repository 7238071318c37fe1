"""``python -m webapp``: one module per subcommand (see :mod:`starcnet_core.commandline`)."""

from __future__ import annotations

from collections.abc import Sequence

from starcnet_core.commandline import build_parser, run

__all__ = ["main"]


def main(args: Sequence[str] | None = None) -> int:
    """Run the administration CLI with ``args`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser(
        "python -m webapp",
        "StarcNet Studio administration: database, imports, labels, scoring, jobs, export.",
        __name__,
    )
    return run(parser, args)
