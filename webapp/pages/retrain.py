"""Retrain: choose the labels and the mode, see the time estimate, start, follow, cancel."""

from __future__ import annotations

import streamlit as st

from starcnet_core.errors import UserInputError
from webapp.components.database import get_database
from webapp.components.model_figures import training_curves_figure
from webapp.components.session import require_expert
from webapp.components.text import plain
from webapp.services.held_out import HELD_OUT_MINIMUM, interval_text
from webapp.services.jobs import cancel_job, job_status, recent_jobs, rerun_job
from webapp.services.retrain import (
    CONSENSUS_RULES,
    FEW_LABELS,
    MODES,
    SCRATCH_PRESETS,
    RetrainRequest,
    default_preset,
    estimate_seconds,
    request_retrain,
)

_MODE_HELP = {
    "quick": "convolutions frozen, fully connected layers retrained on cached features (about a minute)",
    "full": "every layer fine-tuned from the active model (slow on a CPU)",
    "scratch": "the paper recipe from random weights, on the network preset below",
}
_PRESET_HELP = {"lite": "lite (1.7M parameters, for a CPU)", "paper": "paper (15M parameters, for a GPU)"}

database = get_database()
expert = require_expert()
st.title("Retrain StarcNet")

with st.form("retrain"):
    mode = st.radio("Mode", MODES, format_func=lambda m: f"{m}: {_MODE_HELP[m]}")
    left, right = st.columns(2)
    include_catalog = left.checkbox("Include the labels imported with the catalogs")
    min_votes = right.number_input("Minimum votes behind a consensus class", 1, 10, 1)
    consensus = left.selectbox(
        "Class each candidate trains with",
        CONSENSUS_RULES,
        format_func={
            "mode": "mode of the votes",
            "dawid-skene": "expert-weighted consensus (Dawid-Skene; see Metrics > Experts)",
        }.get,
    )
    epochs = left.number_input("Epochs (0: the mode's default)", 0, 500, 0)
    preset = right.selectbox(
        "Network for a retrain from scratch",
        SCRATCH_PRESETS,
        index=SCRATCH_PRESETS.index(default_preset()),
        format_func=_PRESET_HELP.get,
    )
    auto_promote = left.checkbox("Promote automatically when not worse on the held-out set")
    few_ok = right.checkbox(f"Train even on fewer than {FEW_LABELS} labels")
    estimate_clicked = left.form_submit_button("Estimate time")
    start_clicked = right.form_submit_button("Start retraining", type="primary")

request = RetrainRequest(
    mode=mode,
    include_catalog=include_catalog,
    consensus=consensus,
    min_votes=int(min_votes),
    epochs=int(epochs) or None,
    auto_promote=auto_promote,
    preset=preset if mode == "scratch" else None,
    requested_by=expert.name,
)
try:
    if estimate_clicked or start_clicked:
        with database.read_sessions() as session:
            estimate = estimate_seconds(session, request)
        st.info(
            f"{estimate['summary']} ({estimate['n_held_out']} held-out candidates are never trained on; "
            f"{estimate['n_new_features']} stamps need new features)"
        )
        if auto_promote and estimate["n_held_out"] < HELD_OUT_MINIMUM:
            st.warning(
                f"The held-out set has {estimate['n_held_out']} labelled candidates, fewer than "
                f"{HELD_OUT_MINIMUM}: the new version will not be promoted automatically (grow it on Models)."
            )
        few = estimate["n_train"] < FEW_LABELS
        if few:
            st.warning(
                f"Only {estimate['n_train']} labels to train on: a model retrained on fewer than "
                f"{FEW_LABELS} mostly learns their noise. Tick the box above to train anyway."
            )
        if start_clicked and (not few or few_ok):
            with database.sessions() as session:
                job = request_retrain(session, request)
            st.success(f"Retrain job #{job.id} queued; the worker process runs it.")
except UserInputError as error:
    st.error(plain(error))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "no estimate"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


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
    estimated = job.params.get("estimated_seconds")
    if job.done and job.started_at and job.finished_at:
        took = (job.finished_at - job.started_at).total_seconds()
        if estimated is None:
            st.caption(f"Took {_duration(took)} (no estimate: nothing had been measured here yet).")
        else:
            st.caption(f"Estimated {_duration(estimated)}; took {_duration(took)}.")
    elif estimated is not None:
        st.caption(f"Estimated {_duration(estimated)}.")
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
        note = job.result.get("promotion_note")
        st.write(
            f"New version {job.result.get('model_version_id')}, trained on {job.result.get('n_fit', '?')} labels "
            f"({job.result.get('n_validation', '?')} more chose the best epoch): held-out accuracy "
            f"{interval_text(metrics, 'accuracy')} (active model {interval_text(baseline, 'accuracy')}) "
            f"on {metrics.get('n', 0)} candidates; "
            f"{'promoted' if job.result.get('promoted') else note or 'not promoted — compare it on the Models page'}."
        )
    with st.expander("Log"):
        st.code(job.log_tail or "(empty)")


follow_latest_job()
