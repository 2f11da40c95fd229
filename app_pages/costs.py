"""Costs page: the live ledger in the deck's ``llm_cost`` layout, totals, charts, projection, prices.

Every figure comes from one SQL aggregate in ``agent.analytics.costs`` (fast on millions of rows).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, Literal

import altair as alt
import pandas as pd
import streamlit as st

from agent import (
    CHAT_SOURCES,
    PEOPLE_SOURCES,
    CostFilter,
    CostReport,
    Settings,
    Store,
    get_pack,
    list_packs,
    project,
    chart_measure,
    to_currency,
)
from app_pages.i18n import feature, number, t
from app_pages.i18n import money as shown_money

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
    return shown_money(usd, currency, digits)  # Babel: R$ 1.234,56 (pt-BR) / R$1,234.56 (en)


st.title(":material/payments: " + t("Costs"))
st.caption(
    t("Every model call writes one row to `llm_cost` (the deck's layout). Prices are recorded in USD "
      "and shown in {currency}.", currency=currency)
    + (" " + t("Rate: {rate} per USD.", rate=number(usd_brl, 2)) if currency == "BRL" else "")
)

# ---------------------------------------------------------------- filters
first_day, last_day = report.day_range()
SOURCE_NAMES = {"playground": t("Playground"), "cli": t("CLI"), "server": t("Server"), "eval": t("Evals"),
                "simulation": t("Simulations")}

with st.container(border=True):
    # Two rows of three: a chosen value is never cut short ("Todos os p…").
    f0, f5, f1 = st.columns(3)
    f2, f3, f4 = st.columns(3)
    known_packs = {get_pack(folder).name: get_pack(folder) for folder in list_packs(settings.pack_dir.parent)}
    known_packs[pack.name] = pack
    pack_names = [None, *sorted(known_packs)]
    all_packs = t("All packs")
    pack_choice = f0.selectbox(t("Pack"), pack_names, format_func=lambda n: n or all_packs, key="costs_pack",
                               help=t("Only the conversations of one agent (the pack chosen when they ran)."))
    source_counts = report.source_counts()
    sources = f5.multiselect(
        t("Source"), list(CHAT_SOURCES), key="costs_sources", placeholder=t("All sources"),
        format_func={s: f"{SOURCE_NAMES.get(s, s)} ({number(source_counts.get(s, 0))})"
                     for s in CHAT_SOURCES}.__getitem__,
        help=t("Who started the conversations: people (playground, CLI, server) or the bench (evals, "
               "simulations). Lists of conversations show people's chats unless you pick sources here."),
    )
    # People-facing lists (the chat picker, the most expensive conversations) show people's chats by default.
    list_sources = tuple(sources) or PEOPLE_SOURCES
    chat_labels = {None: t("All chats")}
    for c in report.recent_chats(sources=list_sources):
        chat_labels[c["id_chat"]] = (f"#{c['id_chat']} · {c['step'] or t('new')}"
                                     + (f" · {c['title']}" if c["title"] else ""))
    chat_choice = f1.selectbox(
        t("Chat"), list(chat_labels), format_func=lambda c: chat_labels.get(c, f"#{c}"), key="costs_chat",
        accept_new_options=True, help=t("Pick a recent chat or type any chat id."),
    )
    feature_names = {f: feature(f) for f in report.features()}
    features = f2.multiselect(t("Feature"), list(feature_names), key="costs_features", placeholder=t("All features"),
                              format_func=lambda f: feature_names.get(f, f))
    model_names = {m["name"]: m["label"] for m in report.models()}
    models = f3.multiselect(t("Model"), list(model_names), format_func=lambda m: model_names.get(m, m),
                            key="costs_models", placeholder=t("All models"))
    days: tuple[date, ...] = ()
    if first_day and last_day:
        picked = f4.date_input(t("Days"), value=(first_day, last_day), key="costs_days", format=t("YYYY-MM-DD"))
        days = tuple(picked) if isinstance(picked, (list, tuple)) else (picked,)
    else:
        f4.date_input(t("Days"), value=None, disabled=True, key="costs_days_empty", format=t("YYYY-MM-DD"))

chat_id: int | None = None
if chat_choice not in (None, t("All chats")):
    try:
        chat_id = int(str(chat_choice).lstrip("#").split()[0])
    except ValueError:
        st.warning(t("{value} is not a chat id; showing all chats.", value=repr(chat_choice)))
flt = CostFilter(
    chat_id=chat_id, features=tuple(features), models=tuple(models),
    start=days[0] if days else None, end=days[-1] if days else None, pack=pack_choice, sources=tuple(sources),
)
# The outcome steps of the pack in the sidebar (its pack.yaml's completed_steps).
completed_steps = known_packs[pack_choice].completed_steps if pack_choice else pack.completed_steps


# ---------------------------------------------------------------- live: totals + ledger
@st.fragment(run_every=LIVE_EVERY_S)
def live(flt: CostFilter) -> None:
    totals = report.totals(flt)
    stats = report.conversation_stats(flt)
    cols = [*st.columns(3), *st.columns(3)]  # two rows: values never truncated ("R$ 0…")
    cols[0].metric(t("Calls"), number(totals.calls))
    cols[1].metric(t("Input tokens"), number(totals.input_tokens))
    cols[2].metric(t("Output tokens"), number(totals.output_tokens))
    cols[3].metric(t("Total cost ({currency})", currency=currency), money(totals.cost_usd))
    cols[4].metric(t("Avg per conversation"), money(stats["avg_cost_usd"]),
                   help=t("{n} conversations in the filter", n=number(stats["conversations"])))
    cols[5].metric(t("Errors"), number(totals.errors),
                   help=t("Calls that failed (they are recorded too, usually with 0 tokens)"))

    st.subheader(t("Ledger"), anchor="ledger")
    rows = report.ledger(flt, limit=200)
    if not rows:
        st.info(t("No model calls recorded yet for this filter. Chat with the agent and they appear here live."))
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
            "price": st.column_config.NumberColumn(t("price (USD)"), format="%.8f"),
            f"cost ({currency})": st.column_config.NumberColumn(t("cost ({currency})", currency=currency),
                                                                format="%.6f"),
            "latency_ms": st.column_config.NumberColumn(t("latency (ms)"), format="%.0f"),
            "created_at": st.column_config.DatetimeColumn("created_at", format=t("YYYY-MM-DD HH:mm:ss")),
            "updated_at": st.column_config.DatetimeColumn("updated_at", format=t("YYYY-MM-DD HH:mm:ss")),
        },
    )
    st.caption(t("Newest {n} rows · refreshes every {seconds} s · last id {id}", n=len(rows), seconds=LIVE_EVERY_S,
                 id=number(report.last_id())))


live(flt)

# ---------------------------------------------------------------- charts
st.subheader(t("Where the money goes"))


def bars(frame: pd.DataFrame, category: str, title: str, label: str | None = None) -> alt.Chart:
    """Cost per category, or tokens when nothing in the filter cost money (local/rules and other free models)."""
    frame = frame.assign(cost=frame["cost_usd"].map(lambda usd: to_currency(usd, currency, usd_brl)),
                         tokens=frame["input_tokens"] + frame["output_tokens"])
    tokens = chart_measure(frame.to_dict("records")) == "tokens"
    x = (alt.X("tokens:Q", title=t("tokens (nothing cost money: free local models)")) if tokens
         else alt.X("cost:Q", title=t("cost ({currency})", currency=currency)))
    return (
        alt.Chart(frame, title=title)
        .mark_bar(cornerRadiusEnd=3)
        .encode(
            x=x,
            y=alt.Y(f"{category}:N", sort="-x", title=label or category, axis=alt.Axis(labelLimit=240)),
            tooltip=[category, "calls", "input_tokens", "output_tokens", alt.Tooltip("cost:Q", format=",.6f")],
        )
        .properties(height=alt.Step(26))
    )


by_feature = pd.DataFrame(report.by_feature(flt))
by_model = pd.DataFrame(report.by_model(flt))
if by_feature.empty:
    st.info(t("Nothing to chart yet."))
else:
    c1, c2 = st.columns(2)
    free = chart_measure(by_feature.to_dict("records")) == "tokens"
    by_feature = by_feature.assign(feature_name=by_feature["feature_name"].map(feature))  # display names
    c1.altair_chart(bars(by_feature, "feature_name", t("Tokens by feature") if free else t("Cost by feature"),
                         t("feature")), width="stretch")
    c2.altair_chart(bars(by_model, "label", t("Tokens by model") if free else t("Cost by model"), t("model")),
                    width="stretch")

    c3, c4 = st.columns(2)
    per_chat = pd.DataFrame(report.per_conversation(replace(flt, sources=list_sources), limit=15))
    if per_chat.empty:
        c3.info(t("No conversations by people in this filter (eval and simulation runs are left out: "
                  "pick them in Source)."))
    else:
        per_chat = per_chat.assign(chat=per_chat["fk_id_chat"].map(lambda c: f"#{c}"),
                                   cost=per_chat["cost_usd"].map(lambda u: to_currency(u, currency, usd_brl)))
        chat_tokens = chart_measure(per_chat.to_dict("records")) == "tokens"
        if not sources:
            c3.caption(t("People's conversations (playground, CLI, server); pick a Source to see the bench's."))
        c3.altair_chart(
            alt.Chart(per_chat, title=t("Largest conversations (tokens)") if chat_tokens
                      else t("Most expensive conversations"))
            .mark_bar(cornerRadiusEnd=3, color="#f58518")
            .encode(x=alt.X("tokens:Q", title=t("tokens")) if chat_tokens
                    else alt.X("cost:Q", title=t("cost ({currency})", currency=currency)),
                    y=alt.Y("chat:N", sort="-x", title=t("chat")),
                    tooltip=["chat", "calls", "tokens", alt.Tooltip("cost:Q", format=",.6f")])
            .properties(height=alt.Step(20)),
            width="stretch",
        )
    # Usage per outcome (the pricing model does not matter here: only spend and tokens are charted).
    journeys = pd.DataFrame(report.reprice_journeys(flt, "local/rules", completed_steps))
    if journeys.empty:
        c4.info(t("No completed journeys yet (a chat counts once it reaches an outcome: {steps}).",
                  steps=", ".join(completed_steps)))
    else:
        journeys = journeys.assign(avg=journeys["avg_cost_usd"].map(lambda u: to_currency(u, currency, usd_brl)),
                                   avg_tokens=(journeys["input_tokens"] + journeys["output_tokens"])
                                   / journeys["journeys"])
        journey_tokens = chart_measure(journeys.to_dict("records")) == "tokens"
        c4.altair_chart(
            alt.Chart(journeys, title=t("Average tokens per completed journey, by outcome") if journey_tokens
                      else t("Average cost per completed journey, by outcome"))
            .mark_bar(cornerRadiusEnd=3, color="#54a24b")
            .encode(x=alt.X("avg_tokens:Q", title=t("average tokens")) if journey_tokens
                    else alt.X("avg:Q", title=t("average cost ({currency})", currency=currency)),
                    y=alt.Y("step:N", sort="-x", title=t("outcome")),
                    tooltip=["step", "journeys", alt.Tooltip("avg:Q", format=",.6f"),
                             alt.Tooltip("avg_tokens:Q", format=",.0f", title=t("avg tokens")),
                             alt.Tooltip("avg_calls:Q", format=".1f", title=t("avg calls"))])
            .properties(height=alt.Step(26)),
            width="stretch",
        )

    span = (flt.end - flt.start).days if flt.start and flt.end else 999
    buckets: list[Literal["day", "hour"]] = ["day", "hour"]
    bucket_names = {"day": t("per day"), "hour": t("per hour")}
    bucket = st.segmented_control(t("Tokens over time"), buckets, default="hour" if span <= 2 else "day",
                                  key="costs_bucket", format_func=bucket_names.__getitem__)
    timeline = pd.DataFrame(report.over_time(flt, bucket or "day"))
    if not timeline.empty:
        melted = timeline.melt(id_vars=["period", "cost_usd"], value_vars=["input_tokens", "output_tokens"],
                               var_name="kind", value_name="tokens")
        melted["kind"] = melted["kind"].map({"input_tokens": t("input tokens"), "output_tokens": t("output tokens")})
        st.altair_chart(
            alt.Chart(melted, title=t("Tokens per day") if bucket != "hour" else t("Tokens per hour"))
            .mark_bar()
            .encode(x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=-45)),
                    y=alt.Y("tokens:Q", stack=True, title=t("tokens")),
                    color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="top")),
                    tooltip=["period", "kind", alt.Tooltip("tokens:Q", format=",")])
            .properties(height=300),
            width="stretch",
        )

# ---------------------------------------------------------------- price this traffic as…
st.subheader(t("Price this traffic as…"), anchor="price-as")
st.caption(t("The tokens (and audio seconds) recorded in this filter, priced with any model of the price table "
             "below, side by side with what was actually spent: what this traffic would cost on that model."))
all_models = report.models()
model_label = {m["name"]: m["label"] for m in all_models}
model_prices = {m["name"]: m for m in all_models}


def price_text(name: str) -> str:
    m = model_prices[name]
    # Short enough for a phone: the unit (per 1M tokens, in / out) is in the help.
    return (f"{model_label[name]} · {m['currency']} {number(float(m['input_price_per_mtok']))} / "
            f"{number(float(m['output_price_per_mtok']))}")


# Paid models first (the question is "what would this cost on X?"), then the free local ones.
text_models = sorted(model_label, key=lambda n: (not (float(model_prices[n]["input_price_per_mtok"])
                                                     or float(model_prices[n]["output_price_per_mtok"])), n))
audio_models = [n for n in model_label if float(model_prices[n]["per_minute_price"] or 0)]
q1, q2 = st.columns([2, 1])
# format_funcs are dicts made now: AppTest calls them outside the run, where the session's language is unknown.
price_as = q1.selectbox(t("Price tokens as"), text_models, key="costs_price_as",
                        help=t("Price per 1M tokens (input / output) in the model's currency, from the Prices "
                               "table below."),
                        format_func={n: price_text(n) for n in text_models}.__getitem__,
                        index=text_models.index("gpt-4o-mini") if "gpt-4o-mini" in text_models else 0)
audio_as = q2.selectbox(
    t("Price audio as"), [None, *audio_models], key="costs_audio_as", index=1 if audio_models else 0,
    format_func={None: t("the same model"),
                 **{n: t("{label} · per minute", label=model_label[n]) for n in audio_models}}.__getitem__,
    help=t("Audio seconds of transcriptions are priced per minute (whisper-1: USD 0.006 per minute)."),
)
traffic = report.price_traffic(flt, price_as, audio_model=audio_as, usd_brl=usd_brl, steps=completed_steps)
on_model = t("on {model}", model=traffic.label)
if not traffic.calls:
    st.info(t("No model calls in this filter yet: chat with the agent, run the evals, or widen the filter."))
else:
    r1, r2, r3, r4 = st.columns(4)
    r1.metric(t("Spent"), money(traffic.actual_usd), help=t("What the recorded calls actually cost."))
    r2.metric(t("Priced"), money(traffic.priced_usd), help=t("The same tokens {on_model}.", on_model=on_model))
    r3.metric(t("Per conversation"), money(traffic.per("conversation")),
              help=t("{n} conversations, priced {on_model}", n=number(traffic.conversations), on_model=on_model))
    r4.metric(t("Per completed journey"), money(traffic.per("journey")),
              help=t("{n} completed journeys, priced {on_model}", n=number(traffic.journeys), on_model=on_model))
    spent_col, priced_col = t("spent ({currency})", currency=currency), f"{on_model} ({currency})"

    def priced_table(rows: list[dict[str, Any]], first: dict[str, str], features: bool = False) -> None:
        frame = pd.DataFrame(rows)
        if frame.empty:
            st.info(t("Nothing here for this filter."))
            return
        if features:
            frame["feature_name"] = frame["feature_name"].map(feature)
        # Counts in the interface's locale (Babel), like the money: 840.811 in pt-BR whatever the browser.
        frame = frame.assign(**{
            "calls": frame["calls"].map(number),
            "input_tokens": frame["input_tokens"].map(number),
            "output_tokens": frame["output_tokens"].map(number),
            "audio_min": (frame["audio_seconds"] / 60).map(lambda m: number(m, 1)),
            spent_col: frame["cost_usd"].map(money),
            priced_col: frame["priced_usd"].map(money),
        })
        # Money first: on a phone the table scrolls sideways and the answer must be on screen.
        columns = [*first, spent_col, priced_col, "calls", "input_tokens", "output_tokens", "audio_min"]
        names = {**first, "calls": t("calls"), "input_tokens": t("input tokens"), "output_tokens": t("output tokens"),
                 "audio_min": t("audio (min)")}
        st.dataframe(frame[columns].rename(columns=names), hide_index=True, width="stretch")

    tab_feature, tab_chat, tab_journey = st.tabs([t("Per feature"), t("Per conversation"),
                                                  t("Per completed journey")])
    with tab_feature:
        priced_table(report.reprice(flt, price_as, audio_model=audio_as, usd_brl=usd_brl),
                     {"feature_name": t("feature")}, features=True)
    with tab_chat:
        if not sources:
            st.caption(t("People's conversations (playground, CLI, server); pick a Source to see the bench's."))
        priced_table(report.reprice(replace(flt, sources=list_sources), price_as, by="conversation",
                                    audio_model=audio_as, usd_brl=usd_brl, limit=50),
                     {"fk_id_chat": t("chat")})
    with tab_journey:
        journey_rows = report.reprice_journeys(flt, price_as, completed_steps, audio_model=audio_as,
                                               usd_brl=usd_brl)
        for row in journey_rows:
            row["cost_usd"], row["priced_usd"] = row["avg_cost_usd"], row["avg_priced_usd"]
        st.caption(t("Average per journey that reached an outcome ({steps}).", steps=", ".join(completed_steps)))
        priced_table(journey_rows, {"step": t("outcome"), "journeys": t("journeys")})

# ---------------------------------------------------------------- projection
st.subheader(t("Projection"))
bases = traffic.bases()
if not bases:
    st.info(t("No model calls in this filter yet: chat with the agent, run the evals, or widen the filter."))
else:
    basis_names = {"conversation": t("average conversation"), "journey": t("average completed journey"),
                   "call": t("average call")}
    units = {"conversation": "conversations", "journey": "completed journeys", "call": "calls"}
    one = {"conversation": "conversation", "journey": "completed journey", "call": "call"}
    p1, p2, p3, p4 = st.columns([1, 1, 1, 2])
    per_day = p1.number_input(t("Per day"), min_value=1, max_value=10_000_000, value=1000, step=100,
                              key="costs_per_day", help=t("How many of the chosen unit a day."))
    basis = p2.radio(t("Based on"), bases, key="costs_basis", format_func=lambda b: basis_names[b],
                     help=t("Average of the current filter."))
    how = p3.radio(t("Each priced"), ["priced", "spent"], key="costs_price_basis",
                   index=0 if not traffic.actual_usd else 1,
                   format_func={"priced": on_model, "spent": t("as spent")}.__getitem__)
    avg = traffic.per(basis, priced=how == "priced")
    plan = project(avg, int(per_day))
    unit = t(units[basis])
    p4.metric(t("At {n} {unit}/day this costs", n=number(plan.conversations_per_day), unit=unit),
              t("{amount}/month", amount=money(plan.per_month_usd)),
              help=t("{avg} × {n}/day × {days} days", avg=money(avg), n=number(plan.conversations_per_day),
                     days=plan.days_per_month))
    p4.caption(t("{per_day} per day · {avg} per {unit}", per_day=money(plan.per_day_usd), avg=money(avg),
                 unit=t(one[basis])))

# ---------------------------------------------------------------- prices
st.subheader(t("Prices"))
st.caption(t("Per 1M tokens, in each model's own currency (the deck's table). Edits apply to new calls; "
             "every save is a version."))
prices = pd.DataFrame(report.price_table())
edited = st.data_editor(
    prices, hide_index=True, width="stretch", key="costs_prices", height=(len(prices) + 1) * 35 + 3,
    disabled=["model", "label", "provider", "source"],
    column_config={
        "input_per_mtok": st.column_config.NumberColumn(t("input / 1M"), min_value=0.0, format="%.4f"),
        "output_per_mtok": st.column_config.NumberColumn(t("output / 1M"), min_value=0.0, format="%.4f"),
        "currency": st.column_config.SelectboxColumn(t("currency"), options=["USD", "BRL"], required=True),
        "model": st.column_config.TextColumn(t("model")),
        "label": st.column_config.TextColumn(t("label")),
        "provider": st.column_config.TextColumn(t("provider")),
        "source": st.column_config.TextColumn(t("source")),
    },
)
n1, n2 = st.columns([3, 1])
note = n1.text_input(t("Note for this version"), placeholder=t("e.g. OpenAI price cut, Oct 2024"), key="costs_note")
if n2.button(t("Save prices"), type="primary", width="stretch"):
    changed_rows: list[dict[str, Any]] = []
    for before, after in zip(prices.to_dict("records"), edited.to_dict("records"), strict=True):
        if any(before[k] != after[k] for k in ("input_per_mtok", "output_per_mtok", "currency")):
            changed_rows.append({str(k): v for k, v in after.items()})
    try:
        count = report.save_prices(changed_rows, note)
    except ValueError as exc:
        st.error(t("Prices not saved: {error}", error=exc))
    else:
        if count:
            st.toast(t("Saved {n} price change(s) as a new version.", n=count), icon="✅")
            st.rerun()
        else:
            st.info(t("No price changed."))
with st.expander(t("Price history")):
    history = report.versions()
    if history:
        st.dataframe(pd.DataFrame(history).drop(columns=["per_minute_price"]), hide_index=True, width="stretch")
    else:
        st.caption(t("No edits yet: the table above is the deck's."))
