"""Quick fine-tuning: frozen convolutions, retrained fully connected layers, the feature cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from starcnet_core.errors import UserInputError
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from starcnet_core.training.finetune import (
    FeatureCache,
    QuickFinetuneConfig,
    _class_weights,
    conv_features,
    finetune_head,
    head_probabilities,
    model_fingerprint,
    quick_costs,
)
from starcnet_core.training.train import TrainingCancelled

TINY = StarcNetConfig(width=8, depth=2, pool_after=1, fc_width=8, groups=2, dropout=0.0)


def _separable_stamps(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stamps whose class sets which band holds a central bright source."""
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(1, 5), n // 4 + 1)[:n]
    stamps = rng.normal(0.0, 0.1, size=(n, 5, 32, 32)).astype(np.float32)
    for i, label in enumerate(labels):
        stamps[i, label, 13:19, 13:19] += 3.0
    return stamps, labels


@pytest.fixture
def tiny_model() -> StarcNet:
    torch.manual_seed(0)
    return StarcNet(TINY).eval()


def test_conv_features_match_the_network_forward_pass(tiny_model: StarcNet) -> None:
    stamps, _ = _separable_stamps(6)
    mean = np.full(5, 0.05, np.float32)
    features = conv_features(tiny_model, stamps, mean, batch_size=4)
    assert features.shape == (6, 3, 8 * 16 * 16)
    with torch.no_grad():
        expected = torch.softmax(tiny_model(torch.from_numpy(stamps - mean.reshape(1, 5, 1, 1))), 1)
    np.testing.assert_allclose(head_probabilities(tiny_model, features), expected.numpy(), atol=1e-5)


def test_finetune_learns_separable_classes_and_leaves_convolutions_alone(tiny_model: StarcNet) -> None:
    stamps, labels = _separable_stamps(80)
    mean = np.zeros(5, np.float32)
    features = conv_features(tiny_model, stamps, mean)
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    config = QuickFinetuneConfig(epochs=12, batch_size=16, lr=5e-3, val_fraction=0.25)
    result = finetune_head(tiny_model, features, labels, config=config)
    # the input model is untouched, the copy shares its convolutions but not its head
    for key, value in tiny_model.state_dict().items():
        assert torch.equal(value, before[key])
    tuned = result.model.state_dict()
    assert all(torch.equal(tuned[k], before[k]) for k in before if ".features." in k)
    assert not torch.equal(tuned["head.weight"], before["head.weight"])
    assert model_fingerprint(result.model) == model_fingerprint(tiny_model)
    assert len(result.history) == 12 and 1 <= result.best_epoch <= 12
    assert len(result.val_index) == 20
    accuracy = np.mean(head_probabilities(result.model, features).argmax(1) + 1 == labels)
    assert accuracy > 0.9


def test_finetune_reports_progress_and_can_be_cancelled(tiny_model: StarcNet) -> None:
    stamps, labels = _separable_stamps(16)
    features = conv_features(tiny_model, stamps, np.zeros(5))
    events: list[dict] = []
    with pytest.raises(TrainingCancelled):
        finetune_head(
            tiny_model,
            features,
            labels,
            config=QuickFinetuneConfig(epochs=5, batch_size=8),
            progress=events.append,
            should_stop=lambda: len(events) >= 3,
        )
    assert [e["step"] for e in events] == [1, 2, 2]
    assert events[0]["total_steps"] == 10


def test_finetune_rejects_bad_labels(tiny_model: StarcNet) -> None:
    features = np.zeros((3, 3, 8 * 16 * 16), np.float32)
    with pytest.raises(UserInputError):
        finetune_head(tiny_model, features, np.array([1, 2, 5]))
    with pytest.raises(UserInputError):
        finetune_head(tiny_model, features[:0], np.array([], dtype=int))


def test_feature_cache_computes_each_candidate_once(tmp_path, tiny_model: StarcNet) -> None:
    stamps, _ = _separable_stamps(10)
    requested: list[np.ndarray] = []

    def load(ids: np.ndarray) -> np.ndarray:
        requested.append(ids)
        return stamps[ids]

    cache = FeatureCache(tmp_path / "cache")
    assert cache.missing(tiny_model, np.array([1, 2]), np.zeros(5)) == 2
    first, computed = cache.features(tiny_model, np.array([3, 1, 2]), load, np.zeros(5))
    assert computed == 3
    second, computed = cache.features(tiny_model, np.array([2, 5, 1]), load, np.zeros(5))
    assert computed == 1 and requested[-1].tolist() == [5]
    assert cache.missing(tiny_model, np.array([1, 2, 5, 7]), np.zeros(5)) == 1
    direct = conv_features(tiny_model, stamps[[2, 5, 1]], np.zeros(5))
    np.testing.assert_allclose(second, direct, rtol=1e-2, atol=1e-2)
    np.testing.assert_array_equal(second[0], first[2])
    empty, computed = cache.features(tiny_model, np.array([], dtype=int), load, np.zeros(5))
    assert empty.shape == (0, 3, 8 * 16 * 16) and computed == 0
    # each miss appended one shard; the first was never rewritten
    assert len(list((tmp_path / "cache").glob("conv_*/*.ids.npy"))) == 2


def test_feature_cache_appends_shards_and_evicts_the_least_recently_used(tmp_path, tiny_model) -> None:
    stamps, _ = _separable_stamps(12)
    computed: list[int] = []

    def load(ids: np.ndarray) -> np.ndarray:
        computed.extend(ids.tolist())
        return stamps[ids]

    mean = np.zeros(5)
    cache = FeatureCache(tmp_path / "cache", shard_rows=2)
    cache.features(tiny_model, np.array([0, 1, 2]), load, mean)  # two shards: [0, 1] and [2]
    shards = sorted((tmp_path / "cache").glob("conv_*/*.ids.npy"))
    assert [np.load(path).tolist() for path in shards] == [[0, 1], [2]]
    first = shards[0].with_name(shards[0].name.replace(".ids.", ".features.")).read_bytes()
    row = cache.size_bytes() / 3
    cache.features(tiny_model, np.array([3]), load, mean)
    assert shards[0].with_name(shards[0].name.replace(".ids.", ".features.")).read_bytes() == first
    # a hit on [2] makes it recently used; a limit of 3.5 rows then drops [0, 1], the least recently used
    assert cache.lookup(tiny_model, np.array([2]), mean)[0].all()
    limited = FeatureCache(tmp_path / "cache", shard_rows=2, max_bytes=int(3.5 * row))
    computed.clear()
    features, n_new = limited.features(tiny_model, np.array([4, 3]), load, mean)
    assert n_new == 1 and computed == [4]
    found, _ = limited.lookup(tiny_model, np.array([0, 1, 2, 3, 4]), mean)
    assert found.tolist() == [False, False, True, True, True]
    assert limited.size_bytes() <= 3.5 * row
    np.testing.assert_allclose(
        features, conv_features(tiny_model, stamps[[4, 3]], mean), rtol=1e-2, atol=1e-2
    )


def test_feature_cache_lookup_computes_nothing_and_is_keyed_by_the_band_mean(tmp_path, tiny_model) -> None:
    stamps, _ = _separable_stamps(6)
    cache = FeatureCache(tmp_path / "cache")
    mean = np.full(5, 0.05, np.float32)
    stored, _ = cache.features(tiny_model, np.array([4, 2]), lambda ids: stamps[ids], mean)
    found, features = cache.lookup(tiny_model, np.array([1, 2, 3, 4]), mean)
    assert found.tolist() == [False, True, False, True]
    np.testing.assert_array_equal(features, stored[[1, 0]])
    # the same convolutions after another band mean see other inputs: nothing is shared
    found, features = cache.lookup(tiny_model, np.array([2, 4]), np.zeros(5))
    assert not found.any() and features.shape == (0, 3, 8 * 16 * 16)
    assert cache.missing(tiny_model, np.array([2, 4]), np.zeros(5)) == 2
    assert cache.missing(tiny_model, np.array([2, 4]), mean) == 0
    empty = FeatureCache(tmp_path / "nothing").lookup(tiny_model, np.array([1]), mean)
    assert not empty[0].any() and len(empty[1]) == 0


def test_quick_costs_are_measured_without_touching_the_model(tiny_model: StarcNet) -> None:
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    conv_seconds, head_seconds = quick_costs(tiny_model, np.zeros(5), batch_size=16, n_probe=4)
    assert 0 < conv_seconds < 5 and 0 < head_seconds < 5
    assert all(torch.equal(v, before[k]) for k, v in tiny_model.state_dict().items())
    assert all(p.grad is None for p in tiny_model.parameters())


def test_a_retrain_that_only_hurts_keeps_the_starting_weights(tiny_model: StarcNet) -> None:
    stamps, labels = _separable_stamps(40)
    features = conv_features(tiny_model, stamps, np.zeros(5))
    good = finetune_head(tiny_model, features, labels, config=QuickFinetuneConfig(epochs=15, lr=5e-3)).model
    # a learning rate this large wrecks the layers in one step: validation prefers "epoch 0"
    config = QuickFinetuneConfig(epochs=2, lr=1e4, val_fraction=0.5)
    result = finetune_head(good, features, labels, config=config)
    assert result.best_epoch == 0
    assert all(torch.equal(a, b) for a, b in zip(result.model.parameters(), good.parameters(), strict=True))


def test_class_weights_are_scikit_learns_balanced_weights_and_zero_for_absent_classes():
    labels = np.array([0, 0, 0, 1, 3, 3])
    weights = _class_weights(labels, 4).numpy()
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 3]), y=labels)
    np.testing.assert_allclose(weights[[0, 1, 3]], expected, rtol=1e-6)
    assert weights[2] == 0.0
    # balanced: every present class carries the same total weight
    np.testing.assert_allclose(np.bincount(labels, weights=weights[labels], minlength=4)[[0, 1, 3]], 2.0)


def test_class_prior_weights_make_the_labels_count_in_that_mix():
    labels = np.array([0, 0, 0, 1, 3, 3])
    prior = (0.1, 0.6, 0.2, 0.1)
    weights = _class_weights(labels, 4, prior).numpy()
    # class 2 is absent: the prior is renormalised over 0, 1, 3 and the class gets no weight
    totals = np.bincount(labels, weights=weights[labels], minlength=4) / len(labels)
    np.testing.assert_allclose(totals, [0.125, 0.75, 0.0, 0.125], rtol=1e-6)
    with pytest.raises(UserInputError):
        _class_weights(labels, 4, (0.0, 0.0, 1.0, 0.0))
