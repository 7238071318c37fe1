"""Reading and writing the files astronomers have.

LEGUS bands and zeropoints (``bands``), band mosaics (``mosaics``), candidate
catalogs and their column layouts (``catalogs``, ``legus_columns``), galaxy
directories as downloaded from MAST (``galaxy``), stamps cut around candidates
(``cutouts``), labelled stamp sets (``stampset``), the published StarcNet
output (``published``), prediction runs and their files (``prediction_files``),
DS9 regions (``regions``) and the ``inspect`` summary.
"""

from starcnet_core.io.catalogs import Catalog, read_catalog
from starcnet_core.io.cutouts import extract_stamps
from starcnet_core.io.galaxy import LegusGalaxy, read_galaxy
from starcnet_core.io.mosaics import MosaicSet, open_mosaics

__all__ = [
    "Catalog",
    "LegusGalaxy",
    "MosaicSet",
    "extract_stamps",
    "open_mosaics",
    "read_catalog",
    "read_galaxy",
]
