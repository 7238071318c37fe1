"""``python -m starcnet_core train``: train StarcNet on a stamp set and save a checkpoint.

Runs on one process, or under ``torchrun --nproc-per-node N -m starcnet_core train ...``
(PyTorch DDP; NCCL on GPUs, gloo on CPUs), where process 0 writes the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os

import torch
import torch.distributed as dist

from starcnet_core.groupings import BINARY, GROUP_NAMES, GROUPING_TITLES, GROUPINGS
from starcnet_core.io.bands import CLASS_NAMES
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import save_checkpoint
from starcnet_core.nn.model import PRESETS
from starcnet_core.training.splits import SPLIT_METHODS
from starcnet_core.training.train import TrainConfig, train_model

__all__ = ["register", "run_train"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train StarcNet on a stamp set (the paper's recipe by default)"
    )
    parser.add_argument("--stamps", required=True, help="stamp set directory (see StampSet)")
    parser.add_argument("--out", required=True, help="checkpoint file to write")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="paper", help="network size (default paper)"
    )
    defaults = TrainConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--split", choices=SPLIT_METHODS, default=defaults.split)
    parser.add_argument("--holdout-galaxy", help="test galaxy of --split loo")
    parser.add_argument(
        "--binary",
        nargs="?",
        const=BINARY,
        choices=[name for name, groups in GROUPINGS.items() if len(set(groups.values())) == 2],
        help=f"train on two classes: {GROUPING_TITLES[BINARY]} (default), or binary_123_4 for "
        f"{GROUPING_TITLES['binary_123_4']}",
    )
    parser.add_argument("--epsilon", type=float, help="train only on |label_mean - label| <= EPSILON")
    parser.add_argument("--no-balance", action="store_true", help="no balancing / rotation augmentation")
    parser.add_argument("--device", default=defaults.device, help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--num-workers", type=int, default=defaults.num_workers)
    parser.set_defaults(func=run_train)


def _start_distributed() -> bool:
    """Join the process group torchrun describes in the environment; False when not under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def run_train(args: argparse.Namespace) -> int:
    stamps = StampSet.load(args.stamps)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        split=args.split,
        holdout_galaxy=args.holdout_galaxy,
        binary=args.binary is not None,
        grouping=args.binary or BINARY,
        epsilon=args.epsilon,
        balance=not args.no_balance,
        device=args.device,
        num_workers=args.num_workers,
    )
    started = _start_distributed()
    rank = dist.get_rank() if dist.is_initialized() else 0
    try:

        def report(event: dict) -> None:
            if rank == 0 and "train_loss" in event:
                print(
                    f"epoch {event['epoch']}/{config.epochs}: train loss {event['train_loss']:.4f}, "
                    f"val loss {event['val_loss']:.4f}, val accuracy {event['val_accuracy']:.3f} "
                    f"({event['seconds']:.1f} s)",
                    flush=True,
                )

        result = train_model(stamps, config, PRESETS[args.preset], progress=report)
        if rank == 0:
            classes = GROUP_NAMES[config.grouping] if config.binary else tuple(CLASS_NAMES.values())
            save_checkpoint(
                args.out,
                result.model,
                band_mean=result.band_mean,
                bands=stamps.bands,
                class_names=classes,
                label_fingerprint=stamps.label_fingerprint,
                metrics=result.test_metrics,
                temperature=result.temperature,
                extra={
                    "train_config": config.to_dict(),
                    "preset": args.preset,
                    "history": result.history,
                    "best_epoch": result.best_epoch,
                    "calibration": result.calibration,
                },
            )
            print(f"best epoch {result.best_epoch}; test {json.dumps(result.test_metrics)}; wrote {args.out}")
    finally:
        if started:
            dist.destroy_process_group()
    return 0
