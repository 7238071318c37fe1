"""Models: versions with held-out metrics, the science diff of a proposed version, promote, roll back."""

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
)
from webapp.components.session import require_expert
from webapp.services.model_versions import (
    list_versions,
    promote_version,
    rollback_version,
    science_diff,
    who_trained_and_promoted,
)
from webapp.services.retrain import RetrainRequest, grow_held_out_set, held_out_labels

database = get_database()
expert = require_expert()
st.title("Model versions")

with database.read_sessions() as session:
    versions = list_versions(session)
    people = who_trained_and_promoted(session)
if not versions:
    st.info(
        "No model yet: run `python -m webapp models import CHECKPOINT --activate` or retrain from scratch."
    )
    st.stop()


def _percent(metrics: dict, key: str) -> str:
    if key not in metrics:
        return ""
    low, high = metrics.get(f"{key}_ci95", (None, None))
    interval = "" if low is None else f" [{low:.0%}, {high:.0%}]"
    return f"{metrics[key]:.1%}{interval}"


st.dataframe(
    pd.DataFrame(
        [
            {
                "id": v.id,
                "name": v.name,
                "status": v.status,
                "mode": v.mode,
                "labels": v.n_train_labels,
                "held-out acc": _percent(v.metrics, "accuracy"),
                "binary acc": _percent(v.metrics, "binary_accuracy"),
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

with st.expander("Held-out set"):
    with database.read_sessions() as session:
        n_held = len(held_out_labels(session, RetrainRequest()))
        session.rollback()
    st.write(
        f"{n_held} labelled candidates are held out: never trained on, the set every version is measured on."
    )
    grow = st.number_input("Hold out a further share of the training labels", 0.05, 0.5, 0.1, step=0.05)
    if st.button("Grow the held-out set"):
        with database.sessions() as session:
            st.success(
                f"{grow_held_out_set(session, RetrainRequest(), grow)} candidates added to the held-out set."
            )

active = next((v for v in versions if v.status == "active"), None)
others = [v for v in versions if v.status != "active"]
if st.button("Roll back to the previously active version", disabled=active is None):
    try:
        with database.sessions() as session:
            done = rollback_version(session, by=expert.name)
        st.success(f"Version {done['active']} is active again; scoring job #{done['score_job']} queued.")
    except UserInputError as error:
        st.error(str(error))
if not others or active is None:
    st.stop()

chosen = st.selectbox(
    "Compare with the active model", others, format_func=lambda v: f"{v.id}: {v.name} ({v.status})"
)
left, right = st.columns(2)
left.plotly_chart(confusion_figure(chosen.metrics, f"{chosen.name} on the held-out set"), width="stretch")
right.plotly_chart(
    confusion_figure(chosen.baseline_metrics, "the then-active model on the same set"),
    width="stretch",
)
recall = pd.DataFrame(
    {"new": chosen.metrics.get("recall", []), "active then": chosen.baseline_metrics.get("recall", [])},
    index=[f"{k} {CLASS_NAMES[k]}" for k in range(1, 1 + len(chosen.metrics.get("recall", [])))],
)
st.markdown("**Per-class recall on the held-out set**")
st.dataframe(
    recall,
    column_config={name: st.column_config.NumberColumn(format="percent") for name in recall.columns},
)

with database.read_sessions() as session:
    diff = science_diff(session, chosen.id, active.id)
st.subheader("What would change in the catalogue")
if diff["n_compared"] == 0:
    st.info("The new version has not scored the candidates yet; its scoring job is queued after training.")
else:
    st.caption(f"{diff['n_compared']} candidates scored by both; {len(diff['changed'])} change class.")
    st.plotly_chart(class_fractions_figure(diff), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(colour_colour_figure(diff), width="stretch")
    right.plotly_chart(changed_positions_figure(diff), width="stretch")

if st.button(f"Promote version {chosen.id}", type="primary"):
    with database.sessions() as session:
        done = promote_version(session, chosen.id, by=expert.name)
    st.success(f"Version {done['active']} is active; re-scoring job #{done['score_job']} queued.")
