"""Measured numbers the simulator draws from, with their provenance.

Magnitudes and colours: per hybrid class (column 34) of the LEGUS NGC 1566
catalog, sources detected in all five bands, absolute V magnitude at 17.9 Mpc
(Sabbi et al. 2018) and the colours NUV-V, U-V, B-V, V-I — mean vector and
intrinsic covariance (the catalog's own error covariance taken out, since the
simulator measures its photometry with noise again), measured by
``scripts/calibrate_simulator.py``; colours are drawn conditional on M_V.
Luminosity functions: per class, the slope of dN/dL ~ L^-alpha above
completeness (NGC 1566 brighter than M_V = -8.3, NGC 628 brighter than -7.0)
and the catalogs' detection limit in apparent V (logistic completeness fitted
to every row of both), same script. CI cuts: the smallest CI of each real
catalog, same script. Sizes: log10
effective radius (pc) and EFF slope of the clusters with reliable GALFIT fits
(eta > 1.3) in Ryon et al. (2017), NGC 628 and NGC 1313, same script.
SED-fit columns (age, mass, E(B-V), LEGUS columns 17-25): per class, a linear
relation to M_V and the four colours with Gaussian residuals, pooled over the
NGC 1566 catalog (hybrid class, column 34) and the NGC 628 catalog
(``ngc628_catalog_wClass0.csv``, class mode, column 34, 9.9 Mpc), sources with
an SED fit detected in all five bands. Same script. Survey counts and distances: the paper's Table 6. Human
confusion: the paper's Fig. 3 (individual classifier against individual
classifier, 4 classes). Nothing here is read from disk at run time.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CLASS_PHOTOMETRY",
    "LABEL_MIXING",
    "TRUE_CLASS_PHOTOMETRY",
    "TRUE_CLASS_COLOUR_OFFSETS",
    "unmixed_photometry",
    "LOG_REFF_PC",
    "REFF_RENDER_SHIFT_DEX",
    "EFF_ETA",
    "PSF_FWHM_PX",
    "MOFFAT_BETA",
    "ACS_PSF_SCALE",
    "PSF_WIDTH_SCATTER",
    "EXPTIME_S",
    "READ_NOISE_E",
    "SKY_E_S",
    "M_V_LIMIT",
    "CLASS_SED",
    "SED_INTERVALS",
    "AGE_RANGE_YR",
    "EBV_RANGE",
    "LF_ALPHA",
    "M_V_BRIGHTEST",
    "CLASS_DETECTION",
    "FIELD_DETECTION_DEPTH",
    "DETECTION_SEPARATION_PX",
    "INSPECTION_LIMITS",
    "PEAK_CI_MAX",
    "CI_CUTS",
    "DEFAULT_CI_CUT",
    "ACS_GALAXIES",
    "SURVEY_GALAXIES",
    "EXPERT_CONFUSION",
    "APCOR_ERROR_MAG",
    "aperture_correction_error",
    "pc_per_pixel",
    "distance_modulus",
]

#: Per true class: mean and intrinsic covariance of (M_V, NUV-V, U-V, B-V, V-I), mag;
#: NGC 1566 hybrid classes (n = 472, 403, 692, 869 sources).
CLASS_PHOTOMETRY: dict[int, dict[str, np.ndarray]] = {
    1: dict(
        mean=np.array([-8.257, -0.047, -0.188, 0.213, 0.67]),
        cov=np.array(
            [
                [0.7868, 0.0303, 0.1495, 0.0477, 0.0446],
                [0.0303, 0.0042, 0.0331, 0.0085, 0.0108],
                [0.1495, 0.0331, 0.3999, 0.0878, 0.1125],
                [0.0477, 0.0085, 0.0878, 0.053, 0.0441],
                [0.0446, 0.0108, 0.1125, 0.0441, 0.0857],
            ]
        ),
    ),
    2: dict(
        mean=np.array([-8.329, -0.909, -0.824, 0.134, 0.537]),
        cov=np.array(
            [
                [0.8443, 0.3088, 0.2321, 0.056, 0.1242],
                [0.3088, 0.7628, 0.491, 0.1314, 0.2005],
                [0.2321, 0.491, 0.3916, 0.08, 0.1483],
                [0.056, 0.1314, 0.08, 0.0388, 0.0591],
                [0.1242, 0.2005, 0.1483, 0.0591, 0.1444],
            ]
        ),
    ),
    3: dict(
        mean=np.array([-8.179, -1.329, -1.102, 0.077, 0.438]),
        cov=np.array(
            [
                [0.6537, 0.1449, 0.1133, 0.03, 0.0973],
                [0.1449, 0.356, 0.3012, 0.0893, 0.1548],
                [0.1133, 0.3012, 0.2583, 0.0723, 0.1205],
                [0.03, 0.0893, 0.0723, 0.0366, 0.0514],
                [0.0973, 0.1548, 0.1205, 0.0514, 0.1597],
            ]
        ),
    ),
    4: dict(
        mean=np.array([-7.799, -1.007, -0.852, 0.136, 0.656]),
        cov=np.array(
            [
                [0.6497, -0.0375, 0.0039, 0.0011, 0.0872],
                [-0.0375, 0.7048, 0.4135, 0.1274, 0.1385],
                [0.0039, 0.4135, 0.2461, 0.0815, 0.0836],
                [0.0011, 0.1274, 0.0815, 0.0616, 0.0461],
                [0.0872, 0.1385, 0.0836, 0.0461, 0.2827],
            ]
        ),
    ),
}

#: P(true class | label) among the inspected candidates of a simulated NGC 1566 galaxy (rows:
#: the simulated experts' mode 1-4, columns: true class 1-4): ``scripts/calibrate_simulator.py``
#: (``measure_label_mixing``; 17.9 Mpc, 3000 px, 2,000 candidates, seeds 0-2, 5,646 inspected).
#: The real catalogs' classes are human labels, so :data:`CLASS_PHOTOMETRY` describes classes
#: as the experts mixed them; the simulator's own experts (:mod:`starcnet_core.sim.annotators`)
#: mix its true classes the same way, so it draws true classes with the unmixed means
#: (:data:`TRUE_CLASS_PHOTOMETRY`).
LABEL_MIXING = np.array(
    [
        [0.733, 0.133, 0.044, 0.09],
        [0.081, 0.702, 0.123, 0.093],
        [0.02, 0.071, 0.778, 0.13],
        [0.044, 0.077, 0.162, 0.717],
    ]
)


#: Per true class: (V-I, U-B, NUV-U) added to the unmixed means, mag. The real per-class
#: colours were measured on candidates that passed LEGUS's Nflt >= 4 on their measured
#: magnitudes, which keeps the faint red ones whose noisy U or NUV came out bright and drops
#: those where it came out faint; the simulator's own Nflt cut on its measured magnitudes
#: selects the same way again, so drawing the real means made the labelled medians too blue
#: where the ultraviolet runs out first: the inspected true class-1 clusters of a simulated
#: NGC 1566 measure 0.19 mag bluer in U-B than drawn, and class 1's labelled U-B came out 0.08-0.27
#: mag bluer than NGC 1566's in six seeds. Forward fit (``scripts/calibrate_simulator.py``,
#: ``fit_true_class_colours``): simulated NGC 1566 galaxies (seeds 0-1) labelled by the simulated
#: experts, each class's offsets moved by real minus simulated labelled median (over the rows
#: detected in both bands, as ``benchmarks/bench_simulator.py`` compares them), three rounds from
#: 0; the last round's class-1 residuals (V-I, U-B, NUV-U) +0.004 / -0.032 / -0.028, every other
#: class within 0.04. Class 1's U-B offset is the only large one (its first round moved the
#: median by 0.01 only, its second by 0.12: the median's sampling noise, ~0.05 per seed).
TRUE_CLASS_COLOUR_OFFSETS: dict[int, tuple[float, float, float]] = {
    1: (-0.016, 0.342, 0.072),
    2: (-0.003, -0.019, -0.089),
    3: (0.031, -0.017, 0.024),
    4: (-0.065, -0.075, 0.028),
}


def _colour_offset_vector(cls: int) -> np.ndarray:
    """:data:`TRUE_CLASS_COLOUR_OFFSETS` of a class on (M_V, NUV-V, U-V, B-V, V-I): B-V kept."""
    v_i, u_b, nuv_u = TRUE_CLASS_COLOUR_OFFSETS[cls]
    return np.array([0.0, nuv_u + u_b, u_b, 0.0, v_i])


def unmixed_photometry() -> dict[int, dict[str, np.ndarray]]:
    """:data:`CLASS_PHOTOMETRY` per true class: means solved from ``label mean = LABEL_MIXING @ true mean``,
    plus :data:`TRUE_CLASS_COLOUR_OFFSETS`.

    The covariances stay as measured: unmixing the second moments too gives matrices that are
    not positive definite (class 1's NUV-V spread among the labels, 0.07 mag, is less than the
    mixing alone would put there), so the true classes keep the labels' somewhat wider spreads.
    """
    labelled = np.array([CLASS_PHOTOMETRY[c]["mean"] for c in (1, 2, 3, 4)])
    means = np.linalg.solve(LABEL_MIXING, labelled)
    return {
        c: dict(mean=means[c - 1] + _colour_offset_vector(c), cov=CLASS_PHOTOMETRY[c]["cov"]) for c in (1, 2, 3, 4)
    }


#: Per true class: mean and covariance of (M_V, NUV-V, U-V, B-V, V-I) the simulator draws with:
#: :data:`CLASS_PHOTOMETRY` unmixed by :data:`LABEL_MIXING`. Class 1 comes out redder (U-B -0.17
#: against -0.40 among the labels: symmetric clusters are the older ones), class 3 bluer (-1.26
#: against -1.18), class 4 0.21 mag fainter; then moved by :data:`TRUE_CLASS_COLOUR_OFFSETS`.
TRUE_CLASS_PHOTOMETRY: dict[int, dict[str, np.ndarray]] = unmixed_photometry()

#: Per true class: slope alpha of the luminosity function dN/dL ~ L^-alpha (maximum
#: likelihood above completeness; NGC 1566 and NGC 628 pooled, n = 403, 343, 383, 299).
LF_ALPHA: dict[int, float] = {1: 2.27, 2: 2.32, 3: 2.55, 4: 2.48}

#: Brightest candidate drawn, absolute V mag (the brightest LEGUS clusters are near -13).
M_V_BRIGHTEST = -13.0

#: Per true class: (V50, width) of the completeness ``1 / (1 + exp((V - V50) / width))`` in the
#: measured (catalog) apparent V: the source detection sees the image, so the limit applies to
#: the light as measured, at every distance (``scene.detected_by_legus``). The real limits are
#: those of the labels: fitted (``scripts/calibrate_simulator.py``, ``measure_class_detection``)
#: on each class of NGC 1566's catalog (hybrid class; n = 477, 404, 692, 878) with the class's
#: own LF slope, V50 = 23.81 / 23.58 / 23.62 / 24.00, widths 0.16 / 0.22 / 0.20 / 0.17 (at 17.9
#: Mpc its inspection limit, V = 25.3, lies far below where its catalog thins out, so these are
#: detection limits). The true classes' limits are a forward fit to them
#: (``fit_true_class_detection``): simulated NGC 1566 galaxies (seeds 0-1) labelled by the
#: simulated experts, the same fit on each label, each true class's V50 moved by real minus
#: simulated, five rounds from the labels' values (widths kept), and three more once candidates
#: kept apart (:data:`DETECTION_SEPARATION_PX`) and field stars got their steep luminosity
#: function (from 24.18 / 23.55 / 23.64 / 24.67); the last round's simulated labels:
#: 23.80 / 23.62 / 23.60 / 24.00. Class 4 lies deepest because its label mixes in
#: clusters and associations (:data:`LABEL_MIXING`), which are found brighter, and because the
#: CI cut and Nflt keep its faint point sources out whatever their detection (each round moved
#: its true V50 0.05-0.1 mag for 0.01-0.05 in the label's). The limit is set by the exposures:
#: a logistic fitted on every row of each catalog (class 0 included, pooled slope) gives NGC 1566
#: V50 = 23.79 and NGC 628 (9.9 Mpc, ACS B/V/I) 23.77, but that fit does not see how far NGC 628's
#: rows reach past it, which the simulation does: :data:`FIELD_DETECTION_DEPTH` moves a field's
#: limits from these.
CLASS_DETECTION: dict[int, tuple[float, float]] = {
    1: (24.09, 0.16),
    2: (23.46, 0.22),
    3: (23.65, 0.20),
    4: (24.51, 0.17),
}

#: Per field: how much deeper (mag, apparent V) its source detection reaches than
#: :data:`CLASS_DETECTION` (NGC 1566's); other fields 0. Fitted (``scripts/calibrate_simulator.py``,
#: ``fit_field_depth``) on what detection found before anyone labelled it: the median V of the
#: catalog's rows with Nflt >= 4, all classes and class 0 together (NGC 628's catalog lists no
#: other rows). NGC 628: real 23.434; simulated (9.9 Mpc, WFC3 + ACS, 3000 px, 2,000 candidates,
#: seeds 0-1) 23.319 at depth 0, 23.442 at 0.16 and 23.438 at 0.15, the fit's three rounds (0.38
#: before candidates were kept apart and field stars got their steep luminosity function: the
#: bright field stars had added light to the faint candidates' apertures). NGC 1566 itself: real
#: 23.33, simulated 23.34 / 23.28 at depth 0 (before those changes). NGC 628's listed rows thin
#: out past V = 24 more slowly than NGC 1566's (rows at V 24.5-25 per row at 23.5-24: 0.28
#: against 0.10), and its real B and V errors at 24 mag are 0.05 and 0.07 mag against NGC 1566's
#: 0.11 and 0.08: deeper B/V exposures (ACS, archival).
FIELD_DETECTION_DEPTH: dict[str, float] = {"NGC 628": 0.15}

#: Closest two catalog candidates lie, pixels: LEGUS's source detection finds one light peak
#: where two sources are closer. Nearest-neighbour distances in NGC 1566's catalog (2,752 rows):
#: none below 2 px, 22 at 2-3 px, 95 at 3-4, 113 at 4-5, where independent positions would give
#: about 13 / 38 / 63 / 88 from the 4-5 px count (pairs grow with the separation); NGC 628: 8 of
#: 2,271 below 2 px, 16 at 2-3, 43 at 3-4. A simulated galaxy placing its candidates independently
#: (3000 px, 2,000 candidates) had 137 of 2,651 below 2 px and 188 at 2-3, and the light of such a
#: neighbour inside the 3 px aperture made the CI of every class too high in the tail (class 1 CI84
#: 1.92 with a neighbour within 10 px, 1.73 without; real 1.60 and 1.62).
DETECTION_SEPARATION_PX = 2.5

#: CI cut of each field (mag): the smallest CI in its real catalog; other fields 1.35.
CI_CUTS: dict[str, float] = {
    "NGC 1566": 1.35,
    "NGC 628": 1.30,
    "NGC 3344": 1.35,
    "NGC 1313": 1.40,
    "IC 559": 1.20,
    "NGC 45": 1.20,
    "NGC 3351": 1.28,
    "NGC 4449": 1.24,
    "NGC 5253": 1.30,
    "UGC 695": 1.25,
}
DEFAULT_CI_CUT = 1.35

#: Table 6 fields whose B, V, I are ACS/WFC (F435W, F555W, F814W): those whose LEGUS catalog
#: is ``acs-wfc3`` in ``legus/catalogs`` (NGC 3351, NGC 4449, NGC 5253, UGC 695), NGC 628
#: (WFC3 UV/U + ACS B/V/I) and NGC 5194+5195 (ACS mosaics, Messa et al. 2018).
ACS_GALAXIES: frozenset[str] = frozenset(
    {"NGC 628", "NGC 3351", "NGC 4449", "NGC 5253", "UGC 695", "NGC 5194+5195"}
)

#: log10 effective radius in pc: (mean, standard deviation); Ryon et al. 2017, n = 190.
LOG_REFF_PC: tuple[float, float] = (0.407, 0.259)

#: Rendered cluster radii are this many dex smaller than :data:`LOG_REFF_PC` says. Ryon et al.
#: (2017)'s own clusters, each rendered at its GALFIT radius and eta through this simulator's
#: PSFs (round, noiseless, V), come out with a CI 0.083 mag above the CI measured on them
#: (median over NGC 628 and NGC 1313, n = 190; +0.02 below 2 pc, +0.10 above 3 pc): taken
#: at face value, the radii render every cluster too extended. Fitted by
#: ``scripts/calibrate_simulator.py`` (``fit_reff_shift``): least squares of simulated minus
#: measured CI over those clusters, rms 0.097 mag at 0, 0.053 at -0.10 (the minimum of a
#: 0.01 dex grid; median difference +0.004 in NGC 628, +0.001 in NGC 1313).
#: Whether the difference is GALFIT extrapolating the wings of shallow EFF profiles or our
#: PSF, their tables cannot say; the CI, which both measure the same way, is what the shift keeps.
REFF_RENDER_SHIFT_DEX = -0.10

#: EFF power-law slope eta: (median, 16th, 84th percentile); same clusters.
EFF_ETA: tuple[float, float, float] = (1.780, 1.442, 2.928)

#: PSF full width at half maximum per band, pixels (WFC3/UVIS on the 0.0396" grid; the
#: analytic Moffat, before integration over the pixels widens it by ~0.3 px). With
#: MOFFAT_BETA they give a point source CI = 1.22 mag in V, below every LEGUS CI cut as
#: stars are, and Ryon et al. (2017) cluster sizes at 17.9 Mpc the CI percentiles of NGC
#: 1566 (``benchmarks/bench_simulator.py``).
PSF_FWHM_PX: dict[str, float] = {"NUV": 2.3, "U": 2.1, "B": 1.9, "V": 2.0, "I": 2.1}

#: ACS/WFC B, V, I FWHM relative to WFC3/UVIS on the same 0.0396" grid: ACS's native 0.05"
#: pixels, drizzled, and its wider optical PSF. Fitted by ``scripts/calibrate_simulator.py``
#: (``measure_psf_widths``) to the CI percentiles (16/50/84, classes 1-4 pooled) of the
#: NGC 628 catalog (WFC3 UV/U + ACS B/V/I), a pixel observable.
#: The grid 1.00-1.20 (step 0.04) gives its smallest misfit at 1.00 (misfit 0.0078 mag²,
#: rising to 0.0088 at 1.04): NGC 628's CI shows no wider ACS PSF, so ACS keeps the WFC3
#: widths (its CI percentiles are matched no better by any width in the grid).
ACS_PSF_SCALE = 1.0

#: Standard deviation of ln(FWHM) across a field and between fields: the HST PSF changes
#: with position on the detector, focus (breathing over an orbit) and between the visits
#: drizzled together, so stars do not all have one CI (LEGUS cuts candidates at a CI that
#: removes most stars, not all). Fitted by the same function to NGC 1566's CI percentiles
#: (1.404 / 1.528 / 1.740), grid 0-0.12 in steps of 0.02, 2 seeds: misfit 0.00120 mag² at
#: 0 (one PSF), 0.00050 at 0.06, 0.00006 at 0.10 (best), 0.00009 at 0.12. Checked again once
#: cluster radii were rendered smaller (:data:`REFF_RENDER_SHIFT_DEX`), candidates kept apart and
#: field stars made mostly faint: 0.00113 at 0, 0.00094 at 0.04, 0.00071 at 0.08, 0.00042 at
#: 0.10, 0.00035 at 0.12, 0.00032 at 0.14 (the two seeds differ by more than 0.10-0.14 do): kept.
PSF_WIDTH_SCATTER = 0.10

#: Moffat power index of the PSF wings (2: 1.5% of a star's light beyond 12 px).
MOFFAT_BETA = 2.0

#: Per field: the uncertainty of LEGUS's average aperture correction per band (NUV, U, B, V,
#: I), mag, which the catalogs add in quadrature to the photometric errors, so that their
#: errors level off at a few hundredths of a mag for bright sources where photon noise
#: alone gives < 0.01. Fitted by ``scripts/calibrate_simulator.py`` (``measure_error_floor``):
#: real median error^2 = floor^2 + k^2 * simulated photometric error^2 in 0.5 mag bins of
#: apparent magnitude (21.5-24.5), per band, on the real catalog and a simulated galaxy at
#: the field's distance, CI cut and instruments. Other fields: the mean of the two.
#: The same fit gives the real pixel noise relative to the simulated (k): NGC 1566 NUV 1.09,
#: U 1.27, B 1.06, V 1.40, I 1.36; NGC 628 1.09, 0.72, 0.76, 0.98, 1.48 (V 1.0-1.4: the
#: simulated noise is not changed).
APCOR_ERROR_MAG: dict[str, tuple[float, float, float, float, float]] = {
    "NGC 1566": (0.072, 0.093, 0.061, 0.039, 0.031),
    "NGC 628": (0.094, 0.067, 0.036, 0.033, 0.034),
}

#: Typical LEGUS exposure times per band, s.
EXPTIME_S: dict[str, float] = {"NUV": 2400.0, "U": 1100.0, "B": 950.0, "V": 1130.0, "I": 950.0}

#: Read noise per drizzled pixel, electrons.
READ_NOISE_E = 3.1

#: Sky level per band, e-/s per pixel.
SKY_E_S: dict[str, float] = {"NUV": 0.0005, "U": 0.001, "B": 0.004, "V": 0.012, "I": 0.010}

#: LEGUS visual-inspection cut (Adamo et al. 2017): candidates with a measured M_V at or
#: brighter than -6 mag (and Nflt >= 4) are classified by eye.
M_V_LIMIT = -6.0

#: Fields whose visual inspection did not follow the -6 mag cut sharply on their catalog
#: magnitudes: (M50, width) of the classified fraction ``1 / (1 + exp((M_V - M50) / width))``
#: among candidates with Nflt >= 4, maximum likelihood on the real catalog (NGC 628: n =
#: 2,271, of which 1,890 classified; 62% classified at M_V -6.0 to -5.75, 24% at -5.75
#: to -5.5). NGC 1566 classified every candidate with Nflt >= 4 (its catalog barely
#: reaches -6), consistent with the sharp cut, which every other field keeps.
INSPECTION_LIMITS: dict[str, tuple[float, float]] = {"NGC 628": (-5.77, 0.13)}

#: Largest V concentration index of a candidate LEGUS's source detection can find: a
#: surface brightness peak has at least the mean light of its 3 px disk within 1 px,
#: i.e. ``CI = 2.5 log10(f3 / f1) <= 2.5 log10(9)`` (2.39, a uniform disk's CI). Real
#: catalogs hold almost no candidate above it (the 12 in ``legus/``: 99th percentiles of
#: the classified candidates' CI 2.07-2.63 in 11 of them, NGC 45 3.55; at most 0.7% above
#: 2.5 in 10 of them, 2.5% in NGC 5253 and NGC 45), while
#: light without a peak at the position (a hot pixel or cosmic ray in another band, seen
#: in V only through its neighbours; a knot-less patch of an association) has CI ~ 3.
PEAK_CI_MAX = 2.5 * float(np.log10(9.0))

#: Per true class: SED-fit (log10 age / yr, log10 mass / Msun, E(B-V) / mag) =
#: ``[1, M_V, NUV-V, U-V, B-V, V-I] @ coef`` plus Gaussian residuals of covariance ``cov``.
#: Least squares on the NGC 1566 (17.9 Mpc, hybrid class) and NGC 628 (9.9 Mpc,
#: class mode) sources with an SED fit (age > 0) detected in all five bands; n =
#: 878, 828, 1100, 1489. Mass follows V luminosity (-0.43 dex per mag, 0.4 for a
#: fixed mass-to-light ratio) and age; class 3 comes out youngest (median 5 Myr
#: against 30 Myr for class 1). Class 4 (stars, asterisms, artifacts) carries what
#: LEGUS gives it: the cluster-model fit of its photometry.
CLASS_SED: dict[int, dict[str, np.ndarray]] = {
    1: dict(
        coef=np.array(
            [
                [8.1405, 0.9542, -0.1333],
                [0.0137, -0.4266, -0.029],
                [0.1963, 0.1839, 0.0284],
                [0.6535, 0.3716, 0.0156],
                [-0.8939, -0.2577, 0.2342],
                [-0.2691, 0.1741, 0.2108],
            ]
        ),
        cov=np.array(
            [[0.24529, 0.05263, -0.07712], [0.05263, 0.03969, -0.00611], [-0.07712, -0.00611, 0.0326]]
        ),
    ),
    2: dict(
        coef=np.array(
            [
                [7.6923, 0.9016, -0.0149],
                [-0.0017, -0.4211, -0.0181],
                [0.2457, 0.1934, 0.0288],
                [0.6159, 0.303, -0.0098],
                [-1.3811, -0.4379, 0.3873],
                [0.2896, 0.2903, 0.1002],
            ]
        ),
        cov=np.array([[0.19975, 0.02168, -0.05143], [0.02168, 0.03488, 0.0019], [-0.05143, 0.0019, 0.01973]]),
    ),
    3: dict(
        coef=np.array(
            [
                [6.7991, 0.7205, 0.2689],
                [-0.083, -0.4329, 0.0038],
                [0.0308, 0.2745, 0.1311],
                [0.6943, 0.1331, -0.0621],
                [-0.7648, -0.3522, 0.1823],
                [0.3325, 0.2921, 0.0527],
            ]
        ),
        cov=np.array(
            [[0.17995, 0.00559, -0.04371], [0.00559, 0.0275, 0.00361], [-0.04371, 0.00361, 0.01549]]
        ),
    ),
    4: dict(
        coef=np.array(
            [
                [6.8758, 0.5045, 0.0678],
                [-0.0448, -0.4401, -0.0173],
                [0.1848, 0.2613, 0.0767],
                [0.2443, 0.0792, 0.0144],
                [-0.2693, -0.1831, 0.1364],
                [0.2075, 0.4144, 0.1573],
            ]
        ),
        cov=np.array(
            [[0.22197, 0.03665, -0.05027], [0.03665, 0.06064, 0.01287], [-0.05027, 0.01287, 0.02655]]
        ),
    ),
}

#: Widths of the 68% intervals (max - best, best - min) per SED quantity:
#: (fraction of sources where the width is 0, mean of the other widths); dex for
#: age and mass, mag for E(B-V). Same sources, classes 1-4 pooled (the model
#: grid often pins an interval edge to the best value).
SED_INTERVALS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "age": ((0.467, 0.3443), (0.536, 0.4118)),
    "mass": ((0.004, 0.142), (0.058, 0.1831)),
    "ebv": ((0.027, 0.0761), (0.117, 0.0698)),
}

#: Range of the LEGUS SED-fit grid (Yggdrasil models): ages 1 Myr - 14 Gyr, E(B-V) 0 - 1.5 mag
#: (the extremes of both catalogs).
AGE_RANGE_YR: tuple[float, float] = (1.0e6, 1.4e10)
EBV_RANGE: tuple[float, float] = (0.0, 1.5)

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

def aperture_correction_error(field: str | None) -> np.ndarray:
    """The aperture-correction uncertainty per band of a field, mag (:data:`APCOR_ERROR_MAG`)."""
    if field in APCOR_ERROR_MAG:
        return np.array(APCOR_ERROR_MAG[field])
    if not APCOR_ERROR_MAG:
        return np.zeros(5)
    return np.mean([np.array(v) for v in APCOR_ERROR_MAG.values()], axis=0)


_RAD_PER_ARCSEC = np.pi / (180.0 * 3600.0)


def pc_per_pixel(distance_mpc: float, pixel_scale_arcsec: float = 0.0396) -> float:
    """Parsecs subtended by one pixel at a distance in Mpc (0.85 pc at 4.39 Mpc)."""
    return distance_mpc * 1e6 * pixel_scale_arcsec * _RAD_PER_ARCSEC


def distance_modulus(distance_mpc: float | np.ndarray) -> float | np.ndarray:
    """Distance modulus, mag, for a distance in Mpc."""
    return 5.0 * np.log10(np.asarray(distance_mpc) * 1e6) - 5.0
