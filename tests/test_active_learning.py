"""Active learning: uncertainty measures, batch selection, simulated labelling curves."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.training.active_learning import (
    label_ratios,
    labelling_curve,
    labels_to_reach,
    mean_curve,
    select_batch,
    uncertainty,
)


def test_uncertainty_measures_order_confident_before_unsure() -> None:
    scores = np.array([[0.97, 0.01, 0.01, 0.01], [0.5, 0.4, 0.05, 0.05], [0.25, 0.25, 0.25, 0.25]])
    for measure in ("entropy", "margin", "least_confident"):
        values = uncertainty(scores, measure)
        assert values[0] < values[1] < values[2]
    np.testing.assert_allclose(uncertainty(scores, "margin"), [0.04, 0.9, 1.0])
    np.testing.assert_allclose(uncertainty(scores, "entropy")[2], np.log(4))
    with pytest.raises(ValueError):
        uncertainty(scores, "variance")


def test_select_batch_takes_most_uncertain_or_random() -> None:
    scores = np.array([[0.9, 0.1], [0.55, 0.45], [0.6, 0.4], [1.0, 0.0]])
    ids = np.array([10, 11, 12, 13])
    assert select_batch(scores, ids, 2, strategy="margin").tolist() == [11, 12]
    chosen = select_batch(None, ids, 3, strategy="random", rng=np.random.default_rng(1))
    assert len(set(chosen.tolist())) == 3 and set(chosen.tolist()) <= set(ids.tolist())
    assert len(select_batch(scores, ids, 10)) == 4


def _toy_problem(seed: int = 0):
    """1-D two-class pool with a sharp boundary at 0: labels near it are worth most."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 2000)
    oracle = (x > 0.0).astype(int) + 1
    test_x = np.linspace(-1, 1, 401)

    def fit_predict(index: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
        lo = x[index][labels == 1].max(initial=-1.0)
        hi = x[index][labels == 2].min(initial=1.0)
        threshold = (lo + hi) / 2
        p2 = 1 / (1 + np.exp(np.clip(-(x - threshold) / max(hi - lo, 1e-6), -50, 50)))
        accuracy = np.mean((test_x > threshold) == (test_x > 0))
        return np.stack([1 - p2, p2], axis=1), float(accuracy)

    return fit_predict, oracle


def test_uncertainty_sampling_beats_random_on_a_toy_boundary() -> None:
    fit_predict, oracle = _toy_problem()
    common = dict(initial=10, batch_size=5, budget=60, seed=0)
    random_curve = labelling_curve(fit_predict, oracle, strategy="random", **common)
    active_curve = labelling_curve(fit_predict, oracle, strategy="margin", **common)
    assert [p["n_labels"] for p in random_curve] == list(range(10, 61, 5))
    target = random_curve[-1]["accuracy"]
    needed = labels_to_reach(active_curve, target)
    assert needed is not None and needed <= 30
    assert labels_to_reach(random_curve, 1.01) is None


def test_labelling_curve_records_every_measurement_fit_predict_returns() -> None:
    fit_predict, oracle = _toy_problem()

    def with_extras(index: np.ndarray, labels: np.ndarray):
        scores, accuracy = fit_predict(index, labels)
        return scores, {"accuracy": accuracy, "n_class_2": float(np.sum(labels == 2))}

    curve = labelling_curve(with_extras, oracle, strategy="margin", initial=10, batch_size=5, budget=20)
    assert [set(p) for p in curve] == [{"n_labels", "accuracy", "n_class_2"}] * 3
    assert all(0 <= p["n_class_2"] <= p["n_labels"] for p in curve)
    assert labels_to_reach(curve, 1.0, key="n_class_2") == 10


def _curve(accuracies: list[float], step: int = 100) -> list[dict]:
    return [{"n_labels": step * (i + 1), "accuracy": a} for i, a in enumerate(accuracies)]


def test_label_ratios_read_each_campaign_against_its_own_random_end_point() -> None:
    random_curves = [_curve([0.5, 0.6, 0.7, 0.8]), _curve([0.5, 0.55, 0.6, 0.65])]
    active_curves = [_curve([0.5, 0.8, 0.9, 0.9]), _curve([0.5, 0.6, 0.6, 0.6])]
    ratios = label_ratios(random_curves, active_curves)
    # campaign 1 reaches 0.8 at 200 of 400 labels; campaign 2 never reaches 0.65
    np.testing.assert_array_equal(ratios, [0.5, np.inf])
    assert np.median(label_ratios(random_curves * 2, active_curves + [active_curves[0]] * 2)) == 0.5
    with pytest.raises(ValueError):
        label_ratios(random_curves, active_curves[:1])


def test_mean_curve_averages_campaigns_point_by_point() -> None:
    mean = mean_curve([_curve([0.4, 0.6]), _curve([0.6, 0.8])])
    assert [p["n_labels"] for p in mean] == [100, 200]
    np.testing.assert_allclose([p["accuracy"] for p in mean], [0.5, 0.7])
    np.testing.assert_allclose([p["accuracy_std"] for p in mean], [0.1, 0.1])
    with pytest.raises(ValueError):
        mean_curve([_curve([0.4, 0.6]), _curve([0.4, 0.6], step=50)])
    with pytest.raises(ValueError):
        mean_curve([])


def test_random_labelling_needs_no_scores_but_uncertainty_does() -> None:
    fit_predict, oracle = _toy_problem()

    def accuracy_only(index: np.ndarray, labels: np.ndarray):
        return None, fit_predict(index, labels)[1]

    common = dict(initial=10, batch_size=5, budget=20, seed=0)
    scored = labelling_curve(fit_predict, oracle, strategy="random", **common)
    assert labelling_curve(accuracy_only, oracle, strategy="random", **common) == scored
    with pytest.raises(ValueError, match="needs the pool's scores"):
        labelling_curve(accuracy_only, oracle, strategy="margin", **common)


def test_bald_is_high_where_passes_disagree_not_where_they_agree_on_an_ambiguous_answer():
    from starcnet_core.training.active_learning import select_batch, uncertainty

    agree_ambiguous = np.tile([0.25, 0.25, 0.25, 0.25], (4, 1))
    disagree = np.array([[0.97, 0.01, 0.01, 0.01], [0.01, 0.97, 0.01, 0.01]] * 2)
    samples = np.stack([agree_ambiguous, disagree], axis=1)  # (S=4, N=2, K=4)
    bald = uncertainty(samples, "bald")
    assert bald[0] == pytest.approx(0.0, abs=1e-9)
    assert bald[1] > 0.6
    # entropy of the mean cannot tell the two apart as well: both are near-uniform on average
    assert uncertainty(samples, "entropy")[0] >= uncertainty(samples, "entropy")[1]
    assert select_batch(samples, np.array([10, 11]), 1, strategy="bald").tolist() == [11]
    with pytest.raises(ValueError, match="bald"):
        uncertainty(agree_ambiguous, "bald")


def test_mc_dropout_passes_vary_with_dropout_and_leave_the_model_in_eval_mode():
    import torch

    from starcnet_core.nn.model import PRESETS, StarcNet
    from starcnet_core.training.finetune import conv_features, head_mc_probabilities, head_probabilities

    torch.manual_seed(0)
    model = StarcNet(PRESETS["lite"]).eval()
    stamps = np.random.default_rng(0).normal(size=(6, 5, 32, 32)).astype(np.float32)
    features = conv_features(model, stamps, np.zeros(5, np.float32))
    passes = head_mc_probabilities(model, features, n_samples=8, seed=1)
    assert passes.shape == (8, 6, 4)
    np.testing.assert_allclose(passes.sum(-1), 1.0)
    assert passes.std(axis=0).max() > 1e-3
    assert not model.training
    np.testing.assert_array_equal(passes, head_mc_probabilities(model, features, n_samples=8, seed=1))
    # without dropout every pass is the deterministic score
    for path in model.pathways:
        path.dropout.p = 0.0
    still = head_mc_probabilities(model, features, n_samples=3)
    np.testing.assert_allclose(still[0], head_probabilities(model, features), atol=1e-6)


def test_random_share_draws_part_of_the_batch_at_random_and_the_rest_by_uncertainty() -> None:
    # candidates 0..9 are the most uncertain (margin 0), 10..99 certain
    scores = np.tile([1.0, 0.0], (100, 1))
    scores[:10] = [0.5, 0.5]
    ids = np.arange(100)
    pure = select_batch(scores, ids, 10, strategy="margin", rng=np.random.default_rng(0))
    assert sorted(pure.tolist()) == list(range(10))
    mixed = select_batch(scores, ids, 10, strategy="margin", rng=np.random.default_rng(0), random_share=0.5)
    assert len(set(mixed.tolist())) == 10
    # the uncertain half is uncertain; the random half falls mostly among the 90 certain candidates
    assert sum(i < 10 for i in mixed.tolist()) < 10
    assert set(range(10)) & set(mixed.tolist())
    assert select_batch(scores, ids, 10, strategy="margin", random_share=1.0).tolist() != pure.tolist()
    with pytest.raises(ValueError, match="random_share"):
        select_batch(scores, ids, 10, random_share=1.5)


def test_diverse_batch_spreads_over_clusters_of_equally_uncertain_candidates() -> None:
    # 40 uncertain candidates: 30 near-copies in one place, 10 spread over two other places
    rng = np.random.default_rng(0)
    embedding = np.concatenate(
        [rng.normal(0, 0.01, (30, 2)), rng.normal(5, 0.01, (5, 2)), rng.normal(-5, 0.01, (5, 2))]
    )
    scores = np.tile([0.5, 0.5], (40, 1))
    scores[:30] = [0.52, 0.48]  # the near-copies are slightly more uncertain by margin
    ids = np.arange(40)
    plain = select_batch(scores, ids, 3, strategy="margin")
    assert set(plain.tolist()) <= set(range(30, 40))
    scores[30:] = [0.55, 0.45]  # now the copies are the most uncertain: a plain batch takes only copies
    plain = select_batch(scores, ids, 3, strategy="margin")
    assert set(plain.tolist()) <= set(range(30))
    diverse = select_batch(scores, ids, 3, strategy="margin", embedding=embedding, preselect=20)
    places = {int(np.sign(np.round(embedding[i, 0]))) for i in diverse}
    assert len(set(diverse.tolist())) == 3 and places == {-1, 0, 1}


def test_labelling_curve_passes_the_embedding_for_diverse_batches() -> None:
    fit_predict, oracle = _toy_problem()
    x = np.linspace(-1, 1, len(oracle))[:, None]

    def with_embedding(index: np.ndarray, labels: np.ndarray):
        return (*fit_predict(index, labels), x)

    common = dict(initial=10, batch_size=5, budget=30, seed=0)
    curve = labelling_curve(
        with_embedding, oracle, strategy="margin", diverse=True, random_share=0.2, **common
    )
    assert [p["n_labels"] for p in curve] == [10, 15, 20, 25, 30]
    with pytest.raises(ValueError, match="embedding"):
        labelling_curve(fit_predict, oracle, strategy="margin", diverse=True, **common)
