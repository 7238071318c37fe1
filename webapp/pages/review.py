"""Review: one candidate at a time, least certain first; label with the keyboard (1-4, u, s, z)."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from db.queue import QUEUE_ORDERS
from starcnet_core.display import STRETCHES
from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import BANDS, CLASS_DESCRIPTIONS, CLASS_NAMES
from webapp.components.candidate_figures import contour_figure, enlarge, scores_figure, surface_figure
from webapp.components.database import get_database
from webapp.components.session import galaxy_arrays, require_expert
from webapp.components.text import plain
from webapp.services.galaxies import list_galaxies
from webapp.services.review import (
    DEFAULT_PERCENTILES,
    NETWORK_VIEWS,
    build_candidate_view,
    class_examples,
    labels_and_consensus,
    next_candidates,
    session_progress,
    submit_label,
    undo_last_label,
)

# finer near the ends, where faint wings and bright cores are decided
_PERCENTILE_STOPS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5)
_PERCENTILE_STOPS += (99.75, 99.9, 100.0)
# the V-magnitude slider's full range (Vega mag), meaning "no magnitude filter"
_ANY_MAG = (14.0, 30.0)

database = get_database()
expert = require_expert()
state = st.session_state
state.setdefault("skipped", set())
state.setdefault("queue", [])

with database.read_sessions() as session:
    galaxies = [g for g in list_galaxies(session) if g.has_mosaics and g.n_usable]
if not galaxies:
    st.info(
        "No galaxy with mosaics yet: import one on the **Galaxies** page (or run `./run_app.sh`, which builds the demo)."
    )
    st.stop()

with st.sidebar:
    names = [g.name for g in galaxies]
    galaxy_name = st.selectbox("Galaxy", names, key="review_galaxy", persist_state="session")
    galaxy = galaxies[names.index(galaxy_name)]
    order = st.selectbox(
        "Queue order",
        QUEUE_ORDERS,
        key="review_order",
        persist_state="session",
        format_func=lambda o: o.replace("_", " "),
    )
    predicted = st.selectbox(
        "Predicted class",
        [None, 1, 2, 3, 4],
        key="review_class",
        persist_state="session",
        format_func=lambda k: "any" if k is None else f"{k} {CLASS_NAMES[k]}",
    )
    mag_range = st.slider(
        "V magnitude (Vega)", *_ANY_MAG, value=_ANY_MAG, step=0.5, key="review_mag", persist_state="session"
    )
    include_labelled = st.toggle(
        "Include candidates I labelled", key="review_labelled", persist_state="session"
    )

# how the stamps are drawn: above the candidate, where the expert looks (stored with each label)
stretch_col, range_col, side_col, blind_col = st.columns([1.3, 1.5, 0.9, 1.0], vertical_alignment="bottom")
stretch = (
    stretch_col.segmented_control(
        "Stretch", STRETCHES, default="asinh", key="review_stretch", persist_state="session"
    )
    or "asinh"
)
percentiles = range_col.select_slider(
    "Display range (percentiles)",
    _PERCENTILE_STOPS,
    value=DEFAULT_PERCENTILES,
    key="review_percentiles",
    persist_state="session",
    format_func=lambda p: f"{p:g}",
    disabled=stretch == "zscale",
    help="Lower and upper percentiles of each stamp's pixels: below the lower one is black, above "
    "the upper one white (the composite's three colours share one range). Not used by zscale.",
)
context = side_col.select_slider(
    "Stamp side (px)", [32, 48, 64], value=48, key="review_context", persist_state="session"
)
blind = blind_col.toggle(
    "Blind mode",
    value=True,
    key="review_blind",
    persist_state="session",
    help="Hide StarcNet's scores, and the other experts' labels until you have labelled the candidate "
    "(stored with each label, so that unassisted labels can be told apart).",
)

filters = (galaxy.galaxy_id, order, predicted, mag_range, include_labelled)
if state.get("queue_filters") != filters:
    state["queue_filters"] = filters
    state["queue"] = []


def _refill() -> None:
    with database.read_sessions() as session:
        state["queue"] = next_candidates(
            session,
            expert_id=expert.expert_id,
            order=order,
            galaxy_id=galaxy.galaxy_id,
            predicted_class=predicted,
            mag_v_range=None if mag_range == _ANY_MAG else mag_range,
            include_labelled=include_labelled,
            skipped=state["skipped"],
        )


def _advance() -> None:
    if state["queue"]:
        state["queue"].pop(0)
    state.pop("shown_at", None)
    state["comment"] = ""


def _label(label_class: str) -> None:
    view = state["view"]
    try:
        with database.sessions() as session:
            submit_label(
                session,
                view,
                expert_id=expert.expert_id,
                label_class=label_class,
                comment=state.get("comment", ""),
                seconds_spent=time.monotonic() - state.get("shown_at", time.monotonic()),
                blind=blind,
            )
    except UserInputError as error:
        state["flash"] = plain(error)
        return
    with database.read_sessions() as session:
        labels, summary = labels_and_consensus(session, view.candidate_id)
    mine = labels.pop(expert.name, label_class)
    others = ", ".join(f"{plain(name)} {c}" for name, c in sorted(labels.items())) or "nobody else yet"
    consensus = (summary or {}).get("consensus") or "none"
    state["previous"] = f"Previous #{view.source_id}: you {mine} · others: {others} · consensus {consensus}"
    _advance()


def _skip() -> None:
    state["skipped"].add(state["view"].candidate_id)
    _advance()


def _undo() -> None:
    try:
        with database.sessions() as session:
            candidate_id = undo_last_label(session, expert.expert_id)
    except UserInputError as error:
        state["flash"] = plain(error)
        return
    state["queue"].insert(0, candidate_id)
    state.pop("shown_at", None)


@st.cache_data(max_entries=64, show_spinner=False)
def _examples(galaxy_id: int, stretch: str, percentiles: tuple[float, float]) -> dict[int, list[np.ndarray]]:
    with database.read_sessions() as session:
        return class_examples(
            session, galaxy_id, galaxy_arrays(galaxy_id), stretch=stretch, percentiles=percentiles
        )


@st.fragment
def labelling() -> None:
    if "open_candidate" in state:  # picked on the Galaxies page
        state["queue"].insert(0, state.pop("open_candidate"))
    if "flash" in state:
        st.warning(state.pop("flash"))
    elif "previous" in state:
        st.caption(state.pop("previous"))
    if not state["queue"]:
        _refill()
    if not state["queue"]:
        st.success("Nothing left in this queue: change the filters or the galaxy.")
        return
    candidate_id = state["queue"][0]
    with database.read_sessions() as session:
        view = build_candidate_view(
            session,
            candidate_id,
            galaxy_arrays(galaxy.galaxy_id),
            expert_id=expert.expert_id,
            stretch=stretch,
            percentiles=percentiles,
            blind=blind,
            context_size=context,
        )
        progress = session_progress(session, expert.expert_id, galaxy.galaxy_id)
    state["view"] = view
    state.setdefault("shown_at", time.monotonic())

    head, stats = st.columns([3, 2])
    head.markdown(
        f"**{plain(view.galaxy)} #{view.source_id}** · x {view.x:.1f}, y {view.y:.1f}"
        + (f" · your label: **{view.my_label}**" if view.my_label else "")
    )
    stats.caption(
        f"{plain(expert.name)}: {progress['labelled_today']} labelled today · {progress['remaining']} left in {plain(view.galaxy)}"
    )

    rgb_col, contour_col, surface_col, info_col = st.columns([1.05, 1, 1.2, 1.35])
    with rgb_col:
        st.image(
            enlarge(view.rgb, max(1, 224 // view.rgb.shape[0])),
            caption=f"RGB ({view.stretch}"
            + ("" if view.stretch == "zscale" else f", {view.percentiles[0]:g}-{view.percentiles[1]:g}%")
            + f"), {view.context_size} px",
        )
    contour_col.plotly_chart(contour_figure(view.v_band), config={"displayModeBar": False}, key="contours")
    surface_col.plotly_chart(surface_figure(view.v_band), config={"displayModeBar": False}, key="surface")
    with info_col:
        if view.scores is not None:
            st.plotly_chart(scores_figure(view.scores), config={"displayModeBar": False}, key="scores")
        elif blind:
            st.caption("Scores hidden (blind mode).")
        else:
            st.caption("Not scored by the active model.")
        photometry = [f"{k} {v:.2f}" for k, v in view.photometry.items() if v is not None]
        st.caption("Photometry (Vega mag): " + (" · ".join(photometry) or "none"))
        units = {"age": "yr", "mass": "Msun", "ebv": "mag E(B-V)"}
        extra = [
            f"{key} {view.properties[key]:.3g} {unit}"
            for key, unit in units.items()
            if view.properties.get(key)
        ]
        if extra:
            st.caption(" · ".join(extra))
        if view.labels is not None:
            votes = (
                ", ".join(f"{plain(name)}: {c}" for name, c in sorted(view.labels.items()))
                or "no other labels"
            )
            summary = view.consensus or {}
            st.caption(f"Others: {votes} · consensus **{summary.get('consensus') or '—'}**")

    band_cols = st.columns(len(BANDS) + len(NETWORK_VIEWS))
    for col, band, image in zip(band_cols, BANDS, view.bands, strict=False):
        col.image(enlarge(image, max(1, 112 // image.shape[0])), caption=band)
    for col, name, image in zip(band_cols[len(BANDS) :], NETWORK_VIEWS, view.network_rgb, strict=True):
        col.image(enlarge(image, 4), caption=f"network {name}")

    buttons = st.columns([1.25, 1.25, 1.25, 1.25, 1, 1, 1])
    short = {1: "Symmetric", 2: "Asymmetric", 3: "Association", 4: "Non-cluster"}
    for k in range(1, 5):
        buttons[k - 1].button(
            f"{k} {short[k]}",
            key=f"label_{k}",
            on_click=_label,
            args=(str(k),),
            shortcut=str(k),
            help=CLASS_DESCRIPTIONS[k],
            type="primary",
            width="stretch",
        )
    buttons[4].button(
        "Unsure",
        key="label_unsure",
        on_click=_label,
        args=("unsure",),
        shortcut="u",
        width="stretch",
    )
    buttons[5].button("Skip", key="skip", on_click=_skip, shortcut="s", width="stretch")
    buttons[6].button("Undo", key="undo", on_click=_undo, shortcut="z", width="stretch")
    comment_col, definitions_col = st.columns([3, 2])
    comment_col.text_input(
        "Comment",
        key="comment",
        placeholder="optional comment, saved with the next label",
        label_visibility="collapsed",
    )
    with definitions_col.popover("Class definitions and examples", width="stretch"):
        examples = _examples(galaxy.galaxy_id, stretch, percentiles)
        for k in range(1, 5):
            st.markdown(f"**{k} — {CLASS_NAMES[k]}**: {CLASS_DESCRIPTIONS[k]}")
            if examples.get(k):
                st.image([enlarge(image, 3) for image in examples[k]])


labelling()
