"""Audit page (the deck's "Auditoria & Monitoria"): the journey funnel, the conversations with their insights,
one transcript with per-message emotion and the assertiveness score, the review queue, approved conversations
as goldens and the DESAFIO 4 fine-tuning export.

The path a reviewer takes, one click each: a funnel step's drop-off → the conversations that stopped there →
one transcript → approve (or correct) → a golden and a fine-tuning example. Only people's and the server's
conversations are listed unless the source filter says otherwise. Everything comes from ``agent`` (audit,
insights, finetune); stored text is already masked, so nothing here unmasks.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from agent import (
    CHAT_SOURCES,
    PEOPLE_SOURCES,
    ConversationInsights,
    ConversationRow,
    cached_insights,
    FinetuneReport,
    Settings,
    conversation_insights,
    conversations,
    errors,
    export_finetune,
    funnel,
    review,
    review_queue,
    reviews,
    transcript,
)
from app_pages.i18n import money, number, percent, t, when
from app_pages.ui import whatsapp_markdown

settings: Settings = st.session_state.settings
OUTCOME_NAMES = {"completed": t("completed"), "aborted": t("aborted"), "refusal": t("refusal"),
                 "handoff": t("handoff")}
VERDICT_NAMES = {"approved": t("approved"), "rejected": t("rejected")}
ANY = t("any")
SOURCE_NAMES = {"playground": t("Playground"), "cli": t("CLI"), "server": t("Server"), "eval": t("Evals"),
                "simulation": t("Simulation")}
VIEWS = {"funnel": t("Funnel"), "list": t("Conversations"), "conversation": t("One conversation"),
         "export": t("Fine-tuning")}
EMOTION_ICONS = {"raiva": "😠", "frustracao": "😤", "ansiedade": "😟", "tristeza": "😢", "alegria": "😊",
                 "gratidao": "🙏", "duvida": "🤔", "neutro": "😐"}
LOCAL_INSIGHTS = all(settings.role(r).model.startswith("local/") for r in ("insights", "judge"))
MAX_AUTO_INSIGHTS = 60  # offline insights are free; computed (then cached) for at most this many listed chats


def open_conversation(chat_id: int) -> None:
    """Go to one conversation (applied at the top of the next run, before the view's widget exists)."""
    st.session_state.audit_goto = int(chat_id)


if "audit_goto" in st.session_state:
    st.session_state.audit_chat = st.session_state.audit_chat_input = st.session_state.pop("audit_goto")
    st.session_state.audit_view = "conversation"


st.title(":material/fact_check: " + t("Audit"))
st.caption(t("Where conversations stop, how customers felt, how assertive the agent was — and which "
             "conversations become goldens and fine-tuning examples."))

# ---------------------------------------------------------------- filters (shared by every view)
with st.container(border=True):
    c1, c2, c3 = st.columns([2, 2, 1])
    sources = c1.multiselect(t("Source"), list(CHAT_SOURCES), default=list(PEOPLE_SOURCES), key="audit_sources",
                             format_func=lambda s: SOURCE_NAMES.get(s, s),
                             help=t("People's and the server's conversations by default; the bench's eval and "
                                    "simulation runs only when you add them."))
    today = date.today()
    period = c2.date_input(t("Period"), value=(today - timedelta(days=30), today), key="audit_period",
                           format="DD/MM/YYYY")
    since, until = (period if isinstance(period, tuple) and len(period) == 2
                    else (period[0], period[0]) if isinstance(period, tuple) and period else (None, None))
    limit = c3.number_input(t("At most"), min_value=10, max_value=5000, value=500, step=50, key="audit_limit",
                            help=t("The newest conversations read, before the filters below."))

view = st.segmented_control(t("View"), list(VIEWS), format_func=VIEWS.__getitem__, key="audit_view",
                            default="funnel", label_visibility="collapsed") or "funnel"


@st.cache_data(ttl=5, show_spinner=False)
def load_rows(url: str, pack: str, sources: tuple[str, ...], since: date | None, until: date | None,
              limit: int) -> list[ConversationRow]:
    return conversations(settings, sources=sources, since=since, until=until, limit=limit)


def insights_of(chat_id: int, model_calls: bool = True) -> ConversationInsights | None:
    try:
        return conversation_insights(settings, chat_id, model_calls=model_calls)
    except errors.ConversaError as exc:
        st.warning(t("Insights of #{chat} could not be computed: {error}", chat=chat_id, error=exc))
        return None


# ---------------------------------------------------------------- the funnel
def funnel_view() -> None:
    by = st.segmented_control(t("Group by"), ["all", "day", "config"], default="all", key="audit_by",
                              format_func={"all": t("Everything"), "day": t("Day"),
                                           "config": t("Configuration")}.__getitem__) or "all"
    report = funnel(settings, sources=sources, since=since, until=until,
                    by="day" if by == "day" else "config" if by == "config" else None, limit=int(limit))
    overall = report.overall if by == "all" else funnel(settings, sources=sources, since=since, until=until,
                                                        limit=int(limit)).overall
    if not overall.conversations:
        st.info(t("No conversations in this period and source yet — chat with the agent on the Chat page."))
        return
    m = st.columns(6)
    m[0].metric(t("Conversations"), number(overall.conversations))
    m[1].metric(t("Completed"), number(overall.completed))
    m[2].metric(t("Opt-in rate"), percent(overall.optin_rate),
                help=t("Consents over the conversations that were asked for it."))
    m[3].metric(t("Handoff rate"), percent(overall.handoff_rate))
    m[4].metric(t("Cost per completed journey"), money(overall.avg_cost_per_completed_usd, digits=4),
                help=t("Mean cost of the conversations that completed the journey."))
    m[5].metric(t("Spent per completion"), money(overall.cost_per_completion_usd, digits=4),
                help=t("Everything spent, unfinished conversations included, per completed journey."))

    rows = pd.DataFrame(report.to_rows())
    order = list(report.steps or dict.fromkeys(rows["step"]))
    chart_rows = rows.melt(id_vars=["group", "step"], value_vars=["continued", "dropped_here"],
                           var_name="kind", value_name="n")
    chart_rows["kind"] = chart_rows["kind"].map({"continued": t("went on"), "dropped_here": t("stopped here")})
    chart = alt.Chart(chart_rows).mark_bar().encode(
        y=alt.Y("step:N", sort=order, title=t("Journey step")),
        x=alt.X("sum(n):Q", title=t("Conversations")),
        color=alt.Color("kind:N", title="", scale=alt.Scale(domain=[t("went on"), t("stopped here")],
                                                            range=["#2e7d32", "#e57373"])),
        tooltip=["step", "kind", "n", "group"])
    if by != "all":
        chart = chart.encode(row=alt.Row("group:N", title=""))
    st.altair_chart(chart.properties(height=28 * len(order) + 40), width="stretch")

    table = rows.rename(columns={"group": t("Group"), "step": t("Journey step"), "reached": t("Reached"),
                                 "share_of_start": t("Of the started"), "continued": t("Went on"),
                                 "dropped_here": t("Stopped here"), "drop_rate": t("Drop-off")})
    st.dataframe(table.drop(columns=["dropped_chat_ids"]), hide_index=True, width="stretch",
                 column_config={t("Of the started"): st.column_config.ProgressColumn(format="percent"),
                                t("Drop-off"): st.column_config.NumberColumn(format="percent")})

    st.subheader(t("Who stopped where"))
    stops = [s for s in overall.steps if s.dropped]
    if not stops:
        st.caption(t("No conversation stopped mid-journey."))
    else:
        labels = {s.step: f"{s.step} · " + t("{n} stopped", n=s.dropped) for s in stops}  # translated now
        step = st.selectbox(t("Step"), list(labels), key="audit_drop_step", format_func=labels.__getitem__)
        for chat_id in overall.dropped(step)[:20]:
            st.button(t("Open #{chat}", chat=chat_id), key=f"audit_open_drop_{chat_id}",
                      on_click=open_conversation, args=(chat_id,), icon=":material/open_in_new:")

    outcomes = report.outcome_rows()
    st.subheader(t("Eligibility outcomes by API code"))
    if outcomes:
        st.dataframe(pd.DataFrame(outcomes).rename(columns={
            "group": t("Group"), "tool": t("Tool"), "code": t("API code"), "outcome": t("Outcome"),
            "calls": t("Calls"), "conversations": t("Conversations")}), hide_index=True, width="stretch")
    else:
        st.caption(t("No consultation API call in these conversations."))
    if by != "all":  # the headline figures per group (the metrics above are the overall ones)
        st.subheader(t("Per group"))
        st.dataframe(pd.DataFrame([{
            t("Group"): g.group, t("Conversations"): g.conversations, t("Completed"): g.completed,
            t("Opt-in rate"): g.optin_rate, t("Handoff rate"): g.handoff_rate,
            t("Cost per completed journey"): money(g.avg_cost_per_completed_usd, digits=4),
        } for g in report.groups[1:]]), hide_index=True, width="stretch",
            column_config={t("Opt-in rate"): st.column_config.NumberColumn(format="percent"),
                           t("Handoff rate"): st.column_config.NumberColumn(format="percent")})


# ---------------------------------------------------------------- the list
def list_view() -> None:
    rows = load_rows(settings.database_url, str(settings.pack_dir), tuple(sources), since, until, int(limit))
    c1, c2, c3 = st.columns(3)
    outcome = c1.selectbox(t("Outcome"), ["", *OUTCOME_NAMES], key="audit_outcome",
                           format_func={"": ANY, **OUTCOME_NAMES}.__getitem__)
    verdict = c2.selectbox(t("Review"), ["", "unreviewed", "approved", "rejected"], key="audit_verdict",
                           format_func={"": ANY, "unreviewed": t("not reviewed"), **VERDICT_NAMES}.__getitem__)
    handoff = c3.selectbox(t("Handoff"), ["", "yes", "no"], key="audit_handoff",
                           format_func={"": ANY, "yes": t("yes"), "no": t("no")}.__getitem__)
    shown = [r for r in rows if (not outcome or r.outcome == outcome)
             and (not verdict or (r.verdict or "unreviewed") == verdict)
             and (not handoff or r.handoff == (handoff == "yes"))]
    if not shown:
        st.info(t("No conversation matches these filters."))
        return
    scores: dict[int, ConversationInsights | None] = {}
    for row in shown[:MAX_AUTO_INSIGHTS]:
        # Offline insights are free: computed (then cached). On a paid insights model, the cached ones, else the
        # deterministic reading (no call, no cost) until the conversation is opened.
        scores[row.chat_id] = insights_of(row.chat_id) if LOCAL_INSIGHTS else (
            cached_insights(settings, row.chat_id) or insights_of(row.chat_id, model_calls=False))
    table = pd.DataFrame([{
        "#": r.chat_id, t("Title"): r.title, t("Updated"): when(r.updated_at),
        t("Source"): SOURCE_NAMES.get(r.source, r.source), t("Furthest step"): r.step_reached,
        t("Outcome"): OUTCOME_NAMES.get(r.outcome, r.outcome), t("Turns"): r.turns,
        t("Handoff"): r.handoff,
        t("Score"): (scores[r.chat_id].score.score if scores.get(r.chat_id) else None),  # type: ignore[union-attr]
        t("Feeling"): trend(scores.get(r.chat_id)),
        t("Cost"): money(r.cost_usd, digits=5), t("Review"): r.verdict or "",
    } for r in shown])
    st.caption(t("{n} conversation(s). Pick a row to open it.", n=number(len(shown)))
               + ("" if LOCAL_INSIGHTS else " " + t("Scores here are the deterministic reading; the insights "
                                                     "model is asked when a conversation is opened (it is paid).")))
    picked = st.dataframe(table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                          key="audit_table",
                          column_config={t("Score"): st.column_config.ProgressColumn(min_value=0, max_value=100,
                                                                                      format="%.0f")})
    selected = picked.selection.rows if picked and picked.selection else []
    if selected:
        open_conversation(int(table.iloc[selected[0]]["#"]))
        st.rerun()


def trend(insights: ConversationInsights | None) -> str:
    """The customer's messages as emotion emojis, in order (at most 8)."""
    if insights is None:
        return ""
    return "".join(EMOTION_ICONS.get(e.emotion, "·") for e in insights.emotions[-8:])


# ---------------------------------------------------------------- one conversation
def conversation_view() -> None:
    st.session_state.setdefault("audit_chat_input", int(st.session_state.get("audit_chat") or 1))
    chat_id = int(st.number_input(t("Conversation #"), min_value=1, step=1, key="audit_chat_input"))
    st.session_state.audit_chat = chat_id
    rows = conversations(settings, sources=None, chat_ids=[int(chat_id)], limit=None)
    if not rows:
        st.info(t("No conversation #{chat} for this pack — pick one in the list.", chat=chat_id))
        return
    row = rows[0]
    insights = insights_of(row.chat_id)
    m = st.columns(5)
    m[0].metric(t("Furthest step"), row.step_reached)
    m[1].metric(t("Outcome"), OUTCOME_NAMES.get(row.outcome, row.outcome))
    m[2].metric(t("Assertiveness score"), "—" if not insights or insights.score.score is None
                else number(insights.score.score, 0))
    m[3].metric(t("Satisfaction"), f"{insights.satisfaction.score}/5" if insights else "—",
                help=insights.satisfaction.label if insights else None)
    m[4].metric(t("Cost"), money(row.cost_usd, digits=5))

    left, right = st.columns([3, 2])
    emotions = {e.turn: e for e in insights.emotions} if insights else {}
    messages = transcript(settings, row.chat_id)
    with left:
        st.subheader(t("Transcript"))
        with st.container(height=560):
            for m_ in messages:
                role = {"customer": "user", "agent": "assistant", "operator": "assistant"}.get(m_["role"], "assistant")
                with st.chat_message(role):
                    st.markdown(whatsapp_markdown(m_["text"]) or "—")
                    note = f"{m_['index']} · {when(m_['created_at'])}"
                    feeling = emotions.get(m_["turn"]) if m_["role"] == "customer" else None
                    if feeling is not None:
                        note += (f" · {EMOTION_ICONS.get(feeling.emotion, '')} {feeling.emotion} "
                                 f"{number(feeling.intensity, 1)}" + (" · " + t("irony") if feeling.irony else ""))
                    st.caption(note)
    with right:
        if insights is not None:
            insights_panel(insights)
        review_panel(row, messages)


def insights_panel(insights: ConversationInsights) -> None:
    st.subheader(t("Insights"))
    st.markdown(insights.summary.text)
    for action in insights.summary.actions:
        st.markdown(f"- {action}")
    if insights.objections:
        st.markdown("**" + t("Objections") + "**")
        for o in insights.objections:
            st.markdown(f"- **{o.label}** — “{o.excerpt}”" + (f" → {o.action}" if o.action else ""))
    for alert in insights.alerts:
        st.warning(str(alert.get("reason") or alert), icon=":material/sentiment_very_dissatisfied:")
    st.markdown("**" + t("Assertiveness score: components") + "**")
    st.dataframe(pd.DataFrame([{t("Component"): c.name, t("Value"): c.value, t("Weight"): c.weight, t("Why"): c.why}
                               for c in insights.score.components]), hide_index=True, width="stretch",
                 column_config={t("Value"): st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                            format="%.2f")})
    if insights.notes:
        st.caption(" · ".join(insights.notes))


def review_panel(row: ConversationRow, messages: list[dict[str, Any]]) -> None:
    st.subheader(t("Review"))
    previous = next(iter(reviews(settings, chat_ids=[row.chat_id], limit=1)), None)
    if previous is not None:
        st.caption(t("Last review: **{verdict}** by {who}, {when}", verdict=VERDICT_NAMES.get(previous.verdict, previous.verdict),
                     who=previous.reviewer or "—", when=when(previous.updated_at)))
    with st.form(f"audit_review_{row.chat_id}"):
        verdict = st.radio(t("Verdict"), list(VERDICT_NAMES), horizontal=True, format_func=VERDICT_NAMES.__getitem__,
                           index=0 if previous is None or previous.verdict == "approved" else 1,
                           key=f"audit_verdict_{row.chat_id}")
        comment = st.text_area(t("Comment"), value=previous.comment if previous else "", height=80,
                               key=f"audit_comment_{row.chat_id}")
        reviewer = st.text_input(t("Reviewer"), value=previous.reviewer if previous else "",
                                 key=f"audit_reviewer_{row.chat_id}")
        corrections: dict[int, str] = {}
        agent_messages = [m for m in messages if m["role"] == "agent"]
        with st.expander(t("Correct the agent's replies (optional)")):
            for m in agent_messages:
                old = (previous.corrections.get(m["index"]) if previous else None) or ""
                fixed = st.text_area(t("Message {n}", n=m["index"]), value=old, placeholder=m["text"][:200],
                                     height=68, key=f"audit_fix_{row.chat_id}_{m['index']}")
                if fixed.strip():
                    corrections[m["index"]] = fixed
        if st.form_submit_button(t("Save review"), icon=":material/rate_review:", type="primary"):
            try:
                review(settings, row.chat_id, verdict, comment, corrections, reviewer)
            except (ValueError, errors.ConversaError) as exc:
                st.error(str(exc))
            else:
                load_rows.clear()
                st.session_state[f"audit_saved_{row.chat_id}"] = verdict == "approved"
                st.success(t("Review saved."))
    just_saved = st.session_state.get(f"audit_saved_{row.chat_id}")
    approved = just_saved if just_saved is not None else previous is not None and previous.verdict == "approved"
    if approved:
        if st.button(t("Save as golden"), icon=":material/science:", key=f"audit_golden_{row.chat_id}"):
            from evals.approved import save_approved_golden

            try:
                path = save_approved_golden(settings, row.chat_id, case_id=f"approved_{row.chat_id}",
                                            overwrite=True)
            except Exception as exc:  # noqa: BLE001  (shown to the reviewer as it is)
                st.error(str(exc))
            else:
                st.success(t("Golden saved: `{path}` — replay it with `python -m evals run --id {id}`",
                             path=path, id=path.stem))


# ---------------------------------------------------------------- fine-tuning export
def export_view() -> None:
    approved = reviews(settings, verdict="approved")
    st.markdown(t("**DESAFIO 4.** Approved conversations become OpenAI chat fine-tuning examples (JSONL): the "
                  "system prompt, the turns with the reviewer's corrections, the tool calls. Personal data are "
                  "replaced by synthetic values, consistent within a conversation."))
    c = st.columns(3)
    c[0].metric(t("Approved conversations"), number(len(approved)))
    if len(approved) < 100:
        c[0].caption(t("{n} short of the deck's 100", n=100 - len(approved)))
    queue = review_queue(settings, sources=sources, limit=200, include_reviewed=False)
    c[1].metric(t("Waiting for review"), number(len(queue)))
    if queue:
        c[1].button(t("Review the next one"), icon=":material/rate_review:", key="audit_next",
                    on_click=open_conversation, args=(queue[0].chat_id,))
    allow_small = st.checkbox(t("Export fewer than 100 (a trial run)"), key="audit_allow_small",
                              help=t("The deck asks for at least 100 audited and validated conversations."))
    if st.button(t("Export JSONL"), icon=":material/download:", type="primary", key="audit_export"):
        out = Path(settings.database_url.removeprefix("sqlite:///")).parent / "finetune" / \
            f"finetune-{datetime.now():%Y%m%d-%H%M%S}.jsonl" if settings.database_url.startswith("sqlite") \
            else Path("data") / "finetune" / f"finetune-{datetime.now():%Y%m%d-%H%M%S}.jsonl"
        try:
            report = export_finetune(settings, out, allow_small=allow_small)
        except errors.ConversaError as exc:
            st.error(str(exc), icon=":material/block:")
            return
        st.session_state.audit_export_report = report
    shown_report(st.session_state.get("audit_export_report"))


def shown_report(report: FinetuneReport | None) -> None:
    """The last export: its lines, figures, mix and the file to download."""
    if report is None:
        return
    (st.warning if report.warnings or report.problems else st.success)("\n\n".join(report.lines()))
    c = st.columns(3)
    c[0].metric(t("Examples"), number(report.examples))
    c[1].metric(t("Training tokens"), number(report.tokens * report.epochs))
    c[2].metric(t("Estimated training cost"), money(float(report.estimated_cost_usd), digits=4))
    st.dataframe(pd.DataFrame([{t("Kind"): OUTCOME_NAMES.get(k, k), t("Examples"): v} for k, v in report.mix.items()]),
                 hide_index=True)
    if report.path.exists():
        st.download_button(t("Download {file}", file=report.path.name), report.path.read_bytes(),
                           file_name=report.path.name, mime="application/jsonl", icon=":material/download:")


{"funnel": funnel_view, "list": list_view, "conversation": conversation_view, "export": export_view}[view]()
