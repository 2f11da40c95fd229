"""Evals page: replay golden conversations on one or more configurations, see the matrix and the
Pareto plot, drill into a conversation's verdicts, diff runs, download the report, record goldens.

UI only: everything goes through ``evals``' public API (and ``agent``'s for conversations).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from agent import Settings, available_models, list_conversations, models_for_role
from app_pages.charts import pareto_chart
from app_pages.i18n import lang, number, percent, t, usd, when
from app_pages.strength_tab import render as strength_render
from evals import (
    PERSONAS,
    BackgroundRun,
    CaseError,
    EvalStore,
    RunConfig,
    budget_comparison,
    budget_pair,
    cheapest_passing,
    diff,
    dump_case,
    golden_from_chat,
    html_report,
    load_run,
    load_suite,
    matrix,
    pareto_front,
    role_sweeps,
    save_golden,
    simulate_customer,
    suite_for_pack,
    text_diff,
)

settings: Settings = st.session_state.settings
SUITE = suite_for_pack(settings.pack_dir)  # the goldens of the pack in the sidebar


@st.cache_resource
def eval_store(url: str) -> EvalStore:
    return EvalStore.open(url)


store = eval_store(settings.database_url)
TEXT_ROLES = ("decision", "conversation", "insights", "judge")


def role_label(s: Settings) -> str:
    return " · ".join(f"{r}={s.role(r).model}" for r in ("decision", "conversation"))


def diet_table(rows: list[dict[str, Any]]) -> None:
    """The prompt diet: pass rate, cost and prompt tokens per call with the pack's budget on vs off."""
    shown = [r for r in rows if r["model_calls"]]
    if not shown:
        return
    state = {True: t("on"), False: t("off"), None: "—"}
    st.markdown("**" + t("Prompt diet: budget on vs off") + "**")
    st.dataframe(pd.DataFrame([{
        t("run"): f"#{r['run']}", t("configuration"): r["config"], t("prompt budget"): state[r["prompt_budget"]],
        t("pass rate"): percent(r["pass_rate"], 1), t("cost / conversation (USD)"): r["cost_per_conversation"],
        t("prompt tokens / call"): r["prompt_tokens_per_call"], t("model calls"): r["model_calls"],
    } for r in shown]), hide_index=True, width="stretch")


st.title(":material/science: " + t("Evals"))
st.caption(t("Golden conversations replayed against model configurations. Every run is stored; any two runs can "
             "be compared. The judge's cost is recorded apart from the agent's."))

run_tab, results_tab, diff_tab, golden_tab, strength_tab = st.tabs(
    [t("Run"), t("Results"), t("Compare runs"), t("Record a golden"), t("Suite strength")])

# ---------------------------------------------------------------- run
with run_tab:
    try:
        all_cases = load_suite(SUITE)
    except CaseError as exc:
        st.error(t("A golden file is invalid: {error}", error=exc))
        all_cases = []
    tags = sorted({t for c in all_cases for t in c.tags})
    c1, c2 = st.columns(2)
    picked_tags = c1.multiselect(t("Tags"), tags, key="evals_tags", placeholder=t("All tags"))
    picked_ids = c2.multiselect(t("Goldens"), [c.id for c in all_cases], key="evals_ids",
                                placeholder=t("All goldens"))
    cases = [c for c in all_cases if c.matches(picked_tags, picked_ids)]
    st.caption(t("{n} of {total} goldens selected · {expectations} expectations", n=len(cases),
                 total=len(all_cases), expectations=number(sum(c.expectation_count for c in cases))))

    st.markdown("**" + t("Configurations") + "**")
    use_current = st.checkbox(t("Current sidebar models ({models})", models=role_label(settings)), value=True,
                              key="evals_current")
    specs = st.text_area(
        t("More configurations, one per line"), key="evals_specs", height=80,
        placeholder="cheap:decision=gpt-4o-mini,conversation=gpt-4o-mini\nsplit:decision=gpt-4o-mini,conversation=gpt-4o@0.3",
        help=t("label:role=model[@temperature],… — roles: {roles}", roles=", ".join(f"`{r}`" for r in TEXT_ROLES)))
    with st.expander(t("Per-role sweep: vary one role, keep the others")):
        s1, s2 = st.columns([1, 3])
        sweep_role = s1.selectbox(t("Role"), TEXT_ROLES[:2], key="evals_sweep_role",
                                  format_func={r: t(r.capitalize()) for r in TEXT_ROLES}.__getitem__)
        usable = [o.model for o in models_for_role(available_models(settings, probe_ollama=False), sweep_role)
                  if o.usable]
        sweep_models = s2.multiselect(t("Models"), usable, key="evals_sweep_models",
                                      help=t("Only models usable now are listed (add keys to .env for more)."))
    budget_pairs = st.checkbox(
        t("Compare with and without the prompt budget (each configuration runs twice)"), key="evals_budget_pair",
        help=t("The pack's token budget per role (pack.yaml `prompt_budget`) on and off (as PROMPT_BUDGET=off): "
               "**Results** shows pass rate, cost and prompt tokens per call side by side."))
    concurrency = st.slider(t("Concurrency"), 1, 32, 4, key="evals_concurrency",
                            help=t("Conversations replayed at once. Rate limits (429) lower it automatically."))

    configs: list[RunConfig] = []
    problems: list[str] = []
    if use_current:
        configs.append(RunConfig(label=role_label(settings)))
    for line in (specs or "").splitlines():
        if line.strip():
            try:
                configs.append(RunConfig.parse(line.strip()))
            except ValueError as exc:
                problems.append(f"`{line.strip()}`: {exc}")
    for model in sweep_models:
        configs.append(RunConfig(label=f"{sweep_role}={model}", roles={sweep_role: {"model": model}}))
    if budget_pairs:
        configs = [pair for c in configs for pair in budget_pair(c)]
    labels = [c.label for c in configs]
    if len(set(labels)) != len(labels):
        problems.append(t("Two configurations have the same label; give each a unique `label:` prefix."))
    for problem in problems:
        st.warning(problem)

    job: BackgroundRun | None = st.session_state.get("evals_job")
    busy = job is not None and job.running
    if st.button(t("Run evals"), type="primary", key="evals_run",
                 disabled=not cases or not configs or bool(problems) or busy,
                 help=t("The run plays in the background: this page stays usable, and it can be cancelled.")) \
            and not busy:
        # Played in a thread (and the runner's worker processes), never in this script run: a rerun, a tab
        # switch or another page does not cut it short.
        job = st.session_state.evals_job = BackgroundRun.start(
            cases, configs, settings, concurrency=concurrency, workers=None,
            name=st.session_state.get("evals_name", ""), suite=str(SUITE.name))
        st.session_state.evals_job_shown = False
        st.rerun()  # the button drawn disabled, the progress under it

    @st.fragment(run_every=0.5)
    def run_progress(job: BackgroundRun) -> None:
        """The running suite: cases done, the failures so far, a cancel button; the whole page once it ends."""
        if not job.running:
            if not st.session_state.get("evals_job_shown"):
                st.session_state.evals_job_shown = True
                st.rerun(scope="app")  # the new run in Results and Compare runs
            return
        bar, stop = st.columns([5, 1], vertical_alignment="bottom")
        text = t("Cancelling… the cases already finished are kept.") if job.cancelling else (
            f"{job.done}/{job.total} · {job.last}" if job.done else t("Starting…"))
        bar.progress(job.done / max(job.total, 1), text=text)
        stop.button(t("Cancel"), key="evals_cancel", icon=":material/stop_circle:", width="stretch",
                    on_click=job.cancel, disabled=job.cancelling)
        if job.failed:
            st.caption(" · ".join(job.failed[-6:]))

    if job is not None and job.running:
        run_progress(job)
    elif job is not None:
        st.session_state.evals_job_shown = True
        if job.error:
            st.error(t("The run could not be played: {error}", error=job.error))
        elif job.run is not None:
            run = job.run
            passed = sum(r.passed for r in run.results)
            if st.session_state.get("evals_job_run") != run.run_id:  # once: then Results follows the picker
                st.session_state.evals_job_run = st.session_state.evals_run_id = run.run_id
            if job.cancelled and not run.results:
                st.warning(t("Run #{id} cancelled before any case finished.", id=run.run_id),
                           icon=":material/stop_circle:")
            elif job.cancelled:
                st.warning(t("Run #{id} cancelled: {passed}/{total} passed of the {done} cases finished — "
                             "see **Results**.", id=run.run_id, passed=passed, total=len(run.results),
                             done=len(run.results)), icon=":material/stop_circle:")
            else:
                (st.success if run.passed else st.error)(
                    t("Run #{id}: {passed}/{total} passed in {seconds} s — see **Results**.", id=run.run_id,
                      passed=passed, total=len(run.results), seconds=number(run.wall_s, 1)))

# ---------------------------------------------------------------- results
runs = store.list_runs(100)
run_labels = {r["id"]: f"#{r['id']} · " + t("{passed}/{total} passed", passed=r["passed"], total=r["cases"])
                       + f" · {when(r['started_at'])} · {', '.join(c['label'] for c in r['configs'])[:60]}"
              for r in runs}

with results_tab:
    if not runs:
        st.info(t("No runs yet: pick goldens and configurations in **Run**."))
    else:
        ids = list(run_labels)
        default = st.session_state.get("evals_run_id")
        run_id = st.selectbox(t("Run"), ids, index=ids.index(default) if default in ids else 0,
                              format_func=run_labels.__getitem__, key="evals_pick_run")
        run = load_run(store, run_id)
        rows = matrix(run)
        pass_bar = st.slider(t("Pass-rate bar"), 0.0, 1.0, 1.0, 0.05, key="evals_bar",
                             help=t("The cheapest configuration reaching this pass rate is highlighted."))
        best = cheapest_passing(rows, pass_bar)
        front = set(pareto_front(rows))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(t("Passed"), f"{sum(r.passed for r in run.results)}/{len(run.results)}")
        m2.metric(t("Agent cost (USD)"), usd(sum(r.cost_usd for r in run.results), 6))
        m3.metric(t("Judge cost (USD)"), usd(sum(r.eval_cost_usd for r in run.results), 6))
        m4.metric(t("Cheapest passing"), best["config"] if best else t("none"))
        table = pd.DataFrame([{
            t("configuration"): r["config"], t("passed"): f"{r['passed']}/{r['cases']}", t("pass rate"): r["pass_rate"],
            t("cost / conversation (USD)"): r["cost_per_conversation"], t("p50 turn (ms)"): r["p50_turn_ms"],
            t("p95 turn (ms)"): r["p95_turn_ms"], t("judge cost (USD)"): r["eval_cost_usd"],
            "Pareto": "◆" if r["config"] in front else "",
        } for r in rows])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={t("pass rate"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                     format="percent")})
        diet_table(budget_comparison([run]))
        st.markdown(t("**Cost vs pass rate** — blue: Pareto front; green: cheapest passing the bar"))
        st.altair_chart(pareto_chart(rows, bar=pass_bar, lang=lang()), width="stretch")
        for name, sweep_rows in role_sweeps(run, rows).items():
            st.markdown(t("**Sweep: {name}**", name=name))
            st.dataframe(pd.DataFrame([{t("model"): r["varied"], t("pass rate"): r["pass_rate"],
                                        t("cost / conversation (USD)"): r["cost_per_conversation"],
                                        t("p95 turn (ms)"): r["p95_turn_ms"]} for r in sweep_rows]), hide_index=True)
        st.download_button(t("Download HTML report"), html_report(run, bar=pass_bar, lang=lang()),
                           file_name=f"evals-run-{run_id}.html", mime="text/html", key="evals_download")

        st.subheader(t("Conversation"))
        only_failing = st.toggle(t("Only failing"), value=any(not r.passed for r in run.results), key="evals_failing")
        shown = [r for r in run.results if not (only_failing and r.passed)]
        if not shown:
            st.success(t("Every conversation passed."))
        else:
            index = st.selectbox(t("Conversation"), range(len(shown)), key="evals_case",
                                 format_func=lambda i: f"{'✓' if shown[i].passed else '✗'} {shown[i].case_id} "
                                                       f"· {shown[i].config}")
            result = shown[index]
            st.caption(f"{result.description} · chat #{result.chat_id} · {usd(result.cost_usd, 6)} · "
                       f"{number(result.latency_ms, 0)} ms · {result.path}")
            if result.error:
                st.error(result.error)
            for turn in result.turns:
                obs = turn["observation"]
                left, right = st.columns([3, 2])
                with left:
                    with st.chat_message("user"):
                        st.markdown(obs.get("customer_text") or turn["label"])
                    for reply in obs.get("replies") or []:
                        with st.chat_message("assistant"):
                            st.markdown(reply)
                    st.caption(f"{obs.get('step_before')} → {obs.get('step_after')} · "
                               + t("codes {codes}", codes=obs.get("message_codes"))
                               + f" · {number(obs.get('latency_ms', 0), 0)} ms")
                with right:
                    for score in turn["scores"]:
                        icon = "✅" if score["passed"] else "❌"
                        st.markdown(f"{icon} **{score['name']}** — {score['reason']}")
            if result.conversation_scores:
                st.markdown("**" + t("Whole conversation") + "**")
                for score in result.conversation_scores:
                    st.markdown(f"{'✅' if score['passed'] else '❌'} **{score['name']}** — {score['reason']}")

# ---------------------------------------------------------------- diff
with diff_tab:
    if len(runs) < 2:
        st.info(t("Two stored runs are needed to compare."))
    else:
        ids = list(run_labels)
        d1, d2 = st.columns(2)
        base_id = d1.selectbox(t("Base run"), ids, index=1, format_func=run_labels.__getitem__, key="evals_diff_a")
        head_id = d2.selectbox(t("Head run"), ids, index=0, format_func=run_labels.__getitem__, key="evals_diff_b")
        base_run, head_run = load_run(store, base_id), load_run(store, head_id)
        result_diff = diff(base_run, head_run)
        k1, k2, k3, k4 = st.columns(4)
        def signed(text: str, value: float) -> str:
            return ("+" if value > 0 else "") + text

        k1.metric(t("Pass rate"), percent(result_diff["pass_rate"]["head"]),
                  signed(percent(result_diff["pass_rate"]["delta"], 1), result_diff["pass_rate"]["delta"]))
        k2.metric(t("Cost / conversation (USD)"), number(result_diff["cost_per_conversation"]["head"], 6),
                  signed(number(result_diff["cost_per_conversation"]["delta"], 6),
                         result_diff["cost_per_conversation"]["delta"]), delta_color="inverse")
        k3.metric(t("p95 turn (ms)"), number(result_diff["p95_turn_ms"]["head"], 0),
                  signed(number(result_diff["p95_turn_ms"]["delta"], 0), result_diff["p95_turn_ms"]["delta"]),
                  delta_color="inverse")
        k4.metric(t("Newly failing"), len(result_diff["newly_failing"]))
        for title, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing"),
                           ("Still failing", "still_failing")):
            if result_diff[key]:
                st.markdown(f"**{t(title)}**")
                st.dataframe(pd.DataFrame([{t("case"): x["case_id"], t("config"): x["config"],
                                            t("reason"): (x["reasons"] or [""])[0],
                                            t("cost Δ (USD)"): x["cost_delta_usd"],
                                            t("latency Δ (ms)"): x["latency_delta_ms"]} for x in result_diff[key]]),
                             hide_index=True)
        diet_table(budget_comparison([base_run, head_run]))
        with st.expander(t("As text")):
            st.code(text_diff(result_diff, lang()), language=None)

# ---------------------------------------------------------------- record a golden
with golden_tab:
    st.markdown(t("Turn a conversation into a golden file whose expectations are what the agent actually did "
                  "(step, attributes, tools, message codes). Review and edit before saving."))
    sources = {"past": t("A past conversation"), "simulated": t("A simulated customer")}
    source = st.radio(t("From"), list(sources), horizontal=True, key="evals_source", format_func=sources.__getitem__)
    if source == "past":
        chats = list_conversations(settings, limit=50)
        if not chats:
            st.info(t("No conversations yet — chat with the agent first."))
        else:
            chat_id = st.selectbox(t("Conversation"), [c["chat_id"] for c in chats], key="evals_chat",
                                   format_func=lambda i: next(f"#{c['chat_id']} · {c['step']} · {c['title']}"
                                                              for c in chats if c["chat_id"] == i))
            if st.button(t("Draft golden"), key="evals_draft"):
                st.session_state.evals_golden_text = dump_case(golden_from_chat(settings, chat_id))
    else:
        persona = st.selectbox(t("Persona"), list(PERSONAS), key="evals_persona",
                               format_func=lambda k: f"{PERSONAS[k].name} — {PERSONAS[k].goal}")
        st.caption(t("Played by the judge role ({model}); stops at an outcome step, a handoff, or the turn cap.",
                     model=settings.role("judge").model))
        if st.button(t("Simulate"), key="evals_simulate"):
            sim = simulate_customer(settings, persona)
            st.session_state.evals_sim = sim.transcript
            st.session_state.evals_golden_text = dump_case(sim.as_golden())
            st.session_state.evals_sim_reason = sim.stop_reason
        for message in st.session_state.get("evals_sim") or []:
            with st.chat_message("user" if message["role"] == "customer" else "assistant"):
                st.markdown(message["text"])
        if st.session_state.get("evals_sim_reason"):
            st.caption(t("Stopped: {reason}", reason=st.session_state.evals_sim_reason))
    if st.session_state.get("evals_golden_text"):
        text = st.text_area(t("Golden (YAML)"), key="evals_golden_text", height=360)
        overwrite = st.checkbox(t("Overwrite a golden with the same id"), key="evals_overwrite")
        if st.button(t("Save golden"), type="primary", key="evals_save"):
            try:
                path = save_golden(text, SUITE, overwrite=overwrite)
            except CaseError as exc:
                st.error(t("Not saved — {error}", error=exc.message)
                         + (" " + t("(line {n})", n=exc.line) if exc.line else ""))
            else:
                st.success(t("Saved {file}: it runs with the other goldens from now on.", file=path.name))

# ---------------------------------------------------------------- suite strength
with strength_tab:
    strength_render(settings)
