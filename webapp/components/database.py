"""The app's database handle, opened once per server process (``st.cache_resource``)."""

from __future__ import annotations

import streamlit as st

from webapp.services.database import Database, open_database

__all__ = ["get_database"]


@st.cache_resource
def get_database() -> Database:
    """The migrated database of ``DATABASE_URL`` / ``$STARCNET_DATA_DIR``, shared by all sessions."""
    return open_database()
