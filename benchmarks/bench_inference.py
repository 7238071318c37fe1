"""Inference speed: the published fp32 loop against every backend, natively and as an AVX2-only CPU.

Runs ``python -m starcnet_core benchmark inference --json`` (the same
:func:`starcnet_core.nn.inference_benchmark.benchmark_inference`) twice, each
in a fresh process: once as the machine is, once with the instruction sets
of PyTorch's libraries capped at AVX2 (``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2`` with ``OV_CPU_MAX_ISA=AVX2`` for OpenVINO's own
kernels, ``FBGEMM_ENABLE_INSTRUCTIONS=AVX2``,
``MKL_ENABLE_INSTRUCTIONS=AVX2``: no AVX-512, no VNNI, no native bf16), which
is how most laptops run it. The caps are read when the libraries load, hence
the separate processes. Prints one markdown section with both runs (``--json``
for the raw numbers). Goals: on an AVX2-only CPU the default >= 2.5x the
reference with >= 99.5% identical classes; with native bf16 or AMX >= 4x;
lite >= 20x on both.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starcnet_core.nn.inference_benchmark import markdown_section  # noqa: E402

#: The caps that make PyTorch's libraries behave as on an AVX2-only CPU.
AVX2_ONLY = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OV_CPU_MAX_ISA": "AVX2",
    "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}


def run(arguments: list[str], limits: dict[str, str]) -> dict:
    """One benchmark run in a fresh process with ``limits`` in its environment."""
    environment = {k: v for k, v in os.environ.items() if k not in AVX2_ONLY} | limits
    done = subprocess.run(
        [sys.executable, "-m", "starcnet_core", "benchmark", "inference", "--json", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="number of stamps")
    parser.add_argument("--model", help="checkpoint (default: paper network, Xavier weights)")
    parser.add_argument("--stamps", help="stamp set to draw the stamps from (default: synthetic)")
    parser.add_argument("--lite-model", help="trained lite checkpoint (default: lite preset, Xavier weights)")
    parser.add_argument(
        "--only", choices=["native", "avx2_only"], help="run one of the two (each under 15 minutes)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    arguments = ["--n", str(args.n)]
    arguments += ["--model", args.model] if args.model else []
    arguments += ["--stamps", args.stamps] if args.stamps else []
    arguments += ["--lite-model", args.lite_model] if args.lite_model else []
    runs = {"native": {}, "avx2_only": AVX2_ONLY}
    results = {name: run(arguments, limits) for name, limits in runs.items() if args.only in (None, name)}
    print(json.dumps(results, indent=2) if args.json else section(results))


def section(results: dict) -> str:
    """Both runs as one markdown section: the native run, then the emulated AVX2-only one."""
    limits = ", ".join(f"{k}={v}" for k, v in AVX2_ONLY.items())
    heading = f"### Emulated AVX2-only CPU (same machine, libraries capped via {limits})"
    if "native" not in results:
        return f"{heading}\n\n" + markdown_section(results["avx2_only"]).split("\n", 2)[2]
    if "avx2_only" not in results:
        return markdown_section(results["native"])
    emulated = markdown_section(results["avx2_only"]).split("\n", 2)[2]
    return markdown_section(results["native"]) + f"\n{heading}\n\n" + emulated


if __name__ == "__main__":
    main()
