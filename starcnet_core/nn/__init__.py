"""The StarcNet network and how it is stored and run.

The three-pathway network (``model``), checkpoints in our format and in the
published ``starcnet.pth`` key layout (``checkpoint``), inference on stamps
(``predict``) and the inference-speed benchmark (``inference_benchmark``).
"""

from starcnet_core.nn.checkpoint import LoadedModel, load_model, save_checkpoint
from starcnet_core.nn.model import StarcNet, StarcNetConfig
from starcnet_core.nn.predict import Predictions, predict_stamps

__all__ = [
    "LoadedModel",
    "Predictions",
    "StarcNet",
    "StarcNetConfig",
    "load_model",
    "predict_stamps",
    "save_checkpoint",
]
