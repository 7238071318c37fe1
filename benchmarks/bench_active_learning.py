"""Active learning on the simulated survey: uncertainty-driven against random labelling.

The simulated survey (:func:`starcnet_core.sim.simulate_survey`, simulated
experts' mode as the label) is split by galaxy: a quarter of the galaxies
stand for the catalogues the starting model was trained on (a ``lite``
StarcNet trained briefly with :func:`starcnet_core.train.train_model`); the
rest is a new survey, split into a pool an expert labels from and a fixed
test set. Both strategies start from the same random labels and retrain in
quick mode (frozen convolutions, fully connected layers on cached features)
after every batch: ``random`` labels a random batch, ``margin`` the candidates
with the smallest gap between the two best class scores. The result is the
number of labels each strategy needs to reach the accuracy random labelling
reaches with ``--budget`` labels (issue 6 goal: uncertainty needs at most a
third). Prints one markdown section and writes the curve as
``docs/active_learning_curve.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starcnet_core.active_learning import labelling_curve, labels_to_reach  # noqa: E402
from starcnet_core.finetune import QuickFinetuneConfig, conv_features, finetune_head, head_probabilities  # noqa: E402
from starcnet_core.model import PRESETS  # noqa: E402
from starcnet_core.stampset import StampSet  # noqa: E402
from starcnet_core.train import TrainConfig, train_model  # noqa: E402

PNG = ROOT / "docs" / "active_learning_curve.png"


def split_survey(galaxies: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of (starting-model galaxies, labelling pool, test set)."""
    rng = np.random.default_rng(seed)
    names = np.unique(galaxies)
    starting = rng.choice(names, size=max(1, len(names) // 4), replace=False)
    base = np.flatnonzero(np.isin(galaxies, starting))
    rest = rng.permutation(np.flatnonzero(~np.isin(galaxies, starting)))
    n_test = len(rest) // 5
    return base, np.sort(rest[n_test:]), np.sort(rest[:n_test])


def run(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    if args.stamps is not None:
        survey = StampSet.load(args.stamps, mmap=False)
    else:
        from starcnet_core.sim import simulate_survey

        survey = simulate_survey(None, seed=args.seed, fraction=args.fraction)
    labels = np.asarray(survey.table["label"], dtype=np.int64)
    labelled = np.flatnonzero(labels > 0)
    galaxies = np.asarray(survey.table["galaxy"]).astype(str)[labelled]
    base, pool, test = (labelled[i] for i in split_survey(galaxies, args.seed))
    started = time.perf_counter()
    start = train_model(
        survey.subset(base),
        TrainConfig(epochs=args.base_epochs, seed=args.seed, device="cpu"),
        PRESETS["lite"],
    )
    base_s = time.perf_counter() - started
    started = time.perf_counter()
    pool_features = conv_features(start.model, np.asarray(survey.stamps[pool]), start.band_mean).astype(
        np.float16
    )
    test_features = conv_features(start.model, np.asarray(survey.stamps[test]), start.band_mean)
    features_s = time.perf_counter() - started
    oracle, test_labels = labels[pool], labels[test]
    config = QuickFinetuneConfig(epochs=args.epochs, val_fraction=0.0, seed=args.seed)

    def fit_predict(index: np.ndarray, given: np.ndarray) -> tuple[np.ndarray, float]:
        tuned = finetune_head(
            start.model, pool_features[index].astype(np.float32), given, config=config
        ).model
        pool_scores = head_probabilities(tuned, pool_features)  # converted to float32 batch by batch
        accuracy = float(np.mean(head_probabilities(tuned, test_features).argmax(1) + 1 == test_labels))
        return pool_scores, accuracy

    common = {"initial": args.initial, "batch_size": args.batch, "budget": args.budget, "seed": args.seed}
    started = time.perf_counter()
    curves = {
        name: labelling_curve(fit_predict, oracle, strategy=name, **common) for name in ("random", "margin")
    }
    loop_s = time.perf_counter() - started
    target = curves["random"][-1]["accuracy"]
    return {
        "curves": curves,
        "target": target,
        # random needs its whole budget by definition (a noisy curve may touch the target earlier)
        "needed": {"random": args.budget, "margin": labels_to_reach(curves["margin"], target)},
        "sizes": (len(base), len(pool), len(test)),
        "seconds": (base_s, features_s, loop_s),
    }


def plot(result: dict, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, curve in result["curves"].items():
        axes.plot([p["n_labels"] for p in curve], [p["accuracy"] for p in curve], marker=".", label=name)
    axes.axhline(result["target"], color="grey", linestyle=":", label="random at full budget")
    axes.set_xlabel("labels")
    axes.set_ylabel("test accuracy (4 classes)")
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.5, help="share of the paper's survey counts")
    parser.add_argument(
        "--stamps", type=Path, help="a saved stamp set to use instead of simulating the survey"
    )
    parser.add_argument("--budget", type=int, default=2000, help="labels random labelling gets")
    parser.add_argument("--initial", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=30, help="quick-mode epochs per retrain")
    parser.add_argument("--base-epochs", type=int, default=3, help="epochs of the starting model")
    parser.add_argument("--repeats", type=int, default=3, help="labelling campaigns averaged per strategy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", type=Path, default=PNG)
    args = parser.parse_args()
    result = run(args)
    plot(result, args.png)
    random_curve, margin_curve = result["curves"]["random"], result["curves"]["margin"]
    n_random, n_margin = result["needed"]["random"], result["needed"]["margin"]
    ratio = "n/a" if n_margin is None else f"{n_margin / n_random:.2f}"
    base_s, features_s, loop_s = result["seconds"]
    print("## bench_active_learning: uncertainty-driven vs random labelling\n")
    print(
        f"Simulated survey (fraction {args.fraction}), {result['sizes'][0]} stamps for the starting `lite` model "
        f"({args.base_epochs} epochs, {base_s:.0f} s), a pool of {result['sizes'][1]} and a test set of "
        f"{result['sizes'][2]} from other galaxies; quick-mode retraining ({args.epochs} epochs) after every "
        f"{args.batch} labels, from {args.initial} random labels; accuracies are means of {args.repeats} campaigns. Features {features_s:.0f} s, "
        f"both labelling loops {loop_s:.0f} s.\n"
    )
    print(
        f"Random labelling reaches **{result['target']:.1%}** with {n_random} labels; margin sampling reaches it with "
        f"**{n_margin if n_margin is not None else 'more than ' + str(args.budget)}** labels "
        f"(ratio {ratio}; goal <= 0.33).\n"
    )
    print("| labels | random | margin |")
    print("|---|---|---|")
    for r, m in zip(random_curve, margin_curve, strict=True):
        print(f"| {r['n_labels']} | {r['accuracy']:.3f} | {m['accuracy']:.3f} |")
    # the section lands in docs/BENCHMARKS.md, so the image path is relative to docs/
    print(f"\n![active learning curve]({os.path.relpath(args.png.resolve(), ROOT / 'docs')})")


if __name__ == "__main__":
    main()
