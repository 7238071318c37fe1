"""Active learning: uncertainty measures, batch selection, simulated labelling curves."""

from __future__ import annotations

import numpy as np
import pytest

from starcnet_core.active_learning import labelling_curve, labels_to_reach, select_batch, uncertainty


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
