"""Simulated SED-fit columns: per-class relations measured on LEGUS, the LEGUS 'no fit' convention."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from starcnet_core.sim.calibration import AGE_RANGE_YR, CLASS_PHOTOMETRY, EBV_RANGE, distance_modulus
from starcnet_core.sim.sed import draw_sed

DISTANCE_MPC = 10.0


def _mags(cls: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Apparent magnitudes drawn from a class's measured (M_V, colours) distribution."""
    m_v, nuv_v, u_v, b_v, v_i = rng.multivariate_normal(
        CLASS_PHOTOMETRY[cls]["mean"], CLASS_PHOTOMETRY[cls]["cov"], n
    ).T
    v = m_v + distance_modulus(DISTANCE_MPC)
    return np.column_stack([v + nuv_v, v + u_v, v + b_v, v, v - v_i])


def test_mass_follows_luminosity_and_age():
    rng = np.random.default_rng(0)
    mags = _mags(1, 2000, rng)
    sed = draw_sed(np.ones(2000, int), mags, DISTANCE_MPC, rng)
    log_mass, log_age = np.log10(sed.mass), np.log10(sed.age)
    # Brighter (smaller V) is more massive; at fixed V, older is more massive (higher M/L).
    assert spearmanr(mags[:, 3], log_mass).statistic < -0.5
    residual = log_mass - np.polyval(np.polyfit(mags[:, 3], log_mass, 1), mags[:, 3])
    assert spearmanr(log_age, residual).statistic > 0.3
    # Same candidates 2.5 mag brighter: ~1 dex more massive, as a fixed mass-to-light ratio gives.
    brighter = draw_sed(np.ones(2000, int), mags - 2.5, DISTANCE_MPC, np.random.default_rng(1))
    assert 0.9 < np.median(np.log10(brighter.mass)) - np.median(log_mass) < 1.3
    # Medians as in NGC 1566 + NGC 628 class 1 (log age 7.48, log mass 4.27 at their distances).
    assert 7.0 < np.median(log_age) < 7.9 and 4.0 < np.median(log_mass) < 4.8


def test_associations_youngest_and_values_on_the_model_grid():
    rng = np.random.default_rng(2)
    medians = {}
    for cls in (1, 2, 3, 4):
        sed = draw_sed(np.full(1500, cls), _mags(cls, 1500, rng), DISTANCE_MPC, rng)
        assert np.all((sed.age >= AGE_RANGE_YR[0]) & (sed.age <= AGE_RANGE_YR[1]))
        assert np.all((sed.ebv >= EBV_RANGE[0]) & (sed.ebv <= EBV_RANGE[1]))
        assert np.all(sed.age_min <= sed.age) and np.all(sed.age <= sed.age_max)
        assert np.all(sed.mass_min <= sed.mass) and np.all(sed.mass <= sed.mass_max)
        assert np.all(sed.ebv_min <= sed.ebv) and np.all(sed.ebv <= sed.ebv_max)
        medians[cls] = np.median(np.log10(sed.age))
    assert medians[3] < medians[2] < medians[1]
    assert medians[3] < medians[4]


def test_candidates_without_a_fit_carry_zeros():
    rng = np.random.default_rng(3)
    fitted = np.array([True, False, True, False])
    sed = draw_sed(np.array([1, 2, 3, 4]), _mags(2, 4, rng), DISTANCE_MPC, rng, fitted=fitted)
    for name, values in sed.columns().items():
        assert np.all(values[~fitted] == 0.0), name
        assert np.all(values[fitted][:1] > 0.0) or name.startswith("ebv"), name
    assert set(sed.columns()) == {f"{q}{s}" for q in ("age", "mass", "ebv") for s in ("", "_max", "_min")}
