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
from webapp.components.text import plain
from webapp.services.galaxies import list_galaxies
from webapp.services.labels import get_expert
from webapp.services.model_versions import score_now, scoring_status
from webapp.services.review import candidate_for_source, field_candidates, predicted_counts
from webapp.services.uploads import (
    Upload,
    data_roots,
    directory_label_choices,
    import_server_directory,
    import_uploads,
    is_catalog_file,
    server_directory,
    upload_label_choices,
)

database = get_database()
expert = require_expert()
st.title("Galaxies")

with database.read_sessions() as session:
    galaxies = list_galaxies(session)
    counts = predicted_counts(session)
    is_admin = get_expert(session, expert.name).role == "admin"
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
    go_dir, dir_label, directory = False, None, ""
    if is_admin:
        from_dir, from_upload = st.tabs(["From a directory on the server", "Upload files"])
        with from_dir:
            directory = st.text_input(
                "Directory with five LEGUS mosaics and the catalog",
                key="import_dir",
                help="Under " + ", ".join(map(str, data_roots())) + " (STARCNET_DATA_ROOTS)",
            )
            dir_label = _label_column(
                lambda: (
                    # only under the data roots: the form must not read any other server folder
                    directory_label_choices(server_directory(directory), catalog=catalog.strip() or None)
                    if directory.strip()
                    else ()
                ),
                # One choice per directory: another directory's choice does not carry over.
                f"import_dir_label:{directory.strip()}",
            )
            go_dir = st.button("Import directory", key="import_dir_go")
    else:
        from_upload = st.container()
        st.caption("Importing a directory on the server is for admins; upload the files here.")
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
                    summary = import_server_directory(
                        session, directory, expert_id=expert.expert_id, label_column=dir_label, **options
                    )
                else:
                    uploads = [Upload(f.name, f.getvalue()) for f in files or []]
                    summary = import_uploads(session, uploads, label_column=upload_label, **options)
        except UserInputError as error:
            st.error(f"Not imported: {plain(error)}")
        else:
            st.success(
                f"Imported {plain(summary.name)}: {summary.n_candidates} candidates, {summary.n_usable} usable."
            )
            st.info("With an active model, the worker scores it in the background (progress below).")
            if summary.label_choices:
                st.text(
                    "No catalog labels imported (no class column chosen). To add one later: "
                    f"python -m webapp catalog-labels {summary.name} --label-column N"
                )


@st.fragment(run_every=2.0)
def scoring_progress() -> None:
    """How far the active model has scored each galaxy; score-now for those it has not finished."""
    with database.read_sessions() as session:
        status = scoring_status(session)
        names = {g.galaxy_id: g.name for g in list_galaxies(session)}
    if status["active_id"] is None:
        return
    for job in status["jobs"]:
        where = names.get(job.params.get("galaxy_id"), "every galaxy")
        st.progress(job.progress, text=f"Scoring {where} (job #{job.id}, {job.status}): {job.message}")
    behind = {g: n for g, n in status["galaxies"].items() if n["n_scored"] < n["n_usable"]}
    pending = {job.params.get("galaxy_id") for job in status["jobs"]}
    for galaxy_id, counts in behind.items():
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.caption(
            f"{names.get(galaxy_id, galaxy_id)}: {counts['n_scored']} of {counts['n_usable']} usable "
            "candidates scored by the active model."
        )
        if right.button(
            "Score now", key=f"score_now_{galaxy_id}", disabled=galaxy_id in pending or None in pending
        ):
            with database.sessions() as session:
                score_now(session, galaxy_id=galaxy_id, by=expert.name)
            st.rerun(scope="fragment")


scoring_progress()

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
    f"{plain(galaxy.name)}: {len(table['source_id'])} candidates on the field in the paper's colours"
    + (f" (each displayed pixel the mean of {factor}x{factor} mosaic pixels). " if factor > 1 else ". ")
    + (
        "Colour: the active model's class; opacity: its confidence. "
        if scored
        else "Not scored yet by an active model (see the scoring status above). "
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
        st.error(plain(error))
    else:
        st.session_state["open_candidate"] = candidate_id
        st.session_state["review_galaxy"] = galaxy.name
        st.switch_page(page_for("pages/review.py"))
