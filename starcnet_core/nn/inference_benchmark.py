"""Inference speed: the published way of running StarcNet against ours, on the same stamps.

:func:`benchmark_inference` times, in one process on one set of stamps:

* the **reference**: the paper network in float32, eager, batches of 64 under
  ``torch.no_grad``, the per-band mean subtracted beforehand, exactly as the
  published ``test_net.py`` runs it;
* the **default** model through :func:`~starcnet_core.nn.predict.predict_stamps`
  (its default precision and batch size);
* the **lite** preset through the same path;

and compares the reference's classes with the default path's. The three are
timed in interleaved rounds of 128 stamps, so that the load of a shared
machine changing during the run affects them alike. The stamps
are synthetic e-/s cutouts (sky noise plus one Gaussian source of random
brightness and width at the centre); speed does not depend on their content.
Without a checkpoint the networks have their (seeded) Xavier initialisation,
whose scores sit closer together than a trained network's, so the agreement
measured that way is a pessimistic bound.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from starcnet_core.nn.checkpoint import LoadedModel, load_model
from starcnet_core.nn.model import PRESETS, StarcNet
from starcnet_core.nn.predict import Predictions, bf16_is_fast, predict_stamps

__all__ = ["synthetic_stamps", "reference_scores", "benchmark_inference", "markdown_section"]

REFERENCE_BATCH = 64
#: Stamps per interleaved timing round.
ROUND = 128


def synthetic_stamps(n: int, size: int = 32, n_bands: int = 5, seed: int = 0) -> np.ndarray:
    """``(n, n_bands, size, size)`` float32 e-/s: noise plus a central Gaussian source."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    width = rng.uniform(1.0, 5.0, (n, 1, 1, 1))
    peak = rng.uniform(0.2, 5.0, (n, n_bands, 1, 1))
    source = peak * np.exp(-(xx**2 + yy**2) / (2 * width**2))
    return (source + rng.normal(0.0, 0.05, (n, n_bands, size, size))).astype(np.float32)


def reference_scores(model: StarcNet, stamps: np.ndarray, band_mean: np.ndarray) -> np.ndarray:
    """Raw network outputs the published way: fp32, eager, batch 64, ``no_grad``."""
    data = torch.from_numpy(stamps - np.asarray(band_mean, dtype=np.float32)[None, :, None, None])
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(data), REFERENCE_BATCH):
            outputs.append(model(data[start : start + REFERENCE_BATCH]).numpy())
    return np.concatenate(outputs)


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def benchmark_inference(n: int = 512, *, model_path: str | None = None, seed: int = 0) -> dict:
    """Objects/s of the reference loop, the default path and the lite preset, and class agreement.

    Parameters
    ----------
    n : int
        Number of stamps (all three are timed on the same ones).
    model_path : str, optional
        Checkpoint for the reference and default runs (default: seeded Xavier weights).
    seed : int

    Returns
    -------
    dict
        JSON-ready: ``reference_obj_s``, ``default_obj_s``, ``lite_obj_s``,
        ``default_speedup``, ``lite_speedup``, ``identical_classes`` (fraction),
        ``max_score_difference``, and the setting (``n``, threads, bf16, load).
    """
    torch.manual_seed(seed)
    if model_path:
        loaded = load_model(model_path)
    else:
        loaded = LoadedModel.from_model(StarcNet(PRESETS["paper"]), np.zeros(5, dtype=np.float32))
    lite = LoadedModel.from_model(StarcNet(PRESETS["lite"]), loaded.band_mean)
    stamps = synthetic_stamps(n, loaded.config.stamp_size, loaded.config.n_bands, seed)
    # One warm-up batch each: oneDNN picks and caches its kernels on the first call.
    warm = stamps[:REFERENCE_BATCH]
    reference_scores(loaded.model, warm, loaded.band_mean)
    predict_stamps(loaded, warm)
    predict_stamps(lite, warm)

    # Interleaved rounds, so that a change in the machine's load while the
    # benchmark runs weighs on all three paths alike.
    reference_parts, default_parts = [], []
    reference_s = default_s = lite_s = 0.0
    for start in range(0, n, ROUND):
        chunk = stamps[start : start + ROUND]
        part, seconds = _timed(reference_scores, loaded.model, chunk, loaded.band_mean)
        reference_parts.append(part)
        reference_s += seconds
        part, seconds = _timed(predict_stamps, loaded, chunk)
        default_parts.append(part.scores)
        default_s += seconds
        lite_s += _timed(predict_stamps, lite, chunk)[1]
    reference = np.concatenate(reference_parts)
    default = Predictions(np.concatenate(default_parts))
    reference_probabilities = torch.softmax(torch.from_numpy(reference), dim=1).numpy()
    return {
        "n": n,
        "model": model_path or "paper preset, Xavier initialisation",
        "threads": torch.get_num_threads(),
        "bf16_native": bf16_is_fast(),
        "load_average_1min": os.getloadavg()[0],
        "reference_obj_s": n / reference_s,
        "default_obj_s": n / default_s,
        "lite_obj_s": n / lite_s,
        "default_speedup": reference_s / default_s,
        "lite_speedup": reference_s / lite_s,
        "identical_classes": float(np.mean(reference.argmax(axis=1) + 1 == default.classes)),
        "max_score_difference": float(np.abs(reference_probabilities - default.scores).max()),
    }


def markdown_section(result: dict) -> str:
    """The benchmark as a markdown section for docs/BENCHMARKS.md."""
    return "\n".join(
        [
            "## Inference (CPU)",
            "",
            f"{result['n']} synthetic 32x32x5 stamps, model: {result['model']}; {result['threads']} threads, "
            f"native bf16: {result['bf16_native']}, 1-min load average at the end {result['load_average_1min']:.1f}.",
            "Goals: default >= 2.5x the reference with >= 99.5% identical classes; lite >= 10x.",
            "",
            "| path | objects/s | x reference |",
            "|---|---:|---:|",
            f"| reference (paper net, fp32 eager, batch 64) | {result['reference_obj_s']:.1f} | 1.00 |",
            f"| default (`predict_stamps`) | {result['default_obj_s']:.1f} | {result['default_speedup']:.2f} |",
            f"| lite preset | {result['lite_obj_s']:.1f} | {result['lite_speedup']:.2f} |",
            "",
            f"Identical classes, reference vs default: {100 * result['identical_classes']:.2f}% "
            f"(largest score difference {result['max_score_difference']:.4f}).",
            "",
        ]
    )
