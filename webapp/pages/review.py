"""Review: one candidate at a time, least certain first; label with the keyboard (press ? for the keys)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import streamlit as st

from db.queue import REVIEW_ORDERS
from starcnet_core.display import STRETCHES
from starcnet_core.io.bands import CLASS_DESCRIPTIONS, CLASS_NAMES
from webapp.components.candidate_figures import enlarge, surface_figure
from webapp.components.candidate_view import candidate_payload, field_map_payload, show_candidate
from webapp.components.database import get_database
from webapp.components.review_actions import ReviewActions
from webapp.components.review_history import ReviewHistory
from webapp.components.session import galaxy_arrays, galaxy_field_image, galaxy_mosaics, require_expert
from webapp.components.text import plain
from webapp.services.galaxies import list_galaxies
from webapp.services.preferences import (
    MARKERS,
    STAMP_SIDES,
    blind_campaign,
    load_preferences,
    save_preferences,
    set_blind_campaign,
)
from webapp.services.review import (
    CONTEXT_SIZE,
    build_candidate_view,
    class_examples,
    next_candidates,
    queue_order_for,
    session_progress,
)

# finer near the ends, where faint wings and bright cores are decided
_PERCENTILE_STOPS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5)
_PERCENTILE_STOPS += (99.75, 99.9, 100.0)
# the V-magnitude slider's full range (Vega mag), meaning "no magnitude filter"
_ANY_MAG = (14.0, 30.0)
_WIDGETS = ("review_stretch", "review_percentiles", "review_context", "review_blind", "review_order")
_WIDGETS += (
    "review_class",
    "review_mag",
    "review_labelled",
    "review_flagged",
    "review_marker",
    "review_galaxy",
)
_SHORT = {1: "Symmetric", 2: "Asymmetric", 3: "Association", 4: "Non-cluster"}
# the "Predicted class" choice meaning no filter (a selectbox whose state is None shows no choice at all)
_ANY_CLASS = 0
# the page uses the whole screen: less padding than Streamlit's default around the main column
st.html(
    "<style>[data-testid='stMainBlockContainer']{padding:2.6rem 1.2rem 1rem 1.2rem;max-width:none}"
    "[data-testid='stMainBlockContainer'] [data-testid='stVerticalBlock']{gap:0.45rem}</style>"
)

database = get_database()
expert = require_expert()
state = st.session_state
with database.read_sessions() as session:
    galaxies = [g for g in list_galaxies(session) if g.has_mosaics and g.n_usable]
    campaign = blind_campaign(session)
    if state.get("preferences_of") != (expert.expert_id, expert.session_id):
        # a sign-in or a reload: the expert's own choices, and what this sign-in had skipped
        stored = load_preferences(session, expert.expert_id)
        state["preferences_of"] = (expert.expert_id, expert.session_id)
        state["saved_preferences"] = stored
        skipped = set(stored.skipped) if stored.skipped_session == expert.session_id else set()
        state["review_history"] = ReviewHistory(skipped=skipped)
        for widget in _WIDGETS:
            state.pop(widget, None)
saved = state["saved_preferences"]
# widgets take the stored choices when they (re)appear: at sign-in, and after a visit to another page
for widget, value in {
    "review_stretch": saved.stretch,
    "review_percentiles": saved.percentiles,
    "review_context": saved.stamp_px,
    "review_blind": saved.blind,
    "review_order": saved.order,
    "review_class": saved.predicted_class or _ANY_CLASS,
    "review_mag": saved.mag_range or _ANY_MAG,
    "review_labelled": saved.include_labelled,
    "review_flagged": saved.flagged_only,
    "review_marker": saved.marker,
    **({"review_galaxy": saved.galaxy} if saved.galaxy in {g.name for g in galaxies} else {}),
}.items():
    state.setdefault(widget, value)
history: ReviewHistory = state.setdefault("review_history", ReviewHistory())
state.setdefault("render_seq", 0)
state.setdefault("flags", {})

if not galaxies:
    st.info(
        "No galaxy with mosaics yet: import one on the **Galaxies** page (or run `./run_app.sh`, which builds the demo)."
    )
    st.stop()

with st.sidebar:
    names = [g.name for g in galaxies]
    galaxy_name = st.selectbox(
        "Galaxy", names, index=names.index(saved.galaxy) if saved.galaxy in names else 0, key="review_galaxy"
    )
    galaxy = galaxies[names.index(galaxy_name)]
    # the widgets below take their values from the session state set above
    order = st.selectbox(
        "Queue order",
        REVIEW_ORDERS,
        key="review_order",
        format_func=lambda o: {
            "most_informative": "most informative (BALD)",
            "smallest_margin_and_random": "smallest margin, every other at random",
        }.get(o, o.replace("_", " ")),
        help="Smallest margin: the candidates whose two best StarcNet scores are closest first. "
        "Every other at random: half the queue is a random sample of the galaxy, so that your labels "
        "also show its class mix (on the simulated survey it needs no fewer labels than the margin alone). "
        "Most informative: where MC-dropout passes disagree. Disagreement: where the consensus "
        "differs from StarcNet, most confident first.",
    )
    predicted = (
        st.selectbox(
            "Predicted class",
            [_ANY_CLASS, 1, 2, 3, 4],
            key="review_class",
            format_func=lambda k: "any" if k == _ANY_CLASS else f"{k} {CLASS_NAMES[k]}",
        )
        or None
    )
    mag_range = st.slider(
        "V magnitude (Vega)", *_ANY_MAG, value=state["review_mag"], step=0.5, key="review_mag"
    )  # a range: the value says so (as for the display range below)
    include_labelled = st.toggle("Include candidates I labelled", key="review_labelled")
    flagged_only = st.toggle("Only candidates I flagged", key="review_flagged")
    if expert.role == "admin":
        imposed = st.toggle(
            "Blind campaign (imposed on everyone)",
            value=campaign is not None,
            key="review_campaign",
            help="Hide StarcNet's scores and the others' labels from every expert until they have labelled.",
        )
        if imposed != (campaign is not None):
            with database.sessions() as session:
                set_blind_campaign(session, expert.expert_id, imposed)
            st.rerun()

# how the stamps are drawn: above the candidate, where the expert looks (stored with each label)
stretch_col, range_col, side_col, marker_col, blind_col = st.columns(
    [1.3, 1.6, 0.9, 1.0, 1.0], vertical_alignment="bottom"
)
stretch = stretch_col.segmented_control("Stretch", STRETCHES, key="review_stretch") or "asinh"
percentiles = range_col.select_slider(
    "Display range (percentiles)",
    _PERCENTILE_STOPS,
    value=state["review_percentiles"],
    key="review_percentiles",
    format_func=lambda p: f"{p:g}",
    disabled=stretch == "zscale",
    help="Lower and upper percentiles of each stamp's pixels: below the lower one is black, above "
    "the upper one white (the composite's three colours share one range). Not used by zscale.",
)
stamp_px = side_col.select_slider("Stamp side (px)", STAMP_SIDES, key="review_context")
marker = marker_col.selectbox("Centre marker", MARKERS, key="review_marker", help="Key c cycles it.")
chosen_blind = blind_col.toggle(
    "Blind mode",
    key="review_blind",
    disabled=campaign is not None,
    help="Hide StarcNet's scores, and the other experts' labels until you have labelled the candidate "
    "(stored with each label, so that unassisted labels can be told apart).",
)
blind = chosen_blind or campaign is not None

preferences = dataclasses.replace(
    state["saved_preferences"],
    stretch=stretch,
    percentiles=tuple(percentiles),
    stamp_px=stamp_px,
    marker=marker,
    blind=chosen_blind,
    galaxy=galaxy.name,
    order=order,
    predicted_class=predicted,
    mag_range=None if tuple(mag_range) == _ANY_MAG else tuple(mag_range),
    include_labelled=include_labelled,
    flagged_only=flagged_only,
    skipped=tuple(sorted(history.skipped)),
    skipped_session=expert.session_id,
)
if preferences != state["saved_preferences"]:
    with database.sessions() as session:
        save_preferences(session, expert.expert_id, preferences)
    state["saved_preferences"] = preferences

with database.read_sessions() as session:
    used_order, order_note = queue_order_for(session, order, galaxy.galaxy_id)
history.use_filters(
    (galaxy.galaxy_id, used_order, predicted, tuple(mag_range), include_labelled, flagged_only)
)
actions = ReviewActions(state, database, expert, blind=blind, blind_imposed=campaign is not None)


def _refill(skipped: set[int]) -> list[int]:
    with database.read_sessions() as session:
        return next_candidates(
            session,
            expert_id=expert.expert_id,
            order=used_order,
            galaxy_id=galaxy.galaxy_id,
            predicted_class=predicted,
            mag_v_range=None if tuple(mag_range) == _ANY_MAG else tuple(mag_range),
            include_labelled=include_labelled,
            flagged_only=flagged_only,
            skipped=skipped,
        )


def _on_marker() -> None:
    chosen = (state.get("candidate_view") or {}).get("marker")
    if chosen in MARKERS:
        state["review_marker"] = chosen


@st.cache_data(max_entries=64, show_spinner=False)
def _examples(galaxy_id: int, stretch: str, percentiles: tuple[float, float]) -> dict[int, list[np.ndarray]]:
    with database.read_sessions() as session:
        return class_examples(
            session, galaxy_id, galaxy_arrays(galaxy_id), stretch=stretch, percentiles=percentiles
        )


def _payload(session, candidate_id: int, progress: str = "") -> tuple[object, dict]:  # noqa: ANN001
    view = build_candidate_view(
        session,
        candidate_id,
        galaxy_arrays(galaxy.galaxy_id),
        expert_id=expert.expert_id,
        stretch=stretch,
        percentiles=percentiles,
        blind=blind,
        context_size=stamp_px,
        wcs=galaxy_mosaics(galaxy.galaxy_id).wcs,
    )
    image, factor = galaxy_field_image(galaxy.galaxy_id, 170)
    if campaign is not None:
        scores_note = f"Scores hidden: blind campaign imposed by {campaign['by']} since {campaign['since']}."
    elif blind:
        scores_note = "Scores hidden (blind mode, your choice)."
    else:
        scores_note = "Not scored by the active model yet."
    if view.flagged != state["flags"].get(candidate_id, view.flagged):
        view = dataclasses.replace(view, flagged=state["flags"][candidate_id])
    return view, candidate_payload(
        view,
        progress=progress,
        note=order_note or "",
        scores_note=scores_note,
        field_map=field_map_payload(image, factor, view.x, view.y, CONTEXT_SIZE),
    )


@st.fragment
def labelling() -> None:
    if "open_candidate" in state:  # picked on the Galaxies page
        history.show_here(state.pop("open_candidate"))
    if "flash" in state:
        st.warning(plain(state.pop("flash")))
    elif "previous" in state:
        st.caption(plain(state.pop("previous")))  # names as typed, never markdown
    else:
        st.caption(
            "Keys: 1-4 label · u unsure · s skip · z undo · f flag · ← → back/forward · b blink · ? help"
        )
    candidate_id = history.current(_refill)
    if candidate_id is None:
        st.success("Nothing left in this queue: change the filters or the galaxy.")
        return
    next_id = history.next_id()
    with database.read_sessions() as session:
        progress = session_progress(session, expert.expert_id, galaxy.galaxy_id)
        counts = f"{expert.name}: {progress['labelled_today']} labelled today · {progress['remaining']} left in {galaxy.name}"
        view, current = _payload(session, candidate_id, counts)
        extra = [] if next_id is None else [_payload(session, next_id, counts)[1]]
    current["previous_id"] = history.previous_id
    current["following_id"] = history.following_id
    current["next_id"] = next_id
    actions.shown(view)
    state.setdefault("shown_at", time.monotonic())
    state["render_seq"] += 1
    show_candidate(
        current,
        extra,
        marker=marker,
        render_seq=state["render_seq"],
        message=state.pop("toast", ""),
        on_key=actions.on_key,
        on_marker=_on_marker,
    )

    buttons = st.columns([1.2, 1.2, 1.2, 1.2, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8])
    for k in range(1, 5):
        buttons[k - 1].button(
            f"{k} {_SHORT[k]}",
            key=f"label_{k}",
            on_click=actions.label,
            args=(str(k),),
            help=CLASS_DESCRIPTIONS[k],
            type="primary",
            width="stretch",
        )
    buttons[4].button(
        "u Unsure", key="label_unsure", on_click=actions.label, args=("unsure",), width="stretch"
    )
    buttons[5].button("s Skip", key="skip", on_click=actions.skip, width="stretch")
    buttons[6].button("z Undo", key="undo", on_click=actions.undo, width="stretch")
    buttons[7].button("f Flag", key="flag", on_click=actions.flag, width="stretch")
    buttons[8].button("← Back", key="back", on_click=actions.back, width="stretch")
    buttons[9].button("→ Next", key="forward", on_click=actions.forward, width="stretch")
    comment_col, turn_col, definitions_col = st.columns([3, 1, 2])
    comment_col.text_input(
        "Comment",
        key="comment",
        placeholder="optional comment, saved with the next label (Esc leaves the box)",
        label_visibility="collapsed",
    )
    interactive = turn_col.toggle(
        "Turn in 3D", key="review_turn_3d", help="An interactive 3D view of the V band."
    )
    with definitions_col.popover("Class definitions and examples", width="stretch"):
        examples = _examples(galaxy.galaxy_id, stretch, tuple(percentiles))
        for k in range(1, 5):
            st.markdown(f"**{k} — {CLASS_NAMES[k]}**: {CLASS_DESCRIPTIONS[k]}")
            if examples.get(k):
                st.image([enlarge(image, 3) for image in examples[k]])
    if interactive:
        st.plotly_chart(surface_figure(view.v_band), config={"displayModeBar": False}, key="surface")


labelling()
