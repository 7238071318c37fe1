"""StarcNet Studio: the review app's entry point (``streamlit run webapp/app.py``).

Builds the navigation and nothing else; each page is a script in ``webapp/pages``.
Every address (menu, bookmark, reload) goes through this navigation, and
opens the sign-in form first when nobody is signed in.
"""

from __future__ import annotations

import streamlit as st

from webapp.components.session import run_signed_in

st.set_page_config(page_title="StarcNet Studio", page_icon=":material/star:", layout="wide")

sign_in = st.Page("pages/sign_in.py", title="Sign in", icon=":material/login:")
pages = {
    "Label": [
        sign_in,
        st.Page("pages/review.py", title="Review", icon=":material/visibility:", default=True),
        st.Page("pages/galaxies.py", title="Galaxies", icon=":material/public:"),
    ],
    "Science": [
        st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
        st.Page("pages/export.py", title="Export", icon=":material/download:"),
    ],
    "Model": [
        st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
        st.Page("pages/retrain.py", title="Retrain", icon=":material/autorenew:"),
    ],
}
run_signed_in(st.navigation(pages), sign_in)
