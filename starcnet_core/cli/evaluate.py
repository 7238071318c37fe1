"""``python -m starcnet_core evaluate``: the paper's evaluation of a checkpoint on a stamp set.

By default the model is evaluated on the test split it was trained with (the
split is recomputed from the checkpoint's training configuration when the
stamp set's labels are the ones it was trained on), otherwise on every
labelled stamp. Writes ``report.json`` and the PNG figures to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.evaluate import accuracy_block, evaluate_stampset, summary
from starcnet_core.evaluation.figures import write_figures
from starcnet_core.groupings import BINARY, group_labels
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import LoadedModel, load_model
from starcnet_core.nn.predict import predict_stamps
from starcnet_core.training.train import TrainConfig, split_for

__all__ = ["register", "run_evaluate", "evaluation_rows", "model_report"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="accuracy, confusion matrices, PR curves and figures")
    parser.add_argument("--model", required=True, help="checkpoint written by 'train'")
    parser.add_argument("--stamps", required=True, help="stamp set directory")
    parser.add_argument("--out", required=True, help="directory for report.json and the PNG figures")
    parser.add_argument(
        "--subset", choices=("test", "all"), default="test", help="the model's test split (default) or all"
    )
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the intervals")
    parser.set_defaults(func=run_evaluate)


def evaluation_rows(loaded: LoadedModel, stamps: StampSet, subset: str) -> tuple[np.ndarray, str]:
    """Rows to evaluate and what they are: the model's test split when it applies, else all labelled rows."""
    labelled = np.flatnonzero(stamps.labels > 0)
    extra = loaded.meta.get("extra", {})
    same_labels = loaded.meta.get("label_fingerprint") == stamps.label_fingerprint
    if subset == "test" and same_labels and "train_config" in extra:
        return split_for(stamps, TrainConfig(**extra["train_config"])).test, "test split"
    if subset == "test":
        print("note: these labels are not the ones the model was trained on; evaluating all labelled stamps")
    return labelled, "all labelled stamps"


def model_report(loaded: LoadedModel, stamps: StampSet, rows: np.ndarray, n_boot: int = 1000) -> dict:
    """Scores of ``loaded`` on stamps ``rows`` evaluated; binary models get their grouping's block only."""
    if len(rows) == 0:
        raise UserInputError("no stamps to evaluate")
    # fp32: a model's metrics are the same on every machine
    predicted = predict_stamps(loaded, np.asarray(stamps.stamps[np.sort(rows)]), precision="fp32")
    scores = predicted.scores
    rows = np.sort(rows)
    if scores.shape[1] == 2:
        grouping = loaded.meta.get("extra", {}).get("train_config", {}).get("grouping", BINARY)
        truth = group_labels(stamps.labels[rows], grouping)
        return {
            "n": int(len(rows)),
            "precision": predicted.precision,
            "grouping": grouping,
            grouping: accuracy_block(truth, scores.argmax(1) + 1, [1, 2], n_boot, 0),
        }
    return {**evaluate_stampset(stamps, scores, rows, n_boot=n_boot), "precision": predicted.precision}


def run_evaluate(args: argparse.Namespace) -> int:
    loaded = load_model(args.model)
    stamps = StampSet.load(args.stamps)
    rows, what = evaluation_rows(loaded, stamps, args.subset)
    report = model_report(loaded, stamps, rows, args.n_boot)
    report["subset"] = what
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    if "four_class" in report:
        write_figures(report, out)
        print(json.dumps(summary(report)))
    else:
        grouping = report["grouping"]
        print(json.dumps({"n": report["n"], f"{grouping}_accuracy": report[grouping]["accuracy"]}))
    print(f"{what}: wrote {out / 'report.json'} and figures")
    return 0
