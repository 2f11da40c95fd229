"""Prompts page: view and edit the pack's prompt files, token counts, preview, versions, diff, write back."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from agent import (
    Pack,
    PromptVersions,
    Settings,
    Store,
    check_prompt,
    count_tokens_offline,
    diff_lines,
    errors,
    get_pack,
    load_contracts,
    load_pack,
    placeholders,
    prompt_sections,
    render_text,
    sample_values,
    text_hash,
)
from app_pages.diet import pack_budget_text, sections_rows, sections_text
from app_pages.i18n import number, t, when
from app_pages.ui import highlight_variables

settings: Settings = st.session_state.settings
pack = load_pack(settings.pack_dir)
pack_key = pack.name
ENCODING = "o200k_base"

st.html("""<style>
.prompt-view { white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace;
  font-size: 0.85rem; line-height: 1.5; padding: 0.8rem 1rem; border-radius: 0.5rem;
  background: rgba(151, 166, 195, 0.10); border: 1px solid rgba(151, 166, 195, 0.25);
  max-height: 520px; overflow-y: auto; }
.stTextArea textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.85rem; }
.prompt-view .var, .legend .var { background: #dbeafe; color: #1e40af; border-radius: 4px; padding: 0 2px; font-weight: 600; }
.prompt-view .var-global, .legend .var-global { background: #dcfce7; color: #166534; border-radius: 4px; padding: 0 2px; }
.prompt-view .var-missing, .legend .var-missing { background: #fee2e2; color: #991b1b; border-radius: 4px; padding: 0 2px; }
.legend { font-size: 0.8rem; color: rgba(49, 51, 63, 0.7); }
.legend span { font-family: ui-monospace, monospace; }
</style>""")


@st.cache_resource
def versions_for(url: str) -> PromptVersions:
    return PromptVersions(Store.open(url))


@st.cache_data(max_entries=2000)
def tokens(text: str) -> int:
    return count_tokens_offline(text, ENCODING)


versions = versions_for(settings.database_url)
try:  # pack.yaml `contracts:`: what each prompt file must keep (checked before any save)
    contracts = load_contracts(pack.directory)
    contracts_error = ""
except errors.ConversaError as exc:
    contracts, contracts_error = {}, str(exc)
try:  # the agent's view of the pack: a file breaking its contract stops it loading; this page stays to fix it
    live_pack: Pack | None = get_pack(settings.pack_dir)
    load_error = ""
except errors.ConversaError as exc:
    live_pack, load_error = None, str(exc)

RULE_KINDS = {"must_contain": "must contain", "must_not_contain": "must not contain", "must_use": "must use"}


def violation_text(v: Any) -> str:
    """One broken contract rule, in the session's language: file (and line), the rule, where it is declared."""
    fields = {"file": f"`{v.file}:{v.line}`" if v.line else f"`{v.file}`", "spec": f"`pack.yaml:{v.rule.line}`"}
    if v.rule.kind == "must_contain":
        text = t("{file} must contain “{text}”, which is missing (contract at {spec})", text=v.rule.value, **fields)
    elif v.rule.kind == "must_not_contain":
        text = t("{file} must not contain “{text}” (contract at {spec})", text=v.rule.value, **fields)
    else:
        text = t("{file} must use the variable {name} (contract at {spec})", name=f"`${v.rule.value}`", **fields)
    return text + (f" — {v.why}" if v.why else "")


def refuse_if_broken(text: str) -> bool:
    """True (and the reasons shown) when ``text`` breaks the file's contract: nothing is saved or written."""
    broken = check_prompt(contracts, name, text, prompt.path)
    if broken:
        st.error(t("Not saved: the edit breaks the pack's contract (pack.yaml `contracts:`). The file and the "
                   "versions are unchanged.") + "\n\n" + "\n".join(f"- {violation_text(v)}" for v in broken),
                 icon=":material/gpp_bad:")
    return bool(broken)


st.title(":material/edit_note: " + t("Prompts"))
st.caption(t("Pack **{pack}** · `{folder}` · {n} prompt files. Saving keeps a version in the database; "
             "**Write to file** makes the agent use it from the next turn.",
             pack=pack.name, folder=pack.directory, n=len(pack.files)))

# ---------------------------------------------------------------- choose a file
if load_error and not contracts_error:
    st.error(t("The agent cannot load this pack: fix the file below and write it back.") + f"\n\n```\n{load_error}\n```",
             icon=":material/error:")
names = pack.names()
edited = versions.edited_files(pack_key)
overview = pd.DataFrame([
    {t("prompt"): n, t("tokens"): tokens(pack.files[n].text), t("variables"): ", ".join(pack.variables(n)),
     t("hash"): pack.files[n].sha, t("versions"): edited.get(pack.files[n].name, 0)}
    for n in names
])
kind = st.segmented_control(t("Show"), ["Prompts", "Message codes"], default="Prompts", key="prompts_kind",
                            format_func={k: t(k) for k in ("Prompts", "Message codes")}.__getitem__)
shown = [n for n in names if n.startswith("message_code_") == (kind == "Message codes")] or names
left, right = st.columns([1, 3], gap="large")
with left:
    name = st.radio(
        t("File"), shown, key=f"prompts_file_{kind}",
        format_func={n: f"{n} · {number(overview.loc[overview[t('prompt')] == n, t('tokens')].iloc[0])} tok"
                     for n in shown}.__getitem__,
    )
    total = int(overview[t("tokens")].sum())
    st.caption(t("{n} tokens in the whole pack ({encoding}).", n=number(total), encoding=ENCODING))

prompt = pack.get(name)
editor_key = f"editor::{pack_key}::{name}"
if editor_key not in st.session_state:
    st.session_state[editor_key] = prompt.text


def load_into_editor(content: str) -> None:
    st.session_state[editor_key] = content


def current_values() -> tuple[dict[str, str], str]:
    """Variable values from the open conversation when there is one, else samples."""
    values = sample_values([v for v in prompt.variables if v not in pack.globals],
                           live_pack.samples if live_pack else {})
    session = st.session_state.get("agent_session")
    if session is None:
        return values, t("sample values")
    view = session.state_view()
    values["step"] = str(view.get("step", values.get("step", "")))
    attrs = view.get("attributes") or {}
    if attrs:
        values["captured_attributes"] = "; ".join(f"{k}: {v}" for k, v in attrs.items())
    customer = [m for m in session.messages if m.role == "customer"]
    if customer:
        values["customer_message"] = customer[-1].text
    return values, t("conversation #{id}", id=session.chat_id)


def prompt_diet(text: str, values: dict[str, str], required: list[str]) -> None:
    """Tokens of the prompt's sections: this render, and the last call of the open conversation that used it."""
    st.markdown("**" + t("Tokens by section") + "**")
    sections = prompt_sections(text, {**pack.globals, **values}, required)
    st.caption(t("This render") + ": " + sections_text(sections))
    session = st.session_state.get("agent_session")
    calls = [c for trace in (session.traces if session is not None else ()) for c in trace.calls
             if c.prompt_name == name and c.sections]
    if calls and session is not None:
        st.caption(t("Last call in conversation #{id}", id=session.chat_id))
        st.dataframe(pd.DataFrame(sections_rows(calls[-1:])), hide_index=True, width="stretch")
    budgets = live_pack.prompt_budget if live_pack else {}
    if budgets:
        st.caption(t("The pack's token budget per role (pack.yaml `prompt_budget`): {budget}",
                     budget=pack_budget_text(budgets)))


with right:
    text = st.session_state[editor_key]
    n_tokens = tokens(text)
    on_disk = text == prompt.text
    m1, m2, m3 = st.columns(3)
    change = n_tokens - tokens(prompt.text)
    m1.metric(t("Tokens"), number(n_tokens),
              delta=None if on_disk else t("{n} vs file", n=("+" if change > 0 else "") + number(change)),
              delta_color="inverse", help=t("Counted with tiktoken {encoding} (GPT-4o family), offline.",
                                            encoding=ENCODING))
    m2.metric(t("Characters"), number(len(text)))
    m3.metric(t("Variables"), len(placeholders(text)))
    st.caption(t("Version hash `{hash}` (sha256, first 12 hex digits — what traces and eval runs record)",
                 hash=text_hash(text))
               + (" · " + t("same as the file on disk") if on_disk
                  else " · " + t("file on disk is `{hash}`", hash=prompt.sha)))
    if not on_disk:
        st.warning(t("The editor differs from the file on disk: save a version, or write it to the file."),
                   icon=":material/edit:")
    if contracts_error:
        st.error(contracts_error, icon=":material/gpp_bad:")
    contract = contracts.get(prompt.path.name)
    violations = check_prompt(contracts, name, text, prompt.path)
    if violations:
        st.warning((t("The file on disk breaks the pack's contract:") if on_disk
                    else t("This edit breaks the pack's contract; it cannot be saved:"))
                   + "\n\n" + "\n".join(f"- {violation_text(v)}" for v in violations), icon=":material/gpp_bad:")

    edit_tab, preview_tab, history_tab = st.tabs(
        [":material/edit: " + t("Edit"), ":material/visibility: " + t("Preview"),
         ":material/history: " + t("Versions & diff")]
    )

    with edit_tab:
        # Variables some file of the pack already uses are ones the agent passes.
        known = set().union(*(f.variables for f in pack.files.values())) | set(pack.globals)
        ed, view = st.columns(2)
        ed.text_area(t("Edit"), key=editor_key, height=520, label_visibility="collapsed",
                     help=t("Ctrl+Enter applies the edit (token count, highlight, preview)."))
        view.html(f'<div class="prompt-view" style="height: 520px">'
                  f'{highlight_variables(text, known, set(pack.globals))}</div>')
        view.html(
            '<div class="legend"><span class="var">$variable</span> ' + t("passed by the agent") + ' · '
            '<span class="var-global">$global</span> ' + t("from pack.yaml") + ' · '
            '<span class="var-missing">$unknown</span> ' + t("not known to the agent yet") + '</div>'
        )
        if contract is not None:
            with st.expander(t("Contract of this file: {n} rules (pack.yaml, line {line})", n=len(contract.rules),
                               line=contract.line), icon=":material/verified_user:"):
                if contract.why:
                    st.caption(contract.why)
                broken_rules = [v.rule for v in violations]
                st.table(pd.DataFrame([
                    {t("kept"): "❌" if r in broken_rules else "✅", t("rule"): t(RULE_KINDS[r.kind]),
                     t("text or variable"): f"${r.value}" if r.kind == "must_use" else r.value,
                     "pack.yaml": t("line {n}", n=r.line)} for r in contract.rules]).set_index(t("kept")))
        note = st.text_input(t("Note"), key=f"note::{editor_key}", placeholder=t("What changed and why"))
        b1, b2, b3 = st.columns(3)
        if b1.button(t("Save version"), icon=":material/save:", type="primary", width="stretch") \
                and not refuse_if_broken(text):
            versions.ensure_file_version(pack_key, pack.directory, name)
            saved = versions.save(pack_key, name, text, note=note)
            st.toast(t("Saved version {hash} of {name}.", hash=saved["content_hash"], name=prompt.name),
                     icon=":material/check:")
        if b2.button(t("Write to file"), icon=":material/upload_file:", width="stretch", disabled=on_disk,
                     help=t("Overwrite {file} in the pack folder; the agent uses it from the next turn.",
                            file=prompt.path.name)) and not refuse_if_broken(text):
            path = versions.write_back(pack_key, pack.directory, name, text, note=note)
            st.toast(t("Wrote {file}.", file=path.name), icon=":material/check:")
            st.rerun()
        b3.button(t("Revert editor to file"), icon=":material/undo:", width="stretch", disabled=on_disk,
                  on_click=load_into_editor, args=(prompt.text,))

    with preview_tab:
        values, source = current_values()
        st.caption(t("Rendered with {source}; pack globals ({globals}) are filled in. "
                     "Edit a value to see the prompt change.", source=source, globals=", ".join(pack.globals)))
        required = [v for v in placeholders(text) if v not in pack.globals]
        if required:
            cols = st.columns(2)
            for i, var in enumerate(required):
                values[var] = cols[i % 2].text_input(var, value=values.get(var, ""), key=f"var::{name}::{var}")
        rendered, missing = render_text(text, {**pack.globals, **values})
        if missing:
            st.error(t("Missing variables: {names}", names=", ".join(missing)))
        st.code(rendered, language=None, wrap_lines=True)
        st.caption(t("Rendered: {tokens} tokens, {chars} characters.", tokens=number(tokens(rendered)),
                     chars=number(len(rendered))))
        prompt_diet(text, values, required)

    with history_tab:
        history = versions.history(pack_key, name)
        if not history:
            st.info(t("No saved versions yet. **Save version** keeps the file as it is now and your edit."))
        else:
            table = pd.DataFrame([
                {"id": h["id_prompt_version"], t("hash"): h["content_hash"], t("note"): h["note"],
                 t("created at"): when(h["created_at"]), t("tokens"): tokens(h["content"]),
                 t("live"): t("● on disk") if h["content_hash"] == prompt.sha else ""}
                for h in history
            ])
            st.dataframe(table, hide_index=True, width="stretch")
        choices: dict[str, str] = {t("file on disk"): prompt.text, t("editor"): text}
        for h in history:
            label = f"v{h['id_prompt_version']} · {h['content_hash']}" + (f" · {h['note'][:40]}" if h["note"] else "")
            choices[label] = h["content"]
        labels = list(choices)
        d1, d2 = st.columns(2)
        old = d1.selectbox(t("From"), labels, index=min(2, len(labels) - 1) if len(labels) > 2 else 0,
                           key=f"diff_from::{name}")
        new = d2.selectbox(t("To"), labels, index=1, key=f"diff_to::{name}")
        patch = diff_lines(choices[old], choices[new], old, new)
        if patch:
            st.code(patch, language="diff")
        else:
            st.caption(t("No differences."))
        if old not in (t("file on disk"), t("editor")):
            d1.button(t("Load “From” into the editor"), icon=":material/restore:",
                      on_click=load_into_editor, args=(choices[old],))

with st.expander(t("All files of the pack")):
    st.dataframe(overview, hide_index=True, width="stretch")
