"""The evaluation report (checked against hand-computed values) and its figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from starcnet_core.errors import UserInputError
from starcnet_core.evaluation.evaluate import bootstrap_accuracy, evaluate, summary
from starcnet_core.evaluation.figures import plot_comparison, write_figures


def _onehot(classes, confidence=0.7):
    scores = np.full((len(classes), 4), (1 - confidence) / 3)
    scores[np.arange(len(classes)), np.asarray(classes) - 1] = confidence
    return scores


def test_groupings_of_section_5_2_by_hand():
    y_true = np.array([1, 2, 3, 4, 0])
    scores = _onehot([2, 1, 4, 3, 1])
    report = evaluate(y_true, scores, n_boot=50)
    assert report["n"] == 4  # the unlabelled row is left out
    assert report["four_class"]["accuracy"] == 0.0
    assert report["binary_12_34"]["accuracy"] == 1.0
    assert report["binary_123_4"]["accuracy"] == 0.5  # 3->4 and 4->3 are wrong
    assert report["three_12_3_4"]["accuracy"] == 0.5
    assert report["binary_12_34"]["confusion_counts"] == [[2, 0], [0, 2]]
    assert report["four_class"]["confusion_counts"][0] == [0, 1, 0, 0]


def test_confusion_rows_normalised_and_pr_curves():
    rng = np.random.default_rng(0)
    y_true = rng.integers(1, 5, 400)
    predicted = np.where(rng.random(400) < 0.7, y_true, rng.integers(1, 5, 400))
    report = evaluate(y_true, _onehot(predicted), n_boot=200)
    normalised = np.array(report["four_class"]["confusion_normalised"])
    np.testing.assert_allclose(normalised.sum(axis=1), 1, atol=1e-3)
    counts = np.array(report["four_class"]["confusion_counts"])
    assert counts.sum() == 400 and np.trace(counts) == int((predicted == y_true).sum())
    low, high = report["four_class"]["accuracy_ci95"]
    assert low < report["four_class"]["accuracy"] < high and high - low < 0.15
    for cls, entry in report["per_class"].items():
        assert entry["support"] == int((y_true == int(cls)).sum())
        assert len(entry["pr_curve"]["recall"]) == len(entry["pr_curve"]["precision"])
        assert 0 < entry["average_precision"] <= 1
    json.dumps(report)  # JSON-ready


def test_per_galaxy_spearman_and_truth_agreement():
    # three galaxies at increasing distance with accuracies 1.0, 0.5, 0.0: rho = -1
    y_true = np.array([1, 2, 1, 2, 1, 2])
    predicted = np.array([1, 2, 1, 3, 3, 3])
    galaxy = np.array(["a", "a", "b", "b", "c", "c"])
    distance = np.array([3.0, 3.0, 6.0, 6.0, 9.0, 9.0])
    truth = np.array([1, 2, 1, 3, 0, 0])
    report = evaluate(
        y_true, _onehot(predicted), galaxy=galaxy, distance_mpc=distance, truth=truth, n_boot=20
    )
    per = {r["galaxy"]: r for r in report["per_galaxy"]["galaxies"]}
    assert [per[g]["accuracy"] for g in "abc"] == [1.0, 0.5, 0.0]
    assert report["per_galaxy"]["spearman"]["accuracy"]["rho"] == pytest.approx(-1.0)
    assert report["agreement"]["truth"]["n"] == 4 and report["agreement"]["truth"]["accuracy"] == 1.0
    assert report["agreement"]["human_vs_truth"]["accuracy"] == 0.75
    assert summary(report)["truth_accuracy"] == 1.0


def test_score_distributions_follow_the_winning_score():
    scores = np.vstack([_onehot([1, 1], 0.9), _onehot([3], 0.4)])
    dist = evaluate(np.array([1, 1, 3]), scores, n_boot=10)["score_distributions"]
    assert dist["1"]["n"] == 2 and dist["1"]["median"] == pytest.approx(0.9)
    assert dist["3"]["median"] == pytest.approx(0.4) and dist["2"]["n"] == 0
    assert sum(dist["1"]["histogram"]) == 2


def test_bootstrap_and_bad_input():
    assert bootstrap_accuracy(np.ones(10, dtype=bool), 50) == (1.0, 1.0)
    with pytest.raises(UserInputError):
        evaluate(np.array([1, 2]), np.zeros((2, 3)))
    with pytest.raises(UserInputError):
        evaluate(np.array([0, 0]), np.zeros((2, 4)))


def test_figures_are_written(tmp_path):
    rng = np.random.default_rng(1)
    y_true = rng.integers(1, 5, 60)
    report = evaluate(
        y_true,
        _onehot(rng.integers(1, 5, 60)),
        galaxy=np.array(list("abc"))[np.arange(60) % 3],
        distance_mpc=np.arange(60) % 3 * 2.0 + 3,
        n_boot=20,
    )
    paths = write_figures(report, tmp_path)
    assert {p.name for p in paths} == {
        "confusion.png",
        "precision_recall.png",
        "score_distributions.png",
        "reliability.png",
        "accuracy_vs_distance.png",
    }
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    plot_comparison({"a": report, "b": report}).savefig(tmp_path / "cmp.png")
    assert (tmp_path / "cmp.png").stat().st_size > 1000


def test_agreement_with_individual_experts():
    y_true = np.array([1, 2, 3, 4])
    votes = np.array([[1, 1, 0], [2, 3, 2], [3, 3, 4], [4, 4, 4]])
    predicted = np.array([1, 3, 3, 1])
    report = evaluate(y_true, _onehot(predicted), votes=votes, n_boot=10)
    experts = report["agreement"]["experts"]
    # expert 1 always agrees with the mode, expert 2 on 3/4, expert 3 on 2/3 (one missing vote)
    assert [e["vs_mode"] for e in experts["experts"]] == [1.0, 0.75, pytest.approx(2 / 3)]
    # the model (1, 3, 3, 1) agrees with expert 1 on 2/4, expert 2 on 3/4, expert 3 on 0/3
    assert [e["vs_model"] for e in experts["experts"]] == [0.5, 0.75, 0.0]
    assert experts["model_vs_expert"] == pytest.approx(np.mean([0.5, 0.75, 0.0]))
    # pairs: (1,2) 3/4, (1,3) 2/3, (2,3) 1/3
    assert experts["expert_vs_expert"] == pytest.approx(np.mean([0.75, 2 / 3, 1 / 3]))
    assert summary(report)["model_vs_expert"] == experts["model_vs_expert"]


def test_stamp_set_agreement_leaves_out_the_tie_breakers():
    from astropy.table import Table

    from starcnet_core.evaluation.evaluate import evaluate_stampset
    from starcnet_core.io.stampset import StampSet

    first_three = np.array([[1, 1, 1], [2, 2, 3], [3, 4, 3], [4, 4, 4], [1, 2, 3], [0, 0, 0]])
    tie_breaker = np.array([0, 0, 0, 0, 2, 0])  # asked only where the three tie
    table = Table(
        {
            "galaxy": ["g"] * 6,
            "id": np.arange(1, 7),
            "distance_mpc": np.full(6, 10.0),
            "label": [1, 2, 3, 4, 2, 0],
            "vote_1": first_three[:, 0],
            "vote_2": first_three[:, 1],
            "vote_3": first_three[:, 2],
            "vote_4": tie_breaker,
        }
    )
    stamps = StampSet(np.zeros((6, 5, 4, 4), np.float32), table)
    experts = evaluate_stampset(stamps, _onehot([1, 2, 3, 4, 2, 1]), n_boot=10)["agreement"]["experts"]
    alone = evaluate(np.array([1, 2, 3, 4, 2]), _onehot([1, 2, 3, 4, 2]), votes=first_three[:5], n_boot=10)
    assert [e["expert"] for e in experts["experts"]] == [1, 2, 3]
    assert experts["expert_vs_expert"] == alone["agreement"]["experts"]["expert_vs_expert"]
