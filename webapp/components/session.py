"""What a browser session keeps between reruns, and the resources shared across sessions.

``st.session_state`` holds only UI state (the signed-in expert, the current
candidate, skipped ids, display choices); the data of record stays in the
database. A sign-in is also kept in a signed, expiring cookie
(:mod:`webapp.services.auth`), so that a reload or a bookmark restores it;
a visit without one goes to the sign-in form and comes back to the page it
asked for. Mosaics are memory-mapped once per galaxy per server process.
"""

from __future__ import annotations

import json

import numpy as np
import streamlit as st
from streamlit.navigation.page import StreamlitPage

from db.models import Galaxy
from starcnet_core.display import display_scales, field_image
from starcnet_core.io.bands import BANDS
from starcnet_core.io.mosaics import MosaicSet, open_mosaics
from webapp.components.database import get_database
from webapp.services.auth import (
    SESSION_COOKIE,
    SESSION_HOURS,
    SignedIn,
    issue_session_token,
    read_session_token,
)

__all__ = [
    "current_expert",
    "require_expert",
    "run_signed_in",
    "remember_sign_in",
    "forget_sign_in",
    "write_session_cookie",
    "galaxy_mosaics",
    "galaxy_arrays",
    "galaxy_scales",
    "galaxy_field_image",
]

_SIGN_IN_PAGE = "pages/sign_in.py"


def current_expert() -> SignedIn | None:
    """The expert signed in in this browser session, or restored from the session cookie, if any."""
    state = st.session_state
    if "expert" not in state and not state.get("signed_out"):
        with get_database().read_sessions() as session:
            restored = read_session_token(session, st.context.cookies.get(SESSION_COOKIE))
        if restored is not None:
            state["expert"] = restored
    return state.get("expert")


def require_expert() -> SignedIn:
    """The signed-in expert; otherwise the sign-in form (the app remembers the page asked for)."""
    expert = current_expert()
    if expert is None:
        st.switch_page(_SIGN_IN_PAGE)
    return expert


def run_signed_in(page: StreamlitPage, sign_in_page: StreamlitPage) -> None:
    """Run ``page`` for a signed-in expert; otherwise remember it and open the sign-in form instead.

    The app calls this with the page its navigation chose (a menu click, an
    address typed or bookmarked), so every address opens inside the app's
    navigation and layout, and the sign-in comes back to where it was asked.
    """
    write_session_cookie()
    if page.url_path == sign_in_page.url_path or current_expert() is not None:
        page.run()
        return
    st.session_state["after_sign_in"] = page
    st.switch_page(sign_in_page)


def remember_sign_in(signed: SignedIn) -> StreamlitPage | str:
    """Keep ``signed`` in this session and in the browser's cookie; return the page to go to next."""
    state = st.session_state
    state["expert"] = signed
    state.pop("signed_out", None)
    state["session_cookie"] = issue_session_token(signed)
    return state.pop("after_sign_in", "pages/review.py")


def forget_sign_in() -> None:
    """Sign out: this session, and the cookie (so that a reload does not sign back in)."""
    state = st.session_state
    state.pop("expert", None)
    state["signed_out"] = True
    state["session_cookie"] = ""


def write_session_cookie() -> None:
    """Send the browser a cookie change pending from :func:`remember_sign_in` or :func:`forget_sign_in`.

    Called by the app on every run, before the page, so that the cookie is set
    whichever page a sign-in switches to.
    """
    token = st.session_state.pop("session_cookie", None)
    if token is None:
        return
    max_age = int(SESSION_HOURS * 3600) if token else 0
    cookie = f"{SESSION_COOKIE}={token}; Max-Age={max_age}; Path=/; SameSite=Strict"
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


@st.cache_resource(max_entries=8)
def galaxy_mosaics(galaxy_id: int) -> MosaicSet:
    """The galaxy's five mosaics (e-/s, memory-mapped) with their WCS, opened once per server."""
    with get_database().read_sessions() as session:
        paths = session.get(Galaxy, galaxy_id).mosaic_paths or {}
    return open_mosaics([paths[band] for band in BANDS])


def galaxy_arrays(galaxy_id: int) -> list[np.ndarray]:
    """The galaxy's five mosaics as arrays in band order (see :func:`galaxy_mosaics`)."""
    return galaxy_mosaics(galaxy_id).arrays()


def galaxy_scales(galaxy_id: int) -> dict[str, float]:
    """Band -> factor of the RGB mix for this galaxy (ACS bands rescaled; :func:`starcnet_core.display.display_scales`)."""
    bands = galaxy_mosaics(galaxy_id).bands.values()
    return display_scales({b.band: b.filter for b in bands}, {b.band: b.instrument for b in bands})


@st.cache_resource(max_entries=8, show_spinner="Building the field image…")
def galaxy_field_image(galaxy_id: int, max_side: int) -> tuple[np.ndarray, int]:
    """The whole field in the paper's colours, at most ``max_side`` pixels (:func:`starcnet_core.display.field_image`)."""
    return field_image(galaxy_arrays(galaxy_id), max_side=max_side, scales=galaxy_scales(galaxy_id))
