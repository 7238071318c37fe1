"""The paper's experiments that retrain StarcNet many times.

:func:`leave_one_galaxy_out` (section 5.3, Fig. 8): for every galaxy in turn,
train without it and classify it; the row-normalised confusion matrices of
the galaxies are averaged. :func:`bootstrap_retraining` (section 5.1): the
accuracy interval as the paper computed it, by retraining on bootstrap
samples of the training and validation sets (ten by default) and evaluating
each network on the same test set; unlike the percentile bootstrap of one
network's test predictions that ``starcnet_core.evaluation.evaluate.evaluate``
reports, this interval includes the spread from training itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from starcnet_core.errors import UserInputError
from starcnet_core.groupings import BINARY, group_labels
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import LoadedModel
from starcnet_core.nn.model import StarcNetConfig
from starcnet_core.nn.predict import predict_stamps
from starcnet_core.training.splits import Split
from starcnet_core.training.train import TrainConfig, split_for, train_model

__all__ = ["BOOTSTRAP_RETRAIN_METHOD", "bootstrap_retraining", "leave_one_galaxy_out"]

#: How :func:`bootstrap_retraining`'s interval is made, for the reports' labels.
BOOTSTRAP_RETRAIN_METHOD = (
    "mean and standard deviation over networks retrained on bootstrap samples of train+val"
)

Progress = Callable[[str], None]


def _predicted(result: Any, stamps: StampSet, rows: np.ndarray) -> np.ndarray:
    loaded = LoadedModel.from_model(result.model, result.band_mean, stamps.bands, result.temperature)
    # fp32: the experiment's numbers must not depend on the machine's fast paths
    return predict_stamps(loaded, np.asarray(stamps.stamps[rows]), precision="fp32").scores.argmax(1) + 1


def _four_classes(config: TrainConfig) -> None:
    if config.binary:
        raise UserInputError("these experiments compare four-class networks; drop the binary option")


def _row_normalised(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = confusion_matrix(truth, predicted, labels=[1, 2, 3, 4])
    rows = counts.sum(axis=1, keepdims=True)
    return counts, np.divide(counts, rows, out=np.full(counts.shape, np.nan), where=rows > 0)


def leave_one_galaxy_out(
    stamps: StampSet,
    config: TrainConfig,
    model_config: StarcNetConfig,
    *,
    galaxies: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train without each galaxy in turn and classify it (the paper's Fig. 8, left).

    Parameters
    ----------
    stamps : StampSet
        Labelled stamps of several galaxies.
    config : TrainConfig
        The recipe; its ``split`` and ``holdout_galaxy`` are replaced per galaxy.
    model_config : StarcNetConfig
    galaxies : sequence of str, optional
        Galaxies to leave out (default: every galaxy with labelled stamps).
    progress : callable, optional
        Called with a line before each training.

    Returns
    -------
    dict
        JSON-ready: ``galaxies`` (per galaxy ``galaxy``, ``n``, ``accuracy``,
        ``binary_accuracy``, ``confusion`` counts), ``mean_confusion`` (the
        row-normalised matrices averaged over the galaxies, rows true class,
        NaN-skipping for classes a galaxy lacks), ``mean_confusion_accuracy``
        (its diagonal weighted by the pooled class frequencies), ``pooled_accuracy``
        and ``pooled_binary_accuracy`` over all left-out candidates.
    """
    _four_classes(config)
    table_galaxy = np.asarray(stamps.table["galaxy"]).astype(str)
    labelled = stamps.labels > 0
    names = sorted(set(table_galaxy[labelled])) if galaxies is None else list(galaxies)
    if len(set(table_galaxy[labelled])) < 2:
        raise UserInputError("leave-one-galaxy-out needs labelled stamps of at least two galaxies")
    binary = BINARY
    rows_out, matrices, all_truth, all_pred = [], [], [], []
    for k, name in enumerate(names, 1):
        if progress is not None:
            progress(f"[{k}/{len(names)}] training without {name}")
        run = dataclasses.replace(config, split="loo", holdout_galaxy=name)
        result = train_model(stamps, run, model_config)
        test = result.split.test
        truth = stamps.labels[test]
        predicted = _predicted(result, stamps, test)
        counts, normalised = _row_normalised(truth, predicted)
        matrices.append(normalised)
        all_truth.append(truth)
        all_pred.append(predicted)
        rows_out.append(
            {
                "galaxy": name,
                "n": int(len(test)),
                "accuracy": float((truth == predicted).mean()),
                "binary_accuracy": float(
                    (group_labels(truth, binary) == group_labels(predicted, binary)).mean()
                ),
                "confusion": counts.tolist(),
            }
        )
    mean = np.nanmean(np.stack(matrices), axis=0)
    truth, predicted = np.concatenate(all_truth), np.concatenate(all_pred)
    frequency = np.bincount(truth, minlength=5)[1:] / len(truth)
    return {
        "galaxies": rows_out,
        "mean_confusion": np.nan_to_num(mean).tolist(),
        "mean_confusion_accuracy": float(np.nansum(np.diag(mean) * frequency)),
        "pooled_accuracy": float((truth == predicted).mean()),
        "pooled_binary_accuracy": float(
            (group_labels(truth, binary) == group_labels(predicted, binary)).mean()
        ),
    }


def bootstrap_retraining(
    stamps: StampSet,
    config: TrainConfig,
    model_config: StarcNetConfig,
    *,
    n_samples: int = 10,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Accuracy of networks retrained on bootstrap samples of train+val, on one test set.

    The split is ``config``'s; each of ``n_samples`` runs draws its training and
    validation rows with replacement from the split's own (so the network and
    its validation epoch both vary) and is evaluated on the unchanged test rows.

    Returns
    -------
    dict
        ``method`` (:data:`BOOTSTRAP_RETRAIN_METHOD`), ``n_samples``, ``n_test``,
        ``accuracy`` and ``binary_accuracy`` (each ``mean``, ``std``, ``runs``).
    """
    _four_classes(config)
    if n_samples < 2:
        raise UserInputError("bootstrap retraining needs at least 2 samples")
    split = split_for(stamps, config)
    if len(split.test) == 0:
        raise UserInputError("the split has no test stamps to evaluate the retrained networks on")
    rng = np.random.default_rng(seed)
    truth = stamps.labels[split.test]
    binary = BINARY
    four, two = [], []
    for k in range(n_samples):
        if progress is not None:
            progress(f"[{k + 1}/{n_samples}] training on a bootstrap sample")
        sample = Split(
            np.sort(rng.choice(split.train, len(split.train))),
            np.sort(rng.choice(split.val, len(split.val))) if len(split.val) else split.val,
            split.test,
        )
        result = train_model(
            stamps, dataclasses.replace(config, seed=config.seed + k), model_config, split=sample
        )
        predicted = _predicted(result, stamps, split.test)
        four.append(float((truth == predicted).mean()))
        two.append(float((group_labels(truth, binary) == group_labels(predicted, binary)).mean()))

    def spread(values: list[float]) -> dict[str, Any]:
        return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)), "runs": values}

    return {
        "method": BOOTSTRAP_RETRAIN_METHOD,
        "n_samples": n_samples,
        "n_test": int(len(split.test)),
        "accuracy": spread(four),
        "binary_accuracy": spread(two),
    }
