"""Metrics: the active model against the experts' consensus, and the experts against each other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from starcnet_core.groupings import BINARY, GROUP_NAMES, GROUPING_TITLES
from starcnet_core.io.bands import CLASS_NAMES
from webapp.components.database import get_database
from webapp.components.metrics_figures import (
    accuracy_distance_figure,
    class_distribution_figure,
    colour_colour_figure,
    confusion_heatmap,
    expert_accuracy_rows,
    expert_agreement_figure,
    precision_recall_figure,
    score_distribution_figure,
)
from webapp.components.session import require_expert
from webapp.components.text import plain
from webapp.services.agreement import agreement_report
from webapp.services.crowd import weighted_consensus_report
from webapp.services.galaxies import list_galaxies
from webapp.services.metrics import PROPERTY_KEYS, scored_candidates

database = get_database()
require_expert()
st.title("Metrics")

with database.read_sessions() as session:
    galaxies = list_galaxies(session)
    choice = st.selectbox("Galaxy", ["all galaxies", *(g.name for g in galaxies)], key="metrics_galaxy")
    galaxy = None if choice == "all galaxies" else next(g for g in galaxies if g.name == choice)
    experts_only = st.toggle("Only human experts (leave out catalog labels)", key="metrics_humans")
    roles = ["expert", "admin"] if experts_only else None
    report = agreement_report(session, galaxy=galaxy.name if galaxy else None, roles=roles)
    data = scored_candidates(session, galaxy.galaxy_id if galaxy else None)
    crowd = weighted_consensus_report(session, galaxy_id=galaxy.galaxy_id if galaxy else None, roles=roles)

model = report["model"]
decided = data["consensus"] > 0
st.caption(
    f"Model **{plain(report['model_name'] or 'none active')}** · {len(data['predicted'])} scored candidates, "
    f"{int(decided.sum())} with a decided consensus."
)
model_tab, experts_tab, science_tab = st.tabs(["Model vs consensus", "Experts", "Science (photometry)"])
with model_tab:
    if not model or not model["n"]:
        st.info("No candidate has both an active model's score and a decided consensus yet.")
    else:
        a, b, c, d = st.columns(4)
        a.metric("accuracy (4 classes)", f"{model['agreement']:.1%}")
        b.metric("balanced accuracy", f"{model['balanced']:.1%}")
        c.metric("binary accuracy", f"{model['binary_agreement']:.1%}")
        d.metric("compared", model["n"])
        left, right = st.columns(2)
        confusion = np.asarray(model["confusion"])
        left.plotly_chart(
            confusion_heatmap(confusion, [f"{k}" for k in range(1, 5)], GROUPING_TITLES["four_class"])
        )
        right.plotly_chart(
            confusion_heatmap(
                np.asarray(model["binary_confusion"]), list(GROUP_NAMES[BINARY]), GROUPING_TITLES[BINARY]
            )
        )
        left, right = st.columns(2)
        left.plotly_chart(precision_recall_figure(data["consensus"][decided], data["scores"][decided]))
        right.plotly_chart(score_distribution_figure(data["consensus"][decided], data["scores"][decided]))
        st.plotly_chart(
            accuracy_distance_figure(
                data["galaxy"][decided],
                data["distance_mpc"][decided],
                data["consensus"][decided],
                data["predicted"][decided],
            )
        )
with experts_tab:
    experts = report["experts"]
    if not experts["pairwise"]:
        st.info("Agreement needs two experts who labelled the same candidates.")
    else:
        st.plotly_chart(expert_agreement_figure(experts))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "expert": row["expert"],
                    "compared": row["n"],
                    "agreement with consensus": row["agreement"],
                    "binary agreement": row["binary_agreement"],
                }
                for row in experts["vs_consensus"]
            ]
        ),
        hide_index=True,
        column_config={
            "agreement with consensus": st.column_config.ProgressColumn(
                format="percent", min_value=0, max_value=1
            ),
            "binary agreement": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
        },
    )
    st.subheader("Expert-weighted consensus (Dawid-Skene)")
    if not crowd["experts"]:
        st.info("No class votes yet.")
    else:
        st.caption(
            "Each expert gets a confusion matrix fitted to all votes; the consensus weighs them by it. "
            f"It agrees with the mode on {crowd['agreement_with_mode'] or 0:.1%} of "
            f"{crowd['n_decided']} candidates with a decided mode ({crowd['changed_from_mode']} differ) "
            f"and decides {crowd['resolved_ties']} tied ones. The votes themselves are unchanged. "
            "Cells: the expert's estimated probability of giving the right class to a candidate of "
            "that class, with the number of their labels behind it."
        )
        st.dataframe(pd.DataFrame(expert_accuracy_rows(crowd["experts"])), hide_index=True)
with science_tab:
    has_colours = np.isfinite(data["mag_u"] - data["mag_b"] + data["mag_v"] - data["mag_i"]).any()
    if not has_colours:
        st.info("The catalog has no U, B, V, I photometry for the scored candidates.")
    else:
        st.plotly_chart(colour_colour_figure(data))
        columns = st.columns(1 + len(PROPERTY_KEYS))
        columns[0].plotly_chart(class_distribution_figure(data["mag_v"], data, "V (Vega mag)"))
        titles = {"age": "age (yr)", "mass": "mass (solar masses)", "ebv": "E(B-V) (mag)"}
        for column, key in zip(columns[1:], PROPERTY_KEYS, strict=True):
            if np.isfinite(data[key]).any():
                column.plotly_chart(
                    class_distribution_figure(data[key], data, titles[key], log=key in ("age", "mass"))
                )
    st.caption("Classes: " + " · ".join(f"{k} {name}" for k, name in CLASS_NAMES.items()))
