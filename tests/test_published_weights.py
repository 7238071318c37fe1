"""Published ``starcnet.pth`` layout: keys map to our modules and outputs are reproduced exactly."""

from __future__ import annotations

import fractions

import numpy as np
import pytest
import torch
from torch import nn

from starcnet_core.errors import UserInputError
from starcnet_core.nn.checkpoint import from_published_state, load_model, to_published_state
from starcnet_core.nn.predict import predict_stamps


class _PublishedLayout(nn.Module):
    """The published network's flat layout and forward pass, written out layer by layer."""

    convs = (1, 3, 4, 7, 8, 11, 12)

    def __init__(self) -> None:
        super().__init__()
        for prefix in ("", "a", "aa"):
            for i, n in enumerate(self.convs):
                self.add_module(f"{prefix}conv{n}", nn.Conv2d(5 if i == 0 else 128, 128, 3, padding=1))
                self.add_module(f"{prefix}bn{n}", nn.GroupNorm(8, 128))
            self.add_module(f"{prefix}fc1", nn.Linear(128 * 16 * 16, 128))
            self.add_module(f"{prefix}bn13", nn.GroupNorm(8, 128))
        self.fc2 = nn.Linear(384, 4)
        self.resize = nn.Upsample(size=(32, 32))

    def _path(self, prefix: str, x: torch.Tensor) -> torch.Tensor:
        act = nn.functional.leaky_relu
        for n in self.convs:
            x = act(getattr(self, f"{prefix}bn{n}")(getattr(self, f"{prefix}conv{n}")(x)))
            if n == 7:
                x = nn.functional.max_pool2d(x, 2)
        return act(getattr(self, f"{prefix}bn13")(getattr(self, f"{prefix}fc1")(x.view(len(x), -1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.resize(x[:, :, 6:26, 6:26])
        x2 = self.resize(x[:, :, 11:22, 11:22])
        out = torch.cat([self._path("", x), self._path("a", x1), self._path("aa", x2)], 1)
        return self.fc2(out)


@pytest.fixture(scope="module")
def published() -> _PublishedLayout:
    torch.manual_seed(3)
    net = _PublishedLayout().eval()
    with torch.no_grad():
        # Non-trivial GroupNorm affine parameters so that a mixed-up mapping shows.
        for name, p in net.named_parameters():
            if "bn" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
    return net


@pytest.mark.slow
def test_published_state_dict_reproduces_outputs_exactly(published, tmp_path) -> None:
    state = published.state_dict()
    assert len(state) == 2 + 3 * (7 * 4 + 4)
    mean = np.array([0.01, 0.02, 0.03, 0.04, 0.05], dtype=np.float32)
    torch.save(state, tmp_path / "starcnet.pth")
    np.save(tmp_path / "band_mean.npy", mean)
    loaded = load_model(tmp_path / "starcnet.pth")
    assert loaded.meta["source"] == "published" and not loaded.model.training
    np.testing.assert_array_equal(loaded.band_mean, mean)

    stamps = np.random.default_rng(0).normal(size=(4, 5, 32, 32)).astype(np.float32)
    with torch.no_grad():
        theirs = published(torch.from_numpy(stamps - mean[None, :, None, None]))
        ours = loaded.model(torch.from_numpy(stamps - mean[None, :, None, None]))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    scores = predict_stamps(loaded, stamps, precision="fp32").scores
    np.testing.assert_allclose(scores, torch.softmax(theirs, 1).numpy(), rtol=1e-6)

    back = to_published_state(loaded.model)
    assert set(back) == set(state)
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_data_parallel_prefix_and_bad_layouts(published) -> None:
    state = {f"module.{k}": v for k, v in published.state_dict().items()}
    model = from_published_state(state)
    assert torch.equal(model.head.weight, published.fc2.weight)
    del state["module.aabn13.bias"]
    with pytest.raises(UserInputError, match="does not fit"):
        from_published_state(state)
    with pytest.raises(UserInputError, match="unexpected parameter"):
        from_published_state({"fc2.weight": torch.zeros(4, 384), "conv99.weight": torch.zeros(1)})


def test_published_weights_need_their_band_mean(published, tmp_path) -> None:
    torch.save(published.state_dict(), tmp_path / "starcnet.pth")
    with pytest.raises(UserInputError, match="band_mean.npy"):
        load_model(tmp_path / "starcnet.pth")
    loaded = load_model(tmp_path / "starcnet.pth", band_mean=np.ones(5))
    np.testing.assert_array_equal(loaded.band_mean, np.ones(5, dtype=np.float32))
    with pytest.raises(UserInputError, match="5 values"):
        load_model(tmp_path / "starcnet.pth", band_mean=np.ones(3))


def test_non_weights_only_file_is_refused(tmp_path) -> None:
    torch.save({"fc2.weight": torch.zeros(4, 384), "note": fractions.Fraction(1, 3)}, tmp_path / "evil.pth")
    with pytest.raises(UserInputError, match="only weights-only"):
        load_model(tmp_path / "evil.pth")
