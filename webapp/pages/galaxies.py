"""Galaxies: the list with counts, importing a new one, and the whole field with its candidates."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import CLASS_NAMES
from starcnet_core.io.catalogs import FRAMES
from webapp.components.database import get_database
from webapp.components.field_figure import field_figure, selected_source_id
from webapp.components.session import galaxy_field_image, page_for, require_expert
from webapp.services.galaxies import list_galaxies
from webapp.services.review import candidate_for_source, field_candidates, predicted_counts
from webapp.services.uploads import (
    Upload,
    directory_label_choices,
    import_directory,
    import_uploads,
    is_catalog_file,
    upload_label_choices,
)

database = get_database()
require_expert()
st.title("Galaxies")

with database.read_sessions() as session:
    galaxies = list_galaxies(session)
    counts = predicted_counts(session)
if not galaxies:
    st.info("No galaxy yet: import one below (a directory of LEGUS files or uploads).")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "galaxy": g.name,
                    "distance (Mpc)": g.distance_mpc,
                    "candidates": g.n_candidates,
                    "usable": g.n_usable,
                    "labelled": g.n_labelled,
                    **{f"pred. class {k}": counts.get(g.galaxy_id, [0, 0, 0, 0])[k - 1] for k in range(1, 5)},
                    "mosaics": "yes" if g.has_mosaics else "no",
                }
                for g in galaxies
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "usable": st.column_config.NumberColumn(
                help="candidates with a full stamp (not at a mosaic edge)"
            ),
            "labelled": st.column_config.NumberColumn(
                help="candidates with at least one vote, from experts or imported with the catalog"
            ),
            **{
                f"pred. class {k}": st.column_config.NumberColumn(
                    help=f"candidates the active model puts in class {k} ({CLASS_NAMES[k]})"
                )
                for k in range(1, 5)
            },
        },
    )


def _label_column(read_choices, key: str) -> str | None:  # noqa: ANN001 - a callable giving LabelChoice
    """Where the catalog has several class columns and no readme, ask which one to import as labels."""
    try:
        choices = read_choices()
    except UserInputError:
        choices = ()  # the import itself reports what is wrong with the files
    if not choices:
        return None
    st.warning(
        "The catalog has several class columns and no readme says which is the human mode; "
        "none is imported unless you choose one."
    )
    described = {choice.column: choice.describe() for choice in choices}
    column = st.selectbox(
        "Class column to import as labels",
        [None, *described],
        format_func=lambda c: "none" if c is None else described[c],
        key=key,
    )
    return None if column is None else str(column)


with st.expander("Import a galaxy", expanded=not galaxies):
    name = st.text_input("Name (default: the field in the file names)", key="import_name")
    distance = st.number_input("Distance (Mpc, 0 = unknown)", 0.0, 100.0, 0.0, key="import_distance")
    catalog_col, frame_col = st.columns(2)
    catalog = catalog_col.text_input(
        "Catalog file name (only when the folder holds several tables)",
        key="import_catalog",
        placeholder="e.g. hlsp_legus_hst_uvis_ngc628c_multiband_v1_padagb-mwext-avgapcor.tab",
    )
    frame = frame_col.selectbox(
        "Positions",
        FRAMES,
        key="import_frame",
        help="For catalogs that list positions on the pointing and on the mosaic (NGC 1313): "
        "auto uses the pair the mosaics' WCS confirms.",
    )
    from_dir, from_upload = st.tabs(["From a directory on the server", "Upload files"])
    with from_dir:
        directory = st.text_input("Directory with five LEGUS mosaics and the catalog", key="import_dir")
        dir_label = _label_column(
            lambda: (
                directory_label_choices(directory.strip(), catalog=catalog.strip() or None)
                if directory.strip()
                else ()
            ),
            # One choice per directory: another directory's choice does not carry over.
            f"import_dir_label:{directory.strip()}",
        )
        go_dir = st.button("Import directory", key="import_dir_go")
    with from_upload:
        files = st.file_uploader(
            "Five mosaics (.fits or .fits.gz) and the catalog (.tab + .readme)", accept_multiple_files=True
        )
        upload_label = _label_column(
            # Only the catalog and readme are read: the mosaics' bytes are not copied on every rerun.
            lambda: upload_label_choices(
                [Upload(f.name, f.getvalue()) for f in files or [] if is_catalog_file(f.name)],
                catalog=catalog.strip() or None,
            ),
            f"import_upload_label:{'/'.join(sorted(f.name for f in files or []))}",
        )
        for uploaded in files or []:
            st.text(uploaded.name)  # in full: the uploader's list cuts LEGUS names to "hlsp_l...drc.fits"
        go_upload = st.button("Import uploads", key="import_upload_go")
    if go_dir or go_upload:
        options = {
            "name": name.strip() or None,
            "distance_mpc": distance or None,
            "catalog": catalog.strip() or None,
            "frame": frame,
        }
        try:
            with st.spinner("Reading mosaics and cutting stamps…"), database.sessions() as session:
                if go_dir:
                    summary = import_directory(session, directory.strip(), label_column=dir_label, **options)
                else:
                    uploads = [Upload(f.name, f.getvalue()) for f in files or []]
                    summary = import_uploads(session, uploads, label_column=upload_label, **options)
        except UserInputError as error:
            st.error(f"Not imported: {error}")
        else:
            st.success(
                f"Imported {summary.name}: {summary.n_candidates} candidates, {summary.n_usable} usable."
            )
            st.info("Score it with the active model: `python -m webapp score` (or the Models page).")
            if summary.label_choices:
                st.text(
                    "No catalog labels imported (no class column chosen). To add one later: "
                    f"python -m webapp catalog-labels {summary.name} --label-column N"
                )

with_mosaics = [g for g in galaxies if g.has_mosaics]
if not with_mosaics:
    st.stop()


chosen = st.selectbox("Field of", [g.name for g in with_mosaics], key="field_galaxy")
galaxy = next(g for g in with_mosaics if g.name == chosen)
with database.read_sessions() as session:
    table = field_candidates(session, galaxy.galaxy_id)
image, factor = galaxy_field_image(galaxy.galaxy_id, 900)
scored = bool((table["predicted_class"] > 0).any())
st.caption(
    f"{galaxy.name}: {len(table['source_id'])} candidates on the field in the paper's colours"
    + (f" (each displayed pixel the mean of {factor}x{factor} mosaic pixels). " if factor > 1 else ". ")
    + (
        "Colour: the active model's class; opacity: its confidence. "
        if scored
        else "Not scored yet: score it with the active model (`python -m webapp score`). "
    )
    + "**Click a candidate to open it in Review**; scroll to zoom, drag to pan."
)
picked = st.plotly_chart(
    field_figure(
        image,
        factor,
        table["x"],
        table["y"],
        table["predicted_class"],
        table["confidence"],
        table["source_id"],
    ),
    on_select="rerun",
    selection_mode="points",
    key="field_plot",
    config={"scrollZoom": True},
)
clicked = selected_source_id(picked)
left, right = st.columns([3, 1], vertical_alignment="bottom")
typed = left.number_input("…or open the candidate with catalog id", min_value=0, value=0, key="open_id")
source = None
if right.button("Open in Review", disabled=typed == 0, width="stretch"):
    source = typed
elif clicked is None:
    st.session_state.pop("field_opened", None)
elif st.session_state.get("field_opened") != (galaxy.galaxy_id, clicked):
    # a selection stays on the chart: open each clicked candidate once
    st.session_state["field_opened"] = (galaxy.galaxy_id, clicked)
    source = clicked
if source is not None:
    try:
        candidate_id = candidate_for_source(table, source, galaxy.name)
    except UserInputError as error:
        st.error(str(error))
    else:
        st.session_state["open_candidate"] = candidate_id
        st.session_state["review_galaxy"] = galaxy.name
        st.switch_page(page_for("pages/review.py"))
