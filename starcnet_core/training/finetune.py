"""Quick fine-tuning: retrain StarcNet's fully connected layers on cached convolutional features.

The expensive part of StarcNet is its convolutions; the part that decides the
class from them is small (each pathway's ``fc`` + GroupNorm + LeakyReLU +
dropout, and the final ``head``). With the convolutions frozen, the flattened
output of each pathway's convolution stack is a fixed function of a stamp, so
it is computed once per (model, candidate) and kept in a :class:`FeatureCache`.
Retraining the fully connected layers on those features takes seconds on a
CPU, which is what lets an expert see the effect of a few hundred new labels
within a minute. Full fine-tuning and training from scratch use
:func:`starcnet_core.training.train.train_model` instead.
"""

from __future__ import annotations

import copy
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from starcnet_core.atomic_write import atomic_path
from starcnet_core.calibration import apply_temperature
from starcnet_core.errors import UserInputError
from starcnet_core.nn.mc_dropout import BALD_PASSES, mc_dropout_bald, mc_dropout_probabilities
from starcnet_core.nn.model import StarcNet
from starcnet_core.training.train import TrainingCancelled, calibrate

__all__ = [
    "QuickFinetuneConfig",
    "FinetuneResult",
    "FeatureCache",
    "CACHED_FEATURES_PRECISION",
    "normalise_stamps",
    "conv_features",
    "finetune_head",
    "head_logits",
    "head_bald",
    "head_hidden",
    "head_mc_probabilities",
    "head_probabilities",
    "quick_costs",
    "model_fingerprint",
]


@dataclass(frozen=True)
class QuickFinetuneConfig:
    """Knobs of quick (fully-connected-only) fine-tuning.

    Parameters
    ----------
    epochs : int
        Passes over the labelled features (40).
    batch_size : int
        Candidates per optimiser step (64).
    lr : float
        Adam learning rate (1e-3: larger than the paper's 1e-4 because only
        the small fully connected layers move).
    weight_decay : float
        Adam L2 penalty (1e-4), against over-fitting a few hundred labels.
    val_fraction : float
        Fraction of the labels kept aside, stratified by class, to pick the
        best epoch (0.15); 0 trains on everything and keeps the last epoch.
    balance : bool
        Weight the loss by inverse class frequency (True), as the paper
        balances its classes.
    class_prior : tuple of float, optional
        The class mix the loss is weighted to (one share per class): each
        class weighs its share here over its share among the training labels,
        so that the fit sees the classes in this mix, e.g. the survey's where
        the labels were chosen by uncertainty and are no sample of it.
        Overrides ``balance``, which is the uniform mix.
    seed : int
        Seed of the split, the batch order and dropout.
    feature_batch_size : int
        Stamps per forward pass when computing convolutional features (128).
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.15
    balance: bool = True
    class_prior: tuple[float, ...] | None = None
    seed: int = 0
    feature_batch_size: int = 128


@dataclass
class FinetuneResult:
    """What :func:`finetune_head` returns.

    Attributes
    ----------
    model : StarcNet
        A copy of the input network with retrained fully connected layers
        (convolutions identical to the input's), in eval mode.
    history : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``val_loss``,
        ``val_accuracy`` (NaN without a validation split), ``seconds``.
    best_epoch : int
        The epoch whose weights were kept (1-based); 0 when no epoch improved the
        validation loss of the starting weights, which are then returned unchanged.
    val_index : numpy.ndarray
        Rows of the input used for validation (empty without a split).
    temperature : float
        Temperature scaling fitted on the validation rows (1.0 without them).
    calibration : dict
        ``temperature`` and the validation ECE before and after scaling.
    """

    model: StarcNet
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    val_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    temperature: float = 1.0
    calibration: dict[str, float] = field(default_factory=dict)


def normalise_stamps(stamps: np.ndarray, band_mean: np.ndarray) -> torch.Tensor:
    """Stamps in e-/s minus the per-band training mean, as the network expects.

    Parameters
    ----------
    stamps : numpy.ndarray
        ``(N, B, S, S)`` in e-/s.
    band_mean : numpy.ndarray
        ``(B,)`` per-band mean in e-/s of the model's training stamps.
    """
    mean = np.asarray(band_mean, dtype=np.float32).reshape(1, -1, 1, 1)
    return torch.from_numpy(np.asarray(stamps, dtype=np.float32) - mean)


def conv_features(
    model: StarcNet,
    stamps: np.ndarray,
    band_mean: np.ndarray,
    *,
    batch_size: int = 128,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Flattened output of each pathway's frozen convolution stack.

    Parameters
    ----------
    model : StarcNet
        The network whose convolutions are frozen.
    stamps : numpy.ndarray
        ``(N, B, S, S)`` stamps in e-/s.
    band_mean : numpy.ndarray
        ``(B,)`` per-band mean in e-/s subtracted before the network.
    batch_size : int
        Stamps per forward pass.
    should_stop : callable, optional
        Polled between batches; True raises :class:`TrainingCancelled`.

    Returns
    -------
    numpy.ndarray
        ``(N, n_pathways, width * (S/2)**2)`` float32.
    """
    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, len(stamps), batch_size):
                if should_stop is not None and should_stop():
                    raise TrainingCancelled("cancelled while computing features")
                batch = normalise_stamps(stamps[start : start + batch_size], band_mean)
                views = model.pathway_inputs(batch)
                per_path = [
                    torch.flatten(path.features(view), 1)
                    for path, view in zip(model.pathways, views, strict=True)
                ]
                chunks.append(torch.stack(per_path, dim=1).numpy())
    finally:
        model.train(was_training)
    if not chunks:
        side = model.config.stamp_size // 2
        return np.zeros((0, len(model.pathways), model.config.width * side * side), np.float32)
    return np.concatenate(chunks)


class _Head(nn.Module):
    """The fully connected part of a StarcNet, sharing its parameters, fed with conv features."""

    def __init__(self, model: StarcNet) -> None:
        super().__init__()
        self.pathways = model.pathways
        self.head = model.head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        fc_out = [
            path.dropout(path.act(path.fc_norm(path.fc(features[:, i]))))
            for i, path in enumerate(self.pathways)
        ]
        return self.head(torch.cat(fc_out, dim=1))


def head_logits(model: StarcNet, features: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Logits ``(N, n_classes)`` of ``model`` from cached conv features."""
    head = _Head(model).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            out.append(
                head(torch.from_numpy(np.asarray(features[start : start + batch_size], np.float32))).numpy()
            )
    if not out:
        return np.zeros((0, model.config.n_classes), np.float32)
    return np.concatenate(out)


def head_probabilities(
    model: StarcNet, features: np.ndarray, *, temperature: float = 1.0, batch_size: int = 512
) -> np.ndarray:
    """Class scores ``(N, n_classes)`` of ``model`` from cached conv features, logits / ``temperature``."""
    return apply_temperature(head_logits(model, features, batch_size=batch_size), temperature)


def head_hidden(model: StarcNet, features: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Pre-dropout pathway features ``(N, n_pathways * fc_width)`` of ``model`` from cached conv features."""
    out = []
    with torch.no_grad():
        for start in range(0, len(features), batch_size):
            batch = torch.from_numpy(np.asarray(features[start : start + batch_size], np.float32))
            out.append(
                torch.cat([path.hidden(batch[:, i]) for i, path in enumerate(model.pathways)], 1).numpy()
            )
    if not out:
        return np.zeros((0, sum(path.fc.out_features for path in model.pathways)), np.float32)
    return np.concatenate(out)


def head_mc_probabilities(
    model: StarcNet,
    features: np.ndarray,
    *,
    n_samples: int = BALD_PASSES,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 512,
) -> np.ndarray:
    """Class scores ``(n_samples, N, n_classes)`` of passes with the dropout layers active (MC dropout).

    The pathways' dropout (p = 0.5 in the paper's network) is the only random
    layer: GroupNorm behaves the same in training and evaluation. A network
    without dropout gives ``n_samples`` identical passes. The large fully
    connected layers run once (:func:`head_hidden`); the passes are
    :func:`starcnet_core.nn.mc_dropout.mc_dropout_probabilities`.
    """
    return mc_dropout_probabilities(
        model,
        head_hidden(model, features, batch_size=batch_size),
        n_samples=n_samples,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
    )


def head_bald(
    model: StarcNet,
    features: np.ndarray,
    *,
    n_samples: int = BALD_PASSES,
    temperature: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """BALD score ``(N,)`` of each row of cached conv features: the mutual information (nats).

    The entropy of the mean of ``n_samples`` MC-dropout passes of the fully
    connected layers (:func:`head_mc_probabilities`, logits divided by the
    model's calibration ``temperature``) minus the mean entropy of the passes
    (:func:`starcnet_core.scores.mutual_information`, Houlsby et al.
    2011): high where the dropout networks disagree, not merely where each is
    unsure. Deterministic for a given ``seed``; the same as
    :func:`starcnet_core.nn.predict.predict_stamps` gives with ``bald_passes``
    from the stamps themselves (:func:`starcnet_core.nn.mc_dropout.mc_dropout_bald`).
    """
    if len(features) == 0:
        return np.zeros(0)
    return mc_dropout_bald(
        model, head_hidden(model, features), n_samples=n_samples, temperature=temperature, seed=seed
    )


def _split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(len(labels))
    if fraction <= 0:
        return index, index[:0]
    counts = np.bincount(labels)
    n_val = int(round(fraction * len(labels)))
    # a stratified split needs two of each class and a validation row per class
    if counts[counts > 0].min() < 2 or n_val < np.count_nonzero(counts):
        return index, index[:0]
    train, val = train_test_split(index, test_size=n_val, stratify=labels, random_state=seed)
    return np.sort(train), np.sort(val)


def _class_weights(
    labels: np.ndarray, n_classes: int, prior: tuple[float, ...] | None = None
) -> torch.Tensor:
    """Per class, its share in ``prior`` over its share in ``labels``; 0 for a class with no sample.

    scikit-learn's "balanced" weights (the uniform mix, ``prior`` None),
    scaled by ``prior`` renormalised over the classes present.
    """
    present = np.unique(labels)
    weights = np.zeros(n_classes)
    weights[present] = compute_class_weight("balanced", classes=present, y=labels)
    if prior is not None:
        wanted = np.asarray(prior, dtype=np.float64)[present]
        if len(wanted) and wanted.sum() <= 0:
            raise UserInputError("class_prior gives no weight to any class present among the labels")
        weights[present] *= len(present) * wanted / wanted.sum()
    return torch.tensor(weights, dtype=torch.float32)


def finetune_head(
    model: StarcNet,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    config: QuickFinetuneConfig | None = None,
    progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FinetuneResult:
    """Retrain the fully connected layers of a copy of ``model`` on cached conv features.

    Parameters
    ----------
    model : StarcNet
        The starting network (typically the active model); it is not modified.
    features : numpy.ndarray
        ``(N, n_pathways, D)`` from :func:`conv_features` of this same ``model``.
    labels : numpy.ndarray
        ``(N,)`` classes 1..n_classes.
    config : QuickFinetuneConfig, optional
        Training knobs; defaults as documented there.
    progress : callable, optional
        Called after every optimiser step with ``epoch``, ``step``,
        ``total_steps``, ``loss``, and after every epoch with the epoch record
        (``train_loss``, ``val_loss``, ``val_accuracy``) added.
    should_stop : callable, optional
        Polled at every step; True raises :class:`TrainingCancelled`.

    Returns
    -------
    FinetuneResult
    """
    config = config or QuickFinetuneConfig()
    labels = np.asarray(labels, dtype=np.int64)
    n_classes = model.config.n_classes
    if len(labels) == 0:
        raise UserInputError("no labelled candidates to fine-tune on")
    if len(features) != len(labels):
        raise UserInputError(f"{len(features)} feature rows but {len(labels)} labels")
    if labels.min() < 1 or labels.max() > n_classes:
        raise UserInputError(f"labels must be classes 1..{n_classes}")
    target = labels - 1
    train_idx, val_idx = _split(target, config.val_fraction, config.seed)
    torch.manual_seed(config.seed)
    tuned = copy.deepcopy(model)
    for parameter in tuned.parameters():
        parameter.requires_grad_(False)
    head = _Head(tuned)
    trainable = [p for p in head.parameters()]
    for parameter in trainable:
        parameter.requires_grad_(True)
    optimiser = torch.optim.Adam(trainable, lr=config.lr, weight_decay=config.weight_decay)
    if config.class_prior is not None and len(config.class_prior) != n_classes:
        raise UserInputError(
            f"class_prior has {len(config.class_prior)} shares, the model {n_classes} classes"
        )
    weighted = config.balance or config.class_prior is not None
    weights = _class_weights(target[train_idx], n_classes, config.class_prior) if weighted else None
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    x_all = torch.from_numpy(np.asarray(features, dtype=np.float32))
    y_all = torch.from_numpy(target)
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = max(1, -(-len(train_idx) // config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    result = FinetuneResult(tuned, val_index=val_idx)

    def validation() -> tuple[float, float]:
        head.eval()
        with torch.no_grad():
            logits = head(x_all[val_idx])
        loss = float(nn.functional.cross_entropy(logits, y_all[val_idx]))
        return loss, float((logits.argmax(1) == y_all[val_idx]).float().mean())

    def trainable_state() -> dict[str, torch.Tensor]:
        # only the trainable tensors: copying the frozen convolutions every epoch costs seconds
        return {name: p.detach().clone() for name, p in head.named_parameters() if p.requires_grad}

    # the starting weights compete as "epoch 0", so a retrain never ends worse on validation than it began
    best_loss, best_state, step = (validation()[0] if len(val_idx) else np.inf), trainable_state(), 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        head.train()
        order = torch.from_numpy(train_idx)[torch.randperm(len(train_idx), generator=generator)]
        losses = []
        for start in range(0, len(order), config.batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"cancelled at epoch {epoch}")
            batch = order[start : start + config.batch_size]
            loss = loss_fn(head(x_all[batch]), y_all[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            losses.append(loss.item())
            if progress is not None:
                progress({"epoch": epoch, "step": step, "total_steps": total_steps, "loss": losses[-1]})
        record = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_loss": float("nan"),
            "val_accuracy": float("nan"),
        }
        if len(val_idx):
            record["val_loss"], record["val_accuracy"] = validation()
        record["seconds"] = time.perf_counter() - started
        result.history.append(record)
        if progress is not None:
            progress({"step": step, "total_steps": total_steps, "loss": record["train_loss"], **record})
        monitored = record["val_loss"] if len(val_idx) else -epoch
        if monitored < best_loss:
            best_loss, result.best_epoch, best_state = monitored, epoch, trainable_state()
    with torch.no_grad():
        for name, parameter in head.named_parameters():
            if name in best_state:
                parameter.copy_(best_state[name])
    for parameter in tuned.parameters():
        parameter.requires_grad_(True)
    tuned.eval()
    if len(val_idx):
        result.temperature, result.calibration = calibrate(
            head_logits(tuned, features[val_idx]), target[val_idx], tuned
        )
    return result


def quick_costs(
    model: StarcNet, band_mean: np.ndarray, *, batch_size: int = 64, n_probe: int = 8
) -> tuple[float, float]:
    """Measured costs of quick fine-tuning on this machine, for time estimates.

    Returns
    -------
    conv_seconds : float
        Seconds per stamp of the frozen convolutions (once per uncached candidate).
    head_seconds : float
        Seconds per candidate and epoch of training the fully connected layers
        (one optimiser step of ``batch_size`` timed, divided by the batch size).
    """
    config = model.config
    stamps = np.zeros((n_probe, config.n_bands, config.stamp_size, config.stamp_size), np.float32)
    started = time.perf_counter()
    features = conv_features(model, stamps, band_mean)
    conv_seconds = (time.perf_counter() - started) / n_probe
    head = _Head(copy.deepcopy(model)).train()
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-3)
    batch = torch.from_numpy(np.resize(features, (batch_size, *features.shape[1:])))
    target = torch.arange(batch_size) % config.n_classes
    timings = []
    for _ in range(4):  # the first steps allocate the optimiser state and warm the caches
        started = time.perf_counter()
        loss = nn.functional.cross_entropy(head(batch), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        timings.append(time.perf_counter() - started)
    return conv_seconds, min(timings[1:]) / batch_size


def model_fingerprint(model: StarcNet) -> str:
    """A short hash of the convolution weights: with the band mean, the key under which conv features are cached."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if ".features." in name:
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def _no_features(model: StarcNet, band_mean: np.ndarray) -> np.ndarray:
    """A ``(0, n_pathways, D)`` float32 feature array of ``model``."""
    size = model.config.stamp_size
    return conv_features(model, np.zeros((0, model.config.n_bands, size, size)), band_mean)


#: Default size limit of a :class:`FeatureCache` (bytes), before the least recently used shards go.
FEATURE_CACHE_MAX_BYTES = 50 * 2**30

#: The precision scores from a :class:`FeatureCache` are recorded with: fp32 convolutions kept
#: as float16 (about 1e-3 from fp32's scores), the fully connected layers in fp32 on torch.
CACHED_FEATURES_PRECISION = "fp16-features"


class FeatureCache:
    """Convolutional features on disk: memory-mapped shards per model, rows keyed by candidate id.

    Features depend on one set of convolution weights (:func:`model_fingerprint`)
    applied to stamps minus one per-band mean; each such key has its own
    folder, so a quick retrain, which keeps both, shares its parent's. New
    features are appended as a new shard (a ``.features.npy`` of float16 rows
    and a ``.ids.npy`` of candidate ids, the ids written last so that a
    crash mid-write leaves no half shard); a shard is never rewritten. Lookups
    read only the ids files and memory-map the feature files, copying just the
    rows asked for (as float32): the paper network's 192 KiB per candidate make
    a survey's features far larger than memory.

    When the shards of all keys together exceed ``max_bytes``, the least
    recently used shards (a hit refreshes a shard's time) are deleted; the
    rows they held are computed again when next needed.

    Parameters
    ----------
    directory : path
        Where the cache lives (created on first write).
    max_bytes : int
        Size limit of the whole cache (default :data:`FEATURE_CACHE_MAX_BYTES`).
    shard_rows : int
        Most candidates per shard file: one computation batch, so memory stays bounded.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        max_bytes: int = FEATURE_CACHE_MAX_BYTES,
        shard_rows: int = 4096,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = int(max_bytes)
        self.shard_rows = int(shard_rows)

    @staticmethod
    def _key(model: StarcNet, band_mean: np.ndarray) -> str:
        # the features are conv(stamp - band_mean): the same weights under another mean are other features
        mean = hashlib.sha256(np.asarray(band_mean, dtype=np.float32).tobytes()).hexdigest()[:8]
        return f"{model_fingerprint(model)}_{mean}"

    def _index(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Path]]:
        """(candidate ids, shard number, row in shard) of every cached row of ``key``, and its shards."""
        shards, ids = [], []
        for path in sorted((self.directory / f"conv_{key}").glob("*.ids.npy")):
            try:
                ids.append(np.load(path))
            except FileNotFoundError:  # evicted meanwhile by another process
                continue
            shards.append(path)
        if not ids:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, []
        shard_of = np.concatenate([np.full(len(held), k, dtype=np.int64) for k, held in enumerate(ids)])
        row_of = np.concatenate([np.arange(len(held), dtype=np.int64) for held in ids])
        return np.concatenate(ids), shard_of, row_of, shards

    def missing(self, model: StarcNet, ids: np.ndarray, band_mean: np.ndarray) -> int:
        """How many of candidates ``ids`` have no cached features under ``model`` and ``band_mean`` yet."""
        cached_ids = self._index(self._key(model, band_mean))[0]
        return int(np.count_nonzero(~np.isin(np.asarray(ids, dtype=np.int64), cached_ids)))

    def lookup(
        self, model: StarcNet, ids: np.ndarray, band_mean: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The cached features among candidates ``ids``, computing nothing.

        Returns
        -------
        found : numpy.ndarray
            ``(len(ids),)`` bool, whether a candidate's features are cached.
        features : numpy.ndarray
            ``(found.sum(), n_pathways, D)`` float32, in the order of ``ids[found]``.
        """
        found, rows = self._read(self._key(model, band_mean), np.asarray(ids, dtype=np.int64))
        return found, rows if rows is not None else _no_features(model, band_mean)

    def _read(self, key: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Which ``ids`` are cached, and their rows as float32 (None when none is)."""
        cached_ids, shard_of, row_of, shards = self._index(key)
        # the newest copy of a candidate counts (two workers may each have appended it)
        newest = len(cached_ids) - 1 - np.unique(cached_ids[::-1], return_index=True)[1]
        known = cached_ids[newest]
        position = np.searchsorted(known, ids).clip(max=max(len(known) - 1, 0))
        found = (known[position] == ids) if len(known) else np.zeros(len(ids), dtype=bool)
        if not found.any():
            return found, None
        entries = newest[position[found]]
        read = np.ones(len(entries), dtype=bool)
        out = np.empty((len(entries), *_feature_shape(shards[shard_of[entries[0]]])), dtype=np.float32)
        for shard in np.unique(shard_of[entries]):
            here = np.flatnonzero(shard_of[entries] == shard)
            try:
                stored = np.load(_features_path(shards[shard]), mmap_mode="r")
                out[here] = stored[row_of[entries[here]]]
                os.utime(shards[shard])  # recently used: evicted last
            except FileNotFoundError:  # evicted between the index and the read: not cached after all
                read[here] = False
        found[np.flatnonzero(found)[~read]] = False
        return found, (out[read] if found.any() else None)

    def features(
        self,
        model: StarcNet,
        ids: np.ndarray,
        load_stamps: Callable[[np.ndarray], np.ndarray],
        band_mean: np.ndarray,
        *,
        batch_size: int = 128,
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Features of candidates ``ids`` under ``model``, computing only the missing ones.

        Parameters
        ----------
        model : StarcNet
            Network whose convolutions define the features.
        ids : numpy.ndarray
            Candidate ids (integers, unique).
        load_stamps : callable
            ``load_stamps(ids) -> (n, B, S, S)`` stamps in e-/s for ids not yet cached.
        band_mean : numpy.ndarray
            ``(B,)`` per-band mean in e-/s of the model.

        Returns
        -------
        features : numpy.ndarray
            ``(len(ids), n_pathways, D)`` float32 in the order of ``ids``.
        n_computed : int
            How many rows had to be computed now (appended as new shards).
        """
        ids = np.asarray(ids, dtype=np.int64)
        empty = _no_features(model, band_mean)
        if len(ids) == 0:
            return empty, 0
        key = self._key(model, band_mean)
        found, cached = self._read(key, ids)
        out = np.empty((len(ids), *empty.shape[1:]), dtype=np.float32)
        if cached is not None:
            out[found] = cached
        missing = np.flatnonzero(~found)
        written = set()
        for start in range(0, len(missing), self.shard_rows):
            part = missing[start : start + self.shard_rows]
            fresh = conv_features(
                model, load_stamps(ids[part]), band_mean, batch_size=batch_size, should_stop=should_stop
            ).astype(np.float16)
            written.add(self._append(key, ids[part], fresh))
            out[part] = fresh
        if written:
            self._evict(keep=written)
        return out, len(missing)

    def _append(self, key: str, ids: np.ndarray, features: np.ndarray) -> Path:
        """Write one new shard of ``key`` (features, then ids); returns its ids file."""
        folder = self.directory / f"conv_{key}"
        folder.mkdir(parents=True, exist_ok=True)
        # time first, so that names sort oldest first; pid and random bytes keep writers apart
        ids_path = folder / f"{time.time_ns():020d}_{os.getpid()}_{os.urandom(3).hex()}.ids.npy"
        for path, values in ((_features_path(ids_path), features), (ids_path, ids)):
            with atomic_path(path) as staging:
                np.save(staging, values)
        return ids_path

    def size_bytes(self) -> int:
        """Bytes the shards of every key take on disk."""
        return sum(path.stat().st_size for path in self.directory.glob("conv_*/*.npy"))

    def _evict(self, keep: set[Path]) -> None:
        """Delete the least recently used shards (of any key), never those in ``keep``, until the cache fits."""
        shards = []
        for ids_path in self.directory.glob("conv_*/*.ids.npy"):
            try:
                used = ids_path.stat().st_mtime
                size = ids_path.stat().st_size + _features_path(ids_path).stat().st_size
            except FileNotFoundError:
                continue
            shards.append((used, ids_path, size))
        total = sum(size for _, _, size in shards)
        for _, ids_path, size in sorted(shards):
            if total <= self.max_bytes:
                break
            if ids_path not in keep:
                # the ids first: from then on no reader lists the shard
                ids_path.unlink(missing_ok=True)
                _features_path(ids_path).unlink(missing_ok=True)
                total -= size


def _features_path(ids_path: Path) -> Path:
    """The features file of a shard, next to its ids file."""
    return ids_path.with_name(ids_path.name.removesuffix(".ids.npy") + ".features.npy")


def _feature_shape(ids_path: Path) -> tuple[int, ...]:
    """The shape of one feature row of a shard (only the ``.npy`` header is read)."""
    return tuple(np.load(_features_path(ids_path), mmap_mode="r").shape[1:])
