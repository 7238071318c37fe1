"""SED-fit columns of simulated candidates: age, mass, E(B-V) and their 68% intervals.

LEGUS fits the five-band photometry of every candidate detected in at least
four filters with Yggdrasil cluster models (Adamo et al. 2017) and writes the
best age, mass and E(B-V) with their 68% intervals (catalog columns 17-25), or
0 where no fit was made. The simulator does not fit: it draws each candidate's
values from the relation measured per class on real LEGUS catalogs
(:data:`~starcnet_core.sim.calibration.CLASS_SED`) given its absolute V
magnitude and colours, so that mass follows V luminosity and age, bluer
candidates are younger, and class 3 associations come out youngest.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from starcnet_core.io.bands import BANDS
from starcnet_core.sim.calibration import (
    AGE_RANGE_YR,
    CLASS_SED,
    EBV_RANGE,
    SED_INTERVALS,
    distance_modulus,
)

__all__ = ["MIN_FILTERS_FOR_SED", "SedFit", "draw_sed"]

#: LEGUS fits an SED only to candidates detected in at least this many filters (readme, column 33).
MIN_FILTERS_FOR_SED = 4


@dataclass
class SedFit:
    """SED-fit values per candidate, 0 where no fit was made (the LEGUS convention).

    Attributes
    ----------
    age, age_max, age_min : arrays (N,)
        Best age and its 68% interval, yr.
    mass, mass_max, mass_min : arrays (N,)
        Best mass and its 68% interval, solar masses.
    ebv, ebv_max, ebv_min : arrays (N,)
        Best colour excess E(B-V) and its 68% interval, mag.
    """

    age: np.ndarray
    age_max: np.ndarray
    age_min: np.ndarray
    mass: np.ndarray
    mass_max: np.ndarray
    mass_min: np.ndarray
    ebv: np.ndarray
    ebv_max: np.ndarray
    ebv_min: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        """Standard catalog column name -> values (``age``, ``age_max`` ... ``ebv_min``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _intervals(best: np.ndarray, quantity: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower 68% interval widths: 0 with the measured probability, else exponential."""
    widths = []
    for zero_fraction, mean in SED_INTERVALS[quantity]:
        width = rng.exponential(mean, len(best))
        widths.append(np.where(rng.random(len(best)) < zero_fraction, 0.0, width))
    return widths[0], widths[1]


def draw_sed(
    true_class: np.ndarray,
    mag: np.ndarray,
    distance_mpc: float,
    rng: np.random.Generator,
    fitted: np.ndarray | None = None,
) -> SedFit:
    """Draw SED-fit values for candidates from their class, absolute V magnitude and colours.

    Parameters
    ----------
    true_class : int array (N,)
        Class 1-4 of each candidate (its relation is used also when it was never inspected).
    mag : array (N, 5)
        Vega magnitudes in :data:`~starcnet_core.io.bands.BANDS` order, apparent.
    distance_mpc : float
        Distance, Mpc, for the absolute V magnitude.
    rng : numpy.random.Generator
    fitted : bool array (N,), optional
        Which candidates LEGUS would fit (detected in at least
        :data:`MIN_FILTERS_FOR_SED` filters); the others get 0 in every column.
        Default: all.

    Returns
    -------
    SedFit
    """
    true_class = np.asarray(true_class, dtype=int)
    mag = np.asarray(mag, dtype=float)
    n = len(true_class)
    v = mag[:, BANDS.index("V")]
    design = np.column_stack(
        [
            np.ones(n),
            v - distance_modulus(distance_mpc),
            mag[:, BANDS.index("NUV")] - v,
            mag[:, BANDS.index("U")] - v,
            mag[:, BANDS.index("B")] - v,
            v - mag[:, BANDS.index("I")],
        ]
    )
    values = np.zeros((n, 3))
    for cls, relation in CLASS_SED.items():
        rows = np.flatnonzero(true_class == cls)
        if len(rows):
            scatter = rng.multivariate_normal(np.zeros(3), relation["cov"], size=len(rows))
            values[rows] = design[rows] @ relation["coef"] + scatter
    log_age = np.clip(values[:, 0], *np.log10(AGE_RANGE_YR))
    log_mass = values[:, 1]
    ebv = np.clip(values[:, 2], *EBV_RANGE)
    age_up, age_down = _intervals(log_age, "age", rng)
    mass_up, mass_down = _intervals(log_mass, "mass", rng)
    ebv_up, ebv_down = _intervals(ebv, "ebv", rng)
    result = SedFit(
        age=10.0**log_age,
        age_max=10.0 ** np.minimum(log_age + age_up, np.log10(AGE_RANGE_YR[1])),
        age_min=10.0 ** np.maximum(log_age - age_down, np.log10(AGE_RANGE_YR[0])),
        mass=10.0**log_mass,
        mass_max=10.0 ** (log_mass + mass_up),
        mass_min=10.0 ** (log_mass - mass_down),
        ebv=ebv,
        ebv_max=np.minimum(ebv + ebv_up, EBV_RANGE[1]),
        ebv_min=np.maximum(ebv - ebv_down, EBV_RANGE[0]),
    )
    if fitted is not None:
        unfitted = ~np.asarray(fitted, dtype=bool)
        for name, column in result.columns().items():
            setattr(result, name, np.where(unfitted, 0.0, column))
    return result
