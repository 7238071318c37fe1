"""``python -m starcnet_core baseline``: the bagged-tree baseline on a stamp set's split.

With ``--on val`` (the default, as the paper reports the baseline's 57.1% /
78.4% in section 6: validation figures, next to StarcNet's 67.9% / 85.5% of
Table 2), :class:`~starcnet_core.evaluation.baseline.BaggedTreeBaseline` is
fitted on the training stamps of the split and evaluated on its validation
stamps; with ``--on test`` it is fitted on the training and validation stamps
and evaluated on the test stamps. It writes ``baseline_report.json`` and
figures. With ``--model``, the StarcNet checkpoint is evaluated on the same
stamps and the two are written side by side (``comparison.json``,
``comparison.png``), each labelled with the rows it was evaluated on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from starcnet_core.cli.evaluate import model_report
from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.baseline import BaggedTreeBaseline
from starcnet_core.evaluation.evaluate import evaluate_stampset, summary
from starcnet_core.evaluation.figures import plot_comparison, write_figures
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import load_model
from starcnet_core.training.splits import SPLIT_METHODS
from starcnet_core.training.train import TrainConfig, split_for

__all__ = ["register", "run_baseline"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baseline", help="bagged decision trees (Grasha et al. 2019) on the same split"
    )
    parser.add_argument("--stamps", required=True, help="stamp set directory")
    parser.add_argument("--out", required=True, help="directory for the reports and figures")
    parser.add_argument("--model", help="StarcNet checkpoint to compare with on the same test stamps")
    parser.add_argument("--split", choices=SPLIT_METHODS, help="default: the model's split, else random")
    parser.add_argument("--holdout-galaxy")
    parser.add_argument("--seed", type=int, help="split seed (default: the model's, else 0)")
    parser.add_argument(
        "--on",
        choices=("val", "test"),
        default="val",
        help="evaluate on the validation split (fit on train; the paper's figures) or the test split (fit on train+val)",
    )
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.set_defaults(func=run_baseline)


def run_baseline(args: argparse.Namespace) -> int:
    stamps = StampSet.load(args.stamps)
    loaded = load_model(args.model) if args.model else None
    trained = TrainConfig(**loaded.meta.get("extra", {}).get("train_config", {})) if loaded else TrainConfig()
    config = TrainConfig(
        split=args.split or trained.split,
        holdout_galaxy=args.holdout_galaxy or trained.holdout_galaxy,
        seed=trained.seed if args.seed is None else args.seed,
    )
    split = split_for(stamps, config)
    if args.on == "val":
        fit_rows, rows = split.train, split.val
    else:
        fit_rows, rows = np.concatenate([split.train, split.val]), split.test
    if len(rows) == 0:
        raise UserInputError(f"the split has no {args.on} stamps to evaluate on")
    baseline = BaggedTreeBaseline(args.trees, seed=config.seed)
    baseline.fit(np.asarray(stamps.stamps[fit_rows]), stamps.labels[fit_rows], stamps.bands)
    scores = baseline.predict_proba(np.asarray(stamps.stamps[rows]), stamps.bands)
    report = {"evaluated_on": args.on, **evaluate_stampset(stamps, scores, rows, n_boot=args.n_boot)}
    # every report is computed before anything is written: a failure leaves no partial output
    starcnet = model_report(loaded, stamps, rows, args.n_boot) if loaded is not None else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "baseline_report.json").write_text(json.dumps(report, indent=1))
    write_figures(report, out, prefix="baseline_")
    reports = {"evaluated_on": args.on, "bagged trees": summary(report)}
    if starcnet is not None:
        (out / "starcnet_report.json").write_text(json.dumps(starcnet, indent=1))
        reports["StarcNet"] = summary(starcnet)
        plot_comparison({"StarcNet": starcnet, "bagged trees": report}).savefig(
            out / "comparison.png", dpi=110
        )
    (out / "comparison.json").write_text(json.dumps(reports, indent=1))
    print(json.dumps(reports))
    return 0
