"""``python -m starcnet_core experiment loo|bootstrap``: the paper's repeated-training experiments.

``loo`` trains once per galaxy without it and classifies it, averaging the
confusion matrices (Fig. 8); ``bootstrap`` retrains on bootstrap samples of
the training and validation sets and reports the spread of the test accuracy
(section 5.1). Both write one JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from starcnet_core.atomic_write import write_text_atomic
from starcnet_core.errors import UserInputError
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.model import PRESETS
from starcnet_core.training.experiments import bootstrap_retraining, leave_one_galaxy_out
from starcnet_core.training.train import TrainConfig

__all__ = ["register", "run_experiment"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("experiment", help="leave-one-galaxy-out or bootstrap-by-retraining")
    parser.add_argument("kind", choices=("loo", "bootstrap"))
    parser.add_argument("--stamps", required=True, help="stamp set directory")
    parser.add_argument("--out", required=True, help="JSON report to write")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    defaults = TrainConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--samples", type=int, default=10, help="bootstrap: networks to retrain (10)")
    parser.add_argument("--galaxy", action="append", help="loo: only these galaxies (repeatable)")
    parser.add_argument("--device", default=defaults.device)
    parser.set_defaults(func=run_experiment)


def run_experiment(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserInputError(f"{out.parent}: no such directory for --out")
    stamps = StampSet.load(args.stamps)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device
    )

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.kind == "loo":
        report = leave_one_galaxy_out(
            stamps, config, PRESETS[args.preset], galaxies=args.galaxy, progress=say
        )
        headline = {
            k: report[k] for k in ("mean_confusion_accuracy", "pooled_accuracy", "pooled_binary_accuracy")
        }
    else:
        report = bootstrap_retraining(
            stamps, config, PRESETS[args.preset], n_samples=args.samples, progress=say
        )
        headline = {
            k: {"mean": report[k]["mean"], "std": report[k]["std"]} for k in ("accuracy", "binary_accuracy")
        }
    report = {"experiment": args.kind, "preset": args.preset, "train_config": config.to_dict(), **report}
    write_text_atomic(out, json.dumps(report, indent=1))
    print(json.dumps(headline))
    return 0
