"""Checkpoints round-trip, are written atomically, and bad files are user errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from starcnet_core.errors import UserInputError
from starcnet_core.nn.checkpoint import LoadedModel, load_model, save_checkpoint
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from starcnet_core.nn.predict import predict_stamps

TINY = StarcNetConfig(width=8, depth=2, pool_after=1, fc_width=8, groups=2)


def test_round_trip_gives_the_same_scores(tmp_path) -> None:
    torch.manual_seed(1)
    model = StarcNet(TINY)
    mean = np.arange(5, dtype=np.float32)
    path = save_checkpoint(
        tmp_path / "m.pt", model, band_mean=mean, label_fingerprint="abc", metrics={"a": 1}
    )
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    loaded = load_model(path)
    assert loaded.config == TINY and loaded.meta["label_fingerprint"] == "abc"
    assert loaded.class_names[3] == "non-cluster"
    np.testing.assert_array_equal(loaded.band_mean, mean)
    stamps = np.random.default_rng(0).normal(size=(3, 5, 32, 32)).astype(np.float32)
    direct = predict_stamps(LoadedModel.from_model(model, mean), stamps)
    again = predict_stamps(loaded, stamps)
    np.testing.assert_allclose(again.scores, direct.scores, rtol=1e-5)
    assert set(again.to_table().colnames) >= {"pred_class", "p1", "p4", "margin"}


def test_bad_files_and_bad_stamps_are_user_errors(tmp_path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserInputError):
        load_model(tmp_path / "junk.pt")
    with pytest.raises(UserInputError):
        load_model(tmp_path / "missing.pt")
    loaded = LoadedModel.from_model(StarcNet(TINY), np.zeros(5))
    with pytest.raises(UserInputError):
        predict_stamps(loaded, np.zeros((0, 5, 32, 32)))
    with pytest.raises(UserInputError):
        predict_stamps(loaded, np.zeros((1, 4, 32, 32)))
    with pytest.raises(UserInputError):
        predict_stamps(loaded, np.full((1, 5, 32, 32), np.nan))
