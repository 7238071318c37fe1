"""Measured numbers the simulator draws from, with their provenance.

Magnitudes and colours: per hybrid class (column 34) of the LEGUS NGC 1566
catalog, sources detected in all five bands, absolute V magnitude at 17.9 Mpc
(Sabbi et al. 2018) and the colours NUV-V, U-V, B-V, V-I — mean vector and
covariance, measured by ``scripts/calibrate_simulator.py``. Sizes: log10
effective radius (pc) and EFF slope of the clusters with reliable GALFIT fits
(eta > 1.3) in Ryon et al. (2017), NGC 628 and NGC 1313, same script.
Survey counts and distances: the paper's Table 6. Human confusion: the paper's
Fig. 3 (individual classifier against individual classifier, 4 classes).
Nothing here is read from disk at run time.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CLASS_PHOTOMETRY",
    "LOG_REFF_PC",
    "EFF_ETA",
    "PSF_FWHM_PX",
    "EXPTIME_S",
    "READ_NOISE_E",
    "SKY_E_S",
    "M_V_LIMIT",
    "SURVEY_GALAXIES",
    "EXPERT_CONFUSION",
    "pc_per_pixel",
    "distance_modulus",
]

#: Per true class: mean and covariance of (M_V, NUV-V, U-V, B-V, V-I), mag;
#: NGC 1566 hybrid classes (n = 472, 403, 692, 869 sources).
CLASS_PHOTOMETRY: dict[int, dict[str, np.ndarray]] = {
    1: dict(
        mean=np.array([-8.257, -0.047, -0.188, 0.213, 0.67]),
        cov=np.array(
            [
                [0.7855, 0.1974, 0.1357, 0.0423, 0.044],
                [0.1974, 0.9444, 0.4919, 0.121, 0.1475],
                [0.1357, 0.4919, 0.4088, 0.0834, 0.1007],
                [0.0423, 0.121, 0.0834, 0.0617, 0.0392],
                [0.044, 0.1475, 0.1007, 0.0392, 0.0912],
            ]
        ),
    ),
    2: dict(
        mean=np.array([-8.329, -0.909, -0.824, 0.134, 0.537]),
        cov=np.array(
            [
                [0.848, 0.3051, 0.2285, 0.0523, 0.1278],
                [0.3051, 0.8849, 0.4946, 0.135, 0.1968],
                [0.2285, 0.4946, 0.4168, 0.0837, 0.1447],
                [0.0523, 0.135, 0.0837, 0.0507, 0.0554],
                [0.1278, 0.1968, 0.1447, 0.0554, 0.1554],
            ]
        ),
    ),
    3: dict(
        mean=np.array([-8.179, -1.329, -1.102, 0.077, 0.438]),
        cov=np.array(
            [
                [0.6589, 0.14, 0.1078, 0.0248, 0.1025],
                [0.14, 0.5166, 0.3283, 0.0987, 0.1515],
                [0.1078, 0.3283, 0.2578, 0.073, 0.1132],
                [0.0248, 0.0987, 0.073, 0.0511, 0.0458],
                [0.1025, 0.1515, 0.1132, 0.0458, 0.1756],
            ]
        ),
    ),
    4: dict(
        mean=np.array([-7.799, -1.007, -0.852, 0.136, 0.656]),
        cov=np.array(
            [
                [0.6581, -0.0468, -0.0031, -0.0076, 0.0958],
                [-0.0468, 0.7545, 0.4423, 0.1322, 0.1304],
                [-0.0031, 0.4423, 0.4443, 0.0965, 0.0743],
                [-0.0076, 0.1322, 0.0965, 0.0849, 0.0378],
                [0.0958, 0.1304, 0.0743, 0.0378, 0.3056],
            ]
        ),
    ),
}

#: log10 effective radius in pc: (mean, standard deviation); Ryon et al. 2017, n = 190.
LOG_REFF_PC: tuple[float, float] = (0.407, 0.259)

#: EFF power-law slope eta: (median, 16th, 84th percentile); same clusters.
EFF_ETA: tuple[float, float, float] = (1.780, 1.442, 2.928)

#: PSF full width at half maximum per band, pixels (WFC3/UVIS on the 0.0396" grid).
PSF_FWHM_PX: dict[str, float] = {"NUV": 2.3, "U": 2.1, "B": 1.9, "V": 1.8, "I": 2.1}

#: Typical LEGUS exposure times per band, s.
EXPTIME_S: dict[str, float] = {"NUV": 2400.0, "U": 1100.0, "B": 950.0, "V": 1130.0, "I": 950.0}

#: Read noise per drizzled pixel, electrons.
READ_NOISE_E = 3.1

#: Sky level per band, e-/s per pixel.
SKY_E_S: dict[str, float] = {"NUV": 0.0005, "U": 0.001, "B": 0.004, "V": 0.012, "I": 0.010}

#: LEGUS visual-inspection cut: candidates brighter than M_V = -6 mag are inspected.
M_V_LIMIT = -6.0

#: The paper's Table 6: galaxy -> (distance in Mpc, candidates of class 1, 2, 3, 4).
SURVEY_GALAXIES: dict[str, tuple[float, tuple[int, int, int, int]]] = {
    "IC 4247": (5.11, (1, 4, 3, 37)),
    "IC 559": (5.3, (9, 12, 4, 18)),
    "NGC 1313": (4.39, (127, 286, 332, 759)),
    "NGC 1433": (8.3, (51, 61, 56, 138)),
    "NGC 1566": (17.9, (477, 404, 692, 878)),
    "NGC 1705": (5.1, (16, 13, 13, 54)),
    "NGC 3344": (7.0, (119, 118, 159, 161)),
    "NGC 3351": (10.0, (118, 80, 94, 326)),
    "NGC 3738": (4.9, (49, 93, 86, 214)),
    "NGC 4242": (5.8, (117, 60, 14, 42)),
    "NGC 4395": (4.3, (39, 76, 61, 50)),
    "NGC 4449": (4.31, (143, 282, 182, 874)),
    "NGC 45": (6.61, (45, 52, 20, 43)),
    "NGC 4656": (5.5, (93, 91, 78, 169)),
    "NGC 5194+5195": (7.66, (363, 502, 365, 1261)),
    "NGC 5238": (4.51, (4, 4, 1, 9)),
    "NGC 5253": (3.15, (20, 37, 23, 154)),
    "NGC 5474": (6.8, (48, 95, 34, 144)),
    "NGC 5477": (6.4, (5, 9, 9, 49)),
    "NGC 628": (9.9, (426, 437, 413, 664)),
    "NGC 6503": (5.27, (71, 96, 131, 172)),
    "NGC 7793": (3.44, (83, 160, 169, 140)),
    "UGC 1249": (6.9, (13, 35, 40, 133)),
    "UGC 4305": (3.05, (16, 29, 40, 147)),
    "UGC 4459": (3.66, (2, 5, 3, 20)),
    "UGC 5139": (3.98, (2, 7, 7, 23)),
    "UGC 685": (4.83, (7, 4, 3, 6)),
    "UGC 695": (10.9, (4, 7, 6, 94)),
    "UGC 7408": (6.7, (19, 16, 11, 32)),
    "UGCA 281": (5.9, (2, 9, 4, 34)),
}

#: The paper's Fig. 3, left: classifier 1 (rows, classes 1-4) against classifier 2 (columns).
EXPERT_CONFUSION = np.array(
    [
        [0.68, 0.18, 0.05, 0.09],
        [0.14, 0.50, 0.20, 0.16],
        [0.03, 0.18, 0.49, 0.30],
        [0.06, 0.12, 0.19, 0.63],
    ]
)

_RAD_PER_ARCSEC = np.pi / (180.0 * 3600.0)


def pc_per_pixel(distance_mpc: float, pixel_scale_arcsec: float = 0.0396) -> float:
    """Parsecs subtended by one pixel at a distance in Mpc (0.85 pc at 4.39 Mpc)."""
    return distance_mpc * 1e6 * pixel_scale_arcsec * _RAD_PER_ARCSEC


def distance_modulus(distance_mpc: float | np.ndarray) -> float | np.ndarray:
    """Distance modulus, mag, for a distance in Mpc."""
    return 5.0 * np.log10(np.asarray(distance_mpc) * 1e6) - 5.0
