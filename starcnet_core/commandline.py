"""The shared shape of our command lines: one module per subcommand.

``python -m starcnet_core`` and ``python -m webapp`` are each a package of
subcommand modules; each module defines ``register(subparsers)``, which adds
its parser and sets ``func`` (taking the parsed namespace, returning an exit
status). The work is a plain function elsewhere; a command only parses
arguments, calls it and prints. A :class:`~starcnet_core.errors.UserInputError`
is printed as one line on stderr with exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from typing import NoReturn

from starcnet_core.errors import UserInputError

__all__ = ["build_parser", "run", "add_frame_argument"]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a refused argument is one line (``error: PROG: message``) and exit 2, like every user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def build_parser(prog: str, description: str, package: str) -> argparse.ArgumentParser:
    """A parser with one subcommand for each module in ``package``."""
    parser = _OneLineParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    path = importlib.import_module(package).__path__
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        importlib.import_module(f"{package}.{info.name}").register(subparsers)
    return parser


def add_frame_argument(parser: argparse.ArgumentParser) -> None:
    """``--frame``: which positions of a catalog that lists them on the pointing and on the mosaic frame."""
    from starcnet_core.io.catalogs import FRAMES

    parser.add_argument(
        "--frame",
        choices=FRAMES,
        default="auto",
        help="catalogs with positions on the pointing and on the mosaic frame (NGC 1313): which pair "
        "to use; auto (default): the one the mosaics' WCS confirms, else the mosaic frame for "
        "LEGUS mosaic fields (_sci.fits), else the pointing's",
    )


def run(parser: argparse.ArgumentParser, args: Sequence[str] | None = None) -> int:
    """Parse ``args`` (default ``sys.argv[1:]``), run the chosen command, return its exit status."""
    namespace = parser.parse_args(args)
    try:
        return int(namespace.func(namespace) or 0)
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
