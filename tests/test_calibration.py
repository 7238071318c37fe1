"""Temperature scaling, the expected calibration error and calibrated checkpoints."""

from __future__ import annotations

import numpy as np
import torch

from starcnet_core.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    reliability_curve,
)
from starcnet_core.evaluation.evaluate import evaluate
from starcnet_core.nn.checkpoint import load_model, save_checkpoint
from starcnet_core.nn.model import PRESETS, StarcNet
from starcnet_core.nn.predict import predict_stamps


def _overconfident(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits 3x too sharp for the classes they were drawn from: the true temperature is 3."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0, 1.5, size=(n, 4))
    probabilities = apply_temperature(true_logits, 1.0)
    targets = np.array([rng.choice(4, p=p) for p in probabilities])
    return 3.0 * true_logits, targets


def test_fit_temperature_recovers_the_overconfidence_and_lowers_the_ece():
    logits, targets = _overconfident()
    temperature = fit_temperature(logits, targets)
    assert 2.7 < temperature < 3.3
    before = expected_calibration_error(apply_temperature(logits, 1.0), targets)
    after = expected_calibration_error(apply_temperature(logits, temperature), targets)
    assert before > 0.1
    assert after < 0.03
    # scaling never changes the predicted class
    np.testing.assert_array_equal(apply_temperature(logits, temperature).argmax(1), logits.argmax(1))


def test_fit_temperature_without_validation_rows_is_the_identity():
    assert fit_temperature(np.zeros((0, 4)), np.zeros(0, dtype=int)) == 1.0


def test_reliability_curve_counts_bins_and_leaves_empty_ones_empty():
    scores = np.array([[0.95, 0.05, 0, 0], [0.55, 0.45, 0, 0], [0.97, 0.03, 0, 0], [1.0, 0, 0, 0]])
    targets = np.array([0, 1, 0, 0])
    curve = reliability_curve(scores, targets, n_bins=10)
    assert curve["count"][9] == 3 and curve["count"][5] == 1 and sum(curve["count"]) == 4
    assert curve["accuracy"][9] == 1.0 and curve["accuracy"][5] == 0.0
    assert curve["accuracy"][0] is None
    ece = expected_calibration_error(scores, targets, n_bins=10)
    expected = (3 * abs(1 - np.mean([0.95, 0.97, 1.0])) + 1 * 0.55) / 4
    np.testing.assert_allclose(ece, expected)


def test_evaluate_reports_calibration_and_distance_bins():
    rng = np.random.default_rng(1)
    y = rng.integers(1, 5, 200)
    scores = rng.dirichlet(np.ones(4), 200)
    distance = np.where(np.arange(200) < 120, 4.0, 12.0)
    report = evaluate(y, scores, galaxy=np.where(distance < 5, "a", "b"), distance_mpc=distance, n_boot=10)
    assert 0 <= report["calibration"]["ece"] <= 1
    assert sum(report["calibration"]["reliability"]["count"]) == 200
    bins = report["per_galaxy"]["distance_bins"]
    assert [b["n"] for b in bins] == [120, 0, 0, 0, 80]
    pred = scores.argmax(1) + 1
    np.testing.assert_allclose(bins[0]["accuracy"], (pred[:120] == y[:120]).mean())
    assert bins[1]["accuracy"] is None


def test_checkpoint_temperature_calibrates_every_prediction(tmp_path):
    torch.manual_seed(0)
    model = StarcNet(PRESETS["lite"]).eval()
    stamps = np.random.default_rng(0).normal(size=(16, 5, 32, 32)).astype(np.float32)
    mean = np.zeros(5, np.float32)
    plain = save_checkpoint(tmp_path / "plain.pt", model, band_mean=mean)
    sharp = save_checkpoint(tmp_path / "cool.pt", model, band_mean=mean, temperature=0.25)
    p1 = predict_stamps(load_model(plain), stamps, precision="fp32").scores
    loaded = load_model(sharp)
    assert loaded.temperature == 0.25
    p2 = predict_stamps(loaded, stamps, precision="fp32").scores
    np.testing.assert_array_equal(p1.argmax(1), p2.argmax(1))
    # a temperature below 1 sharpens: the top score rises for every stamp
    assert (p2.max(1) > p1.max(1)).all()
    logp1 = np.log(p1)
    np.testing.assert_allclose(apply_temperature(logp1, 0.25), p2, atol=1e-5)


def test_training_fits_the_temperature_on_validation_and_the_cli_checkpoint_keeps_it(tmp_path):
    from stamp_testing import TINY, tiny_stampset

    from starcnet_core.cli import main
    from starcnet_core.training.train import TrainConfig, train_model

    stamps = tiny_stampset(n=200)
    result = train_model(stamps, TrainConfig(epochs=2, batch_size=32, lr=1e-3, balance=False), TINY)
    assert result.temperature == result.calibration["temperature"]
    assert result.temperature != 1.0
    assert result.calibration["val_ece_after"] <= result.calibration["val_ece_before"] + 1e-9
    assert 0 <= result.test_metrics["ece"] <= 1
    stamps.save(tmp_path / "set")
    out = tmp_path / "m.pt"
    args = [
        "--stamps",
        str(tmp_path / "set"),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--preset",
        "lite",
        "--no-balance",
    ]
    assert main(["train", *args]) == 0
    loaded = load_model(out)
    assert loaded.temperature == loaded.meta["extra"]["calibration"]["temperature"]


def _prior_shifted(n: int = 3000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a network trained towards equal classes on a survey where class 4 dominates."""
    rng = np.random.default_rng(seed)
    balanced = rng.normal(0, 1.5, size=(n, 4))
    survey = balanced + np.log([0.15, 0.2, 0.2, 0.45])  # what the scores should have been
    targets = np.array([rng.choice(4, p=p) for p in apply_temperature(survey, 1.0)])
    return balanced, targets


def test_fit_calibration_picks_temperature_for_overconfidence_and_vector_scaling_for_a_prior_shift():
    from starcnet_core.calibration import fit_calibration

    logits, targets = _overconfident()
    assert fit_calibration(logits, targets).kind == "temperature"
    assert 2.7 < fit_calibration(logits, targets).temperature < 3.3
    logits, targets = _prior_shifted()
    fitted = fit_calibration(logits, targets)
    # only a per-class bias can undo the balancing; it wins on held-out folds of the validation set
    assert fitted.kind in ("vector", "matrix")
    assert fitted.cv_nll[fitted.kind] < fitted.cv_nll["temperature"]
    bias = fitted.bias - fitted.bias.mean()
    assert bias[3] > 0.3 and bias.argmax() == 3
    before = expected_calibration_error(apply_temperature(logits, 1.0), targets)
    assert expected_calibration_error(fitted.apply(logits), targets) < before - 0.005
    # too few validation rows for 2K or K^2 + K numbers: temperature scaling
    assert fit_calibration(logits[:150], targets[:150]).kind == "temperature"


def test_calibrate_folds_an_affine_calibration_into_the_networks_last_layer():
    from starcnet_core.calibration import fit_calibration
    from starcnet_core.training.train import calibrate

    class Net(torch.nn.Module):  # any network whose logits come out of a last linear layer ``head``
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Linear(6, 8)
            self.head = torch.nn.Linear(8, 4)

        def forward(self, x):
            return self.head(torch.tanh(self.body(x)))

    torch.manual_seed(0)
    model = Net().eval()
    inputs = torch.randn(2000, 6)
    with torch.no_grad():
        logits = model(inputs).double().numpy()
    # targets that make the network's scores too flat and prior-shifted towards class 4
    rng = np.random.default_rng(0)
    shifted = apply_temperature(logits * 3 + np.log([0.15, 0.2, 0.2, 0.45]), 1.0)
    targets = np.array([rng.choice(4, p=p) for p in shifted])
    expected = fit_calibration(logits, targets)
    assert expected.kind != "temperature"
    temperature, record = calibrate(logits, targets, model)
    assert temperature == 1.0 and record["kind"] == expected.kind
    with torch.no_grad():
        folded = torch.softmax(model(inputs).double(), dim=1).numpy()
    np.testing.assert_allclose(folded, expected.apply(logits), atol=1e-5)
    assert record["val_ece_after"] < record["val_ece_before"]
