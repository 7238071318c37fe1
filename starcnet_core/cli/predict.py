"""``python -m starcnet_core predict``: classify a galaxy's candidates (or a stamp set) with a model."""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from starcnet_core.commandline import add_frame_argument
from starcnet_core.errors import UserInputError
from starcnet_core.io.galaxy import read_galaxy
from starcnet_core.io.prediction_files import (
    predict_galaxy,
    predict_stampset,
    write_galaxy_outputs,
    write_stampset_outputs,
)
from starcnet_core.io.stampset import StampSet
from starcnet_core.nn.checkpoint import load_model
from starcnet_core.nn.predict import PRECISIONS
from starcnet_core.scores import scored_with, scored_with_counts

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="classify candidates with a trained (or the published) StarcNet",
        description="Score every candidate of a galaxy directory, or every stamp of a stamp set, and write "
        "scores CSV, the published .tab and predictions.csv, a DS9 region file and an overlay PNG "
        "(galaxies) or scores.csv (stamp sets).",
    )
    parser.add_argument("--model", required=True, help="checkpoint, or the published starcnet.pth")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--galaxy", help="galaxy directory (five mosaics + catalog), or a catalog file")
    source.add_argument("--stamps", help="stamp set directory")
    parser.add_argument("--catalog", help="catalog file, when the galaxy directory holds several tables")
    parser.add_argument("--mosaics", nargs="+", help="directory of the mosaics, or the five FITS files")
    add_frame_argument(parser)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--tta", action="store_true", help="average over the 8 rotations/reflections")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="fp32: the published network, bit-reproducible; fp32-openvino (the network compiled by "
        "OpenVINO, float32), bf16, int8: faster, used only after they "
        "give the fp32 class on 99.5%% of held-out stamps; auto (default): the fastest that passed on "
        "this machine (a timed probe, recorded). The precision used and the engine that ran it are in every scores file.",
    )
    parser.add_argument(
        "--band-mean", help="per-band mean .npy for published weights (default: next to them)"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    band_mean = None
    if args.band_mean:
        try:
            band_mean = np.load(args.band_mean, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UserInputError(f"{args.band_mean}: not a readable .npy band mean ({error})") from None
    loaded = load_model(args.model, band_mean=band_mean)
    options = {"tta": args.tta, "batch_size": args.batch_size, "precision": args.precision}
    if args.stamps:
        table = predict_stampset(loaded, StampSet.load(args.stamps), **options)
        written = write_stampset_outputs(args.out, table)
    else:
        mosaics = args.mosaics[0] if args.mosaics and len(args.mosaics) == 1 else args.mosaics
        galaxy = read_galaxy(args.galaxy, catalog=args.catalog, mosaics=mosaics, frame=args.frame)
        table = predict_galaxy(loaded, galaxy, **options)
        written = write_galaxy_outputs(args.out, galaxy, table)
        skipped = int((~table["usable"]).sum())
        if skipped:
            print(
                f"{skipped} candidate(s) without a usable stamp (edge, NaN or no coverage) are not classified"
            )
    counts = np.bincount(np.asarray(table["pred_class"]), minlength=5)[1:]
    ran = np.asarray(table["precision"]) != ""
    used = Counter(zip(table["precision"][ran].tolist(), table["engine"][ran].tolist(), strict=True))
    print(
        f"classified {int(counts.sum())} candidates ({_scored_by(used)}): "
        + ", ".join(f"class {k + 1}: {n}" for k, n in enumerate(counts))
    )
    for path in written:
        print(path)
    return 0


def _scored_by(used: Counter) -> str:
    """``int8 on openvino``, or with near-ties in fp32 ``int8 on openvino 3,052, fp32 on torch 44``."""
    if len(used) == 1:
        return scored_with(*next(iter(used)))
    return scored_with_counts((precision, engine, n) for (precision, engine), n in used.most_common())
