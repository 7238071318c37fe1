"""Inference backends of StarcNet and the measured choice between them.

One network, four ways to run it (``precision``):

* ``fp32``: the network as it is, eager float32. Its scores are the published
  network's, and the same stamps in the same batches give bit-identical
  scores on a machine, so its classes are the reference every other backend
  is held to.
* ``bf16``: the convolution stacks, which hold more than 99% of the
  arithmetic, in bfloat16 channels-last (weights cast once, GroupNorm on the
  bf16 maps with float32 statistics); fast only where oneDNN or CUDA has
  native bf16 kernels (AVX512-BF16, AMX, recent GPUs).
* ``fp32-openvino``: the network compiled by OpenVINO's CPU plugin in
  float32, nothing quantised (:func:`_openvino_fp32_backend`): the same
  arithmetic as ``fp32`` with GroupNorm, LeakyReLU and max-pool fused into
  the convolutions, so its scores differ from ``fp32``'s by float32 rounding
  only (measured 1.2-1.4x PyTorch fp32 for the lite network under an AVX2
  cap, where eager PyTorch spends a third of lite's time in those
  element-wise operations). Its name says which engine ran, in every
  prediction record.
* ``int8``: with OpenVINO and NNCF installed (``requirements.txt``), NNCF's
  post-training quantisation of the converted network run by OpenVINO's CPU
  plugin, which fuses LeakyReLU and the (de)quantisation into the int8
  convolutions (:func:`_openvino_int8_backend`; GroupNorm, the magnification
  and the fully connected layers stay float32, :data:`OPENVINO_FP32_OPS`, or
  bfloat16 on CPUs with native bf16; measured 3.5x fp32
  natively on a trained paper network, against ~2x for PyTorch's int8 below,
  whose quantised GroupNorm and LeakyReLU take ~45% of its time). Under a
  oneDNN ISA cap (``ONEDNN_MAX_CPU_ISA``, used to emulate an older CPU)
  OpenVINO is used only when its own kernels get the same cap
  (``OV_CPU_MAX_ISA``): with the oneDNN cap alone its CPU plugin crashes
  (measured with OpenVINO 2026.4.1; openvinotoolkit/openvino#36980). Without it
  (one line says so), static post-training
  quantisation of the three convolution stacks with PyTorch's eager-mode
  quantisation (``torch.ao.quantization``,
  the engine PyTorch picks for the CPU: ``x86`` = FBGEMM + oneDNN):
  per-channel symmetric int8 weights, uint8 activations whose ranges are
  calibrated with histogram observers on stamps, and GroupNorm and LeakyReLU
  as quantised operators so that the maps stay 8-bit from one convolution to
  the next. Each pathway's first module (it sees the raw stamps), the fully
  connected layers and the final layer stay float32. Without VNNI the
  activations use 7 bits (``reduce_range``), which keeps the AVX2 kernels
  from saturating their 16-bit pair sums (measured on a network with a
  trained head: 96% identical classes with 7 bits against 98% with 8). CPU only.
  Both calibrate on the training stamps stored with the checkpoint
  (:attr:`~starcnet_core.nn.checkpoint.LoadedModel.calibration_stamps`), so
  int8 is the same in every process; networks without them calibrate on a
  seeded sample of the stamps being scored.

``bf16`` and ``int8`` hand to ``fp32`` every stamp whose top two classes they
put within :data:`NEAR_TIE_LOGIT_GAP` of each other (:func:`_near_ties_in_fp32`):
a reduced precision changes a class only at such near-ties, so their classes
are fp32's but for a rare stamp (measured over 3,096 stamps of a trained
network: 99.97% identical, against 99.58% for int8 alone), for fp32's time on
1-3% of the stamps. Everything below measures them as they run, near-ties included.

Every backend other than ``fp32`` is checked against ``fp32`` on held-out
stamps before it is used (:func:`check_against_fp32`): if fewer than
:data:`AGREEMENT` of the predicted classes are identical, ``fp32`` is used
instead and one line says so. :func:`select_backend` resolves a requested
precision; ``auto`` considers the backends native to the device, times each
against ``fp32`` on the check stamps (the probe), takes the fastest that
passed, and records the choice per machine and network in a JSON file
(:func:`choice_cache_path`), so later runs skip the probe. Built backends are
kept in memory per network, so a job scoring many chunks calibrates and
checks once; OpenVINO's converted and quantised networks are also stored on
disk (:func:`openvino_cache_dir`, keyed by the weights, the calibration
stamps, the recipe and the OpenVINO and NNCF versions), so a later process
neither converts nor quantises again.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import tempfile
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from starcnet_core.atomic_write import publish_files, write_text_atomic
from starcnet_core.nn.checkpoint import LoadedModel
from starcnet_core.nn.model import StarcNet

__all__ = [
    "AGREEMENT",
    "Backend",
    "NEAR_TIE_LOGIT_GAP",
    "PRECISIONS",
    "band_mean_tensor",
    "bf16_is_fast",
    "build_backend",
    "cached_choice",
    "calibration_and_check",
    "check_against_fp32",
    "choice_cache_path",
    "cpu_instruction_sets",
    "cpu_model",
    "int8_is_available",
    "interleaved_scores",
    "machine_key",
    "near_tie_rows",
    "network_fingerprint",
    "openvino_cache_dir",
    "openvino_conv_kernels",
    "openvino_is_available",
    "select_backend",
]

#: Accepted ``precision`` values.
PRECISIONS = ("auto", "fp32", "fp32-openvino", "bf16", "int8")
#: Fraction of identical classes with fp32 a faster backend needs on the check stamps.
AGREEMENT = 0.995
#: Stamps an int8 network is calibrated on, and held-out stamps every check uses (at most).
CALIBRATION_STAMPS = 64
CHECK_STAMPS = 256
#: Below this many stamps ``auto`` runs fp32: a faster backend would not repay its calibration and check.
AUTO_MIN_STAMPS = CALIBRATION_STAMPS + CHECK_STAMPS
_PROBE_BATCH = 64
#: Stamps per forward pass of eager float32 (:func:`_fp32_backend`), whatever the batch. Measured on
#: 2 Zen 5 cores (2026-12-07): the lite network 1.3-2.4x and the paper network 1.1-1.3x faster than in
#: parts of 128 (the default batch), natively and under an AVX2 cap, where eager PyTorch's activations
#: of a larger part fall out of cache.
FP32_PART = 32
#: Logit gap between the top two classes below which a bf16 or int8 backend hands the stamp to fp32
#: (:func:`_near_ties_in_fp32`). Measured on the trained benchmark networks, all 3,096 stamps of their
#: survey, OpenVINO int8 under an AVX2 cap (2026-12-08): of the stamps whose class int8 changed (13
#: paper, 19 lite) all but one (paper, int8 gap 0.089) had an int8 gap below 0.03; at 0.03 fp32 decides
#: 1.45% (paper) and 2.65% (lite) of the stamps, and the classes are fp32's on 99.97% and 100% of
#: them, against 99.58% and 99.39% for int8 alone. A smaller gap hands fewer stamps (0.02: 1.0% and
#: 1.6%) and leaves more changed (1 and 2).
NEAR_TIE_LOGIT_GAP = 0.03
#: Environment variables that cap the instruction sets of PyTorch's libraries (to emulate an older CPU).
ISA_LIMITS = (
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "OV_CPU_MAX_ISA",
    "FBGEMM_ENABLE_INSTRUCTIONS",
    "MKL_ENABLE_INSTRUCTIONS",
)

log = logging.getLogger("starcnet_core.inference")


@dataclass
class Backend:
    """A way of running one network on normalised stamps ``(B, bands, S, S)``.

    Attributes
    ----------
    precision : str
        ``fp32``, ``fp32-openvino``, ``bf16`` or ``int8``: what really runs.
    hidden : callable
        Stamps to the pathways' pre-dropout features ``(B, n_pathways *
        fc_width)``, float32: everything but the final layer, the part that
        costs. MC dropout (:mod:`starcnet_core.nn.mc_dropout`) starts from
        them, so BALD needs no second pass of the convolutions.
    head : torch.nn.Module
        The network's final layer (float32), features to logits.
    check : dict
        For a backend other than fp32: ``stamps``, ``identical_classes`` and
        ``max_score_difference`` of its check against fp32 (and objects/s of both).
    engine : str
        What runs it: ``torch``, or ``openvino`` (``fp32-openvino``; ``int8`` when OpenVINO and NNCF
        are installed).
    runtime : object
        The engine's compiled network where there is one (OpenVINO's), else None.
    hidden_and_near_ties : callable or None
        For ``bf16`` and ``int8``: stamps to ``(features, near)``, the features
        of :attr:`hidden` and which stamps were near-ties that fp32 computed.
    """

    precision: str
    hidden: Callable[[torch.Tensor], torch.Tensor]
    head: nn.Module
    check: dict = field(default_factory=dict)
    engine: str = "torch"
    runtime: Any = None
    hidden_and_near_ties: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Float32 logits ``(B, n_classes)`` of normalised stamps."""
        return self.head(self.hidden(batch))

    def features(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:attr:`hidden`'s float32 features, and which stamps fp32 computed as near-ties (None: it hands none)."""
        if self.hidden_and_near_ties is None:
            return self.hidden(batch).float(), None
        features, near = self.hidden_and_near_ties(batch)
        return features.float(), near


def bf16_is_fast(device: torch.device | str = "cpu") -> bool:
    """Whether ``device`` has native bfloat16 matrix kernels (else bf16 would be emulated, slower)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def int8_is_available(device: torch.device | str = "cpu") -> str | None:
    """None when the int8 backend can run on ``device``, else why not (one phrase)."""
    if torch.device(device).type != "cpu":
        return f"int8 runs on the CPU only, not on {torch.device(device).type}"
    engine = torch.backends.quantized.engine
    if engine not in ("x86", "fbgemm", "onednn"):
        return f"this PyTorch has no x86 quantisation engine (engine {engine!r})"
    return None


def cpu_instruction_sets() -> dict[str, bool]:
    """The vector instruction sets the CPU reports (/proc/cpuinfo; all False where it is not readable)."""
    try:
        flags = set()
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        flags = set()
    return {
        "avx2": "avx2" in flags,
        "avx512": "avx512f" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx": bool({"amx_bf16", "amx_int8", "amx_tile"} & flags),
        "vnni": bool({"avx512_vnni", "avx_vnni"} & flags),
        "fma": "fma" in flags,
    }


def machine_key(device: torch.device | str = "cpu") -> str:
    """What a backend's speed depends on besides the network: CPU, instruction-set limits, torch, threads."""
    device = torch.device(device)
    if device.type == "cuda":
        hardware = torch.cuda.get_device_name(device)
    else:
        hardware = cpu_model() + " " + ",".join(k for k, v in cpu_instruction_sets().items() if v)
    limits = ",".join(f"{name}={os.environ[name]}" for name in ISA_LIMITS if os.environ.get(name))
    return (
        f"{hardware} | {limits or 'no ISA limits'} | torch {torch.__version__} | "
        f"openvino {_package_version('openvino')} | {torch.get_num_threads()} threads"
    )


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_WEIGHT_HASHES: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, str]] = weakref.WeakKeyDictionary()


def network_fingerprint(loaded: LoadedModel) -> str:
    """A short hash of every weight and the band mean: the key of a network's backends.

    The weights' hash (:func:`_weights_hash`) is remembered per network
    object together with the tensors' in-place version counters, so hashing
    the paper network's 61 MB happens once and again only after its weights
    changed (training, ``load_state_dict``).
    """
    mean = np.asarray(loaded.band_mean, dtype=np.float32).tobytes()
    return hashlib.sha256(_weights_hash(loaded.model).encode() + mean).hexdigest()[:16]


def _weights_hash(model: nn.Module) -> str:
    """The sha256 of every weight of ``model`` with its name, remembered until a weight changes."""
    state = model.state_dict()
    versions = tuple((id(tensor), tensor._version) for tensor in state.values())
    remembered = _WEIGHT_HASHES.get(model)
    if remembered is None or remembered[0] != versions:
        digest = hashlib.sha256()
        for name, tensor in sorted(state.items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        remembered = (versions, digest.hexdigest())
        _WEIGHT_HASHES[model] = remembered
    return remembered[1]


def _cache_root() -> Path:
    """Where inference keeps what it measured and built: $STARCNET_CACHE_DIR or ~/.cache/starcnet-studio."""
    return Path(os.environ.get("STARCNET_CACHE_DIR") or Path.home() / ".cache" / "starcnet-studio")


def choice_cache_path() -> Path:
    """The JSON file of ``auto``'s choices, in ``$STARCNET_CACHE_DIR`` or ``~/.cache/starcnet-studio``."""
    return _cache_root() / "inference_backends.json"


def openvino_cache_dir() -> Path:
    """The folder of OpenVINO networks converted (and quantised) earlier: ``openvino/`` beside the choices."""
    return _cache_root() / "openvino"


def _fp32_backend(model: StarcNet) -> Backend:
    """The network as it is: ``head(hidden(x))`` is ``model(x)`` in evaluation mode, operation for operation.

    Each batch runs in parts of :data:`FP32_PART` stamps, which give the same
    bits per stamp as any other batch size (measured on the trained benchmark
    networks, natively and under an AVX2 cap).
    """

    def part(stamps: torch.Tensor) -> torch.Tensor:
        views = model.pathway_inputs(stamps)
        return torch.cat(
            [path.hidden(path.features(v)) for path, v in zip(model.pathways, views, strict=True)], 1
        )

    def hidden(batch: torch.Tensor) -> torch.Tensor:
        return torch.cat([part(stamps) for stamps in batch.split(FP32_PART)])

    return Backend("fp32", hidden, model.head)


def _bf16_backend(model: StarcNet) -> Backend:
    """Convolution weights cast once to bf16 channels-last; GroupNorm on the bf16 maps, LeakyReLU in place.

    Casting once, rather than under autocast (which casts every weight again
    for every batch), and running GroupNorm on the bf16 maps with its float32
    affine parameters removes the layout and dtype copies that otherwise cost
    a third of the time next to the convolutions.
    """
    stacks = []
    for path in model.pathways:
        layers: list[tuple | nn.Module] = []
        for layer in path.features:
            if not isinstance(layer, nn.Sequential):
                layers.append(layer)
                continue
            conv, norm, act = layer
            weight = conv.weight.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
            layers.append((weight, conv.bias.to(torch.bfloat16), conv.padding, norm, act.negative_slope))
        stacks.append(layers)

    def hidden(batch: torch.Tensor) -> torch.Tensor:
        features = []
        for path, layers, view in zip(model.pathways, stacks, model.pathway_inputs(batch), strict=True):
            maps = view.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
            for layer in layers:
                if isinstance(layer, nn.Module):
                    maps = layer(maps)
                    continue
                weight, bias, padding, norm, slope = layer
                maps = F.conv2d(maps, weight, bias, padding=padding)
                maps = F.group_norm(maps, norm.num_groups, norm.weight, norm.bias, norm.eps)
                maps = F.leaky_relu_(maps, slope)
            features.append(path.hidden(maps.float()))
        return torch.cat(features, dim=1)

    return Backend("bf16", hidden, model.head)


class _QuantisedStack(nn.Module):
    """One pathway's convolution stack, all but its first module between a quantise and a dequantise step.

    The first module stays float32: it sees the stamps themselves, whose
    range (a faint source next to a bright one) one 8-bit scale cannot hold,
    and it holds under 2% of the arithmetic. Its GroupNorm hands the next
    convolution per-stamp normalised maps, which 8 bits do hold.
    """

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        from torch.ao.quantization import DeQuantStub, QuantStub

        self.first = copy.deepcopy(features[0])
        self.quant = QuantStub()
        self.rest = copy.deepcopy(features[1:])
        self.dequant = DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.rest(self.quant(self.first(x))))


def _int8_has_vnni() -> bool:
    """Whether the int8 kernels get VNNI here: the CPU has it and no library cap excludes it."""
    fbgemm = os.environ.get("FBGEMM_ENABLE_INSTRUCTIONS", "").upper()
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    capped = fbgemm in ("AVX2", "AVX512", "AVX512_256") or onednn in ("SSE41", "AVX", "AVX2", "AVX512_CORE")
    return cpu_instruction_sets()["vnni"] and not capped


def _int8_backend(model: StarcNet, calibration: torch.Tensor) -> Backend:
    """The int8 backend of ``model``, its activation ranges calibrated on ``calibration`` (normalised stamps)."""
    import torch.ao.quantization as tq

    stacks = nn.ModuleList(_QuantisedStack(path.features) for path in model.pathways).eval()
    qconfig = tq.QConfig(
        activation=tq.HistogramObserver.with_args(reduce_range=not _int8_has_vnni()),
        weight=tq.default_per_channel_weight_observer,
    )
    with warnings.catch_warnings():
        # torch.ao.quantization warns that it will move to torchao; torch is pinned, and it works in 2.13.
        warnings.simplefilter("ignore")
        for stack in stacks:
            for part in (stack.quant, stack.rest, stack.dequant):
                part.qconfig = qconfig
        tq.prepare(stacks, inplace=True)
        with torch.inference_mode():
            for start in range(0, len(calibration), _PROBE_BATCH):
                views = model.pathway_inputs(calibration[start : start + _PROBE_BATCH])
                for stack, view in zip(stacks, views, strict=True):
                    stack(view)
        tq.convert(stacks, inplace=True)

    def hidden(batch: torch.Tensor) -> torch.Tensor:
        views = model.pathway_inputs(batch)
        features = [
            path.hidden(stack(view)) for path, stack, view in zip(model.pathways, stacks, views, strict=True)
        ]
        return torch.cat(features, dim=1)

    return Backend("int8", hidden, model.head)


class _ExportNet(nn.Module):
    """The network up to its final layer as OpenVINO converts it: the pre-dropout pathway features,
    each pathway's fully connected GroupNorm applied to ``(B, C, 1, 1)`` maps (OpenVINO's CPU plugin
    has no 2-D GroupNorm). The final layer runs in PyTorch, on these features (:class:`Backend`)."""

    def __init__(self, model: StarcNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, stamps: torch.Tensor) -> torch.Tensor:
        features = []
        for path, view in zip(self.model.pathways, self.model.pathway_inputs(stamps), strict=True):
            hidden = path.fc(torch.flatten(path.features(view), 1))
            norm = path.fc_norm
            hidden = F.group_norm(hidden[:, :, None, None], norm.num_groups, norm.weight, norm.bias, norm.eps)
            features.append(path.act(hidden.flatten(1)))
        return torch.cat(features, dim=1)


_OPENVINO_SAID: set[str] = set()  # the fall-back lines already said in this process

#: Operations that stay float32 in OpenVINO's int8 network, besides each pathway's first convolution.
#: GroupNorm normalises each stamp by its own statistics, so its input's range follows the stamp's
#: brightness and one 8-bit scale calibrated on other stamps cuts it; the magnification (Interpolate)
#: sees the raw stamps; MatMul is the fully connected layers. Measured on the trained benchmark
#: networks (256 held-out stamps): quantising GroupNorm's and Interpolate's inputs too gave 98.4-99.2%
#: identical classes with fp32 (largest score difference 0.14-0.21), keeping them float32 99.6-100%
#: (0.003-0.007), natively and under an AVX2 cap.
OPENVINO_FP32_OPS = ("MatMul", "GroupNormalization", "Interpolate")
#: Networks kept in :func:`openvino_cache_dir` (the least recently used beyond these are deleted).
OPENVINO_CACHE_ENTRIES = 8


def openvino_is_available(device: torch.device | str = "cpu") -> str | None:
    """None when OpenVINO can run the network on ``device`` here, else why not (one phrase)."""
    blocked = _openvino_blocked(device)
    if blocked:
        return blocked
    if importlib.util.find_spec("openvino") is None:
        return "OpenVINO is not installed"
    return None


def _openvino_blocked(device: torch.device | str = "cpu") -> str | None:
    """Why OpenVINO must not run on ``device`` here even if installed (one phrase), else None."""
    if torch.device(device).type != "cpu":
        return f"OpenVINO runs on the CPU only, not on {torch.device(device).type}"
    onednn_cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").upper()
    if onednn_cap and os.environ.get("OV_CPU_MAX_ISA", "").upper() != onednn_cap:
        # Measured (OpenVINO 2026.4.1): under a oneDNN ISA cap alone (an emulated older CPU) OpenVINO's
        # CPU plugin crashes the process, since its own kernels are not capped; with OV_CPU_MAX_ISA set
        # to the same value it runs, beside PyTorch too, on kernels of the capped ISA.
        return "OpenVINO is not used under ONEDNN_MAX_CPU_ISA without the same OV_CPU_MAX_ISA"
    return None


def _say_once(message: str) -> None:
    if message not in _OPENVINO_SAID:
        _OPENVINO_SAID.add(message)
        log.warning(message)


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _openvino_key(model: StarcNet, kind: str, calibration: torch.Tensor | None = None) -> str:
    """The cache key of an OpenVINO network: the weights, the configuration, what was done, the versions."""
    digest = hashlib.sha256()
    for part in (_weights_hash(model), repr(model.config), kind, _package_version("openvino")):
        digest.update(part.encode() + b"\0")
    if calibration is not None:
        digest.update(_package_version("nncf").encode())
        digest.update(calibration.detach().cpu().contiguous().numpy().tobytes())
    return f"{kind}-{digest.hexdigest()[:24]}"


def _cached_openvino_model(key: str, build: Callable[[], Any]) -> Any:
    """The OpenVINO network stored under ``key`` in :func:`openvino_cache_dir`, else ``build()``'s, stored.

    The network is saved (float32 weights as they are) into a staging folder
    and published with :func:`~starcnet_core.atomic_write.publish_files`,
    whose name order moves the ``.bin`` before the ``.xml`` a reader looks
    for, so a reader never finds a half-written network. A network that
    cannot be read is built again (one line); one that cannot be stored is
    used all the same (one line).
    """
    import openvino as ov

    folder = openvino_cache_dir()
    xml = folder / f"{key}.xml"
    if xml.exists():
        try:
            network = ov.Core().read_model(xml)
            os.utime(xml)  # most recently used: kept by the eviction below
            return network
        except (RuntimeError, OSError) as error:
            log.warning(
                "inference: cached OpenVINO network %s unreadable (%s); built again", xml, _first_line(error)
            )
    network = build()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".staging-") as staging:
            ov.save_model(network, Path(staging) / xml.name, compress_to_fp16=False)
            publish_files(staging, folder)
        _evict_openvino_cache(folder)
    except (OSError, RuntimeError) as error:
        log.warning("inference: could not store the OpenVINO network in %s (%s)", folder, _first_line(error))
    return network


def _evict_openvino_cache(folder: Path) -> None:
    """Delete the networks beyond the :data:`OPENVINO_CACHE_ENTRIES` most recently used."""
    networks = sorted(folder.glob("*.xml"), key=lambda path: path.stat().st_mtime, reverse=True)
    for xml in networks[OPENVINO_CACHE_ENTRIES:]:
        xml.unlink(missing_ok=True)
        xml.with_suffix(".bin").unlink(missing_ok=True)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _openvino_converted(model: StarcNet) -> Any:
    """``model`` up to its final layer (:class:`_ExportNet`) as an OpenVINO network, float32, cached."""

    def convert() -> Any:
        import openvino as ov

        size, n_bands = model.config.stamp_size, model.config.n_bands
        with warnings.catch_warnings():  # tracing warns about Python values in the graph
            warnings.simplefilter("ignore")
            example = torch.zeros(2, n_bands, size, size)
            return ov.convert_model(_ExportNet(model).eval(), example_input=example)

    return _cached_openvino_model(_openvino_key(model, "fp32"), convert)


def _openvino_backend(precision: str, model: StarcNet, network: Any) -> Backend:
    """``network`` (an OpenVINO network of the pre-dropout features) compiled for the CPU, as a backend.

    ``INFERENCE_PRECISION_HINT`` ``f32`` keeps what is float32 in float32
    (OpenVINO would otherwise run it in bf16 on CPUs with native bf16), except
    in ``int8`` on a CPU with native bf16 (:func:`bf16_is_fast`), whose
    float32 parts (GroupNorm, first convolutions, fully connected layers) then
    run in bf16: measured on 2 AMX cores, 1.18x (paper) and 1.58x (lite) the
    int8 network with those parts in float32, classes identical to it on the
    same held-out stamps, largest score difference 0.0025 (paper) and 0.0087 (lite). The
    ``THROUGHPUT`` hint splits the threads into streams (2 streams of one
    thread on 2 cores), and each batch is split into one part per stream,
    run at once: measured under an AVX2 cap on 2 cores, 1.35-1.4x the
    ``LATENCY`` hint's one stream of 2 threads for the lite network (whose
    small layers the two threads share poorly), the same within noise for
    the paper network.
    """
    import openvino as ov

    compiled = ov.Core().compile_model(
        network,
        "CPU",
        {
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
            "PERFORMANCE_HINT": "THROUGHPUT",
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "int8" and bf16_is_fast() else "f32",
        },
    )
    streams = max(1, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))

    def hidden(batch: torch.Tensor) -> torch.Tensor:
        parts = np.array_split(batch.detach().cpu().numpy(), min(streams, len(batch)))
        requests = [compiled.create_infer_request() for _ in parts]
        for request, part in zip(requests, parts, strict=True):
            request.start_async({0: part})
        outputs = []
        for request in requests:
            request.wait()
            outputs.append(request.get_output_tensor(0).data.copy())
        return torch.from_numpy(np.concatenate(outputs)).to(batch.device)

    return Backend(precision, hidden, model.head, engine="openvino", runtime=compiled)


def _openvino_fp32_backend(model: StarcNet) -> Backend:
    """``fp32-openvino``: the network compiled by OpenVINO's CPU plugin in float32, nothing quantised.

    OpenVINO fuses GroupNorm, LeakyReLU and max-pool into its convolutions,
    which eager PyTorch cannot; the arithmetic is float32 as in ``fp32`` but
    in another order, so the scores differ by float32 rounding and it is
    checked against ``fp32`` like every other backend. Raises ImportError
    when OpenVINO is missing.
    """
    return _openvino_backend("fp32-openvino", model, _openvino_converted(model))


def _openvino_int8_backend(model: StarcNet, calibration: torch.Tensor) -> Backend:
    """int8 with OpenVINO: NNCF post-training quantisation of the converted network, CPU plugin.

    Every convolution but each pathway's first (it sees the stamps' raw
    range) gets per-channel int8 weights and 8-bit activations whose ranges
    NNCF calibrates on ``calibration`` (``MIXED`` preset: asymmetric
    activations, fast bias correction); LeakyReLU and the (de)quantisation
    fuse into the int8 convolutions, which is what PyTorch's eager
    quantisation cannot do. The operations of :data:`OPENVINO_FP32_OPS`
    (GroupNorm, the magnification, the fully connected layers) stay float32.
    Without VNNI every weight uses 7 bits (NNCF's overflow fix), as the AVX2
    int8 kernels need. The quantised network is stored on disk keyed by the
    weights, the calibration stamps, this recipe and the OpenVINO and NNCF
    versions (:func:`openvino_cache_dir`), so a later process skips the
    quantisation. Raises ImportError when OpenVINO or NNCF is missing.
    """
    import contextlib
    import io

    import nncf  # noqa: F401 - raises ImportError here, before anything is built, when NNCF is missing

    overflow = "first_layer_only" if _int8_has_vnni() else "enable"
    recipe = f"int8-{overflow}-{'+'.join(OPENVINO_FP32_OPS)}"

    def quantise() -> Any:
        from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

        converted = _openvino_converted(model)
        n_bands = model.config.n_bands
        firsts = [
            op.get_friendly_name()
            for op in converted.get_ops()
            if op.get_type_name() == "Convolution"
            and op.input_value(1).get_partial_shape()[1].get_length() == n_bands
        ]
        chunks = [calibration[i : i + 16].cpu().numpy() for i in range(0, len(calibration), 16)]
        # NNCF draws progress bars (rich, on stdout) and warns about torch versions.
        quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
        with warnings.catch_warnings(), quiet[0], quiet[1]:
            warnings.simplefilter("ignore")
            nncf.set_log_level(logging.ERROR)
            return nncf.quantize(
                converted,
                nncf.Dataset(chunks),
                preset=nncf.QuantizationPreset.MIXED,
                target_device=nncf.TargetDevice.CPU,
                subset_size=len(chunks),
                ignored_scope=nncf.IgnoredScope(names=firsts, types=list(OPENVINO_FP32_OPS), validate=False),
                advanced_parameters=AdvancedQuantizationParameters(overflow_fix=OverflowFix(overflow)),
            )

    network = _cached_openvino_model(_openvino_key(model, recipe, calibration), quantise)
    return _openvino_backend("int8", model, network)


def openvino_conv_kernels(backend: Backend) -> dict[str, int]:
    """An OpenVINO backend's convolution kernels (``primitiveType``) and how many use each; {} otherwise."""
    if backend.runtime is None or not hasattr(backend.runtime, "get_runtime_model"):
        return {}
    kernels: dict[str, int] = {}
    for op in backend.runtime.get_runtime_model().get_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) == "Convolution":
            name = info["primitiveType"].astype(str)
            kernels[name] = kernels.get(name, 0) + 1
    return kernels


def _int8_engine_backend(model: StarcNet, calibration: torch.Tensor) -> Backend:
    """OpenVINO's int8 where it can run (measured faster), else PyTorch's (said once)."""
    # Not installed is left to the import below, which also names a missing NNCF.
    blocked = _openvino_blocked()
    if blocked:
        _say_once(f"inference: {blocked}; int8 uses PyTorch's quantisation")
    elif os.environ.get("STARCNET_INT8_ENGINE", "").lower() != "torch":
        try:
            return _openvino_int8_backend(model, calibration)
        except ImportError as error:
            _say_once(
                f"inference: OpenVINO/NNCF not installed ({error.name or error}); "
                "int8 uses PyTorch's quantisation, slower"
            )
        except Exception as error:  # noqa: BLE001 - OpenVINO and NNCF raise their own error types
            log.warning(
                "inference: OpenVINO int8 failed to load (%s: %s); int8 uses PyTorch's quantisation",
                type(error).__name__,
                _first_line(error) if str(error).strip() else "",
            )
    return _int8_backend(model, calibration)


def near_tie_rows(logits: torch.Tensor) -> torch.Tensor:
    """Which rows of ``logits`` ``(B, K)`` have their top two within :data:`NEAR_TIE_LOGIT_GAP` (bool ``(B,)``)."""
    top = logits.float().topk(2, dim=1).values
    return (top[:, 0] - top[:, 1]) < NEAR_TIE_LOGIT_GAP


def _near_ties_in_fp32(reduced: Backend, fp32: Backend) -> Backend:
    """``reduced`` (bf16 or int8), with every stamp whose top two classes it puts within
    :data:`NEAR_TIE_LOGIT_GAP` run again in fp32.

    A reduced precision moves the scores by up to about 0.02; that changes a
    class only where the top two scores are that close, and there it gives the
    class fp32 would not. fp32 decides those stamps, with the published bits
    (fp32 gives the same per stamp in any batch), so the classes are fp32's
    but for the rare stamp whose reduced gap exceeds the threshold, and a
    machine's precision no longer decides near-ties. The cost is fp32's time
    on the near-ties (1-3% of the stamps of a trained network).
    """

    def decide(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = reduced.hidden(batch).float()
        near = near_tie_rows(reduced.head(features))
        count = int(near.sum())
        if count:
            features = features.clone()
            features[near] = fp32.hidden(batch[near]).float()
        return features, near

    return Backend(
        reduced.precision,
        lambda batch: decide(batch)[0],
        reduced.head,
        engine=reduced.engine,
        runtime=reduced.runtime,
        hidden_and_near_ties=decide,
    )


def build_backend(
    precision: str,
    model: StarcNet,
    calibration: torch.Tensor | None = None,
    *,
    near_ties_in_fp32: bool = True,
) -> Backend:
    """Build one backend of ``model`` (``int8`` needs ``calibration`` stamps, normalised), unchecked.

    ``bf16`` and ``int8`` hand their near-ties to fp32 (:func:`_near_ties_in_fp32`)
    unless ``near_ties_in_fp32`` is False (to measure the reduced precision alone).
    Raises ImportError for ``fp32-openvino`` where OpenVINO is not installed.
    """
    if precision == "fp32":
        return _fp32_backend(model)
    if precision == "fp32-openvino":
        unavailable = openvino_is_available()
        if unavailable:
            raise ImportError(unavailable, name="openvino")
        return _openvino_fp32_backend(model)
    if precision == "bf16":
        reduced = _bf16_backend(model)
    elif precision == "int8":
        if calibration is None or len(calibration) == 0:
            raise ValueError("the int8 backend needs calibration stamps")
        reduced = _int8_engine_backend(model, calibration)
    else:
        raise ValueError(f"unknown backend precision {precision!r}")
    return _near_ties_in_fp32(reduced, _fp32_backend(model)) if near_ties_in_fp32 else reduced


def _softmax(logits: torch.Tensor) -> np.ndarray:
    return torch.softmax(logits.float(), dim=1).numpy()


def interleaved_scores(
    backends: list[Backend], stamps: torch.Tensor, batch_size: int = _PROBE_BATCH
) -> tuple[list[np.ndarray], list[float], list[float | None]]:
    """Softmax scores of each backend on ``stamps`` (normalised), its seconds, and the fraction fp32 decided.

    The backends run in interleaved batches, so that a change in the load of a
    shared machine weighs on all of them alike. The last list holds, per
    backend, the fraction of ``stamps`` that were near-ties handed to fp32
    (:func:`_near_ties_in_fp32`), or None for a backend that hands none.
    """
    seconds = [0.0] * len(backends)
    scores: list[list[np.ndarray]] = [[] for _ in backends]
    near_ties: list[list[np.ndarray]] = [[] for _ in backends]
    with torch.inference_mode():
        for backend in backends:
            backend.logits(stamps[:2])  # oneDNN and FBGEMM pick and cache their kernels on the first call
        for start in range(0, len(stamps), batch_size):
            batch = stamps[start : start + batch_size]
            for i, backend in enumerate(backends):
                started = time.perf_counter()
                features, near = backend.features(batch)
                scores[i].append(_softmax(backend.head(features)))
                seconds[i] += time.perf_counter() - started
                if near is not None:
                    near_ties[i].append(near.cpu().numpy())
    in_fp32 = [float(np.concatenate(parts).mean()) if parts else None for parts in near_ties]
    return [np.concatenate(parts) for parts in scores], seconds, in_fp32


def check_against_fp32(fp32: Backend, others: list[Backend], stamps: torch.Tensor) -> dict[str, dict]:
    """Run fp32 and ``others`` on ``stamps`` in interleaved batches: agreement and objects/s of each.

    Returns
    -------
    dict
        Per precision: ``stamps``, ``identical_classes`` (fraction, vs fp32),
        ``max_score_difference``, ``objects_per_s``, and for a backend that
        hands its near-ties to fp32 ``decided_in_fp32`` (fraction); also an ``fp32`` entry.
    """
    backends = [fp32, *others]
    scores, seconds, in_fp32 = interleaved_scores(backends, stamps)
    reference = scores[0]
    return {
        backend.precision: {
            "stamps": len(values),
            "identical_classes": float(np.mean(values.argmax(axis=1) == reference.argmax(axis=1))),
            "max_score_difference": float(np.abs(values - reference).max()),
            "objects_per_s": len(values) / max(elapsed, 1e-9),
            **({} if fraction is None else {"decided_in_fp32": fraction}),
        }
        for backend, values, elapsed, fraction in zip(backends, scores, seconds, in_fp32, strict=True)
    }


def _samples(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of (calibration, held-out check) stamps among ``n``: seeded, disjoint, sorted."""
    order = np.random.default_rng(n).permutation(n)
    n_calibration = min(CALIBRATION_STAMPS, max(1, n // 3))
    return np.sort(order[:n_calibration]), np.sort(order[n_calibration:][:CHECK_STAMPS])


def band_mean_tensor(loaded: LoadedModel, device: torch.device | str = "cpu") -> torch.Tensor:
    """The network's per-band training mean as ``(1, bands, 1, 1)``, to subtract from stamps in e-/s."""
    return torch.as_tensor(np.asarray(loaded.band_mean, dtype=np.float32).reshape(1, -1, 1, 1), device=device)


def calibration_and_check(
    loaded: LoadedModel, stamps: np.ndarray, mean: torch.Tensor, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised (calibration, held-out check) stamps.

    The calibration stamps are the training stamps stored with the network
    (:attr:`LoadedModel.calibration_stamps`) where it has them, so that its
    int8 backend is the same in every process; else a seeded sample of the
    stamps being scored. The check stamps are a seeded sample of the stamps
    being scored, disjoint from the calibration sample.
    """
    calibration_rows, check_rows = _samples(len(stamps))
    stored = getattr(loaded, "calibration_stamps", None)
    if stored is not None:
        calibration = np.asarray(stored, dtype=np.float32)
        order = np.random.default_rng(len(stamps)).permutation(len(stamps))
        check_rows = np.sort(order[:CHECK_STAMPS]) if len(stamps) > 1 else check_rows
    else:
        calibration = np.array(stamps[calibration_rows], dtype=np.float32)
    check = np.array(stamps[check_rows], dtype=np.float32)
    return (
        torch.from_numpy(np.ascontiguousarray(calibration)).to(device) - mean,
        torch.from_numpy(check).to(device) - mean,
    )


_BUILT: OrderedDict[tuple, Backend] = OrderedDict()
_BUILT_LIMIT = 8
_LOCK = threading.Lock()


def _read_choices() -> dict:
    try:
        return json.loads(choice_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _record_choice(machine: str, network: str, entry: dict) -> None:
    path = choice_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        choices = _read_choices()
        choices.setdefault(machine, {})[network] = entry
        write_text_atomic(path, json.dumps(choices, indent=1, sort_keys=True))
    except OSError as error:
        log.warning("inference: could not record the backend choice in %s (%s)", path, error)


def cached_choice(loaded: LoadedModel, device: torch.device | str = "cpu") -> dict | None:
    """``auto``'s recorded choice for this network on this machine (``choice`` and the probe), or None."""
    return _read_choices().get(machine_key(device), {}).get(network_fingerprint(loaded))


# What building or running a backend raises on a machine that cannot run it: missing quantised
# kernels ("Could not run 'quantized::...'" is a NotImplementedError), unsupported engines, bad shapes,
# an engine that is not installed (fp32-openvino without OpenVINO).
_LOAD_ERRORS = (RuntimeError, ValueError, NotImplementedError, ImportError)


def _verified(
    precision: str, model: StarcNet, samples: tuple[torch.Tensor, torch.Tensor], label: str
) -> Backend:
    """Build ``precision`` and check it against fp32 on held-out stamps; fp32 (said in one line) if it fails."""
    fp32 = _fp32_backend(model)
    calibration, held_out = samples
    if len(held_out) == 0:
        log.warning("inference: %s needs at least 2 stamps to be checked against fp32; fp32 used", precision)
        return fp32
    try:
        candidate = build_backend(precision, model, calibration)
        check = check_against_fp32(fp32, [candidate], held_out)[precision]
    except _LOAD_ERRORS as error:
        log.warning(
            "inference: the %s backend failed to load (%s); fp32 used", precision, str(error).splitlines()[0]
        )
        return fp32
    candidate.check = check
    if check["identical_classes"] < AGREEMENT:
        log.warning(
            "inference: %s gave the fp32 class on %.1f%% of %d held-out stamps (below %.1f%%); fp32 used",
            label,
            100 * check["identical_classes"],
            check["stamps"],
            100 * AGREEMENT,
        )
        return fp32
    return candidate


def _probe(
    model: StarcNet, samples: tuple[torch.Tensor, torch.Tensor], candidates: list[str]
) -> tuple[Backend, dict]:
    """Build, check and time every candidate against fp32; the fastest that passed, and the record."""
    fp32 = _fp32_backend(model)
    calibration, held_out = samples
    built, failed = [], {}
    for precision in candidates:
        try:
            built.append(build_backend(precision, model, calibration))
        except _LOAD_ERRORS as error:
            failed[precision] = str(error).splitlines()[0]
            log.warning(
                "inference: the %s backend failed to load (%s); not considered", precision, failed[precision]
            )
    measured = check_against_fp32(fp32, built, held_out)
    best = fp32
    for backend in built:
        backend.check = measured[backend.precision]
        passed = backend.check["identical_classes"] >= AGREEMENT
        if passed and backend.check["objects_per_s"] > measured[best.precision]["objects_per_s"]:
            best = backend
    record = {"choice": best.precision, "probe": measured, "failed_to_load": failed, "agreement": AGREEMENT}
    return best, record


def select_backend(
    loaded: LoadedModel, stamps: np.ndarray, precision: str = "auto", *, device: torch.device | None = None
) -> Backend:
    """The backend that runs ``loaded`` on ``stamps`` for the requested ``precision``.

    Parameters
    ----------
    loaded : LoadedModel
    stamps : numpy.ndarray
        ``(N, bands, S, S)`` in e-/s: the stamps about to be predicted. A new
        int8 network is calibrated on the training stamps stored with it (a
        seeded sample of these stamps for networks without them), and every
        backend other than fp32 is checked on a disjoint sample.
    precision : {"auto", "fp32", "fp32-openvino", "bf16", "int8"}
        ``fp32`` always runs fp32. ``fp32-openvino``, ``bf16`` and ``int8``
        run that backend if it loads and passes its check, else fp32 with one
        line saying why.
        ``auto``: the fastest native backend that passed (recorded per machine
        and network); fp32 for fewer than :data:`AUTO_MIN_STAMPS` stamps
        unless this process has already built ``auto``'s backend of the network.
    device : torch.device, optional
        Default: the device of the network's parameters.
    """
    model = loaded.model.eval()
    device = device or next(model.parameters()).device
    if precision == "fp32":
        return _fp32_backend(model)
    machine, network = machine_key(device), network_fingerprint(loaded)
    with _LOCK:
        cached = _BUILT.get((machine, network, precision))
        if cached is not None:
            _BUILT.move_to_end((machine, network, precision))
            return cached
        if precision == "auto" and len(stamps) < AUTO_MIN_STAMPS:
            return _fp32_backend(model)
        mean = band_mean_tensor(loaded, device)
        samples = calibration_and_check(loaded, stamps, mean, device)
        if precision == "auto":
            backend = _auto(model, samples, device, machine, network)
        else:
            unavailable = {"int8": int8_is_available, "fp32-openvino": openvino_is_available}.get(
                precision, lambda device: None
            )(device)
            if unavailable:
                log.warning("inference: %s; fp32 used", unavailable)
                backend = _fp32_backend(model)
            else:
                backend = _verified(precision, model, samples, precision)
        _BUILT[(machine, network, precision)] = backend
        while len(_BUILT) > _BUILT_LIMIT:
            _BUILT.popitem(last=False)
        return backend


def _auto(
    model: StarcNet,
    samples: tuple[torch.Tensor, torch.Tensor],
    device: torch.device,
    machine: str,
    network: str,
) -> Backend:
    recorded = _read_choices().get(machine, {}).get(network)
    if recorded is not None:
        choice = recorded.get("choice", "fp32")
        if choice == "fp32":
            return _fp32_backend(model)
        return _verified(choice, model, samples, f"{choice} (auto's recorded choice)")
    candidates = [
        precision
        for precision, usable in (
            ("bf16", bf16_is_fast(device)),
            ("fp32-openvino", openvino_is_available(device) is None),
            ("int8", int8_is_available(device) is None),
        )
        if usable
    ]
    best, record = _probe(model, samples, candidates)
    record["network"] = network
    _record_choice(machine, network, record)
    return best
