"""Training: the recipe's split and normalisation, determinism, progress, cancel, options, CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from stamp_testing import TINY, one_thread, tiny_stampset  # noqa: F401 (fixture)

from starcnet_core.cli import main
from starcnet_core.errors import UserInputError
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import load_model
from starcnet_core.training.train import (
    TrainConfig,
    TrainingCancelled,
    resolve_device,
    train_model,
    training_labels,
)

FAST = TrainConfig(epochs=2, batch_size=16, lr=1e-3, balance=False)


pytestmark = pytest.mark.usefixtures("one_thread")


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.state_dict().values()])


def test_training_records_history_keeps_best_epoch_and_normalises_by_train_mean():
    stamps = tiny_stampset()
    events = []
    result = train_model(stamps, FAST, TINY, progress=events.append)
    assert [h["epoch"] for h in result.history] == [1, 2]
    best = max(result.history, key=lambda h: (h["val_accuracy"], -h["val_loss"]))
    assert result.best_epoch == best["epoch"]
    np.testing.assert_allclose(
        result.band_mean, stamps.stamps[result.split.train].mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-6
    )
    assert result.test_metrics["n"] == len(result.split.test) > 0
    steps = [e for e in events if "train_loss" not in e]
    assert [e["step"] for e in steps] == list(range(1, steps[-1]["total_steps"] + 1))
    assert sum("train_loss" in e for e in events) == 2
    assert not result.model.training


def test_same_seed_same_weights_other_seed_other_weights():
    stamps = tiny_stampset(24)
    config = dataclasses.replace(FAST, epochs=1, balance=True)
    first = train_model(stamps, config, TINY)
    second = train_model(stamps, config, TINY)
    other = train_model(stamps, dataclasses.replace(config, seed=1), TINY)
    assert torch.equal(_weights(first.model), _weights(second.model))
    assert not torch.equal(_weights(first.model), _weights(other.model))


def test_should_stop_cancels():
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(TrainingCancelled):
        train_model(tiny_stampset(), FAST, TINY, should_stop=stop)
    assert len(calls) == 3


def test_learns_an_easy_problem():
    stamps = tiny_stampset(96)
    result = train_model(stamps, dataclasses.replace(FAST, epochs=4, batch_size=8, lr=3e-3), TINY)
    # brightness and size encode the class; chance is about 0.4 on this label mix
    assert result.test_metrics["accuracy"] >= 0.7


def test_binary_epsilon_and_init_state():
    stamps = tiny_stampset(24)
    assert training_labels(np.array([0, 1, 2, 3, 4]), binary=True).tolist() == [-1, 0, 0, 1, 1]
    assert training_labels(np.array([0, 1, 2, 3, 4]), True, "binary_123_4").tolist() == [-1, 0, 0, 0, 1]
    with pytest.raises(UserInputError, match="binary grouping"):
        TrainConfig(binary=True, grouping="three_12_3_4")
    binary = train_model(stamps, dataclasses.replace(FAST, epochs=1, binary=True), TINY)
    assert binary.model.head.out_features == 2
    # label_mean differs from the label on a third of the rows: the filter changes the training set
    filtered = train_model(stamps, dataclasses.replace(FAST, epochs=1, epsilon=0.5), TINY)
    unfiltered = train_model(stamps, dataclasses.replace(FAST, epochs=1), TINY)
    assert not np.allclose(filtered.band_mean, unfiltered.band_mean)
    with pytest.raises(UserInputError, match="mean - mode"):
        train_model(stamps, dataclasses.replace(FAST, epsilon=-1.0), TINY)
    # a vanishing learning rate keeps the given initial weights
    start = _weights(unfiltered.model)
    continued = train_model(
        stamps, dataclasses.replace(FAST, epochs=1, lr=1e-12), TINY, init_state=unfiltered.model.state_dict()
    )
    torch.testing.assert_close(_weights(continued.model), start, atol=1e-8, rtol=0)


def test_nan_stamps_are_refused():
    stamps = tiny_stampset(24)
    stamps.stamps[5, 2, 0, 0] = np.nan
    with pytest.raises(UserInputError, match="NaN"):
        train_model(stamps, FAST, TINY)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only fallback")
def test_device_auto_is_the_cpu_without_cuda_and_cuda_is_refused():
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(UserInputError, match="CUDA"):
        resolve_device("cuda")


def test_bad_configuration_is_a_user_error():
    with pytest.raises(UserInputError):
        TrainConfig(split="kfold")
    with pytest.raises(UserInputError):
        TrainConfig(epochs=0)


def test_train_evaluate_baseline_command_lines(tmp_path, capsys):
    stamps = tiny_stampset(40)
    stamps.save(tmp_path / "stamps")
    ckpt = tmp_path / "model.pt"
    args = ["--stamps", str(tmp_path / "stamps")]
    assert (
        main(["train", *args, "--out", str(ckpt), "--preset", "lite", "--epochs", "1", "--no-balance"]) == 0
    )
    loaded = load_model(ckpt)
    assert loaded.meta["extra"]["train_config"]["epochs"] == 1
    assert (
        main(["evaluate", *args, "--model", str(ckpt), "--out", str(tmp_path / "eval"), "--n-boot", "20"])
        == 0
    )
    assert "test split" in capsys.readouterr().out
    assert (tmp_path / "eval" / "report.json").is_file()
    assert (tmp_path / "eval" / "confusion.png").stat().st_size > 1000
    assert (tmp_path / "eval" / "reliability.png").stat().st_size > 1000
    out = tmp_path / "base"
    assert (
        main(["baseline", *args, "--model", str(ckpt), "--out", str(out), "--trees", "5", "--n-boot", "20"])
        == 0
    )
    assert (out / "comparison.png").is_file()
    assert main(["train", "--stamps", str(tmp_path / "missing"), "--out", str(ckpt)]) == 2
    # a model for other bands than the stamps: a one-line error and nothing written
    StampSet(stamps.stamps[:, [1, 3, 4]], stamps.table, ("U", "V", "I")).save(tmp_path / "three")
    bad = ["--stamps", str(tmp_path / "three"), "--model", str(ckpt), "--out", str(tmp_path / "bad")]
    assert main(["baseline", *bad, "--trees", "2"]) == 2
    assert not (tmp_path / "bad").exists()


def test_binary_model_and_other_labels_command_lines(tmp_path, capsys):
    tiny_stampset(40).save(tmp_path / "stamps")
    ckpt = tmp_path / "binary.pt"
    args = ["--stamps", str(tmp_path / "stamps")]
    assert main(["train", *args, "--out", str(ckpt), "--preset", "lite", "--epochs", "1", "--binary"]) == 0
    assert load_model(ckpt).config.n_classes == 2
    relabelled = tiny_stampset(40, seed=5)
    relabelled.save(tmp_path / "other")
    out = tmp_path / "eval"
    assert (
        main(["evaluate", "--stamps", str(tmp_path / "other"), "--model", str(ckpt), "--out", str(out)]) == 0
    )
    report = json.loads((out / "report.json").read_text())
    # not the labels it was trained on: every labelled stamp is evaluated, on the binary problem only
    assert report["subset"] == "all labelled stamps" and report["n"] == 40
    assert set(report) == {"n", "binary_12_34", "grouping", "precision", "subset"}
    # the paper's other binary problem, 1+2+3 against the non-clusters
    other = tmp_path / "b1234.pt"
    assert (
        main(
            [
                "train",
                *args,
                "--out",
                str(other),
                "--preset",
                "lite",
                "--epochs",
                "1",
                "--binary",
                "binary_123_4",
            ]
        )
        == 0
    )
    assert load_model(other).class_names == ("1+2+3", "non-cluster (4)")
    assert main(["evaluate", *args, "--model", str(other), "--out", str(tmp_path / "e2")]) == 0
    assert json.loads((tmp_path / "e2" / "report.json").read_text())["grouping"] == "binary_123_4"


def test_label_fingerprint_ignores_row_order():
    stamps = tiny_stampset(20)
    shuffled = stamps.subset(np.random.default_rng(0).permutation(20))
    assert shuffled.label_fingerprint == stamps.label_fingerprint
    changed = stamps.subset(np.arange(20))
    changed.table["label"][0] = 4 if changed.table["label"][0] != 4 else 1
    assert changed.label_fingerprint != stamps.label_fingerprint
