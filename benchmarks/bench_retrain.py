"""Quick retraining speed: a few hundred new labels into the paper-size StarcNet on this CPU.

Issue 6 asks that quick mode (convolutions frozen, fully connected layers
retrained on cached convolutional features) incorporates a few hundred new
labels in at most 60 s on the project's 2-core CPU. This script times the two
parts of a quick retrain on the paper network (15.3 M parameters) with
``--labels`` labelled stamps: computing the convolutional features of stamps
not yet cached, and retraining the fully connected layers (40 epochs); and a
second retrain where every feature is already cached (the next retrain after
a few more labels). Stamps are random e-/s arrays: the timing does not depend
on their content. Prints one markdown section.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starcnet_core.nn.model import PRESETS, StarcNet  # noqa: E402
from starcnet_core.training.finetune import FeatureCache, QuickFinetuneConfig, finetune_head  # noqa: E402

GOAL_S = 60.0


def time_quick_retrain(preset: str, n_labels: int, epochs: int, seed: int = 0) -> dict[str, float]:
    """Seconds of feature extraction (cold cache), head training, and a warm-cache retrain."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = StarcNet(PRESETS[preset]).eval()
    config = model.config
    stamps = rng.gamma(2.0, 0.05, size=(n_labels, config.n_bands, config.stamp_size, config.stamp_size))
    stamps = stamps.astype(np.float32)
    labels = rng.integers(1, 5, n_labels)
    ids = np.arange(n_labels)
    band_mean = stamps.mean(axis=(0, 2, 3))
    with tempfile.TemporaryDirectory() as directory:
        cache = FeatureCache(directory)
        started = time.perf_counter()
        features, _ = cache.features(model, ids, lambda rows: stamps[rows], band_mean)
        extract_s = time.perf_counter() - started
        started = time.perf_counter()
        finetune_head(model, features, labels, config=QuickFinetuneConfig(epochs=epochs))
        head_s = time.perf_counter() - started
        started = time.perf_counter()
        warm, computed = cache.features(model, ids, lambda rows: stamps[rows], band_mean)
        finetune_head(model, warm, labels, config=QuickFinetuneConfig(epochs=epochs))
        warm_s = time.perf_counter() - started
        assert computed == 0
    return {"extract_s": extract_s, "head_s": head_s, "cold_s": extract_s + head_s, "warm_s": warm_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    rows = []
    for n in args.labels:
        timing = time_quick_retrain(args.preset, n, args.epochs)
        rows.append(
            f"| {n} | {timing['extract_s']:.1f} | {timing['head_s']:.1f} | {timing['cold_s']:.1f} "
            f"| {timing['warm_s']:.1f} | {'yes' if timing['cold_s'] <= GOAL_S else 'no'} |"
        )
    print("## bench_retrain: quick retraining (frozen convolutions, cached features)\n")
    print(
        f"StarcNet `{args.preset}` preset, {args.epochs} epochs of the fully connected layers, "
        f"{torch.get_num_threads()} torch threads. Goal: a few hundred labels in <= {GOAL_S:.0f} s.\n"
    )
    print(
        "| labels | conv features (s) | FC retraining (s) | total, cold cache (s) | total, warm cache (s) | <= 60 s |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
