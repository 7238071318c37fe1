import torch

from starcnet_core.nn.model import PRESETS, StarcNet, StarcNetConfig, magnify


def test_default_model_has_the_published_parameter_count() -> None:
    model = StarcNet(StarcNetConfig())
    assert sum(p.numel() for p in model.parameters()) == 15_265_156


def test_forward_shapes_for_presets() -> None:
    for config in PRESETS.values():
        model = StarcNet(config).eval()
        out = model(torch.randn(3, config.n_bands, config.stamp_size, config.stamp_size))
        assert out.shape == (3, config.n_classes)


def test_magnify_is_a_nearest_neighbour_centre_crop() -> None:
    stamps = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32)
    view = magnify(stamps, (11, 22), 32)
    assert view.shape == (1, 1, 32, 32)
    assert view[0, 0, 0, 0] == stamps[0, 0, 11, 11]
    assert view[0, 0, -1, -1] == stamps[0, 0, 21, 21]
    assert set(view.unique().tolist()) == set(stamps[0, 0, 11:22, 11:22].flatten().tolist())
