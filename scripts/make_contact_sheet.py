"""Make ``docs/contact_sheet.png``: simulated candidates of each kind, and a simulated field.

Left: five survey candidates per row, one row per true class and class-4
sub-type, each as the paper's RGB mix (ACS bands of ACS fields scaled as the
paper scales them) and beside it the V band (asinh stretch, 32x32 px), titled
with the three simulated experts' votes and the measured CI. Survey stamps are
candidates LEGUS would have classified: a detector artifact (light in one
band) is there only where neighbours give it four detected bands and a light
peak in V (CI <= 2.39), and a star only where blending lifts its CI over the cut. Right: a whole simulated
galaxy (1000x1000 px).

Usage: ``python scripts/make_contact_sheet.py [--out docs/contact_sheet.png] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starcnet_core.display import field_image, grey_stamps, rgb_composite  # noqa: E402
from starcnet_core.io.bands import ACS_DISPLAY_SCALE  # noqa: E402
from starcnet_core.io.mosaics import open_mosaics  # noqa: E402
from starcnet_core.sim import simulate_galaxy, simulate_survey  # noqa: E402
from starcnet_core.sim.population import ACS_FILTERS  # noqa: E402

ROWS = (
    ("class 1: symmetric cluster", 1, None),
    ("class 2: asymmetric cluster", 2, None),
    ("class 3: compact association", 3, None),
    ("class 4: star", 4, "star"),
    ("class 4: asterism", 4, "asterism"),
    ("class 4: background galaxy", 4, "galaxy"),
    ("class 4: artifact", 4, ("hot_pixel", "cosmic_ray")),
)
PER_ROW = 5


def _acs_scale(band: str) -> float:
    """The paper's display factor for a band taken with ACS (1 for WFC3-only bands)."""
    instrument, filter_name = ACS_FILTERS[band]
    return ACS_DISPLAY_SCALE[filter_name] if instrument == "ACS" else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "contact_sheet.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    survey = simulate_survey(None, seed=args.seed, fraction=0.1)
    table = survey.table
    rng = np.random.default_rng(args.seed)
    fig = plt.figure(figsize=(18, 8.5))
    grid = fig.add_gridspec(len(ROWS), 2 * PER_ROW + len(ROWS), wspace=0.05, hspace=0.35)
    v_band = list(survey.bands).index("V")
    for r, (title, cls, kind) in enumerate(ROWS):
        rows = np.asarray(table["true_class"]) == cls
        if kind is not None:
            rows &= np.isin(np.asarray(table["kind"]), kind)
        if not rows.any():
            note = fig.add_subplot(grid[r, : 2 * PER_ROW])
            note.axis("off")
            note.text(0.0, 0.5, f"{title}: none passed LEGUS's cuts in this survey", fontsize=7)
            continue
        chosen = rng.choice(np.flatnonzero(rows), size=min(PER_ROW, rows.sum()), replace=False)
        for c, i in enumerate(chosen):
            votes = "".join(str(table[f"vote_{k}"][i]) for k in (1, 2, 3))
            stamp = survey.stamps[i]
            if table["filter_set"][i] == "wfc3+acs":
                stamp = stamp * np.array([_acs_scale(b) for b in survey.bands], np.float32)[:, None, None]
            rgb = fig.add_subplot(grid[r, 2 * c])
            rgb.imshow(rgb_composite(stamp), origin="lower")
            rgb.set_title(f"votes {votes}, CI {table['ci'][i]:.2f}", fontsize=6)
            v = fig.add_subplot(grid[r, 2 * c + 1])
            v.imshow(grey_stamps(survey.stamps[i])[v_band], origin="lower", cmap="gray")
            v.set_title("V", fontsize=6)
            for ax in (rgb, v):
                ax.set_xticks([])
                ax.set_yticks([])
            if c == 0:
                rgb.set_ylabel(title.replace(": ", ":\n"), fontsize=6)
    with tempfile.TemporaryDirectory() as tmp:
        directory = simulate_galaxy(tmp, size=1000, n_candidates=150, distance_mpc=8.0, seed=args.seed)
        image, _ = field_image(open_mosaics(directory).arrays(), max_side=1000)
    ax = fig.add_subplot(grid[:, 2 * PER_ROW :])
    ax.imshow(image, origin="lower")
    ax.set_title("simulated galaxy, 1000x1000 px at 8 Mpc (the paper's RGB mix)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.suptitle(
        "StarcNet Studio simulator: survey stamps by true class (RGB = I+V, B, U+NUV; V band in grey)",
        fontsize=11,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
