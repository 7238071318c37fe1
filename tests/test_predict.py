"""Inference: TTA, bf16 path, galaxy and stamp-set predictions with every output file, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from starcnet_core.cli import main
from starcnet_core.errors import UserInputError
from starcnet_core.io.published import read_predictions_csv, read_starcnet_tab
from starcnet_core.nn.checkpoint import LoadedModel, save_checkpoint
from starcnet_core.nn.inference_benchmark import markdown_section, synthetic_stamps
from starcnet_core.nn.model import StarcNet
from starcnet_core.nn.predict import dihedral_views, predict_stamps
from tests.legus_testing import write_galaxy
from tests.stamp_testing import TINY, tiny_stampset


@pytest.fixture
def loaded() -> LoadedModel:
    torch.manual_seed(0)
    return LoadedModel.from_model(StarcNet(TINY), np.full(5, 0.5, dtype=np.float32))


@pytest.fixture
def checkpoint(tmp_path, loaded):
    return save_checkpoint(tmp_path / "tiny.pt", loaded.model, band_mean=loaded.band_mean)


def test_dihedral_views_are_the_eight_distinct_symmetries() -> None:
    stamp = torch.arange(16.0).reshape(1, 1, 4, 4)
    views = dihedral_views(stamp)
    assert len(views) == 8 and torch.equal(views[0], stamp)
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8


def test_tta_averages_the_eight_views_and_summaries_follow_scores(loaded) -> None:
    stamps = tiny_stampset(6).stamps
    tta = predict_stamps(loaded, stamps, tta=True, precision="fp32")
    views = [v.numpy() for v in dihedral_views(torch.from_numpy(np.ascontiguousarray(stamps)))]
    manual = np.mean([predict_stamps(loaded, v, precision="fp32").scores for v in views], axis=0)
    np.testing.assert_allclose(tta.scores, manual, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(tta.scores.sum(axis=1), 1.0, rtol=1e-6)
    ordered = np.sort(tta.scores, axis=1)
    np.testing.assert_allclose(tta.margin, ordered[:, -1] - ordered[:, -2])
    assert tta.classes.tolist() == (tta.scores.argmax(axis=1) + 1).tolist()
    assert np.all(tta.entropy <= np.log(4) + 1e-9) and np.all(tta.entropy > 0)


def test_bf16_path_stays_close_to_fp32_and_batches_do_not_matter(loaded) -> None:
    stamps = tiny_stampset(20).stamps
    exact = predict_stamps(loaded, stamps, precision="fp32", batch_size=7)
    np.testing.assert_allclose(
        predict_stamps(loaded, stamps, precision="fp32").scores, exact.scores, rtol=1e-5
    )
    fast = predict_stamps(loaded, stamps, precision="bf16", batch_size=7)
    assert np.abs(fast.scores - exact.scores).max() < 0.05
    with pytest.raises(UserInputError, match="precision"):
        predict_stamps(loaded, stamps, precision="fp8")


@pytest.mark.slow
def test_predict_galaxy_writes_every_output(tmp_path, checkpoint) -> None:
    galaxy = write_galaxy(tmp_path / "g", [40.0, 5.0, 60.0], [30.0, 30.0, 40.0], [1, 2, 0], field="ngc4242")
    out = tmp_path / "out"
    assert (
        main(["predict", "--model", str(checkpoint), "--galaxy", str(galaxy), "--out", str(out), "--tta"])
        == 0
    )
    names = sorted(p.name for p in out.iterdir())
    expected = [
        "ngc4242.reg",
        "ngc4242.tab",
        "ngc4242_predictions.png",
        "ngc4242_scores.csv",
        "predictions.csv",
    ]
    assert names == expected
    tab = read_starcnet_tab(out / "ngc4242.tab")
    assert tab["id"].tolist() == [1, 3] and set(tab["pred_class"]) <= {1, 2, 3, 4}
    assert read_predictions_csv(out / "predictions.csv")["pred_class"].tolist() == tab["pred_class"].tolist()
    scores = (out / "ngc4242_scores.csv").read_text().splitlines()
    assert len(scores) == 4 and ",edge," in scores[2]
    assert (out / "ngc4242.reg").read_text().count("circle(") == 2
    assert (out / "ngc4242_predictions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_stampset(tmp_path, checkpoint) -> None:
    stamps = tiny_stampset(10).save(tmp_path / "set")
    out = tmp_path / "out"
    assert main(["predict", "--model", str(checkpoint), "--stamps", str(stamps), "--out", str(out)]) == 0
    lines = (out / "scores.csv").read_text().splitlines()
    assert lines[0].startswith("galaxy,id,label,true_class,pred_class,p1") and len(lines) == 11


def test_bad_input_is_a_user_error_with_no_outputs(tmp_path, loaded, capsys) -> None:
    data = tiny_stampset(4)
    nan = data.stamps.copy()
    nan[2, 1, 5, 5] = np.nan
    data.stamps = nan
    stamps = data.save(tmp_path / "nan")
    other_bands = save_checkpoint(
        tmp_path / "bands.pt", loaded.model, band_mean=loaded.band_mean, bands=("U", "B", "V", "I", "H")
    )
    big = StarcNet(replace(TINY, stamp_size=48))
    other_size = save_checkpoint(tmp_path / "size.pt", big, band_mean=loaded.band_mean)
    good = save_checkpoint(tmp_path / "good.pt", loaded.model, band_mean=loaded.band_mean)
    (tmp_path / "corrupt.pt").write_bytes(good.read_bytes()[:500])
    clean = tiny_stampset(4).save(tmp_path / "clean")
    cases = [
        (good, stamps, "NaN"),
        (other_bands, clean, "bands"),
        (other_size, clean, "expects"),
        (tmp_path / "corrupt.pt", clean, "not a readable checkpoint"),
    ]
    for model, source, message in cases:
        out = tmp_path / f"out-{model.stem}"
        assert main(["predict", "--model", str(model), "--stamps", str(source), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_benchmark_command_reports_consistent_numbers(capsys) -> None:
    assert main(["benchmark", "inference", "--json", "--n", "6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 6 and 0.0 <= result["identical_classes"] <= 1.0
    assert result["default_speedup"] == pytest.approx(result["default_obj_s"] / result["reference_obj_s"])
    assert result["lite_speedup"] == pytest.approx(result["lite_obj_s"] / result["reference_obj_s"])
    assert result["max_score_difference"] < 0.05
    section = markdown_section(result)
    assert section.startswith("## Inference") and f"{result['default_obj_s']:.1f}" in section


def test_synthetic_stamps_are_seeded_centred_sources() -> None:
    stamps = synthetic_stamps(3, seed=1)
    assert stamps.shape == (3, 5, 32, 32) and stamps.dtype == np.float32
    np.testing.assert_array_equal(stamps, synthetic_stamps(3, seed=1))
    assert np.all(stamps[:, :, 15:17, 15:17].mean(axis=(2, 3)) > stamps[:, :, :3, :3].mean(axis=(2, 3)))
