"""Sign in: choose or create an expert; with a shared password, the password first, then the names."""

from __future__ import annotations

import streamlit as st

from starcnet_core.errors import UserInputError
from webapp.components.database import get_database
from webapp.components.session import current_expert, forget_sign_in, remember_sign_in
from webapp.components.text import plain
from webapp.services.auth import open_door, shared_password, sign_in
from webapp.services.labels import list_experts

database = get_database()
st.title("Sign in")
signed = current_expert()
if signed is not None:
    st.success(f"Signed in as **{plain(signed.name)}**.")
    if st.button("Sign out"):
        forget_sign_in()
        st.rerun()

# Rate limits count per address (behind a proxy, every browser shares the
# proxy's); one shared count where Streamlit knows no address.
address = st.context.ip_address
client = address if isinstance(address, str) else ""
if shared_password() is not None and "door_password" not in st.session_state:
    # Who works here is not shown to someone who does not have the password.
    with st.form("password"):
        given = st.text_input("Password", type="password")
        opened = st.form_submit_button("Continue", type="primary")
    if opened:
        try:
            open_door(given, client=client)
        except UserInputError as error:
            st.error(plain(error))
        else:
            st.session_state["door_password"] = given
            st.rerun()
    st.stop()

with database.read_sessions() as session:
    experts = [e["name"] for e in list_experts(session) if e["role"] != "catalog"]

with st.form("sign_in"):
    chosen = st.selectbox("Expert", experts, index=None, placeholder="choose your name")
    new_name = st.text_input("…or a new expert name", max_chars=128)
    submitted = st.form_submit_button("Sign in", type="primary")
if submitted:
    name = new_name.strip() or chosen
    if not name:
        st.error("Choose your name or type a new one.")
    else:
        try:
            with database.sessions() as session:
                signed_in = sign_in(
                    session,
                    name,
                    password=st.session_state.get("door_password", ""),
                    create=bool(new_name.strip()),
                    client=client,
                )
        except UserInputError as error:
            if str(error) == "wrong password":  # the shared password changed since the door opened
                st.session_state.pop("door_password", None)
            st.error(plain(error))
        else:
            st.switch_page(remember_sign_in(signed_in))
