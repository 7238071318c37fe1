"""The StarcNet network: three pathways over one candidate at 1x, 1.6x and 3.2x.

As in Pérez et al. (2021, section 3.2) and the published code: pathway 1 sees
the 32x32 stamp; pathway 2 the central rows/cols 6:26 (20x20) and pathway 3
the central 11:22 (11x11), each resized back to 32x32 by nearest neighbour.
A pathway is ``depth`` modules of 3x3 convolution + GroupNorm + LeakyReLU with
a 2x2 max-pool after module ``pool_after``; then flatten, a linear layer to
``fc_width`` + GroupNorm + LeakyReLU + dropout. The three feature vectors are
concatenated and a final linear layer gives one score per class.

At the default configuration the network has exactly 15,265,156 parameters,
as the published model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["StarcNetConfig", "StarcNet", "Pathway", "magnify", "PRESETS"]


@dataclass(frozen=True)
class StarcNetConfig:
    """Every knob of the network, with the paper's values as defaults.

    Parameters
    ----------
    n_bands : int
        Input bands (5: NUV, U, B, V, I).
    stamp_size : int
        Stamp side in pixels (32).
    n_classes : int
        Output classes (4; 2 for binary training).
    width : int
        Filters per convolution (128).
    depth : int
        Convolution modules per pathway (7).
    pool_after : int
        The 2x2 max-pool follows this module (4).
    fc_width : int
        Width of each pathway's fully connected layer (128).
    groups : int
        GroupNorm groups (8).
    dropout : float
        Dropout after each pathway's fully connected layer (0.5).
    crops : tuple of (start, stop)
        Central crops (rows and columns) of pathways 2 and 3: (6, 26), (11, 22).
    negative_slope : float
        LeakyReLU slope (PyTorch's default 0.01, as the published code).
    """

    n_bands: int = 5
    stamp_size: int = 32
    n_classes: int = 4
    width: int = 128
    depth: int = 7
    pool_after: int = 4
    fc_width: int = 128
    groups: int = 8
    dropout: float = 0.5
    crops: tuple[tuple[int, int], ...] = ((6, 26), (11, 22))
    negative_slope: float = 0.01

    def to_dict(self) -> dict:
        return {k: (list(map(list, v)) if k == "crops" else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict) -> StarcNetConfig:
        values = dict(values)
        if "crops" in values:
            values["crops"] = tuple(tuple(int(i) for i in pair) for pair in values["crops"])
        return cls(**values)


#: Named configurations: the paper's network and a light one for CPUs.
PRESETS: dict[str, StarcNetConfig] = {
    "paper": StarcNetConfig(),
    "lite": StarcNetConfig(width=32, depth=4, pool_after=2, fc_width=64, groups=4),
}


def magnify(stamps: torch.Tensor, crop: tuple[int, int], size: int) -> torch.Tensor:
    """Centre crop rows/cols ``crop[0]:crop[1]`` and resize to ``size`` by nearest neighbour."""
    start, stop = crop
    patch = stamps[:, :, start:stop, start:stop]
    return F.interpolate(patch, size=(size, size), mode="nearest")


class _ConvModule(nn.Sequential):
    def __init__(self, in_channels: int, config: StarcNetConfig) -> None:
        super().__init__(
            nn.Conv2d(in_channels, config.width, kernel_size=3, padding=1),
            nn.GroupNorm(config.groups, config.width),
            nn.LeakyReLU(config.negative_slope),
        )


class Pathway(nn.Module):
    """One pathway: conv modules, a max-pool, and a fully connected layer."""

    def __init__(self, config: StarcNetConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(config.depth):
            layers.append(_ConvModule(config.n_bands if i == 0 else config.width, config))
            if i + 1 == config.pool_after:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        side = config.stamp_size // 2
        self.fc = nn.Linear(config.width * side * side, config.fc_width)
        self.fc_norm = nn.GroupNorm(config.groups, config.fc_width)
        self.act = nn.LeakyReLU(config.negative_slope)
        self.dropout = nn.Dropout(config.dropout)

    def embed(self, conv_maps: torch.Tensor) -> torch.Tensor:
        """The fully connected part: ``(B, width, S/2, S/2)`` conv maps to ``(B, fc_width)``."""
        return self.dropout(self.hidden(conv_maps))

    def hidden(self, conv_maps: torch.Tensor) -> torch.Tensor:
        """The fully connected part before its dropout (deterministic): conv maps to ``(B, fc_width)``."""
        return self.act(self.fc_norm(self.fc(torch.flatten(conv_maps, 1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.features(x))


class StarcNet(nn.Module):
    """The three-pathway StarcNet; input ``(B, n_bands, S, S)`` normalised stamps, output logits.

    Normalisation (subtracting the per-band training mean) happens outside the
    network, in the data pipeline, so that the same weights serve any caller.
    """

    def __init__(self, config: StarcNetConfig | None = None) -> None:
        super().__init__()
        self.config = config or StarcNetConfig()
        self.pathways = nn.ModuleList(Pathway(self.config) for _ in range(1 + len(self.config.crops)))
        self.head = nn.Linear(self.config.fc_width * len(self.pathways), self.config.n_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier (Glorot) initialisation of every convolution and linear layer, zero biases."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_normal_(module.weight)
                nn.init.zeros_(module.bias)

    def pathway_inputs(self, stamps: torch.Tensor) -> list[torch.Tensor]:
        """The three views of each stamp the network sees (1x, 1.6x, 3.2x)."""
        size = self.config.stamp_size
        return [stamps] + [magnify(stamps, crop, size) for crop in self.config.crops]

    def features(self, stamps: torch.Tensor) -> torch.Tensor:
        """Concatenated pathway features, ``(B, fc_width * 3)``, before the final layer."""
        views = self.pathway_inputs(stamps)
        return torch.cat([path(view) for path, view in zip(self.pathways, views, strict=True)], dim=1)

    def forward(self, stamps: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(stamps))
