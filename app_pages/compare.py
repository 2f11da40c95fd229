"""Compare page: one customer script on two or three configurations, replies aligned turn by turn."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from agent import (
    AgentSession,
    ModelOption,
    mask_for_display,
    PromptVersions,
    Settings,
    Store,
    available_models,
    load_pack,
    models_for_role,
    pack_variant,
)
from app_pages.i18n import known, number, t
from app_pages.i18n import money as money
from app_pages.ui import whatsapp_markdown

settings: Settings = st.session_state.settings
DEFAULT_SCRIPT = """oi || tudo bem? || quero antecipar meu fgts
sim, aceito
Maria Souza, CPF 073.602.846-35, nasci em março
sim
como eu autorizo o banco no app?"""


@st.cache_resource(ttl=60, show_spinner=False)
def options_for(_settings: Settings, env_key: int) -> list[ModelOption]:
    return available_models(_settings)


@st.cache_resource
def versions_for(url: str) -> PromptVersions:
    return PromptVersions(Store.open(url))


options = options_for(settings, hash(tuple(sorted(settings.env.items()))))
pack = load_pack(settings.pack_dir)
versions = versions_for(settings.database_url)

st.title(":material/compare: " + t("Compare"))
st.caption(t("The same customer script on two or three configurations — models, temperatures or prompt versions — "
             "each in its own new conversation, replies aligned turn by turn with cost and latency."))

script_col, cfg_area = st.columns([1, 2.4], gap="large")
with script_col:
    script_text = st.text_area(
        t("Customer script"), DEFAULT_SCRIPT, height=230, key="compare_script",
        help=t("One customer turn per line. Separate messages sent in one burst with ||."),
    )
    count = st.segmented_control(t("Configurations"), [2, 3], default=2, key="compare_count") or 2

saved = {f"{h['file_name']} · v{h['id_prompt_version']} · {h['content_hash']}"
         + (f" · {h['note'][:30]}" if h["note"] else ""): h
         for name in pack.names() for h in versions.history(pack.name, name, limit=20)
         if h["content_hash"] != pack.files[name].sha}


def model_picker(col: Any, role: str, i: int) -> str:
    usable = [o for o in models_for_role(options, role) if o.usable]
    labels = {o.model: o.label for o in usable}
    current = settings.role(role).model
    labels.setdefault(current, current)
    names = list(labels)
    return col.selectbox(t(f"{role.capitalize()} model"), names, index=names.index(current),
                         format_func={m: known(label) for m, label in labels.items()}.__getitem__,
                         key=f"compare_{role}_{i}")


ON_DISK = "files on disk"
configs: list[dict[str, Any]] = []
with cfg_area:
    cols = st.columns(count)
    for i, col in enumerate(cols):
        with col.container(border=True):
            label = st.text_input(t("Name"), value=t("Config {letter}", letter="ABC"[i]), key=f"compare_label_{i}")
            decision = model_picker(st, "decision", i)
            conversation = model_picker(st, "conversation", i)
            temperature = st.slider(t("Conversation temperature"), 0.0, 1.5,
                                    float(settings.role("conversation").temperature) + (0.4 if i == 2 else 0.0),
                                    0.05, key=f"compare_temp_{i}")
            version = st.selectbox(t("Prompt version"), [ON_DISK, *saved], key=f"compare_prompt_{i}",
                                   format_func={ON_DISK: t("files on disk"), **{v: v for v in saved}}.__getitem__,
                                   help=t("A version saved on the Prompts page replaces its file for this run only."))
            configs.append({"label": label or t("Config {letter}", letter="ABC"[i]), "decision": decision,
                            "conversation": conversation, "temperature": temperature,
                            "version": None if version == ON_DISK else saved[version]})


def parse_script(text: str) -> list[list[str]]:
    return [[part.strip() for part in line.split("||") if part.strip()] for line in text.splitlines() if line.strip()]


def settings_for(cfg: dict[str, Any]) -> Settings:
    s = settings.with_role("decision", model=cfg["decision"]).with_role(
        "conversation", model=cfg["conversation"], temperature=cfg["temperature"])
    pack_dir = settings.pack_dir
    if cfg["version"] is not None:
        pack_dir = pack_variant(settings.pack_dir, {cfg["version"]["file_name"]: cfg["version"]["content"]})
    # Bursts are sent whole and answered at once: no waiting on the clock.
    return s.with_changes(pack_dir=pack_dir, burst_mode=True, burst_window_s=3600.0)


def run(cfg: dict[str, Any], turns: list[list[str]], progress: Any, done: int, total: int) -> dict[str, Any]:
    session = AgentSession.new(settings_for(cfg), title=f"Compare · {cfg['label']}")
    rows = []
    for burst in turns:
        started = time.perf_counter()
        for message in burst:
            session.send(message)
        result = session.flush(force=True)
        wall = (time.perf_counter() - started) * 1000
        trace = result.trace if result else None
        rows.append({
            # Replies as stored: personal data the customer typed and the agent quoted back are masked.
            "replies": [str(mask_for_display(m.text)) for m in result.replies] if result else [],
            "step_before": result.step_before if result else "", "step_after": result.step_after if result else "",
            "latency_ms": (trace.latency_ms or wall) if trace else wall,
            "cost_usd": trace.cost_usd if trace else 0.0,
            "tokens": trace.total_tokens if trace else 0,
            "errors": list(result.errors) if result else [],
            "codes": list(result.message_codes) if result else [],
        })
        done += 1
        progress.progress(done / total, text=t("{config}: turn {n} of {total}", config=cfg["label"], n=len(rows),
                                                total=len(turns)))
    return {"chat_id": session.chat_id, "turns": rows}


turns = parse_script(script_text)
if st.button(t("Run the script on every configuration"), type="primary", icon=":material/play_arrow:",
             disabled=not turns):
    progress = st.progress(0.0, text=t("Starting…"))
    runs = []
    for n, cfg in enumerate(configs):
        try:
            runs.append(run(cfg, turns, progress, n * len(turns), len(turns) * len(configs)))
        except Exception as exc:  # noqa: BLE001  (one broken configuration must not hide the others)
            runs.append({"chat_id": None, "turns": [], "error": str(exc)})
    progress.empty()
    st.session_state.compare_results = {"turns": turns, "configs": configs, "runs": runs}

results = st.session_state.get("compare_results")
if not results:
    st.info(t("Write a script, pick the configurations and run. Each run is a real conversation: it shows up "
              "on the Costs page and under *Load a past conversation* on the Chat page."))
    st.stop()

# ---------------------------------------------------------------- results
configs, runs, turns = results["configs"], results["runs"], results["turns"]
summary = []
for cfg, r in zip(configs, runs, strict=True):
    rows = r["turns"]
    summary.append({
        t("configuration"): cfg["label"],
        t("decision"): cfg["decision"],
        t("conversation"): f"{cfg['conversation']} @ {number(cfg['temperature'], 2)}",
        t("prompt"): cfg["version"]["file_name"] + " " + cfg["version"]["content_hash"] if cfg["version"] else t("files"),
        t("final step"): rows[-1]["step_after"] if rows else "—",
        t("cost ({currency})", currency=settings.currency): money(sum(x["cost_usd"] for x in rows)),
        t("avg latency (ms)"): number(round(sum(x["latency_ms"] for x in rows) / len(rows))) if rows else None,
        t("tokens"): number(sum(x["tokens"] for x in rows)),
        t("chat"): f"#{r['chat_id']}" if r.get("chat_id") else r.get("error", ""),
    })
st.subheader(t("Summary"))
st.dataframe(pd.DataFrame(summary), hide_index=True, width="stretch")

st.subheader(t("Turn by turn"))
for n, burst in enumerate(turns):
    with st.container(border=True):
        st.markdown(t("**Turn {n}** · customer:", n=n + 1) + " " + " · ".join(f"“{mask_for_display(m)}”" for m in burst))
        cols = st.columns(len(configs))
        first_reply = None
        for col, cfg, r in zip(cols, configs, runs, strict=True):
            with col:
                st.caption(cfg["label"])
                if r.get("error"):
                    st.error(r["error"])
                    continue
                row = r["turns"][n] if n < len(r["turns"]) else None
                if row is None:
                    continue
                reply = "\n\n".join(row["replies"]) or t("(no reply)")
                first_reply = reply if first_reply is None else first_reply
                with st.chat_message("assistant"):
                    st.markdown(whatsapp_markdown(reply))
                for error in row["errors"]:
                    st.warning(error)
                same = " · " + t("same as the first") if reply == first_reply and col is not cols[0] else ""
                st.caption(f"{row['step_before']} → **{row['step_after']}** · {number(row['latency_ms'], 0)} ms · "
                           f"{money(row['cost_usd'])} · " + t("{n} tokens", n=number(row["tokens"])) + same)
