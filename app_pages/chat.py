"""Chat page (placeholder for the foundation): one message through the gateway to local/rules."""

from __future__ import annotations

import streamlit as st

from agent import Gateway, errors

settings = st.session_state.settings
st.title("💬 Teste nosso agente")
if settings.all_local:
    st.info("Running fully offline: `local/rules` answers (no API key needed).")


@st.cache_resource
def gateway(_settings_key: str):
    return Gateway(st.session_state.settings)


gw = gateway(repr(settings.roles))
history = st.session_state.setdefault("history", [])
for role, text in history:
    st.chat_message(role).write(text)

if prompt := st.chat_input("Escreva sua mensagem"):
    history.append(("user", prompt))
    st.chat_message("user").write(prompt)
    try:
        reply = gw.complete("conversation", "Conversa", [{"role": "user", "content": prompt}])
        history.append(("assistant", reply.text))
        st.chat_message("assistant").write(reply.text)
        st.caption("Ledger row")
        st.dataframe([r for r in gw.store.cost_rows(limit=1)], hide_index=True)
    except errors.GatewayError as exc:
        st.error(exc.user_message)
