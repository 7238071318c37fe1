"""int8 against fp32 over a whole stamp set: how often the classes agree, which stamps change, and
how likely the check before use (256 held-out stamps, >= 99.5% identical) is to pass at that rate.

`bench_inference.py` reports the agreement on its timed stamps and `auto`'s check on its 256; near
the threshold both are samples, and whether `auto` uses int8 then depends on which stamps were drawn.
This script counts over every stamp (``--n`` for fewer), lists fp32's top-two margin of each stamp
int8 changes, and gives the check's pass probability (binomial). ``--avx2-only`` runs it under the
AVX2 caps of `bench_inference.py`, where int8 uses 7-bit weights. Each count is given for int8
alone and for int8 as `predict_stamps` runs it, with its near-ties decided in fp32.

    python benchmarks/int8_agreement.py --model D/paper_trained.pt --stamps D/survey [--avx2-only]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_inference import AVX2_ONLY  # noqa: E402

from benchmarks.run_all import machine_description  # noqa: E402
from starcnet_core.io.stampset import StampSet  # noqa: E402
from starcnet_core.nn.backends import NEAR_TIE_LOGIT_GAP  # noqa: E402
from starcnet_core.nn.checkpoint import load_model  # noqa: E402
from starcnet_core.nn.inference_benchmark import int8_agreement  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="trained checkpoint")
    parser.add_argument("--stamps", required=True, help="stamp set (folder with stamps.npy)")
    parser.add_argument("--n", type=int, help="a seeded sample of this many stamps (default: all)")
    parser.add_argument("--avx2-only", action="store_true", help="under the AVX2 caps of bench_inference.py")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.avx2_only and any(os.environ.get(k) != v for k, v in AVX2_ONLY.items()):
        # The caps act only when the libraries load: run again in a process that starts with them.
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **AVX2_ONLY})
    stamps = np.asarray(StampSet.load(args.stamps).stamps)
    if args.n:
        stamps = stamps[np.sort(np.random.default_rng(0).permutation(len(stamps))[: args.n])]
    result = int8_agreement(load_model(args.model), stamps)
    result["machine"] = machine_description()
    result["limits"] = "AVX2 caps" if args.avx2_only else "none"
    if args.json:
        print(json.dumps(result, indent=1))
        return
    margins = ", ".join(f"{m:.4f}" for m in result["flip_margins"]) or "none"
    print(
        f"{result['machine']}; library limits: {result['limits']}; int8 engine {result['engine']}\n"
        f"{result['stamps']} stamps (fp32 classes 1-4: {result['fp32_class_counts']}): int8 gives fp32's class "
        f"on {100 * result['identical_classes']:.2f}% ({result['flips']} changed), largest score difference "
        f"{result['max_score_difference']:.4f}\n"
        f"fp32 top-two margins of the changed stamps: {margins} (median over all stamps "
        f"{result['median_margin']:.3f})\n"
        f"the check of {result['check_stamps']} stamps (passes with <= {result['check_allowed_flips']} changed) "
        f"passes with probability {result['check_pass_probability']:.2f} at this rate\n"
        f"as predict_stamps runs it, near-ties (top-two logit gap < {NEAR_TIE_LOGIT_GAP}) decided in fp32: "
        f"{100 * result['decided_in_fp32']:.2f}% of the stamps; int8 then gives fp32's class on "
        f"{100 * result['identical_classes_as_run']:.2f}% ({result['flips_as_run']} changed), and the check "
        f"passes with probability {result['check_pass_probability_as_run']:.2f}"
    )


if __name__ == "__main__":
    main()
