"""Retrain: choose the labels and the mode, see the time estimate, start, follow, cancel."""

from __future__ import annotations

import streamlit as st

from starcnet_core.errors import UserInputError
from webapp.components.database import get_database
from webapp.components.model_figures import training_curves_figure
from webapp.components.session import require_expert
from webapp.components.text import plain
from webapp.services.jobs import cancel_job, job_status, recent_jobs, rerun_job
from webapp.services.retrain import MODES, RetrainRequest, estimate_seconds, request_retrain

_MODE_HELP = {
    "quick": "convolutions frozen, fully connected layers retrained on cached features (about a minute)",
    "full": "every layer fine-tuned from the active model (slow on a CPU)",
    "scratch": "the paper recipe from random weights (hours on a CPU; use a GPU)",
}

database = get_database()
expert = require_expert()
st.title("Retrain StarcNet")

with st.form("retrain"):
    mode = st.radio("Mode", MODES, format_func=lambda m: f"{m}: {_MODE_HELP[m]}")
    left, right = st.columns(2)
    include_catalog = left.checkbox("Include the labels imported with the catalogs")
    min_votes = right.number_input("Minimum votes behind a consensus class", 1, 10, 1)
    epochs = left.number_input("Epochs (0: the mode's default)", 0, 500, 0)
    auto_promote = right.checkbox("Promote automatically when not worse on the held-out set")
    estimate_clicked = left.form_submit_button("Estimate time")
    start_clicked = right.form_submit_button("Start retraining", type="primary")

request = RetrainRequest(
    mode=mode,
    include_catalog=include_catalog,
    min_votes=int(min_votes),
    epochs=int(epochs) or None,
    auto_promote=auto_promote,
    requested_by=expert.name,
)
try:
    if estimate_clicked or start_clicked:
        with database.sessions() as session:
            estimate = estimate_seconds(session, request)
        st.info(
            f"{estimate['summary']} ({estimate['n_held_out']} held-out candidates are never trained on; "
            f"{estimate['n_new_features']} stamps need new features)"
        )
    if start_clicked:
        with database.sessions() as session:
            job = request_retrain(session, request)
        st.success(f"Retrain job #{job.id} queued; the worker process runs it.")
except UserInputError as error:
    st.error(plain(error))


@st.fragment(run_every=1.0)
def follow_latest_job() -> None:
    with database.read_sessions() as session:
        latest = recent_jobs(session, kind="retrain", limit=1)
    if not latest:
        st.caption("No retrain job yet.")
        return
    job = latest[0]
    with database.read_sessions() as session:
        job = job_status(session, job.id)
    by = job.params.get("requested_by")
    st.subheader(f"Job #{job.id}: {job.status}")
    st.caption(
        f"{job.params.get('mode', '')} retrain started by {plain(by or 'the command line')} at {job.created_at:%Y-%m-%d %H:%M} UTC"
    )
    st.progress(job.progress, text=job.message)
    if job.status in ("queued", "running") and st.button("Cancel", key=f"cancel-{job.id}"):
        with database.sessions() as session:
            cancel_job(session, job.id)
    history = job.result.get("history") or []
    if history:
        st.plotly_chart(training_curves_figure(history), width="stretch")
    if job.error:
        st.error(plain(job.error))
    if job.status in ("failed", "cancelled") and st.button(
        "Re-run with the same parameters", key=f"rerun-{job.id}"
    ):
        try:
            with database.sessions() as session:
                again = rerun_job(session, job.id)
            st.success(f"Job #{job.id} queued again as #{again.id}.")
        except UserInputError as error:
            st.error(plain(error))
    if job.status == "succeeded":
        metrics, baseline = job.result.get("metrics", {}), job.result.get("baseline_metrics", {})
        st.write(
            f"New version {job.result.get('model_version_id')}: held-out accuracy "
            f"{metrics.get('accuracy', float('nan')):.1%} (active model {baseline.get('accuracy', float('nan')):.1%}); "
            f"{'promoted' if job.result.get('promoted') else 'not promoted — compare it on the Models page'}."
        )
    with st.expander("Log"):
        st.code(job.log_tail or "(empty)")


follow_latest_job()
