"""StarcNet Studio: the review app's entry point (``streamlit run webapp/app.py``).

Builds the navigation and nothing else; each page is a script in ``webapp/pages``.
Every address (menu, bookmark, reload) goes through this navigation, and
opens the sign-in form first when nobody is signed in.
"""

from __future__ import annotations

import streamlit as st

from webapp.components.session import run_signed_in

st.set_page_config(page_title="StarcNet Studio", page_icon=":material/star:", layout="wide")


def _pages(*entries: tuple[str, str, str]) -> dict:
    return {
        script: st.Page(script, title=title, icon=icon, default=script == "pages/review.py")
        for script, title, icon in entries
    }


run_signed_in(
    {
        "Label": _pages(
            ("pages/sign_in.py", "Sign in", ":material/login:"),
            ("pages/review.py", "Review", ":material/visibility:"),
            ("pages/galaxies.py", "Galaxies", ":material/public:"),
        ),
        "Science": _pages(
            ("pages/metrics.py", "Metrics", ":material/monitoring:"),
            ("pages/export.py", "Export", ":material/download:"),
        ),
        "Model": _pages(
            ("pages/models.py", "Models", ":material/model_training:"),
            ("pages/retrain.py", "Retrain", ":material/autorenew:"),
        ),
    }
)
