"""Inference speed: reference (published fp32 loop) vs our default path vs the lite preset.

Runs :func:`starcnet_core.nn.inference_benchmark.benchmark_inference`, the same
function as ``python -m starcnet_core benchmark inference``, and prints one
markdown section (``--json`` for the raw numbers). Goals on the project's
2-core CPU: default >= 2.5x the reference with >= 99.5% identical classes,
lite >= 10x.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starcnet_core.nn.inference_benchmark import benchmark_inference, markdown_section  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="number of stamps")
    parser.add_argument("--model", help="checkpoint (default: paper network, Xavier weights)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = benchmark_inference(args.n, model_path=args.model)
    print(json.dumps(result, indent=2) if args.json else markdown_section(result))


if __name__ == "__main__":
    main()
