"""Calibration: expected calibration error of StarcNet's scores before and after post-hoc scaling.

The measured model is what the product trains most often: the quick retrain
(:func:`starcnet_core.training.finetune.finetune_head` with its defaults:
class-weighted loss, 40 epochs, a stratified 15% validation split that picks
the epoch and fits the calibration) of a starting ``lite`` StarcNet on cached
convolutional features of a survey it was not trained on. The starting model
and the features are those of ``bench_active_learning.py --cache`` (the same
survey, seed and base share), so the expensive network training is shared.

The new survey's labelled stamps are split once, stratified by class, into a
retraining part (60%, of which finetune_head keeps 15% for validation) and a
held-out test part (40%: thousands of stamps, so that the 10-bin ECE is not
dominated by binning noise). On the validation rows alone, temperature,
vector and matrix scaling (Guo et al. 2017) are fitted by NLL and the test
part measures every one; the retrain itself picks one by 5-fold
cross-validated NLL on its validation rows
(:func:`starcnet_core.calibration.fit_calibration`) and stores it (an affine
scaling folded into the last layer), and the table's last row is what the
stored model's predictions give.
The "noise floor" is the ECE a perfectly calibrated model with the same
scores would show on that many stamps (labels drawn from the scores
themselves): no calibration can be told apart from perfect below it.

Goal (issue 17): ECE <= 3% on held-out stamps after calibration. Prints one
markdown section (``benchmarks/run_all.py`` collects it).

    python benchmarks/bench_calibration.py [--stamps S] [--cache C] [--epochs 40]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.run_all import cpu_model, instruction_sets  # noqa: E402
from starcnet_core.calibration import (  # noqa: E402
    apply_affine,
    apply_temperature,
    expected_calibration_error,
    fit_affine,
    fit_calibration,
    fit_temperature,
    negative_log_likelihood,
)
from starcnet_core.io.stampset import StampSet  # noqa: E402
from starcnet_core.nn.checkpoint import load_model  # noqa: E402
from starcnet_core.training.finetune import (  # noqa: E402
    QuickFinetuneConfig,
    finetune_head,
    head_logits,
    head_probabilities,
)


def noise_floor(scores: np.ndarray, rng: np.random.Generator, draws: int = 50) -> float:
    """Mean ECE of a perfectly calibrated model with these scores: labels drawn from the scores."""
    cumulative = np.cumsum(scores, axis=1)
    values = []
    for _ in range(draws):
        drawn = (rng.random((len(scores), 1)) > cumulative).sum(axis=1).clip(0, scores.shape[1] - 1)
        values.append(expected_calibration_error(scores, drawn))
    return float(np.mean(values))


def scalings(val_logits: np.ndarray, val_targets: np.ndarray) -> dict:
    """Each post-hoc scaling fitted on the validation rows only, as a function of logits."""
    temperature = fit_temperature(val_logits, val_targets)
    vector = fit_affine(val_logits, val_targets, "vector")
    matrix = fit_affine(val_logits, val_targets, "matrix")
    return {
        "none": lambda z: apply_temperature(z, 1.0),
        f"temperature (T = {temperature:.2f})": lambda z: apply_temperature(z, temperature),
        "vector": lambda z: apply_affine(z, *vector),
        "matrix": lambda z: apply_affine(z, *matrix),
    }


def raw_logits(fitted, features: np.ndarray) -> np.ndarray:
    """The retrained head's logits before calibration (an affine calibration is folded into the head)."""
    logits = head_logits(fitted.model, features)
    if fitted.calibration.get("kind", "temperature") == "temperature":
        return logits
    record = fitted.calibration["calibration"]
    weight, bias = np.asarray(record["weight"]), np.asarray(record["bias"])
    return np.linalg.solve(weight, (logits - bias).T).T


def measure(
    name, val_logits, test_logits, stored, kind, cv_nll, val_rows, test_rows, targets, truth, rng
) -> dict:
    """Validation and test NLL/ECE/accuracy of every scaling of one model's raw logits, and of what it stores."""

    def row(label: str, val: np.ndarray, test: np.ndarray) -> dict:
        return {
            "scaling": label,
            "val_nll": negative_log_likelihood(val, targets[val_rows]),
            "val_ece": expected_calibration_error(val, targets[val_rows]),
            "test_nll": negative_log_likelihood(test, targets[test_rows]),
            "test_ece": expected_calibration_error(test, targets[test_rows]),
            "test_accuracy": float((test.argmax(1) == targets[test_rows]).mean()),
            "truth_accuracy": float((test.argmax(1) == truth[test_rows]).mean()),
            "floor": noise_floor(test, rng),
        }

    rows = [
        row(label, scale(val_logits), scale(test_logits))
        for label, scale in scalings(val_logits, targets[val_rows]).items()
    ]
    return {
        "name": name,
        "rows": rows,
        "product": row(f"what the product stores ({kind})", *stored),
        "cv_nll": cv_nll,
        "kind": kind,
        "n_val": len(val_rows),
    }


def measure_retrain(name, fitted, features, val_rows, test_rows, targets, truth, rng) -> dict:
    """:func:`measure` of a quick retrain: its raw logits, and its own stored scores (temperature or folded map)."""
    stored = [
        head_probabilities(fitted.model, features[r], temperature=fitted.temperature)
        for r in (val_rows, test_rows)
    ]
    return measure(
        name,
        raw_logits(fitted, features[val_rows]),
        raw_logits(fitted, features[test_rows]),
        stored,
        fitted.calibration["kind"],
        fitted.calibration.get("calibration", {}).get("cv_nll", {}),
        val_rows,
        test_rows,
        targets,
        truth,
        rng,
    )


def measure_network(name, model, features, val_rows, test_rows, targets, truth, rng) -> dict:
    """:func:`measure` of a trained network recalibrated by :func:`fit_calibration` on ``val_rows``."""
    val_logits, test_logits = head_logits(model, features[val_rows]), head_logits(model, features[test_rows])
    fitted = fit_calibration(val_logits, targets[val_rows])
    stored = [fitted.apply(val_logits), fitted.apply(test_logits)]
    return measure(
        name,
        val_logits,
        test_logits,
        stored,
        fitted.kind,
        fitted.cv_nll,
        val_rows,
        test_rows,
        targets,
        truth,
        rng,
    )


def prepared_cache(args: argparse.Namespace) -> StampSet:
    """The survey, with ``args.cache`` holding the starting model and features (built like bench_active_learning's)."""
    if args.stamps is not None:
        survey = StampSet.load(args.stamps, mmap=True)
    else:
        from starcnet_core.sim import simulate_survey

        survey = simulate_survey(None, seed=args.seed, fraction=1.0)
    if not all((args.cache / name).is_file() for name in ("start.pt", "features.npy", "rows.npy")):
        spec = importlib.util.spec_from_file_location(
            "bench_active_learning", ROOT / "benchmarks" / "bench_active_learning.py"
        )
        al = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(al)
        labels = np.asarray(survey.table["label"], dtype=np.int64)
        labelled = np.flatnonzero(labels > 0)
        galaxies = np.asarray(survey.table["galaxy"]).astype(str)[labelled]
        base, new = (labelled[i] for i in al.split_survey(galaxies, args.seed, args.base_share))
        settings = SimpleNamespace(
            cache=args.cache,
            base_share=args.base_share,
            base_epochs=args.base_epochs,
            base_plain=True,
            seed=args.seed,
        )
        al.starting_model(survey, base, new, settings)
    return survey


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stamps", type=Path, help="the saved simulated survey (default: simulate it, fraction 1)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "starcnet-bench-al-cache",
        help="bench_active_learning.py's --cache folder; built like it (plain stamps) when empty",
    )
    parser.add_argument("--base-share", type=float, default=0.15, help="when building the cache")
    parser.add_argument("--base-epochs", type=int, default=4, help="when building the cache")
    parser.add_argument("--test-fraction", type=float, default=0.4)
    parser.add_argument(
        "--epochs", type=int, default=40, help="epochs of the quick retrain (the product's default: 40)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    load_before, started = os.getloadavg()[0], time.perf_counter()
    survey = prepared_cache(args)
    start = load_model(args.cache / "start.pt")
    features = np.load(args.cache / "features.npy")
    new = np.load(args.cache / "rows.npy")
    labels = np.asarray(survey.table["label"], dtype=np.int64)[new]
    truth = np.asarray(survey.table["true_class"], dtype=np.int64)[new] - 1
    targets = labels - 1
    retrain, test = train_test_split(
        np.arange(len(new)), test_size=args.test_fraction, stratify=targets, random_state=args.seed
    )
    retrain, test = np.sort(retrain), np.sort(test)
    results = []
    config = QuickFinetuneConfig(epochs=args.epochs, balance=True, seed=args.seed)
    fitted = finetune_head(start.model, features[retrain], labels[retrain], config=config)
    val_rows = retrain[fitted.val_index]
    name = f"quick retrain ({args.epochs} epochs at lr 1e-3, class-weighted loss: the product's recipe)"
    results.append(measure_retrain(name, fitted, features, val_rows, test, targets, truth, rng))
    # the network train_model trained, calibrated on the same validation stamps of the new survey
    name = (
        "the starting network itself (as `train_model` trained it), calibrated on the same validation stamps"
    )
    results.append(measure_network(name, start.model, features, val_rows, test, targets, truth, rng))
    # the starting network as train_model left it: its own stored calibration, fitted on its own galaxies
    start_scores = head_probabilities(start.model, features[test], temperature=start.temperature)
    seconds = time.perf_counter() - started

    print("## Calibration (temperature, vector and matrix scaling)\n")
    print(
        f"*Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {cpu_model()} ({instruction_sets()}), "
        f"{os.cpu_count()} cores; Python {platform.python_version()}, torch {torch.__version__}. 1-min load "
        f"average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {seconds / 60:.1f} min "
        f"at nice {os.nice(0)}. An accuracy benchmark: the load does not change its numbers.*\n"
    )
    n_val = results[0]["n_val"]
    print(
        f"`python benchmarks/bench_calibration.py --stamps S --cache C --epochs {args.epochs}`: the starting `lite` StarcNet of "
        f"`bench_active_learning.py --cache C` ({start.meta.get('extra', {})}), quick-retrained "
        f"(`finetune_head`: {args.epochs} epochs at lr 1e-3, class-weighted, 15% validation) on {len(retrain) - n_val} "
        f"labelled stamps of galaxies it was not trained on; every scaling fitted on the {n_val} validation "
        f"stamps of that retrain only; measured on **{len(test)} held-out test stamps** against the simulated "
        "experts' mode (10 equal-width bins of the top score). Noise floor: the ECE a perfectly calibrated "
        "model with the same scores shows on that many stamps (labels drawn from its scores; mean of 50 draws).\n"
    )
    for result in results:
        cv = ", ".join(f"{kind} {value:.4f}" for kind, value in result["cv_nll"].items())
        print(
            f"**{result['name']}**: `fit_calibration` picked **{result['kind']}** scaling (5-fold cross-validated "
            f"NLL on its validation stamps: {cv or 'not compared, too few rows'}).\n"
        )
        print(
            "| scaling (fitted on validation) | NLL val | ECE val | NLL test | ECE test | noise floor (test) "
            "| accuracy test (truth) |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in [*result["rows"], result["product"]]:
            mark = "**" if r is result["product"] else ""
            print(
                f"| {mark}{r['scaling']}{mark} | {r['val_nll']:.3f} | {r['val_ece']:.1%} | {r['test_nll']:.3f} | "
                f"{mark}{r['test_ece']:.1%}{mark} | {r['floor']:.1%} | {r['test_accuracy']:.1%} "
                f"({r['truth_accuracy']:.1%}) |"
            )
        print()
    print(
        f"The starting network as `train_model` left it (calibration fitted on its own galaxies' validation "
        f"stamps, temperature {start.temperature:.2f}), on the same test stamps: ECE "
        f"{expected_calibration_error(start_scores, targets[test]):.1%} "
        f"(accuracy {(start_scores.argmax(1) == targets[test]).mean():.1%}).\n"
    )
    verdict = lambda value: "met" if value <= 0.03 else "missed"  # noqa: E731
    for result in results:
        stored, by_kind = result["product"], {r["scaling"].split(" (")[0]: r for r in result["rows"]}
        print(
            f"- Goal ECE <= 3% after calibration, {result['name']}: what the product stores and predictions "
            f"apply ({result['kind']} scaling) **{stored['test_ece']:.1%}** ({verdict(stored['test_ece'])}; "
            f"noise floor {stored['floor']:.1%}); temperature alone {by_kind['temperature']['test_ece']:.1%} "
            f"({verdict(by_kind['temperature']['test_ece'])}); before calibration {by_kind['none']['test_ece']:.1%}."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
