"""``python -m starcnet_core benchmark inference``: measure inference speed against the published loop."""

from __future__ import annotations

import argparse
import json

from starcnet_core.errors import UserInputError
from starcnet_core.nn.inference_benchmark import benchmark_inference, markdown_section

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` subcommand."""
    parser = subparsers.add_parser(
        "benchmark",
        help="measure inference speed (objects/s) of every backend against the published fp32 loop",
        description="Time the published way of running StarcNet, every inference backend "
        "(fp32, fp32-openvino, bf16, int8), "
        "the default (auto) and the lite preset on the same stamps, compare their classes with fp32, and "
        "report the CPU's instruction sets, its measured fp32 limit and the FLOPs per object.",
    )
    parser.add_argument("area", choices=["inference"], help="what to measure")
    parser.add_argument("--n", type=int, default=512, help="number of stamps (default 512)")
    parser.add_argument("--model", help="checkpoint to time (default: the paper network, Xavier weights)")
    parser.add_argument("--stamps", help="stamp set directory to draw the stamps from (default: synthetic)")
    parser.add_argument("--lite-model", help="trained lite checkpoint to time (default: lite preset, Xavier weights)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown section")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise UserInputError(f"--n must be at least 1, not {args.n}")
    result = benchmark_inference(
        args.n, model_path=args.model, stamps_path=args.stamps, seed=args.seed, lite_model_path=args.lite_model
    )
    print(json.dumps(result, indent=2) if args.json else markdown_section(result))
    return 0
