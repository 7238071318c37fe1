"""What a browser session keeps between reruns, and the resources shared across sessions.

``st.session_state`` holds only UI state (the signed-in expert's id and
name, the current candidate, skipped ids, display choices); the data of
record stays in the database. Mosaics are memory-mapped once per galaxy per
server process.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from db.models import Galaxy
from starcnet_core.io.bands import BANDS
from starcnet_core.io.mosaics import open_mosaics
from webapp.components.database import get_database
from webapp.services.auth import SignedIn

__all__ = ["current_expert", "require_expert", "galaxy_arrays"]


def current_expert() -> SignedIn | None:
    """The expert signed in in this browser session, if any."""
    return st.session_state.get("expert")


def require_expert() -> SignedIn:
    """The signed-in expert; otherwise a hint to sign in, and the page stops."""
    expert = current_expert()
    if expert is None:
        st.info("Sign in first (page **Sign in** in the menu).")
        st.page_link("pages/sign_in.py", label="Sign in", icon=":material/login:")
        st.stop()
    return expert


@st.cache_resource(max_entries=8)
def galaxy_arrays(galaxy_id: int) -> list[np.ndarray]:
    """The galaxy's five mosaics (e-/s, memory-mapped) in band order, opened once per server."""
    with get_database().read_sessions() as session:
        paths = session.get(Galaxy, galaxy_id).mosaic_paths or {}
    return open_mosaics([paths[band] for band in BANDS]).arrays()
