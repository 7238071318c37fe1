"""Sign in: choose or create an expert (shared password when the server has one)."""

from __future__ import annotations

import streamlit as st

from starcnet_core.errors import UserInputError
from webapp.components.database import get_database
from webapp.components.session import current_expert, forget_sign_in, remember_sign_in
from webapp.services.auth import shared_password, sign_in
from webapp.services.labels import list_experts

database = get_database()
st.title("Sign in")
signed = current_expert()
if signed is not None:
    st.success(f"Signed in as **{signed.name}**.")
    if st.button("Sign out"):
        forget_sign_in()
        st.rerun()

with database.read_sessions() as session:
    experts = [e["name"] for e in list_experts(session) if e["role"] != "catalog"]

with st.form("sign_in"):
    chosen = st.selectbox("Expert", experts, index=None, placeholder="choose your name")
    new_name = st.text_input("…or a new expert name", max_chars=128)
    password = st.text_input("Password", type="password") if shared_password() else ""
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    name = new_name.strip() or chosen
    if not name:
        st.error("Choose your name or type a new one.")
    else:
        try:
            with database.sessions() as session:
                signed_in = sign_in(session, name, password=password, create=bool(new_name.strip()))
        except UserInputError as error:
            st.error(str(error))
        else:
            st.switch_page(remember_sign_in(signed_in))
