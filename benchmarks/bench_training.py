"""Training throughput (samples/s) of the StarcNet presets with the paper's recipe.

Runs :func:`starcnet_core.training.train.train_model` for one epoch on synthetic
stamps (augmentation on, as in the recipe) and times the optimisation steps
after the first (warm-up): a step is data preparation (reflections,
rotations, 1.07x zoom), forward, backward and the Adam update of one batch.
Prints a markdown section for docs/BENCHMARKS.md (``--json`` for the numbers).

    python benchmarks/bench_training.py                       # both presets, CPU
    python benchmarks/bench_training.py --presets lite --steps 20
    python benchmarks/bench_training.py --device cuda --steps 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from astropy.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starcnet_core.io.stampset import StampSet  # noqa: E402
from starcnet_core.nn.model import PRESETS, StarcNet  # noqa: E402
from starcnet_core.training.train import TrainConfig, resolve_device, train_model  # noqa: E402


def synthetic_stamps(n: int, seed: int = 0) -> StampSet:
    """``n`` random 32x32x5 stamps with balanced labels (the content does not change the timing)."""
    rng = np.random.default_rng(seed)
    stamps = rng.gamma(2.0, 0.05, (n, 5, 32, 32)).astype(np.float32)
    table = Table(
        {
            "galaxy": ["bench"] * n,
            "id": np.arange(n),
            "distance_mpc": np.full(n, 10.0),
            "label": np.arange(n) % 4 + 1,
        }
    )
    return StampSet(stamps, table)


def measure(preset: str, steps: int, batch_size: int, device: str) -> dict:
    """Samples/s of the training steps of ``preset`` after the first one."""
    # 72% of the stamps train; with the recipe's balancing and rotations, 3x as many samples
    n = int(np.ceil(batch_size * (steps + 1) / 3 / 0.72)) + 8
    times: list[float] = []
    config = TrainConfig(epochs=1, batch_size=batch_size, device=device)

    def on_step(event: dict) -> None:
        if "train_loss" not in event:
            times.append(time.perf_counter())
            if len(times) > steps:
                raise StopIteration

    started = time.perf_counter()
    try:
        train_model(synthetic_stamps(n), config, PRESETS[preset], progress=on_step)
    except StopIteration:
        pass
    step_seconds = np.diff(times)
    return {
        "preset": preset,
        "parameters": sum(p.numel() for p in StarcNet(PRESETS[preset]).parameters()),
        "device": str(resolve_device(device)),
        "batch_size": batch_size,
        "timed_steps": len(step_seconds),
        "seconds_per_step": float(np.median(step_seconds)),
        "samples_per_second": float(batch_size / np.median(step_seconds)),
        "wall_seconds": time.perf_counter() - started,
    }


def markdown(results: list[dict], threads: int) -> str:
    lines = [
        "## Training throughput",
        "",
        f"`python benchmarks/bench_training.py`: one epoch of the paper's recipe (balancing, rotations, "
        f"1.07x zoom, Adam) on synthetic stamps; median of the timed steps after a warm-up step; "
        f"torch threads: {threads}.",
        "",
        "| preset | parameters | device | batch | steps timed | s/step | samples/s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['preset']} | {r['parameters']:,} | {r['device']} | {r['batch_size']} | {r['timed_steps']} "
            f"| {r['seconds_per_step']:.2f} | {r['samples_per_second']:.1f} |"
        )
    for r in results:
        epoch = 115_000 / r["samples_per_second"]
        lines.append("")
        lines.append(
            f"At this rate one epoch of the paper's augmented training set (~115,000 samples) takes "
            f"{epoch / 60:.0f} min with the {r['preset']} preset on {r['device']}."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presets", nargs="+", default=["lite", "paper"], choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, default=5, help="timed steps per preset")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(p, args.steps, args.batch_size, args.device) for p in args.presets]
    print(json.dumps(results, indent=1) if args.json else markdown(results, torch.get_num_threads()))


if __name__ == "__main__":
    main()
