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
from streamlit.delta_generator import DeltaGenerator
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

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
from webapp.services.galaxies import galaxy_mosaic_paths

__all__ = [
    "current_expert",
    "require_expert",
    "run_signed_in",
    "page_for",
    "remember_sign_in",
    "forget_sign_in",
    "write_session_cookie",
    "galaxy_mosaics",
    "galaxy_arrays",
    "galaxy_scales",
    "galaxy_field_image",
]

# Streamlit runs an app that has a pages/ folder the old way (each file a page of a raw menu,
# run without the app's navigation, layout and sign-in) until st.navigation has run once in
# the server; the first visit, often a bookmark, would get that. The app always navigates itself.
PagesManager.uses_pages_directory = False

_SIGN_IN_PAGE = "pages/sign_in.py"
_DEFAULT_PAGE = "pages/review.py"


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
    state = st.session_state
    if "app_pages" not in state and not state.get("app_rerun"):
        state["app_rerun"] = True  # once: a page run outside the app's navigation (see above) reruns the app
        st.rerun()
    expert = current_expert()
    if expert is None:
        st.switch_page(page_for(_SIGN_IN_PAGE))
    return expert


def page_for(script: str) -> StreamlitPage | str:
    """The app's page of a script (``"pages/review.py"``), for ``st.switch_page`` and ``st.page_link``.

    Always switch with these objects: a script path given as text is taken
    for the raw ``pages/`` folder, whose page then runs outside the app
    (without its navigation, layout and sign-in). The path itself comes back
    only when the app never ran in this session (a page script run alone, as
    in tests).
    """
    return st.session_state.get("app_pages", {}).get(script, script)


def run_signed_in(sections: dict[str, dict[str, StreamlitPage]]) -> None:
    """The app's navigation: the menu, then the page asked for, or the sign-in form first.

    Parameters
    ----------
    sections : dict
        Menu section -> {script path: page}; the first page of the first
        section with ``default=True`` opens at the app's address.

    The menu is drawn here with ``st.page_link`` (the configuration hides
    Streamlit's own, which would list the raw files of ``pages/`` while a
    session starts). Without a sign-in the page asked for is remembered and
    the sign-in form returns to it.
    """
    state = st.session_state
    state["app_pages"] = {script: page for members in sections.values() for script, page in members.items()}
    page = st.navigation(
        {name: list(members.values()) for name, members in sections.items()}, position="hidden"
    )
    with st.sidebar:
        for name, members in sections.items():
            st.caption(name)
            for member in members.values():
                st.page_link(member)
        st.divider()
        # One slot on every run, written or not: an element present on some runs only would shift
        # everything after it, and Streamlit would remount it all (the candidate panel with its keys).
        write_session_cookie(st.empty())
    sign_in_page = page_for(_SIGN_IN_PAGE)
    if page.url_path == sign_in_page.url_path or current_expert() is not None:
        page.run()
        return
    state["after_sign_in"] = next(
        script for script, p in state["app_pages"].items() if p.url_path == page.url_path
    )
    st.switch_page(sign_in_page)


def remember_sign_in(signed: SignedIn) -> StreamlitPage:
    """Keep ``signed`` in this session and in the browser's cookie; return the page to go to next."""
    state = st.session_state
    state["expert"] = signed
    state.pop("signed_out", None)
    state["session_cookie"] = issue_session_token(signed)
    return page_for(state.pop("after_sign_in", _DEFAULT_PAGE))


def forget_sign_in() -> None:
    """Sign out: this session, and the cookie (so that a reload does not sign back in)."""
    state = st.session_state
    state.pop("expert", None)
    state["signed_out"] = True
    state["session_cookie"] = ""


def write_session_cookie(slot: DeltaGenerator) -> None:
    """Send the browser a cookie change pending from :func:`remember_sign_in` or :func:`forget_sign_in`.

    Called by the app on every run, before the page, so that the cookie is set
    whichever page a sign-in switches to; ``slot`` (an ``st.empty()`` made on
    every run) holds the script on the run that has one.
    """
    token = st.session_state.pop("session_cookie", None)
    if token is None:
        return
    max_age = int(SESSION_HOURS * 3600) if token else 0
    cookie = f"{SESSION_COOKIE}={token}; Max-Age={max_age}; Path=/; SameSite=Strict"
    slot.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


@st.cache_resource(max_entries=8)
def galaxy_mosaics(galaxy_id: int) -> MosaicSet:
    """The galaxy's five mosaics (e-/s, memory-mapped) with their WCS, opened once per server."""
    with get_database().read_sessions() as session:
        paths = galaxy_mosaic_paths(session, galaxy_id)
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
