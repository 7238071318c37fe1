"""Inference speed: the published way of running StarcNet against every backend, on the same stamps.

:func:`benchmark_inference` measures, in one process on one set of stamps:

* the **reference**: the paper network in float32, eager, batches of 64 under
  ``torch.no_grad``, the per-band mean subtracted beforehand, exactly as the
  published ``test_net.py`` runs it;
* every **backend** of :mod:`starcnet_core.nn.backends` (``fp32``,
  ``fp32-openvino``, ``bf16``, ``int8``) through :func:`~starcnet_core.nn.predict.predict_stamps`, each
  with its classes and scores against ``fp32``;
* the **default** (``precision="auto"``) and the backend it picks;
* the **lite** preset through the default path;
* the reference once more **alone**, in a fresh process that loads PyTorch
  and the network only (:func:`reference_alone`), because what runs beside
  it in this process moves its speed;

timed in interleaved rounds of 128 stamps, so that a change in the load of a
shared machine weighs on all of them alike. Building the backends (int8
calibration, every check against fp32, ``auto``'s probe) happens before the
timing, as it does once per process and network in real use. It also reports
the CPU's instruction sets, the limits set on PyTorch's libraries (to emulate
an older CPU), the machine's measured matrix-multiply throughput in fp32,
bf16 and int8 (fp32 also as a 3x3 convolution, the faster of the two being
the fp32 limit), and the network's FLOPs per object, so that every speed is
also a fraction of the machine's fp32 limit.

The stamps are synthetic e-/s cutouts (sky noise plus one Gaussian source of
random brightness and width at the centre) unless a stamp set is given.
Without a checkpoint the networks have their (seeded) Xavier initialisation,
whose scores sit closer together than a trained network's, so the agreement
measured that way is a pessimistic bound; ``benchmarks/build_inference_net.py``
builds the trained paper and lite networks the recorded runs use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.backends import (
    AGREEMENT,
    CHECK_STAMPS,
    ISA_LIMITS,
    band_mean_tensor,
    bf16_is_fast,
    build_backend,
    cached_choice,
    calibration_and_check,
    cpu_instruction_sets,
    int8_is_available,
    interleaved_scores,
    near_tie_rows,
    openvino_conv_kernels,
    select_backend,
)
from starcnet_core.nn.checkpoint import LoadedModel, load_model, save_checkpoint
from starcnet_core.nn.model import PRESETS, StarcNet
from starcnet_core.nn.predict import Predictions, predict_stamps

__all__ = [
    "synthetic_stamps",
    "reference_scores",
    "flops_per_object",
    "matmul_throughput",
    "benchmark_inference",
    "int8_agreement",
    "markdown_section",
]

REFERENCE_BATCH = 64
#: Stamps per interleaved timing round.
ROUND = 128
BACKENDS = ("fp32", "fp32-openvino", "bf16", "int8")


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


def reference_alone(model: StarcNet, band_mean: np.ndarray, stamps: np.ndarray) -> dict:
    """The reference loop timed in a fresh process that loads PyTorch and the network only, as the
    published ``test_net.py`` runs.

    In the benchmark's own process the reference runs between OpenVINO's
    backends, and there it measured anywhere from 42.6 to 63.4 objects/s
    under the AVX2 caps over ten runs (2026-12-08, 2 Zen 5 cores) against
    40.2-43.1 in eight fresh processes: what runs beside it moves it. This
    gives the published loop's own speed on the same stamps, threads and
    library caps.

    Returns
    -------
    dict
        ``obj_s``, and ``openvino_loaded`` (whether anything had loaded
        OpenVINO in that process: False unless this module changes).
    """
    with tempfile.TemporaryDirectory() as folder:
        network = save_checkpoint(Path(folder) / "network.pt", model, band_mean=band_mean)
        np.save(Path(folder) / "stamps.npy", stamps)
        root = str(Path(__file__).resolve().parents[2])
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        code = (
            "from starcnet_core.nn.inference_benchmark import _time_reference_alone; _time_reference_alone()"
        )
        arguments = [str(network), str(Path(folder) / "stamps.npy"), str(torch.get_num_threads())]
        done = subprocess.run(
            [sys.executable, "-c", code, *arguments],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _time_reference_alone() -> None:
    """The child of :func:`reference_alone`: ``NETWORK STAMPS THREADS`` on the command line, JSON on stdout."""
    network, stamps_path, threads = sys.argv[1:4]
    torch.set_num_threads(int(threads))
    loaded = load_model(network)
    stamps = np.load(stamps_path)
    reference_scores(loaded.model, stamps[:REFERENCE_BATCH], loaded.band_mean)  # oneDNN picks its kernels
    _, seconds = _timed(reference_scores, loaded.model, stamps, loaded.band_mean)
    print(json.dumps({"obj_s": len(stamps) / seconds, "openvino_loaded": "openvino" in sys.modules}))


def flops_per_object(model: StarcNet) -> float:
    """Floating-point operations of one forward pass per stamp (convolutions and linear layers)."""
    size = model.config.stamp_size
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.eval()(torch.zeros(1, model.config.n_bands, size, size))
    return float(counter.get_total_flops())


def matmul_throughput(dtype: torch.dtype, size: int = 1024, seconds: float = 0.5) -> float:
    """Measured square matrix-multiply rate of this machine in GFLOP/s (int8: giga-operations/s)."""
    generator = torch.Generator().manual_seed(0)
    if dtype == torch.int8:
        a = torch.randint(-64, 64, (size, size), dtype=torch.int8, generator=generator)
        b = torch.randint(-64, 64, (size, size), dtype=torch.int8, generator=generator)

        def multiply():
            return torch._int_mm(a, b)
    else:
        a = torch.randn(size, size, generator=generator).to(dtype)
        b = torch.randn(size, size, generator=generator).to(dtype)

        def multiply():
            return a @ b

    return _rate(multiply, 2.0 * size**3, seconds)


def convolution_throughput(
    channels: int = 256, size: int = 32, batch: int = 16, seconds: float = 0.5
) -> float:
    """Measured fp32 rate of a 3x3 convolution (oneDNN) in GFLOP/s: the network's own kind of work.

    On AMD CPUs MKL's matrix multiply does not use the full vector width
    (measured 215 GFLOP/s against oneDNN's convolution at 388 on a 2-core
    Zen 5), so the matrix multiply alone understates the machine's fp32 limit.
    """
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=generator)
    w = torch.randn(channels, channels, 3, 3, generator=generator)
    flops = 2.0 * batch * channels * channels * 9 * size * size
    return _rate(lambda: torch.nn.functional.conv2d(x, w, padding=1), flops, seconds)


def _rate(work, flops: float, seconds: float) -> float:
    work()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or count < 3:
        work()
        count += 1
    return flops * count / elapsed / 1e9


def _load_stamps(n: int, loaded: LoadedModel, stamps_path: str | None, seed: int) -> tuple[np.ndarray, str]:
    if stamps_path is None:
        stamps = synthetic_stamps(n, loaded.config.stamp_size, loaded.config.n_bands, seed)
        return stamps, "synthetic (noise + a central Gaussian)"
    data = np.asarray(StampSet.load(stamps_path).stamps)
    rows = np.sort(np.random.default_rng(seed).permutation(len(data))[:n])
    return np.ascontiguousarray(data[rows], dtype=np.float32), f"stamp set {stamps_path}"


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def _decided_in_fp32(parts: list[Predictions]) -> float | None:
    """The fraction of the stamps of ``parts`` that fp32 scored as near-ties; None if none was handed any."""
    if parts[0].in_fp32 is None:
        return None
    return float(np.concatenate([part.in_fp32 for part in parts]).mean())


def _class_counts(scores: np.ndarray) -> list[int]:
    """How many stamps each class is the top score of."""
    return np.bincount(scores.argmax(axis=1), minlength=scores.shape[1]).tolist()


def int8_agreement(loaded: LoadedModel, stamps: np.ndarray, batch_size: int = 128) -> dict:
    """How often int8 gives fp32's class over all of ``stamps``, and how likely its check is to pass.

    The int8 backend is built as :func:`~starcnet_core.nn.backends.select_backend`
    builds it (the same calibration stamps) but is not checked, so that its
    agreement is counted over every stamp, not over the check's sample of
    :data:`~starcnet_core.nn.backends.CHECK_STAMPS`. Near-ties decide it: each
    changed class is listed with fp32's margin between its top two scores.
    It is counted twice: int8 alone, and as :func:`~starcnet_core.nn.predict.predict_stamps`
    runs it, with its near-ties (:func:`~starcnet_core.nn.backends.near_tie_rows`)
    decided by fp32, whose scores of a stamp are the same in any batch.

    Returns
    -------
    dict
        ``stamps``, ``engine``, ``identical_classes``, ``flips``, ``flip_margins``
        (fp32's top-two margins of the changed stamps, ascending),
        ``median_margin``, ``max_score_difference``, ``fp32_class_counts``, and
        ``check_pass_probability``: the chance that a check of ``check_stamps``
        stamps drawn from these passes (at most ``check_allowed_flips``
        changed), binomial at the measured rate; for int8 as it runs, with
        its near-ties in fp32: ``decided_in_fp32`` (fraction of the stamps),
        ``identical_classes_as_run``, ``flips_as_run`` and
        ``check_pass_probability_as_run``.
    """
    from scipy.stats import binom

    model = loaded.model.eval()
    mean = band_mean_tensor(loaded)
    calibration, _ = calibration_and_check(loaded, stamps, mean, torch.device("cpu"))
    fp32_backend = build_backend("fp32", model)
    int8_backend = build_backend("int8", model, calibration, near_ties_in_fp32=False)
    # a copy: the stamps may be a read-only map
    normalised = torch.from_numpy(np.array(stamps, dtype=np.float32)) - mean
    (fp32, int8), _, _ = interleaved_scores([fp32_backend, int8_backend], normalised, batch_size)
    top_two = np.sort(fp32, axis=1)[:, -2:]
    margins = top_two[:, 1] - top_two[:, 0]
    changed = fp32.argmax(axis=1) != int8.argmax(axis=1)
    # log-softmax differs from the logits by one constant per stamp, so its top-two gap is theirs
    near = near_tie_rows(torch.log(torch.from_numpy(int8))).numpy()
    changed_as_run = changed & ~near
    check = min(CHECK_STAMPS, len(stamps))
    allowed = int(np.floor(check * (1 - AGREEMENT) + 1e-9))
    return {
        "stamps": len(stamps),
        "engine": int8_backend.engine,
        "identical_classes": float(1 - changed.mean()),
        "flips": int(changed.sum()),
        "flip_margins": sorted(float(m) for m in margins[changed]),
        "median_margin": float(np.median(margins)),
        "max_score_difference": float(np.abs(int8 - fp32).max()),
        "fp32_class_counts": _class_counts(fp32),
        "check_stamps": check,
        "check_allowed_flips": allowed,
        "check_pass_probability": float(binom.cdf(allowed, check, changed.mean())),
        "decided_in_fp32": float(near.mean()),
        "identical_classes_as_run": float(1 - changed_as_run.mean()),
        "flips_as_run": int(changed_as_run.sum()),
        "check_pass_probability_as_run": float(binom.cdf(allowed, check, changed_as_run.mean())),
    }


def benchmark_inference(
    n: int = 512,
    *,
    model_path: str | None = None,
    stamps_path: str | None = None,
    seed: int = 0,
    lite_model_path: str | None = None,
) -> dict:
    """Objects/s and agreement of the reference loop, every backend, the default and the lite preset.

    Parameters
    ----------
    n : int
        Number of stamps (all are timed on the same ones).
    model_path : str, optional
        Checkpoint for the reference and the backends (default: seeded Xavier weights).
    stamps_path : str, optional
        A stamp set to draw the ``n`` stamps from (default: synthetic stamps).
    seed : int
    lite_model_path : str, optional
        A trained lite checkpoint (default: the lite preset with seeded Xavier weights).

    Returns
    -------
    dict
        JSON-ready: ``reference_obj_s``, ``default_obj_s`` (auto), ``lite_obj_s``,
        ``default_speedup``, ``lite_speedup``, ``auto_picks``, ``identical_classes``
        and ``max_score_difference`` (default vs fp32), ``backends`` (per
        backend: ``precision_used``, ``obj_s``, ``speedup``,
        ``identical_classes``, ``max_score_difference``; bf16 without
        native kernels is listed in ``not_timed`` instead), ``cpu``
        (instruction sets, limits), ``matmul_gflop_s``, ``flops_per_object``,
        the fractions of the fp32 limit, and the setting (``n``, threads, load).
    """
    torch.manual_seed(seed)
    if model_path:
        loaded = load_model(model_path)
    else:
        loaded = LoadedModel.from_model(StarcNet(PRESETS["paper"]), np.zeros(5, dtype=np.float32))
    if lite_model_path:
        lite = load_model(lite_model_path)
    else:
        lite = LoadedModel.from_model(StarcNet(PRESETS["lite"]), loaded.band_mean)
    stamps, stamps_source = _load_stamps(n, loaded, stamps_path, seed)
    n = len(stamps)
    recorded_before = cached_choice(loaded) is not None
    # Calibration, checks and auto's probe, once, outside the timing (as once per process in use).
    # bf16 without native kernels is emulated (measured 0.3x the reference under an AVX2 cap): not timed,
    # which keeps a run on a 2-core machine within minutes
    timed = [p for p in BACKENDS if p != "bf16" or bf16_is_fast()]
    used = {p: select_backend(loaded, stamps, p) for p in timed}
    auto = select_backend(loaded, stamps, "auto")
    lite_auto = select_backend(lite, stamps, "auto")

    warm = stamps[:REFERENCE_BATCH]
    reference_warm = reference_scores(loaded.model, warm, loaded.band_mean)
    fp32_warm = predict_stamps(loaded, warm, precision="fp32", batch_size=REFERENCE_BATCH).scores
    bit_identical = bool(
        # predict_stamps applies the network's temperature (temperature scaling) before the softmax
        np.array_equal(
            torch.softmax(torch.from_numpy(reference_warm) / loaded.temperature, dim=1).numpy(), fp32_warm
        )
    )
    runs = {
        "reference": lambda chunk: reference_scores(loaded.model, chunk, loaded.band_mean),
        **{p: (lambda chunk, p=p: predict_stamps(loaded, chunk, precision=p)) for p in timed},
        "default": lambda chunk: predict_stamps(loaded, chunk, precision="auto"),
        "lite": lambda chunk: predict_stamps(lite, chunk, precision="auto"),
    }
    for run in runs.values():
        run(warm)
    seconds = dict.fromkeys(runs, 0.0)
    predicted: dict[str, list[Predictions]] = {name: [] for name in runs if name != "reference"}
    for start in range(0, n, ROUND):
        chunk = stamps[start : start + ROUND]
        for name, run in runs.items():
            part, elapsed = _timed(run, chunk)
            seconds[name] += elapsed
            if name in predicted:
                predicted[name].append(part)
    scores = {name: np.concatenate([part.scores for part in parts]) for name, parts in predicted.items()}
    fp32 = scores["fp32"]
    # what fp32 decided among the timed stamps, for the backends that hand it their near-ties
    in_fp32 = {name: _decided_in_fp32(parts) for name, parts in predicted.items()}

    def against_fp32(values: np.ndarray) -> dict:
        return {
            "identical_classes": float(np.mean(values.argmax(axis=1) == fp32.argmax(axis=1))),
            "max_score_difference": float(np.abs(values - fp32).max()),
        }

    backends = {
        p: {
            "precision_used": used[p].precision,
            "engine": used[p].engine,
            "check": used[p].check,
            "obj_s": n / seconds[p],
            "speedup": seconds["reference"] / seconds[p],
            "decided_in_fp32": in_fp32.get(p),
            **against_fp32(scores[p]),
        }
        for p in timed
    }
    alone = reference_alone(loaded.model, loaded.band_mean, stamps)
    flops = flops_per_object(loaded.model)
    fp32_rates = {"matmul": matmul_throughput(torch.float32), "conv3x3": convolution_throughput()}
    # The faster of the two, so that a fraction of it means something on CPUs where MKL lags
    matmul = {"fp32": max(fp32_rates.values()), **{f"fp32_{name}": rate for name, rate in fp32_rates.items()}}
    matmul["bf16"] = matmul_throughput(torch.bfloat16)
    matmul["int8"] = matmul_throughput(torch.int8)
    reference_obj_s, default_obj_s = n / seconds["reference"], n / seconds["default"]
    default_vs_fp32 = against_fp32(scores["default"])
    return {
        "n": n,
        "model": model_path or "paper preset, Xavier initialisation",
        "stamps": stamps_source,
        "threads": torch.get_num_threads(),
        "load_average_1min": os.getloadavg()[0],
        "cpu": {
            "instruction_sets": cpu_instruction_sets(),
            "limits": {name: os.environ[name] for name in ISA_LIMITS if os.environ.get(name)},
            "aten_capability": torch.backends.cpu.get_cpu_capability(),
            "quantized_engine": torch.backends.quantized.engine,
        },
        "bf16_native": bf16_is_fast(),
        "int8_available": int8_is_available() is None,
        "auto_picks": auto.precision,
        "auto_recorded_before": recorded_before,
        "lite_auto_picks": lite_auto.precision,
        "lite_model": lite_model_path or "lite preset, Xavier initialisation",
        "lite_auto_check": lite_auto.check,
        "lite_auto_engine": lite_auto.engine,
        "int8_engine": used["int8"].engine,
        "int8_calibration": "training stamps stored with the network"
        if loaded.calibration_stamps is not None
        else "a seeded sample of the scored stamps",
        "int8_conv_kernels": openvino_conv_kernels(used["int8"]),
        "fp32_bit_identical_to_reference": bit_identical,
        "reference_obj_s": reference_obj_s,
        "reference_alone_obj_s": alone["obj_s"],
        "reference_alone_openvino_loaded": alone["openvino_loaded"],
        "default_obj_s": default_obj_s,
        "lite_obj_s": n / seconds["lite"],
        "default_speedup": seconds["reference"] / seconds["default"],
        "lite_speedup": seconds["reference"] / seconds["lite"],
        "default_speedup_vs_reference_alone": default_obj_s / alone["obj_s"],
        "lite_speedup_vs_reference_alone": n / seconds["lite"] / alone["obj_s"],
        "default_decided_in_fp32": in_fp32.get("default"),
        "lite_decided_in_fp32": in_fp32.get("lite"),
        "identical_classes": default_vs_fp32["identical_classes"],
        "max_score_difference": default_vs_fp32["max_score_difference"],
        # Agreement means little on a network that gives every stamp one class: say how they spread
        "fp32_class_counts": _class_counts(fp32),
        "backends": backends,
        "not_timed": {p: "no native bf16 kernels (emulated)" for p in BACKENDS if p not in timed},
        "flops_per_object": flops,
        "matmul_gflop_s": matmul,
        "reference_fraction_of_fp32_limit": reference_obj_s * flops / (matmul["fp32"] * 1e9),
        "default_fraction_of_fp32_limit": default_obj_s * flops / (matmul["fp32"] * 1e9),
        # Where int8 is the fastest arithmetic here, this bounds what any int8 backend can reach.
        "int8_limit_speedup": matmul["int8"] * 1e9 / flops / reference_obj_s,
    }


def markdown_section(result: dict) -> str:
    """The benchmark as a markdown section for docs/BENCHMARKS.md."""
    sets = ", ".join(name for name, present in result["cpu"]["instruction_sets"].items() if present)
    limits = ", ".join(f"{k}={v}" for k, v in result["cpu"]["limits"].items()) or "none"
    matmul = result["matmul_gflop_s"]
    lines = [
        "## Inference (CPU)",
        "",
        f"{result['n']} stamps ({result['stamps']}), model: {result['model']}; {result['threads']} threads; "
        f"CPU instruction sets: {sets}; library limits: {limits}; native bf16: {result['bf16_native']}; "
        f"1-min load average at the end {result['load_average_1min']:.1f}.",
        f"Measured fp32 limit {matmul['fp32']:.0f} GFLOP/s (the faster of a matrix multiply, "
        f"{matmul['fp32_matmul']:.0f}, and a 3x3 convolution, {matmul['fp32_conv3x3']:.0f}); matrix multiply "
        f"bf16 {matmul['bf16']:.0f} GFLOP/s, int8 {matmul['int8']:.0f} GOP/s; "
        f"the network does {result['flops_per_object'] / 1e9:.2f} GFLOP per object.",
        "Goals: default >= 2.5x the reference with >= 99.5% identical classes (AVX2-only CPU), "
        ">= 4x with native bf16 or AMX; lite >= 20x.",
        "",
        f"int8 engine: {result.get('int8_engine', 'torch')}, calibrated on {result.get('int8_calibration', '?')}"
        + _kernels(result.get("int8_conv_kernels", {}))
        + f"; lite model: {result.get('lite_model', 'lite preset, Xavier initialisation')}.",
        "",
        "| path | precision run | objects/s | x reference | identical classes vs fp32 | largest score difference "
        "| near-ties decided in fp32 |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| reference (paper net, fp32 eager, batch 64) | fp32 | {result['reference_obj_s']:.1f} | 1.00 | | | |",
    ]
    for name, entry in result["backends"].items():
        lines.append(
            f"| `--precision {name}` | {_with_engine(entry['precision_used'], entry.get('engine'))} | "
            f"{entry['obj_s']:.1f} | {entry['speedup']:.2f} "
            f"| {100 * entry['identical_classes']:.2f}% | {entry['max_score_difference']:.4f} "
            f"| {_percent(entry.get('decided_in_fp32'))} |"
        )
    for name, why in result.get("not_timed", {}).items():
        lines.append(f"| `--precision {name}` | not timed: {why} | | | | | |")
    lines += [
        f"| default (`auto`) | {result['auto_picks']} | {result['default_obj_s']:.1f} | "
        f"{result['default_speedup']:.2f} | {100 * result['identical_classes']:.2f}% | "
        f"{result['max_score_difference']:.4f} | {_percent(result.get('default_decided_in_fp32'))} |",
        f"| lite preset (`auto`) | {_with_engine(result['lite_auto_picks'], result.get('lite_auto_engine'))}"
        " | "
        f"{result['lite_obj_s']:.1f} | "
        f"{result['lite_speedup']:.2f} | | | {_percent(result.get('lite_decided_in_fp32'))} |",
        "",
        f"The reference reaches {100 * result['reference_fraction_of_fp32_limit']:.0f}% of the measured fp32 "
        f"limit, the default {100 * result['default_fraction_of_fp32_limit']:.0f}%. "
        f"Every operation at the measured int8 rate would be {result['int8_limit_speedup']:.2f}x the reference. "
        f"fp32 bit-identical to the reference: {result['fp32_bit_identical_to_reference']}.",
        f"The reference alone, in a fresh process that loads PyTorch and the network only (as the published "
        f"code runs): {result['reference_alone_obj_s']:.1f} objects/s; against it the default is "
        f"{result['default_speedup_vs_reference_alone']:.2f}x and lite {result['lite_speedup_vs_reference_alone']:.1f}x.",
        "fp32's classes of the timed stamps (what the agreement is measured over): "
        + ", ".join(f"class {k + 1} {count}" for k, count in enumerate(result["fp32_class_counts"]))
        + ".",
        "",
    ]
    return "\n".join(lines)


def _kernels(kernels: dict[str, int]) -> str:
    """``, its convolutions: jit_avx2_I8 x18, ...``: the kernels OpenVINO picked (which say the ISA used), or ''."""
    if not kernels:
        return ""
    return ", its convolutions: " + ", ".join(f"{name} x{count}" for name, count in sorted(kernels.items()))


def _percent(fraction: float | None) -> str:
    """A fraction as a percentage, blank where there is none."""
    return "" if fraction is None else f"{100 * fraction:.1f}%"


def _with_engine(precision: str, engine: str | None) -> str:
    """``int8 (openvino)``: the precision, and the engine where its name does not already say it."""
    if engine and engine != "torch" and engine not in precision:
        return f"{precision} ({engine})"
    return precision
