"""conversa-lab — Streamlit entry point: navigation, the shared sidebar, settings per browser session.

The sidebar turns widget values into one frozen ``Settings`` kept in ``st.session_state.settings``;
pages read it from there. Nothing here imports litellm (``agent`` exports lazily), so start-up is fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from agent import (
    ROLES, ModelOption, Settings, available_models, encryption_status, enforce_retention, errors, get_pack, list_packs,
    load_settings, models_for_role,
)
from app_pages.i18n import hint, known, language_switch, number, t
from app_pages.submits import install as keep_every_chat_submit
from app_pages.submits import start_full_run

start_full_run()  # before anything is drawn: the main area, not the last fragment's container
# An emoji favicon is drawn in the browser; a ":material/…:" one is fetched from fonts.gstatic.com.
st.set_page_config(page_title="conversa-lab", page_icon="💬", layout="wide")
keep_every_chat_submit()  # once per process: no fast chat-box submit is lost (app_pages/submits.py)

# Pages live in app_pages/, not pages/: a folder named pages/ next to the entry point switches
# Streamlit to the legacy multipage mode, which runs a deep-linked page (and every AppTest
# switch_page) without this file — no sidebar, no settings. tests/test_app_nav.py guards this.
PAGES = "app_pages"

ROLE_HELP = {
    "decision": "Classifies the journey step and extracts attributes (JSON). A cheap model is enough.",
    "conversation": "Writes the reply the customer reads.",
    "transcription": "Turns voice notes into text.",
    "vision": "Reads text from images (documents, screenshots).",
    "insights": "Emotion, satisfaction, objections and summaries.",
    "judge": "Grades replies in evals (LLM-as-judge).",
}
TEXT_ROLES = {"decision", "conversation", "insights", "judge"}
LOCAL_ENGINES = {
    "local/rules": "local/rules is answering — deterministic offline brain, no API key",
    "local/whisper": "faster-whisper (offline) transcribes voice notes",
    "local/tesseract": "Tesseract OCR (offline) reads images",
    "local/gguf": "a local GGUF model (llama.cpp) is answering",
}


def base_settings() -> Settings:
    """Settings from env / .env / st.secrets, read once per browser session (cheap: no imports)."""
    if "base_settings" not in st.session_state:
        try:
            secrets = dict(st.secrets)
        except Exception:  # noqa: BLE001  (no secrets.toml is the normal case)
            secrets = {}
        st.session_state.base_settings = load_settings(secrets=secrets)
    return st.session_state.base_settings


@st.cache_resource(ttl=60, show_spinner=False)
def model_options(_settings: Settings, env_key: int) -> list[ModelOption]:
    """Known models and whether each can run now (probes a local Ollama at most once a minute)."""
    return available_models(_settings)


def packs(settings: Settings) -> list[Path]:
    """Packs: folders next to the configured one that hold a pack.yaml (one agent each)."""
    found = list_packs(settings.pack_dir.parent)
    return found if settings.pack_dir in found else [settings.pack_dir, *found]


def labelled(labels: dict[str, str]) -> Callable[[str], str]:
    """A selectbox's format_func: the label of a model, or the model string itself (labels translated
    now: AppTest calls a format_func outside the script run, where the session's language is unknown)."""
    shown = {model: known(label) for model, label in labels.items()}
    return lambda model: shown.get(model, model)


def role_name(role: str) -> str:
    """A role's display name (the role itself stays English in settings, traces and the ledger)."""
    return t(role.capitalize())


def pack_label(folder: Path) -> str:
    """``fgts · Antecipação do saque-aniversário do FGTS`` (the folder, then the pack's title)."""
    try:
        title = get_pack(folder).title
    except errors.ConversaError as exc:  # a broken pack is still listed, and says why when chosen
        return t("{name} (invalid: {reason})", name=folder.name, reason=str(exc).splitlines()[0][:60])
    return folder.name if title == folder.name else f"{folder.name} · {title}"


def sidebar(base: Settings) -> Settings:
    """The shared sidebar: model and temperature per role, pack, currency → Settings."""
    options = model_options(base, hash(tuple(sorted(base.env.items()))))
    settings = base
    with st.sidebar:
        language_switch()
        st.markdown("### :material/neurology: " + t("Models"))
        for role in ROLES:
            role_options = models_for_role(options, role)
            usable = [o for o in role_options if o.usable]
            labels = {o.model: o.label for o in usable}
            current = base.role(role).model
            if current not in labels:
                labels[current] = current
            names = list(labels)
            locked = [o for o in role_options if not o.usable]
            help_text = t(ROLE_HELP[role])
            if locked:
                help_text += "\n\n" + t("Not available now:") + " " + "; ".join(f"{known(o.label)} ({hint(o.hint)})" for o in locked)
            model = st.selectbox(
                role_name(role), names, index=names.index(current), key=f"model_{role}",
                format_func=labelled(labels), help=help_text,
            ) or current
            changes: dict[str, object] = {}
            chosen = next((o for o in usable if o.model == model), None)
            if model != current:
                changes = {"model": model, "api_base": chosen.api_base if chosen else None,
                           "api_key_env": chosen.api_key_env if chosen else None}
            if role in TEXT_ROLES:
                temperature = st.slider(
                    t("Temperature"), 0.0, 1.5, float(base.role(role).temperature), 0.05,
                    key=f"temperature_{role}", help=t("Sampling temperature of the {role} model.", role=role_name(role)),
                )
                if temperature != base.role(role).temperature:
                    changes["temperature"] = temperature
            if changes:
                settings = settings.with_role(role, **changes)
        locked_all = [o for o in options if not o.usable]
        if locked_all:
            with st.expander(t("How to enable more models")):
                seen: set[str] = set()
                for o in locked_all:
                    if o.model in seen:
                        continue
                    seen.add(o.model)
                    st.markdown(f"- **{known(o.label)}** — {hint(o.hint)}")
                st.caption(t("Restart the app after editing `.env`. A local Ollama is detected by itself."))

        st.markdown("### :material/inventory_2: " + t("Prompt pack & currency"))
        pack_dirs = packs(base)
        pack = st.selectbox(
            t("Pack"), pack_dirs, index=pack_dirs.index(base.pack_dir), key="pack",
            format_func={folder: pack_label(folder) for folder in pack_dirs}.__getitem__,
            help=t("A folder under prompts/ with one agent: journey, prompts, knowledge, tools (prompts/README.md)."),
        )
        currency = st.radio(
            t("Currency"), ["BRL", "USD"], index=0 if base.currency == "BRL" else 1, key="currency",
            horizontal=True, help=t("Costs are recorded in USD and shown in BRL at {rate} per USD.", rate=number(base.usd_brl, 2)),
        )
    return settings.with_changes(pack_dir=pack, currency=currency)


@st.cache_resource(show_spinner=False)
def retention_enforced(_settings: Settings, database_url: str, days: float | None) -> str | None:
    """``RETENTION_DAYS`` enforced once per process and database, before a page reads (serve.py does it
    before the server listens; this covers ``streamlit run app.py``). The problem, if it failed."""
    try:
        enforce_retention(_settings)
    except errors.ConversaError as exc:
        return str(exc)
    return None


def local_banner(settings: Settings) -> None:
    """Say plainly what runs on this machine (no key, no network)."""
    in_use = {cfg.model for role, cfg in settings.roles.items() if role != "judge"}
    notes = [t(text) for model, text in LOCAL_ENGINES.items() if model in in_use]
    if not notes:
        return
    lead = t("Offline mode") if settings.all_local else t("Partly local")
    st.info(f"**{lead}:** " + " · ".join(notes) + ".", icon=":material/wifi_off:")


base = base_settings()
settings = sidebar(base)
if st.session_state.get("settings") != settings:
    # Frozen settings: pages compare and hand this to the agent (applies from the next turn).
    st.session_state.settings = settings

pages = [
    st.Page(f"{PAGES}/chat.py", title=t("Chat"), icon=":material/chat:", default=True),
    st.Page(f"{PAGES}/compare.py", title=t("Compare"), icon=":material/compare:"),
    st.Page(f"{PAGES}/prompts.py", title=t("Prompts"), icon=":material/edit_note:"),
    st.Page(f"{PAGES}/costs.py", title=t("Costs"), icon=":material/payments:"),
    st.Page(f"{PAGES}/evals.py", title=t("Evals"), icon=":material/science:"),
    st.Page(f"{PAGES}/audit.py", title=t("Audit"), icon=":material/fact_check:"),
]
nav = st.navigation(pages)
local_banner(settings)
encryption = encryption_status()
if encryption.error:  # a malformed CONVERSA_ENCRYPTION_KEY: no page can read or write the database until it is fixed
    st.error(t("The encryption key in .env is not valid: fix CONVERSA_ENCRYPTION_KEY and restart the app.")
             + f"\n\n```\n{encryption.error}\n```", icon=":material/key_off:")
    st.stop()
if base.retention_days is not None and (problem := retention_enforced(base, base.database_url, base.retention_days)):
    st.warning(t("The retention period (RETENTION_DAYS) could not be enforced at start-up:") + f" {problem}",
               icon=":material/warning:")
nav.run()
