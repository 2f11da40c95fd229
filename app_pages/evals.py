"""Evals page: replay golden conversations on one or more configurations, see the matrix and the
Pareto plot, drill into a conversation's verdicts, diff runs, download the report, record goldens.

UI only: everything goes through ``evals``' public API (and ``agent``'s for conversations).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from agent import Settings, available_models, list_conversations, models_for_role
from evals import (
    PERSONAS,
    CaseError,
    CaseResult,
    EvalStore,
    RunConfig,
    cheapest_passing,
    diff,
    dump_case,
    golden_from_chat,
    html_report,
    load_run,
    load_suite,
    matrix,
    pareto_front,
    pareto_svg,
    role_sweeps,
    run_suite,
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


st.title(":material/science: Evals")
st.caption("Golden conversations replayed against model configurations. Every run is stored; any two runs can "
           "be compared. The judge's cost is recorded apart from the agent's.")

run_tab, results_tab, diff_tab, golden_tab = st.tabs(["Run", "Results", "Compare runs", "Record a golden"])

# ---------------------------------------------------------------- run
with run_tab:
    try:
        all_cases = load_suite(SUITE)
    except CaseError as exc:
        st.error(f"A golden file is invalid: {exc}")
        all_cases = []
    tags = sorted({t for c in all_cases for t in c.tags})
    c1, c2 = st.columns(2)
    picked_tags = c1.multiselect("Tags", tags, key="evals_tags", placeholder="All tags")
    picked_ids = c2.multiselect("Goldens", [c.id for c in all_cases], key="evals_ids", placeholder="All goldens")
    cases = [c for c in all_cases if c.matches(picked_tags, picked_ids)]
    st.caption(f"{len(cases)} of {len(all_cases)} goldens selected · "
               f"{sum(c.expectation_count for c in cases)} expectations")

    st.markdown("**Configurations**")
    use_current = st.checkbox(f"Current sidebar models ({role_label(settings)})", value=True, key="evals_current")
    specs = st.text_area(
        "More configurations, one per line", key="evals_specs", height=80,
        placeholder="cheap:decision=gpt-4o-mini,conversation=gpt-4o-mini\nsplit:decision=gpt-4o-mini,conversation=gpt-4o@0.3",
        help="label:role=model[@temperature],… — roles: " + ", ".join(TEXT_ROLES))
    with st.expander("Per-role sweep: vary one role, keep the others"):
        s1, s2 = st.columns([1, 3])
        sweep_role = s1.selectbox("Role", TEXT_ROLES[:2], key="evals_sweep_role")
        usable = [o.model for o in models_for_role(available_models(settings, probe_ollama=False), sweep_role)
                  if o.usable]
        sweep_models = s2.multiselect("Models", usable, key="evals_sweep_models",
                                      help="Only models usable now are listed (add keys to .env for more).")
    concurrency = st.slider("Concurrency", 1, 32, 4, key="evals_concurrency",
                            help="Conversations replayed at once. Rate limits (429) lower it automatically.")

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
    labels = [c.label for c in configs]
    if len(set(labels)) != len(labels):
        problems.append("Two configurations have the same label; give each a unique `label:` prefix.")
    for problem in problems:
        st.warning(problem)

    if st.button("Run evals", type="primary", disabled=not cases or not configs or bool(problems), key="evals_run"):
        bar = st.progress(0.0, text="Starting…")
        log = st.empty()
        failed: list[str] = []

        def progress(done: int, total: int, result: CaseResult) -> None:
            if not result.passed:
                failed.append(f"✗ {result.case_id} [{result.config}]")
            bar.progress(done / total, text=f"{done}/{total} · {'✓' if result.passed else '✗'} {result.case_id}")
            if failed:
                log.caption(" · ".join(failed[-6:]))

        run = run_suite(cases, configs, settings, concurrency=concurrency, progress=progress,
                        name=st.session_state.get("evals_name", ""), suite=str(SUITE.name))
        st.session_state.evals_run_id = run.run_id
        passed = sum(r.passed for r in run.results)
        (st.success if run.passed else st.error)(
            f"Run #{run.run_id}: {passed}/{len(run.results)} passed in {run.wall_s:.1f} s — see **Results**.")

# ---------------------------------------------------------------- results
runs = store.list_runs(100)
run_labels = {r["id"]: f"#{r['id']} · {r['passed']}/{r['cases']} passed · "
                       f"{r['started_at']:%Y-%m-%d %H:%M} · {', '.join(c['label'] for c in r['configs'])[:60]}"
              for r in runs}

with results_tab:
    if not runs:
        st.info("No runs yet: pick goldens and configurations in **Run**.")
    else:
        ids = list(run_labels)
        default = st.session_state.get("evals_run_id")
        run_id = st.selectbox("Run", ids, index=ids.index(default) if default in ids else 0,
                              format_func=run_labels.__getitem__, key="evals_pick_run")
        run = load_run(store, run_id)
        rows = matrix(run)
        pass_bar = st.slider("Pass-rate bar", 0.0, 1.0, 1.0, 0.05, key="evals_bar",
                             help="The cheapest configuration reaching this pass rate is highlighted.")
        best = cheapest_passing(rows, pass_bar)
        front = set(pareto_front(rows))
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Passed", f"{sum(r.passed for r in run.results)}/{len(run.results)}")
        m2.metric("Agent cost (USD)", f"{sum(r.cost_usd for r in run.results):.6f}")
        m3.metric("Judge cost (USD)", f"{sum(r.eval_cost_usd for r in run.results):.6f}")
        m4.metric("Cheapest passing", best["config"] if best else "none")
        table = pd.DataFrame([{
            "configuration": r["config"], "passed": f"{r['passed']}/{r['cases']}", "pass rate": r["pass_rate"],
            "cost / conversation (USD)": r["cost_per_conversation"], "p50 turn (ms)": r["p50_turn_ms"],
            "p95 turn (ms)": r["p95_turn_ms"], "judge cost (USD)": r["eval_cost_usd"],
            "Pareto": "◆" if r["config"] in front else "",
        } for r in rows])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"pass rate": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                  format="percent")})
        st.markdown("**Cost vs pass rate** — blue: Pareto front; green: cheapest passing the bar")
        st.html(pareto_svg(rows, bar=pass_bar))
        for name, sweep_rows in role_sweeps(run, rows).items():
            st.markdown(f"**Sweep: {name}**")
            st.dataframe(pd.DataFrame([{"model": r["varied"], "pass rate": r["pass_rate"],
                                        "cost / conversation (USD)": r["cost_per_conversation"],
                                        "p95 turn (ms)": r["p95_turn_ms"]} for r in sweep_rows]), hide_index=True)
        st.download_button("Download HTML report", html_report(run, bar=pass_bar), file_name=f"evals-run-{run_id}.html",
                           mime="text/html", key="evals_download")

        st.subheader("Conversation")
        only_failing = st.toggle("Only failing", value=any(not r.passed for r in run.results), key="evals_failing")
        shown = [r for r in run.results if not (only_failing and r.passed)]
        if not shown:
            st.success("Every conversation passed.")
        else:
            index = st.selectbox("Conversation", range(len(shown)), key="evals_case",
                                 format_func=lambda i: f"{'✓' if shown[i].passed else '✗'} {shown[i].case_id} "
                                                       f"· {shown[i].config}")
            result = shown[index]
            st.caption(f"{result.description} · chat #{result.chat_id} · US$ {result.cost_usd:.6f} · "
                       f"{result.latency_ms:.0f} ms · {result.path}")
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
                    st.caption(f"{obs.get('step_before')} → {obs.get('step_after')} · codes {obs.get('message_codes')}"
                               f" · {obs.get('latency_ms', 0):.0f} ms")
                with right:
                    for score in turn["scores"]:
                        icon = "✅" if score["passed"] else "❌"
                        st.markdown(f"{icon} **{score['name']}** — {score['reason']}")
            if result.conversation_scores:
                st.markdown("**Whole conversation**")
                for score in result.conversation_scores:
                    st.markdown(f"{'✅' if score['passed'] else '❌'} **{score['name']}** — {score['reason']}")

# ---------------------------------------------------------------- diff
with diff_tab:
    if len(runs) < 2:
        st.info("Two stored runs are needed to compare.")
    else:
        ids = list(run_labels)
        d1, d2 = st.columns(2)
        base_id = d1.selectbox("Base run", ids, index=1, format_func=run_labels.__getitem__, key="evals_diff_a")
        head_id = d2.selectbox("Head run", ids, index=0, format_func=run_labels.__getitem__, key="evals_diff_b")
        result_diff = diff(load_run(store, base_id), load_run(store, head_id))
        k1, k2, k3, k4 = st.columns(4)
        k1.metric("Pass rate", f"{result_diff['pass_rate']['head']:.0%}", f"{result_diff['pass_rate']['delta']:+.1%}")
        k2.metric("Cost / conversation (USD)", f"{result_diff['cost_per_conversation']['head']:.6f}",
                  f"{result_diff['cost_per_conversation']['delta']:+.6f}", delta_color="inverse")
        k3.metric("p95 turn (ms)", f"{result_diff['p95_turn_ms']['head']:.0f}",
                  f"{result_diff['p95_turn_ms']['delta']:+.0f}", delta_color="inverse")
        k4.metric("Newly failing", len(result_diff["newly_failing"]))
        for title, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing"),
                           ("Still failing", "still_failing")):
            if result_diff[key]:
                st.markdown(f"**{title}**")
                st.dataframe(pd.DataFrame([{"case": x["case_id"], "config": x["config"],
                                            "reason": (x["reasons"] or [""])[0],
                                            "cost Δ (USD)": x["cost_delta_usd"],
                                            "latency Δ (ms)": x["latency_delta_ms"]} for x in result_diff[key]]),
                             hide_index=True)
        with st.expander("As text"):
            st.code(text_diff(result_diff), language=None)

# ---------------------------------------------------------------- record a golden
with golden_tab:
    st.markdown("Turn a conversation into a golden file whose expectations are what the agent actually did "
                "(step, attributes, tools, message codes). Review and edit before saving.")
    source = st.radio("From", ["A past conversation", "A simulated customer"], horizontal=True, key="evals_source")
    if source == "A past conversation":
        chats = list_conversations(settings, limit=50)
        if not chats:
            st.info("No conversations yet — chat with the agent first.")
        else:
            chat_id = st.selectbox("Conversation", [c["chat_id"] for c in chats], key="evals_chat",
                                   format_func=lambda i: next(f"#{c['chat_id']} · {c['step']} · {c['title']}"
                                                              for c in chats if c["chat_id"] == i))
            if st.button("Draft golden", key="evals_draft"):
                st.session_state.evals_golden_text = dump_case(golden_from_chat(settings, chat_id))
    else:
        persona = st.selectbox("Persona", list(PERSONAS), key="evals_persona",
                               format_func=lambda k: f"{PERSONAS[k].name} — {PERSONAS[k].goal}")
        st.caption(f"Played by the judge role ({settings.role('judge').model}); stops at an outcome step, "
                   "a handoff, or the turn cap.")
        if st.button("Simulate", key="evals_simulate"):
            sim = simulate_customer(settings, persona)
            st.session_state.evals_sim = sim.transcript
            st.session_state.evals_golden_text = dump_case(sim.as_golden())
            st.session_state.evals_sim_reason = sim.stop_reason
        for message in st.session_state.get("evals_sim") or []:
            with st.chat_message("user" if message["role"] == "customer" else "assistant"):
                st.markdown(message["text"])
        if st.session_state.get("evals_sim_reason"):
            st.caption(f"Stopped: {st.session_state.evals_sim_reason}")
    if st.session_state.get("evals_golden_text"):
        text = st.text_area("Golden (YAML)", key="evals_golden_text", height=360)
        overwrite = st.checkbox("Overwrite a golden with the same id", key="evals_overwrite")
        if st.button("Save golden", type="primary", key="evals_save"):
            try:
                path = save_golden(text, SUITE, overwrite=overwrite)
            except CaseError as exc:
                st.error(f"Not saved — {exc.message}" + (f" (line {exc.line})" if exc.line else ""))
            else:
                st.success(f"Saved {path.name}: it runs with the other goldens from now on.")
