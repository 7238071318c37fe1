"""``python -m starcnet_core simulate galaxy|survey OUT``: simulated LEGUS data."""

from __future__ import annotations

import argparse

from starcnet_core.errors import UserInputError
from starcnet_core.sim.calibration import INSPECTION_LIMITS

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand with its ``galaxy`` and ``survey`` modes."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a LEGUS galaxy (mosaics + catalog) or a labelled training survey",
        description="Write simulated LEGUS data: one galaxy's five mosaics, 35-column catalog and truth, "
        "or a stamp set like the paper's 15,471-candidate sample.",
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    galaxy = modes.add_parser("galaxy", help="five FITS mosaics, a LEGUS .tab catalog + readme, truth CSV")
    galaxy.add_argument("out", help="output directory")
    galaxy.add_argument("--size", type=int, default=4000, help="mosaic side, pixels (default 4000)")
    galaxy.add_argument("--n-candidates", type=int, default=1500, help="catalog candidates (default 1500)")
    galaxy.add_argument("--distance", type=float, default=10.0, help="distance, Mpc (default 10)")
    galaxy.add_argument(
        "--filter-set",
        choices=("wfc3", "wfc3+acs"),
        default="wfc3",
        help="all bands from WFC3, or B, V, I from ACS (default wfc3)",
    )
    galaxy.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    galaxy.add_argument("--field", default="simgal", help="field name in the file names (default simgal)")
    galaxy.add_argument(
        "--ci-cut",
        type=float,
        default=1.35,
        help="the field's CI cut, mag: candidates below it are not in the catalog (default 1.35)",
    )
    galaxy.add_argument(
        "--inspection-like",
        choices=sorted(INSPECTION_LIMITS),
        help="follow this real field: classify down to its own inspection limit instead of M_V = -6, "
        "with its detection depth and aperture-correction errors",
    )
    galaxy.set_defaults(func=_galaxy)
    survey = modes.add_parser("survey", help="labelled stamp set of the paper's Table 6 galaxies")
    survey.add_argument("out", help="output stamp-set directory")
    survey.add_argument(
        "--fraction", type=float, default=1.0, help="scale of the class counts, 0-1 (default 1)"
    )
    survey.add_argument("--stamp-size", type=int, default=32, help="stamp side, pixels (default 32)")
    survey.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    survey.set_defaults(func=_survey)


def _galaxy(args: argparse.Namespace) -> int:
    from starcnet_core.sim import simulate_galaxy

    try:
        out = simulate_galaxy(
            args.out,
            size=args.size,
            n_candidates=args.n_candidates,
            distance_mpc=args.distance,
            filter_set=args.filter_set,
            seed=args.seed,
            field=args.field,
            ci_cut=args.ci_cut,
            legus_field=args.inspection_like,
        )
    except ValueError as exc:
        raise UserInputError(str(exc)) from exc
    print(f"wrote simulated galaxy {args.field} ({args.n_candidates} candidates, {args.size} px) to {out}")
    return 0


def _survey(args: argparse.Namespace) -> int:
    from starcnet_core.sim import simulate_survey

    if args.stamp_size < 8 or args.stamp_size % 2:
        raise UserInputError("--stamp-size must be an even number of pixels, at least 8")
    try:
        survey = simulate_survey(args.out, seed=args.seed, fraction=args.fraction, stamp_size=args.stamp_size)
    except ValueError as exc:
        raise UserInputError(str(exc)) from exc
    print(f"wrote {len(survey)} stamps of {len(set(survey.table['galaxy']))} galaxies to {args.out}")
    return 0
