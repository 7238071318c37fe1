"""Export: a galaxy's catalog with consensus labels, votes and the latest model's scores, or DS9 regions."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from starcnet_core.errors import UserInputError
from webapp.components.database import get_database
from webapp.components.session import require_expert
from webapp.components.text import plain
from webapp.services.export import EXPORT_FORMATS
from webapp.services.export import export_galaxy as write_export
from webapp.services.galaxies import list_galaxies

_SUFFIX = {"csv": ".csv", "ecsv": ".ecsv", "fits": ".fits", "starcnet-tab": ".tab", "ds9": ".reg"}
_MIME = {"fits": "application/fits"}

database = get_database()
require_expert()
st.title("Export")

with database.read_sessions() as session:
    galaxies = [g.name for g in list_galaxies(session)]
if not galaxies:
    st.info("No galaxy imported yet.")
    st.stop()
galaxy = st.selectbox("Galaxy", galaxies, key="export_galaxy")
fmt = st.radio("Format", EXPORT_FORMATS, horizontal=True, key="export_format")
st.caption(
    "csv / ecsv / fits: every candidate with consensus, votes, latest model scores and class · "
    "starcnet-tab: the published StarcNet layout (scored candidates) · ds9: regions coloured by class"
)
try:
    with tempfile.TemporaryDirectory() as folder, database.read_sessions() as session:
        path = write_export(session, galaxy, fmt, Path(folder) / f"{galaxy}{_SUFFIX.get(fmt, '.txt')}")
        payload = path.read_bytes()
except UserInputError as error:
    st.error(plain(error))
else:
    st.download_button(
        f"Download {path.name} ({len(payload) / 1024:.0f} kB)",
        payload,
        file_name=path.name,
        mime=_MIME.get(fmt, "text/plain"),
        type="primary",
        key="export_download",
    )
