"""Models: the held-out set, versions with held-out metrics, the science diff of a proposed version, promote (with a brake), roll back."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from starcnet_core.errors import UserInputError
from starcnet_core.io.bands import CLASS_NAMES
from webapp.components.database import get_database
from webapp.components.model_figures import (
    changed_positions_figure,
    class_fractions_figure,
    colour_colour_figure,
    confusion_figure,
    held_out_figure,
    reliability_figure,
)
from webapp.components.session import require_expert
from webapp.components.text import plain
from webapp.services.held_out import (
    HELD_OUT_SHARE,
    grow_held_out_set,
    held_out_summary,
    interval_text,
    request_measurement,
)
from webapp.services.labels import get_expert
from webapp.services.model_versions import (
    can_roll_back,
    list_versions,
    precision_text,
    promote_version,
    promotion_review,
    rollback_version,
    science_diff,
    score_now,
    scoring_status,
    who_trained_and_promoted,
)

database = get_database()
expert = require_expert()
st.title("Model versions")
for message in st.session_state.pop("models_done", []):
    st.success(message)

with database.read_sessions() as session:
    versions = list_versions(session)
    people = who_trained_and_promoted(session)
    held = held_out_summary(session)
    is_admin = get_expert(session, expert.name).role == "admin"
    rollback_possible = can_roll_back(session)
    scoring = scoring_status(session)


def _percent(metrics: dict, key: str) -> str:
    return interval_text(metrics, key) if key in metrics else ""


def _set_of(metrics: dict) -> str:
    if "held_out_fingerprint" not in metrics:
        return "not measured"
    if metrics["held_out_fingerprint"] == held["fingerprint"]:
        return f"current ({metrics.get('n', 0)})"
    return f"an earlier set ({metrics.get('n', 0)})"


st.subheader("Held-out set")
since = f", last grown {held['updated_at']:%Y-%m-%d %H:%M} UTC" if held["updated_at"] else ""
st.write(
    f"{held['n']} of {held['n_labelled']} labelled candidates ({held['share']:.1%}) are held out{since}: "
    "never trained on, the set every version is measured on (truth: the consensus of every label)."
)
if held["n_labelled"] and held["share"] < HELD_OUT_SHARE - 0.005:
    st.caption(
        f"Labels have accumulated since the last growth: the set is {held['share']:.1%} of the labelled "
        f"candidates, below the {HELD_OUT_SHARE:.0%} it is kept at when grown."
    )
if held["below_minimum"]:
    st.warning(
        f"The held-out set has fewer than {held['minimum']} labelled candidates: its accuracies have wide "
        "intervals, automatic promotion is refused and promotion needs an admin's force. Grow it below."
    )
with st.form("grow_held_out"):
    left, right = st.columns(2)
    share = left.number_input(
        "Hold out this share of the labelled candidates", 0.05, 0.5, HELD_OUT_SHARE, step=0.05
    )
    to_minimum = right.checkbox(f"…and at least {held['minimum']}", value=held["below_minimum"])
    if st.form_submit_button("Grow the held-out set"):
        try:
            with database.sessions() as session:
                grown = grow_held_out_set(session, share=share, at_least=held["minimum"] if to_minimum else 0)
        except UserInputError as error:
            st.error(plain(error))
        else:
            st.session_state["models_done"] = [
                f"{grown['added']} candidates added: the held-out set has {grown['n']}. "
                "Re-measure the versions you compare on it."
            ]
            st.rerun()
if held["growth"]:
    with st.expander("When the held-out set was chosen and grown"):
        st.dataframe(
            pd.DataFrame(
                [{"when (UTC)": g.added_at, "added": g.n_added, "size after": g.size} for g in held["growth"]]
            ),
            hide_index=True,
        )

if not versions:
    st.info(
        "No model yet: run `python -m webapp models import CHECKPOINT --activate` or retrain from scratch."
    )
    st.stop()

st.subheader("Versions")
st.dataframe(
    pd.DataFrame(
        [
            {
                "id": v.id,
                "name": v.name,
                "status": v.status,
                "mode": v.mode,
                "labels": v.n_train_labels,
                "held-out acc [95%]": _percent(v.metrics, "accuracy"),
                "binary acc [95%]": _percent(v.metrics, "binary_accuracy"),
                "measured on": _set_of(v.metrics),
                "active then: acc": _percent(v.baseline_metrics, "accuracy"),
                "active then: binary": _percent(v.baseline_metrics, "binary_accuracy"),
                "retrain started by": people.get(v.id, {}).get("requested_by"),
                "promoted by": people.get(v.id, {}).get("promoted_by"),
                "created": v.created_at,
                "label fingerprint": (v.label_fingerprint or "")[:12],
            }
            for v in versions
        ]
    ),
    hide_index=True,
    width="stretch",
)

active = next((v for v in versions if v.status == "active"), None)
left, right = st.columns(2)
if left.button("Roll back to the previously active version", disabled=not rollback_possible):
    try:
        with database.sessions() as session:
            done = rollback_version(session, by=expert.name)
    except UserInputError as error:
        st.error(plain(error))
    else:
        st.session_state["models_done"] = [
            f"Version {done['active']} is active again; scoring job #{done['score_job']} queued."
        ]
        st.rerun()
if not rollback_possible:
    left.caption("Nothing to roll back to: no version was active before this one.")
pending = [j for j in scoring["jobs"] if j.params.get("model_version_id") == scoring["active_id"]]
if right.button("Score every galaxy now with the active model", disabled=active is None):
    with database.sessions() as session:
        job_id = score_now(session, by=expert.name)
    st.session_state["models_done"] = [f"Scoring job #{job_id} queued; the worker runs it."]
    st.rerun()
unscored = sum(g["n_usable"] - g["n_scored"] for g in scoring["galaxies"].values())
right.caption(
    f"{unscored} usable candidates not scored by the active model; {len(pending)} scoring job(s) pending. "
    + precision_text(scoring["precisions"])
)

others = [v for v in versions if v.status != "active"]
if not others or active is None:
    st.stop()

st.subheader("Compare with the active model")
chosen = st.selectbox(
    "Version", others, format_func=lambda v: f"{v.id}: {v.name} ({v.status})", key="models_compare"
)
with database.read_sessions() as session:
    review = promotion_review(session, chosen.id)
    diff = science_diff(session, chosen.id, active.id)
new, old = review["new"], review["active"]
st.caption(
    f"Held-out set now: {held['n']} candidates{since}. "
    f"{chosen.name}: measured on {_set_of(new)}; active {active.name}: measured on {_set_of(old)}."
)
if not (review["new_current"] and review["active_current"]):
    st.info(
        "The two versions were not both measured on the current held-out set, so they cannot be compared yet."
    )
    if st.button("Re-measure both on the current held-out set"):
        with database.sessions() as session:
            job = request_measurement(session, [chosen.id, active.id])
        st.session_state["models_done"] = [
            f"Evaluate job #{job.id} queued; the worker measures both versions."
        ]
        st.rerun()
st.plotly_chart(held_out_figure(new, old, chosen.name, active.name), width="stretch")
left, right = st.columns(2)
left.plotly_chart(confusion_figure(new, f"{chosen.name} on the held-out set"), width="stretch")
right.plotly_chart(confusion_figure(old, f"{active.name} on the same set"), width="stretch")
if new.get("reliability") or old.get("reliability"):
    st.plotly_chart(reliability_figure([(chosen.name, new), (active.name, old)]), width="stretch")
    st.caption(
        "Scores are temperature-scaled on each version's validation labels when it is trained. "
        "ECE: the candidate-weighted mean gap between fraction correct and mean top score over 10 score bins."
    )
recall = pd.DataFrame(
    {"new": new.get("recall", []), "active": old.get("recall", [])[: len(new.get("recall", []))]},
    index=[f"{k} {CLASS_NAMES[k]}" for k in range(1, 1 + len(new.get("recall", [])))],
)
st.markdown("**Per-class recall on the held-out set**")
st.dataframe(
    recall,
    column_config={name: st.column_config.NumberColumn(format="percent") for name in recall.columns},
)

st.subheader("What would change in the catalogue")
if diff["n_compared"] == 0:
    st.info("The new version has not scored the candidates yet; its scoring job is queued after training.")
else:
    st.caption(f"{diff['n_compared']} candidates scored by both; {len(diff['changed'])} change class.")
    st.plotly_chart(class_fractions_figure(diff), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(colour_colour_figure(diff), width="stretch")
    right.plotly_chart(changed_positions_figure(diff), width="stretch")

confirming = st.session_state.get("models_confirm") == chosen.id
if not confirming and st.button(f"Promote version {chosen.id}…", type="primary"):
    st.session_state["models_confirm"] = chosen.id
    st.rerun()
if confirming:
    with st.container(border=True):
        st.markdown(f"**Promote {chosen.name} in place of {active.name}?**")
        st.write(
            f"Held-out ({held['n']} candidates): 4-class {interval_text(new, 'accuracy')} "
            f"against {interval_text(old, 'accuracy')}; binary "
            f"{interval_text(new, 'binary_accuracy')} against {interval_text(old, 'binary_accuracy')}. "
            f"{review['n_changed']} of {review['n_compared']} candidates change class. "
            "Every candidate is re-scored with it."
        )
        for reason in review["refusals"]:
            st.error(f"Refused: {plain(reason)}.")
        force = False
        if review["refusals"]:
            if is_admin:
                force = st.checkbox("Force the promotion anyway (admin)", key="models_force")
            else:
                st.caption("Only an admin may force a refused promotion.")
        left, right = st.columns(2)
        if left.button("Confirm promotion", type="primary", disabled=bool(review["refusals"]) and not force):
            try:
                with database.sessions() as session:
                    done = promote_version(session, chosen.id, by=expert.name, force=force)
            except UserInputError as error:
                st.error(plain(error))
            else:
                st.session_state.pop("models_confirm", None)
                st.session_state["models_done"] = [
                    f"Version {done['active']} is active; re-scoring job #{done['score_job']} queued."
                ]
                st.rerun()
        if right.button("Cancel"):
            st.session_state.pop("models_confirm", None)
            st.rerun()
