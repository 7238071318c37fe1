"""Scoring with BALD: the inference of a scoring job before and after one conv pass serves both.

A scoring job stores each candidate's class scores and its BALD score (20
MC-dropout passes of the final layers, the review queue's "most informative"
order). Before, scoring from stamps ran the machine's fast backend for the
scores and then a second, fp32 pass of the convolutions for BALD's features
(``conv_features`` + ``head_bald``, what ``webapp.services.scoring`` did);
now :func:`~starcnet_core.nn.predict.predict_stamps` with ``bald_passes``
takes BALD from the pre-dropout features of the same backend pass. This
times both on the same stamps, in chunks of 512 as a scoring job reads them,
after ``auto``'s backend is built (its probe is not timed), plus scores
alone and the fp32 published loop, on the trained benchmark network of
``build_inference_net.py``. Database reads and writes, the same in both, are
not timed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.build_inference_net import DEFAULT_OUT  # noqa: E402
from benchmarks.run_all import cpu_line  # noqa: E402
from starcnet_core.io.stampset import StampSet  # noqa: E402
from starcnet_core.nn.checkpoint import load_model  # noqa: E402
from starcnet_core.nn.mc_dropout import BALD_PASSES  # noqa: E402
from starcnet_core.nn.predict import predict_stamps  # noqa: E402
from starcnet_core.training.finetune import conv_features, head_bald  # noqa: E402

CHUNK = 512


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_OUT / "paper_trained.pt")
    parser.add_argument("--stamps", type=Path, default=DEFAULT_OUT / "survey")
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("STARCNET_THREADS", os.cpu_count() or 1)))
    loaded = load_model(args.model)
    stamps = np.asarray(StampSet.load(args.stamps).stamps[: args.n], dtype=np.float32)
    warm = predict_stamps(loaded, stamps[:CHUNK])  # builds (probes, checks) auto's backend: not timed

    def before(chunk: np.ndarray) -> np.ndarray:
        predict_stamps(loaded, chunk)
        return head_bald(
            loaded.model, conv_features(loaded.model, chunk, loaded.band_mean), temperature=loaded.temperature
        )

    def after(chunk: np.ndarray) -> np.ndarray:
        return predict_stamps(loaded, chunk, bald_passes=BALD_PASSES).bald

    def scores_only(chunk: np.ndarray) -> None:
        predict_stamps(loaded, chunk)

    def fp32_scores(chunk: np.ndarray) -> None:
        predict_stamps(loaded, chunk, precision="fp32")

    runs = {
        "scores + BALD, before (auto backend, then a second fp32 conv pass)": before,
        "scores + BALD, now (one auto backend pass)": after,
        "scores alone (auto backend)": scores_only,
        "scores alone, fp32": fp32_scores,
    }
    seconds, bald = {}, {}
    for name, run in runs.items():
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            out = [run(stamps[i : i + CHUNK]) for i in range(0, len(stamps), CHUNK)]
            best = min(best, time.perf_counter() - started)
        seconds[name] = best
        if out[0] is not None:
            bald[name] = np.concatenate(out)
    old, new = (bald[name] for name in list(runs)[:2])
    reference = seconds["scores alone, fp32"]
    print("## Scoring with BALD (bench_scoring_bald.py)\n")
    print(
        f"{cpu_line()}; {torch.get_num_threads()} threads; {len(stamps)} stamps of `{args.stamps}` in chunks "
        f"of {CHUNK}, network `{args.model.name}`; `auto` ran **{warm.precision}**; best of {args.repeats}; "
        f"{BALD_PASSES} MC-dropout passes; backend build and probe not timed.\n"
    )
    print("| inference of a scoring job | s | objects/s | time vs fp32 scores alone |")
    print("|---|---:|---:|---:|")
    for name, value in seconds.items():
        print(f"| {name} | {value:.1f} | {len(stamps) / value:.1f} | {value / reference:.2f} |")
    difference = np.abs(new - old)
    rank = np.corrcoef(np.argsort(np.argsort(old)), np.argsort(np.argsort(new)))[0, 1]
    print(
        f"\nBALD now ({warm.precision} features) against before (fp32 features): largest difference "
        f"{difference.max():.4f} nats (BALD up to {old.max():.3f}), rank correlation {rank:.4f}. "
        f"Speed-up of a scoring job's inference: **{seconds[list(runs)[0]] / seconds[list(runs)[1]]:.2f}x**.\n"
    )


if __name__ == "__main__":
    main()
