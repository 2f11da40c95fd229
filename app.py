"""conversa-lab — Streamlit entry point: navigation, shared sidebar, settings per browser session."""

from __future__ import annotations

import streamlit as st

from agent import load_settings

st.set_page_config(page_title="conversa-lab", page_icon="💬", layout="wide")


@st.cache_resource
def base_settings():
    """Settings from env / .env / st.secrets, built once per server process."""
    try:
        secrets = dict(st.secrets)
    except Exception:  # noqa: BLE001  (no secrets.toml is the normal case)
        secrets = {}
    return load_settings(secrets=secrets)


if "settings" not in st.session_state:
    st.session_state.settings = base_settings()

pages = [
    st.Page("pages/chat.py", title="Chat", icon="💬", default=True),
]
st.navigation(pages).run()
