"""Training StarcNet with the paper's recipe.

Pérez et al. (2021, sections 4 and 5): a stratified random 72/8/20 split with
a fixed seed, the training set balanced by reflections and augmented by 90 and
270 degree rotations and a 1.07x scaled copy of every sample (x6), Adam with learning
rate 1e-4, batches of 128, 15 epochs keeping the epoch with the best
validation accuracy, cross-entropy. Stamps are normalised by subtracting the
per-band mean of the training stamps (:attr:`TrainResult.band_mean`).

:func:`train_model` runs on the CPU, on CUDA (bf16 autocast, channels-last)
and inside an initialised ``torch.distributed`` process group (``torchrun``,
PyTorch DDP): each process trains on its own shard of every epoch and the
gradients are averaged. It is deterministic for a seed on a given device and
process count, reports progress through a callback and stops when
``should_stop()`` turns true (raising :class:`TrainingCancelled`).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from starcnet_core.calibration import (
    CALIBRATION_KINDS,
    apply_temperature,
    expected_calibration_error,
    fit_calibration,
)
from starcnet_core.errors import UserInputError
from starcnet_core.groupings import BINARY, GROUPINGS, group_labels
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from starcnet_core.training.augment import AugmentationPlan, apply_plan, balanced_plan, identity_plan
from starcnet_core.training.splits import SPLIT_METHODS, Split, make_split

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingCancelled",
    "calibrate",
    "train_model",
    "training_labels",
    "split_for",
    "training_band_mean",
    "resolve_device",
]

ProgressCallback = Callable[[dict[str, Any]], None]


class TrainingCancelled(RuntimeError):
    """Raised by :func:`train_model` when its ``should_stop`` callback asked it to stop."""


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe; defaults are the paper's.

    Parameters
    ----------
    epochs : int
        Passes over the augmented training set (15).
    batch_size : int
        Samples per optimisation step, over all processes together (128).
    lr : float
        Adam learning rate (1e-4).
    seed : int
        Seeds the split, the initial weights, the shuffling and the augmentation.
    split : {"random", "galaxy", "loo"}
        See :mod:`starcnet_core.training.splits`.
    holdout_galaxy : str, optional
        The test galaxy of ``split="loo"``.
    binary : bool
        Train on two classes instead of four, grouped by ``grouping``.
    grouping : {"binary_12_34", "binary_123_4"}
        The binary problem of section 5.2: clusters 1+2 against 3+4 (default), or
        1+2+3 against the non-clusters 4.
    epsilon : float, optional
        Train only on stamps with ``|label_mean - label| <= epsilon`` (section 5.3);
        validation and test sets keep every stamp.
    balance : bool
        Balance classes by reflections and add rotations (the paper's augmentation).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    num_workers : int
        DataLoader processes preparing batches (0: in the training process).
    """

    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-4
    seed: int = 0
    split: str = "random"
    holdout_galaxy: str | None = None
    binary: bool = False
    grouping: str = BINARY
    epsilon: float | None = None
    balance: bool = True
    device: str = "auto"
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.split not in SPLIT_METHODS:
            raise UserInputError(f"unknown split '{self.split}' (choose from {', '.join(SPLIT_METHODS)})")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise UserInputError("epochs and batch size must be positive, the learning rate > 0")
        if len(set(GROUPINGS.get(self.grouping, {}).values())) != 2:
            binaries = ", ".join(name for name, groups in GROUPINGS.items() if len(set(groups.values())) == 2)
            raise UserInputError(f"unknown binary grouping '{self.grouping}' (choose from {binaries})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    """What :func:`train_model` returns.

    Attributes
    ----------
    model : StarcNet
        The network at its best validation epoch, on the CPU, in eval mode.
    band_mean : numpy.ndarray
        Per-band mean (e-/s) of the training stamps, subtracted from every input.
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_accuracy``, ``seconds``.
    best_epoch : int
        1-based epoch whose weights were kept.
    split : Split
        Row indices of the train, validation and test sets.
    test_metrics : dict
        ``n``, ``accuracy``, ``loss`` and ``ece`` of the calibrated scores on the
        test set (empty when it is empty).
    temperature : float
        Temperature fitted on the validation set (1.0 without one); store it with
        the checkpoint so that every prediction is calibrated.
    calibration : dict
        ``temperature`` and the validation ECE before and after scaling.
    """

    model: StarcNet
    band_mean: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    split: Split | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    temperature: float = 1.0
    calibration: dict[str, float] = field(default_factory=dict)


def training_labels(labels: np.ndarray, binary: bool = False, grouping: str = BINARY) -> np.ndarray:
    """Classes 1..4 as 0-based training targets (binary: the two groups of ``grouping``); -1 unlabelled."""
    labels = np.asarray(labels, dtype=np.int64)
    if binary:
        labels = group_labels(labels, grouping)
    return labels - 1


def split_for(stamps: StampSet, config: TrainConfig) -> Split:
    """The split a training run with ``config`` uses (re-computable by evaluation and baselines)."""
    galaxy = np.asarray(stamps.table["galaxy"]).astype(str)
    return make_split(
        stamps.labels,
        method=config.split,
        seed=config.seed,
        galaxy=galaxy,
        holdout_galaxy=config.holdout_galaxy,
    )


def training_band_mean(stamps: np.ndarray, indices: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Per-band mean (e-/s) of ``stamps[indices]``, read in chunks (stamps may be memory-mapped)."""
    indices = np.sort(np.asarray(indices))
    total = np.zeros(stamps.shape[1], dtype=np.float64)
    for start in range(0, len(indices), chunk):
        block = np.asarray(stamps[indices[start : start + chunk]], dtype=np.float64)
        total += block.sum(axis=(0, 2, 3))
    return (total / (len(indices) * stamps.shape[2] * stamps.shape[3])).astype(np.float32)


def _require_finite(stamps: np.ndarray, rows: np.ndarray, chunk: int = 4096) -> None:
    """Refuse NaN or infinite pixels in the stamps used (e.g. cut at a mosaic edge)."""
    rows = np.sort(rows)
    for start in range(0, len(rows), chunk):
        block = rows[start : start + chunk]
        bad = ~np.isfinite(np.asarray(stamps[block])).all(axis=(1, 2, 3))
        if bad.any():
            raise UserInputError(
                f"{int(bad.sum())} stamp(s) with NaN or infinite pixels (first: row {int(block[bad][0])}); "
                "drop unusable cutouts before training"
            )


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is the process's CUDA device when there is one (its local rank under DDP), else the CPU."""
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", torch.cuda.current_device())
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"device '{name}' requested but CUDA is not available")
    device = torch.device(name)
    # DDP needs an explicit index; "cuda" means the process's current device
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


class _PlanBatches(Dataset):
    """Batch ``i`` of one epoch's shard of an augmentation plan."""

    def __init__(self, stamps: np.ndarray, plan: AugmentationPlan, batch_size: int):
        self.stamps, self.plan, self.batch_size = stamps, plan, batch_size

    def __len__(self) -> int:
        return -(-len(self.plan) // self.batch_size)

    def __getitem__(self, i: int) -> torch.Tensor:
        rows = np.arange(i * self.batch_size, min((i + 1) * self.batch_size, len(self.plan)))
        return apply_plan(self.stamps, self.plan.take(rows))


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _build_model(model_config: StarcNetConfig | nn.Module, binary: bool, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if isinstance(model_config, nn.Module):
        return copy.deepcopy(model_config)
    n_classes = 2 if binary else 4
    return StarcNet(dataclasses.replace(model_config, n_classes=n_classes))


class _Trainer:
    """One training run: holds the model, optimiser and data of :func:`train_model`."""

    def __init__(self, stamps: StampSet, config: TrainConfig, model: nn.Module, band_mean: np.ndarray):
        self.stamps, self.config = stamps, config
        self.rank, self.world = _world()
        self.device = resolve_device(config.device)
        self.cuda = self.device.type == "cuda"
        self.model = model.to(self.device)
        if self.cuda:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.net: nn.Module = self.model
        if self.world > 1:
            ids = [self.device.index] if self.cuda else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.mean = torch.as_tensor(band_mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.batch_size = max(1, config.batch_size // self.world)

    def _inputs(self, batch: torch.Tensor) -> torch.Tensor:
        batch = (batch - self.mean).to(self.device, non_blocking=True)
        return batch.contiguous(memory_format=torch.channels_last) if self.cuda else batch

    def _logits(self, net: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.cuda):
            return net(self._inputs(batch)).float()

    def epoch_shard(self, plan: AugmentationPlan, epoch: int) -> AugmentationPlan:
        """This process's rows of the epoch: one shuffle shared by all processes, equal shares."""
        order = np.random.default_rng([self.config.seed, epoch]).permutation(len(plan))
        share = len(order) // self.world if self.world > 1 else len(order)
        return plan.take(order[self.rank * share : (self.rank + 1) * share])

    def batches(self, plan: AugmentationPlan, epoch: int) -> DataLoader:
        dataset = _PlanBatches(self.stamps.stamps, plan, self.batch_size)
        return DataLoader(dataset, batch_size=None, shuffle=False, num_workers=self.config.num_workers)

    def step(self, batch: torch.Tensor, targets: torch.Tensor) -> float:
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self._logits(self.net, batch), targets.to(self.device))
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def train_epoch(
        self,
        plan: AugmentationPlan,
        targets: np.ndarray,
        epoch: int,
        first_step: int,
        report: ProgressCallback,
        should_stop: Callable[[], bool] | None,
    ) -> list[float]:
        """One pass over this process's shard of ``plan``; returns the loss of each step."""
        started, losses = time.perf_counter(), []
        shard = self.epoch_shard(plan, epoch)
        for i, batch in enumerate(self.batches(shard, epoch)):
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"training stopped at epoch {epoch}, step {first_step + i}")
            rows = shard.source[i * self.batch_size : i * self.batch_size + len(batch)]
            losses.append(self.step(batch, torch.from_numpy(targets[rows])))
            seen = (i * self.batch_size + len(batch)) * self.world
            report(
                {
                    "epoch": epoch,
                    "step": first_step + i + 1,
                    "loss": losses[-1],
                    "samples_per_second": seen / max(time.perf_counter() - started, 1e-9),
                }
            )
        return losses

    @torch.no_grad()
    def logits(self, indices: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Logits of stamps ``indices`` under the current weights (no augmentation)."""
        self.model.eval()
        plan = identity_plan(indices)
        out = [
            self._logits(self.model, apply_plan(self.stamps.stamps, plan.take(rows))).cpu()
            for rows in np.array_split(np.arange(len(plan)), max(1, -(-len(plan) // batch_size)))
            if len(rows)
        ]
        return torch.cat(out).numpy() if out else np.zeros((0, 1), dtype=np.float32)

    def scores(self, indices: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Softmax scores of stamps ``indices``, logits divided by ``temperature``."""
        return apply_temperature(self.logits(indices), temperature)


def calibrate(
    logits: np.ndarray, targets: np.ndarray, model: nn.Module | None = None
) -> tuple[float, dict[str, Any]]:
    """Post-hoc calibration fitted on validation ``logits``: the temperature to store and a record.

    :func:`starcnet_core.calibration.fit_calibration` picks temperature, vector
    or matrix scaling by cross-validated NLL on the validation rows. A
    temperature is returned to be stored in the checkpoint and divided out in
    every prediction. Vector or matrix scaling is an affine map of the logits,
    so it is folded into ``model``'s final linear layer (its weights are
    changed in place): every prediction path, any backend, cached features and
    MC-dropout passes then apply it with nothing else to store, and the
    returned temperature is 1. Without ``model`` only temperature scaling is
    fitted.

    Returns
    -------
    temperature : float
    record : dict
        ``kind``, ``temperature``, the validation ECE before and after
        (``val_ece_before``, ``val_ece_after``) and the fitted calibration
        (``calibration``: :meth:`~starcnet_core.calibration.Calibration.to_dict`).
    """
    model = getattr(model, "module", model)  # the network inside a DistributedDataParallel wrapper
    kinds = CALIBRATION_KINDS if model is not None and hasattr(model, "head") else ("temperature",)
    fitted = fit_calibration(logits, targets, kinds)
    temperature = fitted.temperature
    nan = float("nan")
    before = expected_calibration_error(apply_temperature(logits, 1.0), targets) if len(targets) else nan
    after = expected_calibration_error(fitted.apply(logits), targets) if len(targets) else nan
    if fitted.kind != "temperature":
        _fold_into_head(model, fitted.weight, fitted.bias)
    return temperature, {
        "kind": fitted.kind,
        "temperature": temperature,
        "val_ece_before": before,
        "val_ece_after": after,
        "calibration": fitted.to_dict(),
    }


def _fold_into_head(model: nn.Module, weight: np.ndarray, bias: np.ndarray) -> None:
    """Make ``model``'s logits ``logits @ weight.T + bias``: its last linear layer absorbs the map."""
    layer = model.head
    with torch.no_grad():
        w = torch.as_tensor(weight, dtype=layer.weight.dtype, device=layer.weight.device)
        b = torch.as_tensor(bias, dtype=layer.bias.dtype, device=layer.bias.device)
        layer.weight.copy_(w @ layer.weight)
        layer.bias.copy_(w @ layer.bias + b)


def _metrics(scores: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    if len(targets) == 0:
        return {}
    picked = np.clip(scores[np.arange(len(targets)), targets], 1e-12, None)
    return {
        "n": int(len(targets)),
        "loss": float(-np.log(picked).mean()),
        "accuracy": float((scores.argmax(1) == targets).mean()),
        "ece": expected_calibration_error(scores, targets),
    }


def train_model(
    stamps: StampSet,
    config: TrainConfig,
    model_config: StarcNetConfig | nn.Module,
    *,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    init_state: Mapping[str, torch.Tensor] | None = None,
    split: Split | None = None,
) -> TrainResult:
    """Train StarcNet on the labelled stamps of ``stamps`` with ``config``'s recipe.

    Parameters
    ----------
    stamps : StampSet
        Stamps in e-/s; rows with label 0 are ignored.
    config : TrainConfig
    model_config : StarcNetConfig or torch.nn.Module
        The network to build (``n_classes`` follows ``config.binary``) or an
        initial network, which is copied, not modified.
    progress : callable, optional
        Called with a dict after every step (``epoch``, ``step``, ``total_steps``,
        ``loss``, ``samples_per_second``) and after every epoch (the same plus
        ``train_loss``, ``val_loss``, ``val_accuracy``, ``seconds``).
    should_stop : callable, optional
        Polled before every step; when it returns true training stops.
    init_state : mapping, optional
        State dict loaded into the network before training (continued training).
    split : Split, optional
        Rows to train, validate and test on instead of ``config``'s split (e.g. a
        bootstrap resample, which may repeat rows, or the app's own held-out set).

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingCancelled
        ``should_stop()`` returned true.
    UserInputError
        Too few labelled stamps, an impossible split, an epsilon filter without ``label_mean``,
        stamps with NaN pixels.
    """
    split = split_for(stamps, config) if split is None else split
    targets = training_labels(stamps.labels, config.binary, config.grouping)
    train_rows = split.train
    if config.epsilon is not None:
        if "label_mean" not in stamps.table.colnames:
            raise UserInputError("the epsilon filter needs a 'label_mean' column in the stamp table")
        spread = np.abs(np.asarray(stamps.table["label_mean"], dtype=float) - stamps.labels)
        train_rows = train_rows[spread[train_rows] <= config.epsilon]
        if len(train_rows) == 0:
            raise UserInputError(f"no training stamp has |mean - mode| <= {config.epsilon}")
    _require_finite(stamps.stamps, np.concatenate([train_rows, split.val, split.test]))
    band_mean = training_band_mean(stamps.stamps, train_rows)
    model = _build_model(model_config, config.binary, config.seed)
    if init_state is not None:
        model.load_state_dict(init_state)
    trainer = _Trainer(stamps, config, model, band_mean)
    plan = balanced_plan(train_rows, targets[train_rows]) if config.balance else identity_plan(train_rows)
    steps_per_epoch = -(-len(trainer.epoch_shard(plan, 0)) // trainer.batch_size)
    total_steps = config.epochs * steps_per_epoch
    history: list[dict[str, float]] = []
    best: tuple[float, float] | None = None
    best_state, best_epoch, step = None, 0, 0

    def report(event: dict[str, Any]) -> None:
        if progress is not None:
            progress({**event, "total_steps": total_steps})

    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        losses = trainer.train_epoch(plan, targets, epoch, step, report, should_stop)
        step += len(losses)
        val = _metrics(trainer.scores(split.val), targets[split.val])
        record = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)) if losses else float("nan"),
            "val_loss": val.get("loss", float("nan")),
            "val_accuracy": val.get("accuracy", float("nan")),
            "seconds": time.perf_counter() - started,
        }
        history.append(record)
        # without a validation set the last epoch is kept
        score = (val.get("accuracy", 0.0), -val.get("loss", -epoch))
        if best is None or score > best:
            best, best_epoch = score, epoch
            best_state = copy.deepcopy(trainer.model.state_dict())
        report({**record, "step": step, "loss": record["train_loss"]})
    trainer.model.load_state_dict(best_state)
    temperature, calibration = calibrate(trainer.logits(split.val), targets[split.val], trainer.model)
    test = _metrics(trainer.scores(split.test, temperature), targets[split.test])
    model = trainer.model.cpu().to(memory_format=torch.contiguous_format).eval()
    return TrainResult(model, band_mean, history, best_epoch, split, test, temperature, calibration)
