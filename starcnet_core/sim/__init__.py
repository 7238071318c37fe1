"""Simulated LEGUS data: galaxy mosaics with catalogs, and labelled training surveys.

``simulate_galaxy`` writes five HST-like mosaics, a 35-column LEGUS catalog
(with readme) and the true classes; ``simulate_survey`` makes a stamp set
like the paper's Table 6 sample; ``simulate_pool_votes`` gives simulated expert
classifications. See docs in each module for the physics.
"""

from starcnet_core.sim.annotators import simulate_pool_votes
from starcnet_core.sim.galaxy import simulate_galaxy
from starcnet_core.sim.survey import simulate_survey

__all__ = ["simulate_galaxy", "simulate_survey", "simulate_pool_votes"]
