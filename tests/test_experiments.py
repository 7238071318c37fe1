"""The paper's repeated-training experiments: leave-one-galaxy-out and bootstrap by retraining."""

from __future__ import annotations

import json

import numpy as np
import pytest
from stamp_testing import TINY, one_thread, tiny_stampset  # noqa: F401 (fixture)

from starcnet_core.cli import main
from starcnet_core.errors import UserInputError
from starcnet_core.training.experiments import (
    BOOTSTRAP_RETRAIN_METHOD,
    bootstrap_retraining,
    leave_one_galaxy_out,
)
from starcnet_core.training.train import TrainConfig

FAST = TrainConfig(epochs=1, batch_size=16, lr=1e-3, balance=False)


pytestmark = pytest.mark.usefixtures("one_thread")


def test_leave_one_galaxy_out_classifies_every_galaxy_once_and_averages_the_confusions():
    stamps = tiny_stampset(60)
    lines = []
    report = leave_one_galaxy_out(stamps, FAST, TINY, progress=lines.append)
    assert [row["galaxy"] for row in report["galaxies"]] == ["ngc1", "ngc2", "ngc3"]
    assert sum(row["n"] for row in report["galaxies"]) == 60  # every labelled stamp left out once
    assert len(lines) == 3 and "without ngc2" in lines[1]
    mean = np.asarray(report["mean_confusion"])
    per_galaxy = []
    for row in report["galaxies"]:
        counts = np.asarray(row["confusion"], dtype=float)
        per_galaxy.append(
            counts / np.where(counts.sum(1, keepdims=True) > 0, counts.sum(1, keepdims=True), np.nan)
        )
        assert row["accuracy"] == pytest.approx(np.trace(counts) / counts.sum())
    np.testing.assert_allclose(mean, np.nan_to_num(np.nanmean(per_galaxy, axis=0)))
    assert 0 <= report["mean_confusion_accuracy"] <= 1
    json.dumps(report)


def test_bootstrap_retraining_varies_the_network_and_keeps_the_test_set():
    stamps = tiny_stampset(80)
    report = bootstrap_retraining(stamps, FAST, TINY, n_samples=3)
    assert report["method"] == BOOTSTRAP_RETRAIN_METHOD
    assert len(report["accuracy"]["runs"]) == 3
    assert report["accuracy"]["mean"] == pytest.approx(np.mean(report["accuracy"]["runs"]))
    assert report["n_test"] == 16  # the split's 20% test rows, the same for every run
    with pytest.raises(UserInputError):
        bootstrap_retraining(stamps, FAST, TINY, n_samples=1)


def test_experiments_refuse_one_galaxy_and_binary_networks():
    with pytest.raises(UserInputError, match="two galaxies"):
        leave_one_galaxy_out(tiny_stampset(24, galaxies=("only",)), FAST, TINY)
    with pytest.raises(UserInputError, match="binary"):
        leave_one_galaxy_out(tiny_stampset(24), TrainConfig(binary=True), TINY)


def test_experiment_command_line_writes_its_report(tmp_path, capsys):
    tiny_stampset(48).save(tmp_path / "stamps")
    out = tmp_path / "loo.json"
    args = ["--stamps", str(tmp_path / "stamps"), "--preset", "lite", "--epochs", "1", "--batch-size", "16"]
    assert main(["experiment", "loo", *args, "--out", str(out), "--galaxy", "ngc1", "--galaxy", "ngc3"]) == 0
    report = json.loads(out.read_text())
    assert [row["galaxy"] for row in report["galaxies"]] == ["ngc1", "ngc3"]
    assert "pooled_accuracy" in json.loads(capsys.readouterr().out)
    assert main(["experiment", "bootstrap", *args, "--out", str(tmp_path / "missing" / "b.json")]) == 2
    assert not (tmp_path / "missing").exists()


def test_baseline_reports_on_validation_by_default_as_the_paper_and_on_test_when_asked(tmp_path):
    from starcnet_core.training.train import split_for

    stamps = tiny_stampset(80)
    stamps.save(tmp_path / "stamps")
    split = split_for(stamps, TrainConfig())
    args = ["baseline", "--stamps", str(tmp_path / "stamps"), "--trees", "3", "--n-boot", "5"]
    assert main([*args, "--out", str(tmp_path / "val")]) == 0
    val = json.loads((tmp_path / "val" / "baseline_report.json").read_text())
    assert val["evaluated_on"] == "val" and val["n"] == len(split.val)
    assert main([*args, "--out", str(tmp_path / "test"), "--on", "test"]) == 0
    test = json.loads((tmp_path / "test" / "comparison.json").read_text())
    assert test["evaluated_on"] == "test" and test["bagged trees"]["n"] == len(split.test)
