"""Inference: TTA, the backends and their checks, galaxy and stamp-set predictions, bad input."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import replace

import numpy as np
import pytest
import torch

from starcnet_core.cli import main
from starcnet_core.errors import UserInputError
from starcnet_core.io.published import read_predictions_csv, read_starcnet_tab
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn import backends
from starcnet_core.nn.checkpoint import LoadedModel, calibration_sample, load_model, save_checkpoint
from starcnet_core.nn.inference_benchmark import (
    int8_agreement,
    markdown_section,
    reference_scores,
    synthetic_stamps,
)
from starcnet_core.nn.model import StarcNet
from starcnet_core.nn.predict import dihedral_views, predict_stamps
from tests.legus_testing import write_galaxy
from tests.stamp_testing import TINY, tiny_stampset


@pytest.fixture(autouse=True)
def fresh_backends(monkeypatch) -> None:
    """Every test starts without backends built by an earlier one."""
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())


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
    assert fast.precision == "bf16" and exact.precision == "fp32"
    assert np.abs(fast.scores - exact.scores).max() < 0.05
    with pytest.raises(UserInputError, match="precision"):
        predict_stamps(loaded, stamps, precision="fp8")


def test_fp32_is_the_published_loop_bit_for_bit(loaded) -> None:
    stamps = tiny_stampset(64, seed=3).stamps
    first = predict_stamps(loaded, stamps, precision="fp32", batch_size=64)
    again = predict_stamps(loaded, stamps, precision="fp32", batch_size=64)
    published = torch.softmax(
        torch.from_numpy(reference_scores(loaded.model, stamps, loaded.band_mean)), dim=1
    )
    np.testing.assert_array_equal(first.scores, again.scores)
    np.testing.assert_array_equal(first.scores, published.numpy())
    # any batch runs in parts of FP32_PART stamps (faster on CPUs), with the published bits
    seen = []
    hook = loaded.model.pathways[0].features.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    for batch_size in (128, 50):
        scores = predict_stamps(loaded, stamps, precision="fp32", batch_size=batch_size).scores
        np.testing.assert_array_equal(scores, published.numpy())
    hook.remove()
    assert max(seen) == backends.FP32_PART and sum(seen) == 2 * len(stamps)
    table = first.to_table()
    assert table.colnames[-2:] == ["precision", "engine"]
    assert set(table["precision"]) == {"fp32"} and set(table["engine"]) == {"torch"}


def test_bald_comes_from_the_backend_pass_and_is_close_across_backends(monkeypatch) -> None:
    from starcnet_core.training.finetune import conv_features, head_bald

    torch.manual_seed(0)
    loaded = LoadedModel.from_model(StarcNet(replace(TINY, dropout=0.5)), np.full(5, 0.5, dtype=np.float32))
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    stamps = tiny_stampset(60, seed=4).stamps
    assert predict_stamps(loaded, stamps, precision="fp32").bald is None  # only when asked for
    exact = predict_stamps(loaded, stamps, precision="fp32", bald_passes=20, batch_size=16)
    # fp32: the MC-dropout BALD of the network's own conv features, whatever the batches
    expected = head_bald(loaded.model, conv_features(loaded.model, stamps, loaded.band_mean))
    assert exact.bald.shape == (60,) and expected.min() > 1e-4
    np.testing.assert_allclose(exact.bald, expected, rtol=1e-4, atol=1e-7)
    # with test-time augmentation BALD is of the stamps as given
    np.testing.assert_allclose(
        predict_stamps(loaded, stamps, precision="fp32", bald_passes=20, tta=True).bald, exact.bald, rtol=1e-5
    )
    for precision in ("bf16", "int8"):
        fast = predict_stamps(loaded, stamps, precision=precision, bald_passes=20)
        assert fast.precision == precision
        assert np.abs(fast.bald - exact.bald).max() < 0.1 * exact.bald.max()
        assert np.corrcoef(fast.bald, exact.bald)[0, 1] > 0.95


def test_int8_is_used_only_after_passing_its_check_against_fp32(loaded, monkeypatch, caplog) -> None:
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    stamps = tiny_stampset(60, seed=4).stamps
    exact = predict_stamps(loaded, stamps, precision="fp32")
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    quantised = predict_stamps(loaded, stamps, precision="int8")
    assert quantised.precision == "int8"
    assert 0 < np.abs(quantised.scores - exact.scores).max() < 0.3
    built = backends._BUILT[next(iter(backends._BUILT))]
    assert built.check["stamps"] == 40 and 0.0 <= built.check["identical_classes"] <= 1.0
    assert 0.0 <= built.check["decided_in_fp32"] <= 1.0

    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    monkeypatch.setattr(backends, "AGREEMENT", 1.01)  # no backend can pass: the check must refuse int8
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        refused = predict_stamps(loaded, stamps, precision="int8")
    assert refused.precision == "fp32"
    np.testing.assert_array_equal(refused.scores, exact.scores)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "int8" in lines[0] and "fp32 used" in lines[0] and "40 held-out" in lines[0]


def _moved(fp32: backends.Backend, amplitude: float) -> backends.Backend:
    """A stand-in reduced precision: fp32's features, each stamp's moved by up to ``amplitude``."""

    def hidden(batch: torch.Tensor) -> torch.Tensor:
        return fp32.hidden(batch) + amplitude * torch.sin(batch.sum(dim=(1, 2, 3)))[:, None]

    return backends.Backend("int8", hidden, fp32.head, engine="stand-in")


def test_bf16_and_int8_hand_their_near_ties_to_fp32(loaded, monkeypatch) -> None:
    monkeypatch.setattr(backends, "NEAR_TIE_LOGIT_GAP", 0.2)  # more near-ties among the tiny network's scores
    model = loaded.model.eval()
    fp32 = backends.build_backend("fp32", model)
    reduced = _moved(fp32, 0.05)
    run = backends._near_ties_in_fp32(reduced, fp32)
    assert (run.precision, run.engine) == ("int8", "stand-in")
    stamps = torch.from_numpy(tiny_stampset(90, seed=5).stamps) - backends.band_mean_tensor(loaded)
    with torch.inference_mode():
        exact, moved, result = fp32.hidden(stamps), reduced.hidden(stamps), run.hidden(stamps)
        near = backends.near_tie_rows(model.head(moved))
        top = model.head(moved).topk(2, dim=1).values
    assert 0 < int(near.sum()) < len(stamps)
    # near-ties get fp32's features (fp32 gives a stamp the same bits in any batch), the rest the reduced ones
    assert torch.equal(result[near], exact[near]) and torch.equal(result[~near], moved[~near])
    assert not torch.equal(moved[near], exact[near])
    with torch.inference_mode():
        features, told = run.features(stamps)  # which stamps fp32 computed, as predict_stamps records them
    assert torch.equal(told, near) and torch.equal(features, result)
    assert torch.equal(near, top[:, 0] - top[:, 1] < 0.2)
    # what builds bf16 and int8 wraps them so, unless asked not to; fp32 and fp32-openvino hand nothing
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    calibration = stamps[:16]
    assert backends.build_backend("bf16", model).hidden_and_near_ties is not None
    assert backends.build_backend("int8", model, calibration).hidden_and_near_ties is not None
    assert backends.build_backend("int8", model, calibration, near_ties_in_fp32=False).hidden_and_near_ties is None
    assert fp32.hidden_and_near_ties is None and fp32.features(stamps[:2])[1] is None


def test_an_int8_that_changes_classes_beyond_near_ties_is_still_refused(loaded, monkeypatch, caplog) -> None:
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    monkeypatch.setattr(backends, "_int8_backend", lambda model, calibration: _moved(backends._fp32_backend(model), 3.0))
    stamps = tiny_stampset(90, seed=5).stamps
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        refused = predict_stamps(loaded, stamps, precision="int8")
    assert refused.precision == "fp32" and refused.in_fp32 is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "below 99.5%" in lines[0] and "fp32 used" in lines[0]


def test_a_backend_that_fails_to_load_falls_back_with_one_line(loaded, monkeypatch, caplog) -> None:
    def broken(model, calibration):
        raise RuntimeError("Didn't find engine for operation quantized::conv2d_prepack\nmore detail")

    monkeypatch.setattr(backends, "_int8_backend", broken)
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")  # PyTorch's int8 even where OpenVINO is installed
    stamps = tiny_stampset(12).stamps
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        predicted = predict_stamps(loaded, stamps, precision="int8")
    assert predicted.precision == "fp32"
    assert [r.getMessage() for r in caplog.records] == [
        "inference: the int8 backend failed to load (Didn't find engine for operation "
        "quantized::conv2d_prepack); fp32 used"
    ]
    assert "CPU only" in backends.int8_is_available("meta")


def test_int8_without_openvino_says_so_once_and_runs_pytorch_int8(loaded, monkeypatch, caplog) -> None:
    def missing(model, calibration):
        raise ImportError("No module named 'openvino'", name="openvino")

    monkeypatch.setattr(backends, "_openvino_int8_backend", missing)
    monkeypatch.setattr(backends, "_OPENVINO_SAID", set())
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    stamps = tiny_stampset(60, seed=4).stamps
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        first = predict_stamps(loaded, stamps, precision="int8")
        monkeypatch.setattr(backends, "_BUILT", OrderedDict())
        predict_stamps(loaded, stamps, precision="int8")
    assert first.precision == "int8" and backends._BUILT[next(iter(backends._BUILT))].engine == "torch"
    assert [r.getMessage() for r in caplog.records] == [
        "inference: OpenVINO/NNCF not installed (openvino); int8 uses PyTorch's quantisation, slower"
    ]


def test_openvino_runs_under_a_onednn_cap_only_with_the_same_openvino_cap(
    loaded, monkeypatch, caplog
) -> None:
    engines: list[str] = []

    def openvino(model, calibration):
        engines.append("openvino")
        return backends._fp32_backend(model)

    monkeypatch.setattr(backends, "_openvino_int8_backend", openvino)
    monkeypatch.setattr(backends, "_OPENVINO_SAID", set())
    monkeypatch.delenv("STARCNET_INT8_ENGINE", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.delenv("OV_CPU_MAX_ISA", raising=False)
    calibration = torch.from_numpy(tiny_stampset(8).stamps)
    model = loaded.model.eval()
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        assert backends.build_backend("int8", model, calibration).engine == "torch"  # its plugin would crash
    assert engines == [] and "OV_CPU_MAX_ISA" in caplog.records[0].getMessage()
    monkeypatch.setenv("OV_CPU_MAX_ISA", "avx2")
    backends.build_backend("int8", model, calibration)
    assert engines == ["openvino"]
    assert "OV_CPU_MAX_ISA=avx2" in backends.machine_key()


def test_int8_calibrates_on_the_training_stamps_stored_with_the_network(
    loaded, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    training = tiny_stampset(40, seed=1).stamps
    stored = calibration_sample(training, np.arange(len(training)), n=16)
    path = save_checkpoint(
        tmp_path / "c.pt", loaded.model, band_mean=loaded.band_mean, calibration_stamps=stored
    )
    again = load_model(path)
    np.testing.assert_array_equal(again.calibration_stamps, stored)
    probe = tiny_stampset(30, seed=9).stamps
    # two "processes" scoring different stamps build the same int8 network: same scores on the same stamps
    first = predict_stamps(again, tiny_stampset(60, seed=4).stamps, precision="int8")
    on_probe = predict_stamps(again, probe, precision="int8").scores
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    other = predict_stamps(load_model(path), tiny_stampset(50, seed=7).stamps, precision="int8")
    assert first.precision == other.precision == "int8"
    np.testing.assert_array_equal(predict_stamps(load_model(path), probe, precision="int8").scores, on_probe)
    # a network without stored stamps calibrates on the scored ones, so its int8 follows them
    assert (
        load_model(
            save_checkpoint(tmp_path / "bare.pt", loaded.model, band_mean=loaded.band_mean)
        ).calibration_stamps
        is None
    )


@pytest.mark.slow
def test_openvino_int8_is_checked_deterministic_and_close_to_fp32(loaded, monkeypatch) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("STARCNET_INT8_ENGINE", raising=False)
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    stamps = tiny_stampset(60, seed=4).stamps
    exact = predict_stamps(loaded, stamps, precision="fp32")
    quantised = predict_stamps(loaded, stamps, precision="int8")
    built = backends._BUILT[next(iter(backends._BUILT))]
    assert quantised.precision == "int8" and built.engine == "openvino"
    assert built.check["stamps"] == 40 and 0 < np.abs(quantised.scores - exact.scores).max() < 0.3
    assert any("I8" in kernel for kernel in backends.openvino_conv_kernels(built))
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    np.testing.assert_array_equal(predict_stamps(loaded, stamps, precision="int8").scores, quantised.scores)


def _without_isa_caps(monkeypatch) -> None:
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "STARCNET_INT8_ENGINE"):
        monkeypatch.delenv(name, raising=False)


def test_fp32_openvino_agrees_with_fp32_and_says_which_backend_ran(loaded, monkeypatch) -> None:
    pytest.importorskip("openvino")
    _without_isa_caps(monkeypatch)
    stamps = tiny_stampset(60, seed=4).stamps
    exact = predict_stamps(loaded, stamps, precision="fp32")
    compiled = predict_stamps(loaded, stamps, precision="fp32-openvino")
    built = backends._BUILT[next(iter(backends._BUILT))]
    assert compiled.precision == "fp32-openvino" and built.engine == "openvino"
    assert set(compiled.to_table()["precision"]) == {"fp32-openvino"}
    assert compiled.engine == "openvino" and exact.engine == "torch"
    # float32 in another order: the same classes, scores within float32 rounding, checked like the others
    np.testing.assert_array_equal(compiled.classes, exact.classes)
    assert built.check["identical_classes"] == 1.0 and built.check["max_score_difference"] < 1e-4
    np.testing.assert_allclose(compiled.scores, exact.scores, atol=1e-4)
    # fp32 itself stays PyTorch's, bit for bit
    np.testing.assert_array_equal(predict_stamps(loaded, stamps, precision="fp32").scores, exact.scores)


def test_fp32_openvino_without_openvino_falls_back_with_one_line(loaded, monkeypatch, caplog) -> None:
    assert "CPU only" in backends.openvino_is_available("meta")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.delenv("OV_CPU_MAX_ISA", raising=False)
    assert "OV_CPU_MAX_ISA" in backends.openvino_is_available()
    monkeypatch.setattr(backends, "openvino_is_available", lambda device="cpu": "OpenVINO is not installed")
    stamps = tiny_stampset(20, seed=4).stamps
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        predicted = predict_stamps(loaded, stamps, precision="fp32-openvino")
    assert predicted.precision == "fp32"
    assert [r.getMessage() for r in caplog.records] == ["inference: OpenVINO is not installed; fp32 used"]
    np.testing.assert_array_equal(predicted.scores, predict_stamps(loaded, stamps, precision="fp32").scores)


@pytest.mark.slow
def test_openvino_networks_are_stored_reused_and_rebuilt_when_the_network_changes(
    loaded, monkeypatch, caplog
) -> None:
    ov = pytest.importorskip("openvino")
    nncf = pytest.importorskip("nncf")
    _without_isa_caps(monkeypatch)
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    calls = {"convert": 0, "quantize": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(ov, "convert_model", counted("convert", ov.convert_model))
    monkeypatch.setattr(nncf, "quantize", counted("quantize", nncf.quantize))
    stamps = tiny_stampset(60, seed=4).stamps
    first = {p: predict_stamps(loaded, stamps, precision=p).scores for p in ("fp32-openvino", "int8")}
    assert calls == {"convert": 1, "quantize": 1}  # int8 quantises the converted network fp32 stored
    stored = sorted(path.name for path in backends.openvino_cache_dir().iterdir())
    assert len(stored) == 4 and [name.rsplit(".", 1)[1] for name in stored] == ["bin", "xml"] * 2
    # a quantised network keeps GroupNorm and the magnification in float32 (its inputs not quantised)
    int8_xml = next(backends.openvino_cache_dir().glob("int8-*.xml"))
    fed = {
        target.get_node().get_type_name()
        for op in ov.Core().read_model(int8_xml).get_ops()
        if op.get_type_name() == "FakeQuantize"
        for target in op.output(0).get_target_inputs()
    }
    assert fed and not fed & {"GroupNormalization", "Interpolate", "MatMul"}

    # a later process reads both from disk: nothing converted or quantised, the same scores
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    for precision, scores in first.items():
        np.testing.assert_array_equal(predict_stamps(loaded, stamps, precision=precision).scores, scores)
    assert calls == {"convert": 1, "quantize": 1}

    # changed weights, or another OpenVINO, are another network
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    with torch.no_grad():
        loaded.model.pathways[0].features[0][0].weight.mul_(1.5)
    changed = predict_stamps(loaded, stamps, precision="fp32-openvino")
    assert calls["convert"] == 2
    np.testing.assert_allclose(changed.scores, predict_stamps(loaded, stamps, precision="fp32").scores, atol=1e-4)
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    version = backends._package_version
    monkeypatch.setattr(backends, "_package_version", lambda name: "9999.0" if name == "openvino" else version(name))
    predict_stamps(loaded, stamps, precision="fp32-openvino")
    assert calls["convert"] == 3
    # only the most recently used networks stay
    assert len(list(backends.openvino_cache_dir().glob("*.xml"))) == 4
    monkeypatch.setattr(backends, "OPENVINO_CACHE_ENTRIES", 1)
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    with torch.no_grad():
        loaded.model.pathways[0].features[0][0].weight.mul_(1.5)
    predict_stamps(loaded, stamps, precision="fp32-openvino")
    assert len(list(backends.openvino_cache_dir().glob("*.xml"))) == 1
    assert len(list(backends.openvino_cache_dir().glob("*.bin"))) == 1

    # an unreadable stored network is built again, with one line
    xml = next(backends.openvino_cache_dir().glob("*.xml"))
    xml.write_text("not a network")
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    with caplog.at_level(logging.WARNING, logger="starcnet_core.inference"):
        predict_stamps(loaded, stamps, precision="fp32-openvino")
    assert calls["convert"] == 5
    assert len(caplog.records) == 1 and "unreadable" in caplog.records[0].getMessage()


def test_auto_probes_once_records_its_choice_and_reuses_it(loaded, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("STARCNET_CACHE_DIR", str(tmp_path))
    stamps = tiny_stampset(60, seed=5).stamps
    assert predict_stamps(loaded, stamps[:10]).precision == "fp32"  # too few stamps to probe
    assert not backends.choice_cache_path().exists()
    monkeypatch.setattr(backends, "AUTO_MIN_STAMPS", 30)
    first = predict_stamps(loaded, stamps)
    record = backends.cached_choice(loaded)
    assert record["choice"] == first.precision and record["network"] == backends.network_fingerprint(loaded)
    assert {"fp32", "int8"} <= set(record["probe"]) and record["probe"]["fp32"]["objects_per_s"] > 0
    # once built, the process keeps auto's backend for this network, even for a few stamps
    assert predict_stamps(loaded, stamps[:3]).precision == first.precision

    # a later process trusts the record, but checks the backend again before using it
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    choices = json.loads(backends.choice_cache_path().read_text())
    choices[backends.machine_key()][record["network"]]["choice"] = "int8"
    backends.choice_cache_path().write_text(json.dumps(choices))
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)
    assert predict_stamps(loaded, stamps).precision == "int8"
    monkeypatch.setattr(backends, "_BUILT", OrderedDict())
    monkeypatch.setattr(backends, "AGREEMENT", 1.01)
    assert predict_stamps(loaded, stamps).precision == "fp32"


def test_fingerprint_follows_the_weights(loaded) -> None:
    before = backends.network_fingerprint(loaded)
    assert backends.network_fingerprint(loaded) == before
    with torch.no_grad():
        loaded.model.head.bias.add_(1.0)
    assert backends.network_fingerprint(loaded) != before


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
    assert lines[0].endswith(",precision,engine") and all(line.endswith(",fp32,torch") for line in lines[1:])


def test_predict_says_which_candidates_fp32_scored_as_near_ties(tmp_path, checkpoint, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    monkeypatch.setattr(backends, "_int8_backend", lambda model, calibration: _moved(backends._fp32_backend(model), 0.3))
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)  # used whatever its check finds
    monkeypatch.setattr(backends, "NEAR_TIE_LOGIT_GAP", 0.2)  # near-ties among the tiny network's scores
    stamps = tiny_stampset(90, seed=5).save(tmp_path / "set")
    out = tmp_path / "out"
    command = ["predict", "--model", str(checkpoint), "--stamps", str(stamps), "--out", str(out), "--precision", "int8"]
    assert main(command) == 0
    rows = (out / "scores.csv").read_text().splitlines()[1:]
    in_fp32 = sum(row.endswith(",fp32,torch") for row in rows)
    assert 0 < in_fp32 < 90 and sum(row.endswith(",int8,stand-in") for row in rows) == 90 - in_fp32
    said = capsys.readouterr().out
    assert f"classified 90 candidates (int8 on stand-in {90 - in_fp32}, fp32 on torch {in_fp32})" in said
    # the rows fp32 scored are the stand-in's near-ties, with fp32's scores
    loaded = load_model(checkpoint)
    predicted = predict_stamps(loaded, StampSet.load(stamps).stamps, precision="int8")
    assert int(predicted.in_fp32.sum()) == in_fp32
    exact = predict_stamps(loaded, StampSet.load(stamps).stamps, precision="fp32").scores
    np.testing.assert_allclose(predicted.scores[predicted.in_fp32], exact[predicted.in_fp32], rtol=1e-6)
    assert np.abs(predicted.scores[~predicted.in_fp32] - exact[~predicted.in_fp32]).max() > 1e-3
    assert predict_stamps(loaded, StampSet.load(stamps).stamps, precision="fp32").in_fp32 is None


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
    # the published loop once more, in a process of its own that never loads OpenVINO
    assert result["reference_alone_obj_s"] > 0 and result["reference_alone_openvino_loaded"] is False
    assert result["default_speedup_vs_reference_alone"] == pytest.approx(
        result["default_obj_s"] / result["reference_alone_obj_s"]
    )
    assert result["fp32_bit_identical_to_reference"] is True
    assert set(result["backends"]) | set(result["not_timed"]) == {"fp32", "fp32-openvino", "bf16", "int8"}
    assert result["backends"]["fp32"]["identical_classes"] == 1.0
    assert result["backends"]["fp32"]["max_score_difference"] == 0.0
    for entry in result["backends"].values():  # what fp32 decided among the timed stamps, where it decides any
        fraction = entry["decided_in_fp32"]
        assert (fraction is None) == entry["precision_used"].startswith("fp32")
        assert fraction is None or 0.0 <= fraction <= 1.0
    # 6 stamps are too few for auto's probe: it runs fp32
    assert result["auto_picks"] == "fp32" and result["max_score_difference"] == 0.0
    assert result["flops_per_object"] == pytest.approx(3.46e9, rel=0.01)
    rates = result["matmul_gflop_s"]
    assert rates["fp32"] == max(rates["fp32_matmul"], rates["fp32_conv3x3"]) > 0
    limit = rates["fp32"] * 1e9
    assert result["reference_fraction_of_fp32_limit"] == pytest.approx(
        result["reference_obj_s"] * result["flops_per_object"] / limit
    )
    assert result["int8_limit_speedup"] == pytest.approx(
        result["matmul_gflop_s"]["int8"] * 1e9 / result["flops_per_object"] / result["reference_obj_s"]
    )
    assert set(result["cpu"]["instruction_sets"]) >= {"avx2", "avx512", "avx512_bf16", "amx", "vnni"}
    section = markdown_section(result)
    assert section.startswith("## Inference") and f"{result['default_obj_s']:.1f}" in section
    assert "`--precision int8`" in section and "fp32 limit" in section and "near-ties decided in fp32" in section
    assert f"measured int8 rate would be {result['int8_limit_speedup']:.2f}x" in section
    assert f"loads PyTorch and the network only (as the published code runs): {result['reference_alone_obj_s']:.1f}" in section
    kernels = result["int8_conv_kernels"]  # OpenVINO's, named in the section; none for PyTorch's int8
    assert all(f"{name} x{count}" in section for name, count in kernels.items())
    assert ("its convolutions:" in section) == bool(kernels)
    counts = result["fp32_class_counts"]
    assert len(counts) == 4 and sum(counts) == 6
    assert ", ".join(f"class {k + 1} {c}" for k, c in enumerate(counts)) in section


def test_synthetic_stamps_are_seeded_centred_sources() -> None:
    stamps = synthetic_stamps(3, seed=1)
    assert stamps.shape == (3, 5, 32, 32) and stamps.dtype == np.float32
    np.testing.assert_array_equal(stamps, synthetic_stamps(3, seed=1))
    assert np.all(stamps[:, :, 15:17, 15:17].mean(axis=(2, 3)) > stamps[:, :, :3, :3].mean(axis=(2, 3)))


def test_int8_agreement_counts_every_stamp_and_the_checks_chance(loaded, monkeypatch) -> None:
    monkeypatch.setenv("STARCNET_INT8_ENGINE", "torch")
    stamps = tiny_stampset(90, seed=5).stamps
    result = int8_agreement(loaded, stamps, batch_size=32)
    fp32 = predict_stamps(loaded, stamps, precision="fp32").scores
    assert result["stamps"] == 90 and result["engine"] == "torch"
    assert result["fp32_class_counts"] == np.bincount(fp32.argmax(axis=1), minlength=4).tolist()
    assert result["flips"] == len(result["flip_margins"]) == round(90 * (1 - result["identical_classes"]))
    assert result["flip_margins"] == sorted(result["flip_margins"])
    assert 0 < result["max_score_difference"] < 0.3
    # the check draws at most CHECK_STAMPS of the scored stamps and allows floor(n * 0.5%) changed classes
    assert result["check_stamps"] == 90 and result["check_allowed_flips"] == 0
    assert result["check_pass_probability"] == pytest.approx(result["identical_classes"] ** 90)
    # as predict_stamps runs it: the changed stamps that were near-ties are fp32's
    assert result["flips_as_run"] <= result["flips"]
    assert result["identical_classes_as_run"] == pytest.approx(1 - result["flips_as_run"] / 90)
    assert result["check_pass_probability_as_run"] >= result["check_pass_probability"]
    # with no changed class the check always passes; its chance falls as classes change
    monkeypatch.setattr(backends, "_int8_backend", lambda model, calibration: backends._fp32_backend(model))
    stand_in = int8_agreement(loaded, stamps)
    assert stand_in["check_pass_probability"] == 1.0 and stand_in["flips_as_run"] == 0
    # near-ties are counted on int8's scores: here fp32's own
    fp32_backend = backends._fp32_backend(loaded.model)
    with torch.inference_mode():
        logits = fp32_backend.logits(torch.from_numpy(stamps) - backends.band_mean_tensor(loaded))
    assert stand_in["decided_in_fp32"] == pytest.approx(float(backends.near_tie_rows(logits).float().mean()))
    # a stand-in int8 that changes classes: those it changes among its near-ties are fp32's as it runs
    monkeypatch.setattr(backends, "_int8_backend", lambda model, calibration: _moved(fp32_backend, 0.3))
    monkeypatch.setattr(backends, "AGREEMENT", 0.0)  # used whatever its check finds
    changing = int8_agreement(loaded, stamps, batch_size=32)
    assert 0 < changing["flips_as_run"] < changing["flips"]
    run = predict_stamps(loaded, stamps, precision="int8", batch_size=32)
    assert run.precision == "int8"
    agreement_as_run = np.mean(run.classes == fp32.argmax(axis=1) + 1)
    assert agreement_as_run == pytest.approx(changing["identical_classes_as_run"])
