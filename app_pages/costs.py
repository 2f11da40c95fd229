"""Costs page: the live ledger in the deck's ``llm_cost`` layout, totals, charts, projection, prices.

Every figure comes from one SQL aggregate in ``agent.analytics.costs`` (fast on millions of rows).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import altair as alt
import pandas as pd
import streamlit as st

from agent import (
    CostFilter,
    CostReport,
    Settings,
    Store,
    format_money,
    get_pack,
    list_packs,
    project,
    to_currency,
)

LIVE_EVERY_S = 3
settings: Settings = st.session_state.settings
currency, usd_brl = settings.currency, settings.usd_brl
symbol = "R$" if currency == "BRL" else "$"
pack = get_pack(settings.pack_dir)


@st.cache_resource
def report_for(url: str) -> CostReport:
    return CostReport(Store.open(url))


report = report_for(settings.database_url)


def money(usd: float, digits: int | None = None) -> str:
    return format_money(usd, currency, usd_brl, digits)


st.title(":material/payments: Costs")
st.caption(
    "Every model call writes one row to `llm_cost` (the deck's layout). Prices are recorded in USD "
    f"and shown in {currency}" + (f" at {usd_brl:.2f} per USD." if currency == "BRL" else ".")
)

# ---------------------------------------------------------------- filters
first_day, last_day = report.day_range()
chats = report.recent_chats()
chat_labels = {None: "All chats"}
for c in chats:
    chat_labels[c["id_chat"]] = f"#{c['id_chat']} · {c['step'] or 'new'}" + (f" · {c['title']}" if c["title"] else "")

with st.container(border=True):
    f0, f1, f2, f3, f4 = st.columns([1.0, 1.2, 1.6, 1.6, 1.4])
    known_packs = {get_pack(folder).name: get_pack(folder) for folder in list_packs(settings.pack_dir.parent)}
    known_packs[pack.name] = pack
    pack_names = [None, *sorted(known_packs)]
    pack_choice = f0.selectbox("Pack", pack_names, format_func=lambda n: n or "All packs", key="costs_pack",
                               help="Only the conversations of one agent (the pack chosen when they ran).")
    chat_choice = f1.selectbox(
        "Chat", list(chat_labels), format_func=lambda c: chat_labels.get(c, f"#{c}"), key="costs_chat",
        accept_new_options=True, help="Pick a recent chat or type any chat id.",
    )
    features = f2.multiselect("Feature", report.features(), key="costs_features", placeholder="All features")
    model_names = {m["name"]: m["label"] for m in report.models()}
    models = f3.multiselect("Model", list(model_names), format_func=lambda m: model_names.get(m, m),
                            key="costs_models", placeholder="All models")
    days: tuple[date, ...] = ()
    if first_day and last_day:
        picked = f4.date_input("Days", value=(first_day, last_day), key="costs_days", format="YYYY-MM-DD")
        days = tuple(picked) if isinstance(picked, (list, tuple)) else (picked,)
    else:
        f4.date_input("Days", value=None, disabled=True, key="costs_days_empty")

chat_id: int | None = None
if chat_choice not in (None, "All chats"):
    try:
        chat_id = int(str(chat_choice).lstrip("#").split()[0])
    except ValueError:
        st.warning(f"{chat_choice!r} is not a chat id; showing all chats.")
flt = CostFilter(
    chat_id=chat_id, features=tuple(features), models=tuple(models),
    start=days[0] if days else None, end=days[-1] if days else None, pack=pack_choice,
)
# The outcome steps of the pack in the sidebar (its pack.yaml's completed_steps).
completed_steps = known_packs[pack_choice].completed_steps if pack_choice else pack.completed_steps


# ---------------------------------------------------------------- live: totals + ledger
@st.fragment(run_every=LIVE_EVERY_S)
def live(flt: CostFilter) -> None:
    totals = report.totals(flt)
    stats = report.conversation_stats(flt)
    cols = st.columns(6)
    cols[0].metric("Calls", f"{totals.calls:,}")
    cols[1].metric("Input tokens", f"{totals.input_tokens:,}")
    cols[2].metric("Output tokens", f"{totals.output_tokens:,}")
    cols[3].metric(f"Total cost ({currency})", money(totals.cost_usd))
    cols[4].metric("Avg per conversation", money(stats["avg_cost_usd"]),
                   help=f"{stats['conversations']:,} conversations in the filter")
    cols[5].metric("Errors", f"{totals.errors:,}",
                   help="Calls that failed (they are recorded too, usually with 0 tokens)")

    st.subheader("Ledger", anchor="ledger")
    rows = report.ledger(flt, limit=200)
    if not rows:
        st.info("No model calls recorded yet for this filter. Chat with the agent and they appear here live.")
        return
    frame = pd.DataFrame(rows)
    frame["price"] = frame["price"].astype(float)
    if currency == "BRL":
        frame[f"cost ({currency})"] = frame["price"].map(lambda usd: to_currency(usd, currency, usd_brl))
    frame["fk_id_llm_model"] = frame["fk_id_llm_model"].astype(str) + " → " + frame.pop("model")
    st.dataframe(
        frame, hide_index=True, width="stretch", height=320,
        column_config={
            "id_llm_cost": st.column_config.NumberColumn("id_llm_cost", format="%d"),
            "fk_id_chat": st.column_config.NumberColumn("fk_id_chat", format="%d"),
            "price": st.column_config.NumberColumn("price (USD)", format="%.8f"),
            f"cost ({currency})": st.column_config.NumberColumn(f"cost ({currency})", format="%.6f"),
            "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.0f"),
            "created_at": st.column_config.DatetimeColumn("created_at", format="YYYY-MM-DD HH:mm:ss"),
            "updated_at": st.column_config.DatetimeColumn("updated_at", format="YYYY-MM-DD HH:mm:ss"),
        },
    )
    st.caption(f"Newest {len(rows)} rows · refreshes every {LIVE_EVERY_S} s · last id {report.last_id():,}")


live(flt)

# ---------------------------------------------------------------- charts
st.subheader("Where the money goes")


def bars(frame: pd.DataFrame, category: str, title: str, label: str | None = None) -> alt.Chart:
    frame = frame.assign(cost=frame["cost_usd"].map(lambda usd: to_currency(usd, currency, usd_brl)))
    return (
        alt.Chart(frame, title=title)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=alt.X("cost:Q", title=f"cost ({currency})"),
            y=alt.Y(f"{category}:N", sort="-x", title=label or category),
            tooltip=[category, "calls", "input_tokens", "output_tokens", alt.Tooltip("cost:Q", format=",.6f")],
        )
        .properties(height=alt.Step(26))
    )


by_feature = pd.DataFrame(report.by_feature(flt))
by_model = pd.DataFrame(report.by_model(flt))
if by_feature.empty:
    st.info("Nothing to chart yet.")
else:
    c1, c2 = st.columns(2)
    c1.altair_chart(bars(by_feature, "feature_name", "Cost by feature", "feature"), width="stretch")
    c2.altair_chart(bars(by_model, "label", "Cost by model", "model"), width="stretch")

    c3, c4 = st.columns(2)
    per_chat = pd.DataFrame(report.per_conversation(flt, limit=15))
    if not per_chat.empty:
        per_chat = per_chat.assign(chat=per_chat["fk_id_chat"].map(lambda c: f"#{c}"),
                                   cost=per_chat["cost_usd"].map(lambda u: to_currency(u, currency, usd_brl)))
        c3.altair_chart(
            alt.Chart(per_chat, title="Most expensive conversations")
            .mark_bar(cornerRadiusEnd=3, color="#f58518")
            .encode(x=alt.X("cost:Q", title=f"cost ({currency})"), y=alt.Y("chat:N", sort="-x", title="chat"),
                    tooltip=["chat", "calls", "tokens", alt.Tooltip("cost:Q", format=",.6f")])
            .properties(height=alt.Step(20)),
            width="stretch",
        )
    journeys = pd.DataFrame(report.per_completed_journey(flt, completed_steps))
    if journeys.empty:
        c4.info("No completed journeys yet (a chat counts once it reaches an outcome: "
                + ", ".join(completed_steps) + ").")
    else:
        journeys = journeys.assign(avg=journeys["avg_cost_usd"].map(lambda u: to_currency(u, currency, usd_brl)))
        c4.altair_chart(
            alt.Chart(journeys, title="Average cost per completed journey, by outcome")
            .mark_bar(cornerRadiusEnd=3, color="#54a24b")
            .encode(x=alt.X("avg:Q", title=f"average cost ({currency})"), y=alt.Y("step:N", sort="-x", title="outcome"),
                    tooltip=["step", "journeys", alt.Tooltip("avg:Q", format=",.6f"),
                             alt.Tooltip("avg_calls:Q", format=".1f", title="avg calls")])
            .properties(height=alt.Step(26)),
            width="stretch",
        )

    span = (flt.end - flt.start).days if flt.start and flt.end else 999
    buckets: list[Literal["day", "hour"]] = ["day", "hour"]
    bucket = st.segmented_control("Tokens over time", buckets, default="hour" if span <= 2 else "day",
                                  key="costs_bucket", format_func=lambda b: f"per {b}")
    timeline = pd.DataFrame(report.over_time(flt, bucket or "day"))
    if not timeline.empty:
        melted = timeline.melt(id_vars=["period", "cost_usd"], value_vars=["input_tokens", "output_tokens"],
                               var_name="kind", value_name="tokens")
        st.altair_chart(
            alt.Chart(melted, title=f"Tokens per {bucket or 'day'}")
            .mark_bar()
            .encode(x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=-45)),
                    y=alt.Y("tokens:Q", stack=True),
                    color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="top")),
                    tooltip=["period", "kind", alt.Tooltip("tokens:Q", format=",")])
            .properties(height=300),
            width="stretch",
        )

# ---------------------------------------------------------------- projection
st.subheader("Projection")
stats = report.conversation_stats(flt)
journey_rows = report.per_completed_journey(flt, completed_steps)
done = sum(r["journeys"] for r in journey_rows)
avg_journey = sum(r["cost_usd"] for r in journey_rows) / done if done else 0.0
p1, p2, p3 = st.columns([1, 1, 2])
per_day = p1.number_input("Conversations per day", min_value=1, max_value=10_000_000, value=1000, step=100,
                          key="costs_per_day")
basis = p2.radio("Based on", ["average conversation", "average completed journey"], key="costs_basis",
                 help="Average cost of the conversations in the current filter.")
avg = stats["avg_cost_usd"] if basis == "average conversation" else avg_journey
plan = project(avg, int(per_day))
with p3:
    if avg:
        st.metric(f"At {plan.conversations_per_day:,} conversations/day this costs",
                  f"{money(plan.per_month_usd, 2)}/month",
                  help=f"{money(avg)} per conversation × {plan.conversations_per_day:,}/day × {plan.days_per_month} days")
        st.caption(f"{money(plan.per_day_usd, 2)} per day · {money(avg)} per {basis.split(' ', 1)[1]}")
    else:
        st.info("No conversation costs in this filter yet — chat with the agent first.")

# ---------------------------------------------------------------- prices
st.subheader("Prices")
st.caption("Per 1M tokens, in each model's own currency (the deck's table). Edits apply to new calls; "
           "every save is a version.")
prices = pd.DataFrame(report.price_table())
edited = st.data_editor(
    prices, hide_index=True, width="stretch", key="costs_prices", height=(len(prices) + 1) * 35 + 3,
    disabled=["model", "label", "provider", "source"],
    column_config={
        "input_per_mtok": st.column_config.NumberColumn("input / 1M", min_value=0.0, format="%.4f"),
        "output_per_mtok": st.column_config.NumberColumn("output / 1M", min_value=0.0, format="%.4f"),
        "currency": st.column_config.SelectboxColumn("currency", options=["USD", "BRL"], required=True),
    },
)
n1, n2 = st.columns([3, 1])
note = n1.text_input("Note for this version", placeholder="e.g. OpenAI price cut, Oct 2024", key="costs_note")
if n2.button("Save prices", type="primary", width="stretch"):
    changed_rows: list[dict[str, Any]] = []
    for before, after in zip(prices.to_dict("records"), edited.to_dict("records"), strict=True):
        if any(before[k] != after[k] for k in ("input_per_mtok", "output_per_mtok", "currency")):
            changed_rows.append({str(k): v for k, v in after.items()})
    try:
        count = report.save_prices(changed_rows, note)
    except ValueError as exc:
        st.error(f"Prices not saved: {exc}")
    else:
        if count:
            st.toast(f"Saved {count} price change(s) as a new version.", icon="✅")
            st.rerun()
        else:
            st.info("No price changed.")
with st.expander("Price history"):
    history = report.versions()
    if history:
        st.dataframe(pd.DataFrame(history).drop(columns=["per_minute_price"]), hide_index=True, width="stretch")
    else:
        st.caption("No edits yet: the table above is the deck's.")
