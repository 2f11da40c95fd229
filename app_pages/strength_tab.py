"""The Evals page's *Suite strength* tab: seeded defects (mutants) of a pack against its goldens, with a
progress bar, the kill table, the kill rate per operator and overall, and the survivors (the suite's holes).

UI only: ``evals.run_strength`` copies the pack once per mutant and replays the goldens in a process pool
(``python -m evals strength`` does the same in a terminal).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from agent import Settings, list_packs
from app_pages.i18n import known, number, percent, t
from evals import MutantResult, StrengthReport, golden_files, run_strength, strength_mutants, suite_for_pack

PACK_LOAD = "(pack load)"  # evals.strength: a mutant the pack's own checks (contracts included) refuse
# The operators' descriptions (evals/strength.py, English) as catalog templates; an unknown one is shown as is.
DESCRIPTIONS = (
    (re.compile(r"deleted from (?P<file>\S+): (?P<text>.*)", re.S), "deleted from {file}: {text}"),
    (re.compile(r"replies \[(?P<a>\d+), (?P<b>\d+)\] → \[\d+, \d+\]"), "replies [{a}, {b}] → [{b}, {a}]"),
    (re.compile(r"a transition answers (?P<new>\d+) instead of (?P<old>\d+)"),
     "a transition answers {new} instead of {old}"),
    (re.compile(r"intent (?P<intent>\S+) keeps 2 of (?P<n>\d+) examples"), "intent {intent} keeps 2 of {n} examples"),
    (re.compile(r"knowledge section removed: (?P<title>.*)", re.S), "knowledge section removed: {title}"),
    (re.compile(r"\S+: \w+ \S+ → \S+"), None),  # change_number: "pack.yaml: default 0.0179 → 0.0143", no words
)


def describe(description: str) -> str:
    """A mutant's description in the session's language (the operators write English)."""
    for pattern, template in DESCRIPTIONS:
        match = pattern.fullmatch(description)
        if match:
            return t(template, **match.groupdict()) if template else description
    return known(description)


def verdict(result: MutantResult) -> str:
    """What the suite did with a mutant, in the session's language."""
    if result.killed_by == PACK_LOAD:
        return t("killed at pack load")
    if result.killed:
        return t("killed by {golden}", golden=result.killed_by)
    return t("error: {error}", error=result.error) if result.error else t("survived")


def result_rows(results: Sequence[MutantResult]) -> list[dict[str, Any]]:
    """One row per mutant: id, operator, file, verdict, the failing golden's reason, seconds."""
    return [{t("mutant"): r.mutant.id, t("operator"): r.mutant.operator, t("file"): r.mutant.file,
             t("result"): verdict(r), t("seconds"): r.seconds, t("goldens run"): r.goldens_run,
             t("reason"): r.reason if r.killed else describe(r.mutant.description)} for r in results]


def operator_rows(results: Sequence[MutantResult]) -> list[dict[str, Any]]:
    """Kill rate per operator, in the order the operators first appear."""
    by_op: dict[str, list[MutantResult]] = {}
    for r in results:
        by_op.setdefault(r.mutant.operator, []).append(r)
    return [{t("operator"): op, t("killed"): sum(x.killed for x in rs), t("mutants"): len(rs),
             t("kill rate"): round(100 * sum(x.killed for x in rs) / len(rs))} for op, rs in by_op.items()]


def mutant_table(results: Sequence[MutantResult]) -> None:
    """The kill table, survivors highlighted."""
    frame = pd.DataFrame(result_rows(results))
    survived = {i for i, r in enumerate(results) if not r.killed}

    def highlight(row: pd.Series) -> list[str]:
        style = "background-color: rgba(255, 75, 75, 0.16); font-weight: 600" if row.name in survived else ""
        return [style] * len(row)

    # Widths that keep the verdict readable at 1440 px; the reason (a long verdict sentence) scrolls.
    st.dataframe(frame.style.apply(highlight, axis=1), hide_index=True, width="stretch", column_config={
        t("mutant"): st.column_config.TextColumn(width=250, pinned=True),
        t("operator"): st.column_config.TextColumn(width=115),
        t("file"): st.column_config.TextColumn(width=170),
        t("result"): st.column_config.TextColumn(width=270),
        t("seconds"): st.column_config.NumberColumn(format="%.1f", width=70),
        t("goldens run"): st.column_config.NumberColumn(width=70),
        t("reason"): st.column_config.TextColumn(width=600)})


def show_report(report: StrengthReport) -> None:
    """Kill rate overall and per operator, the survivors with their description, the kill table."""
    survivors = [r for r in report.results if not r.killed]
    if report.baseline_failure:
        st.error(t("The unmutated pack already fails a golden ({failure}): fix it first, the kill rate below "
                   "means nothing.", failure=report.baseline_failure[:200]))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("Kill rate"), percent(report.rate))
    m2.metric(t("Killed"), f"{report.killed}/{len(report.results)}")
    m3.metric(t("Survivors"), len(survivors))
    m4.metric(t("Time"), f"{number(report.seconds, 0)} s",
              help=t("{goldens} goldens of {pack}", goldens=report.goldens, pack=Path(report.pack).name))
    st.markdown("**" + t("Kill rate per operator") + "**")
    st.dataframe(pd.DataFrame(operator_rows(report.results)), hide_index=True, width="stretch",
                 column_config={t("kill rate"): st.column_config.ProgressColumn(min_value=0, max_value=100,
                                                                                 format="%d%%")})
    if survivors:
        st.markdown("**" + t("Survivors: defects no golden caught") + "**")
        st.warning("\n".join(f"- `{r.mutant.id}` · `{r.mutant.file}` — {describe(r.mutant.description)}"
                             + (f" ({t('error: {error}', error=r.error)})" if r.error else "") for r in survivors),
                   icon=":material/bug_report:")
    else:
        st.success(t("Every mutant was killed by a golden or by the pack's own checks."))
    st.markdown("**" + t("Mutants") + "**")
    mutant_table(report.results)


def render(settings: Settings) -> None:
    """The tab: pick pack, workers and mutants per operator; start; follow the progress; read the kill table."""
    st.markdown(t("Small, realistic defects are seeded in a copy of the pack (a sentence deleted, two message codes "
                  "swapped, a rule's number changed…) and the pack's goldens replay against each on the offline "
                  "models: a golden that fails **kills** the mutant; a mutant no golden catches **survives** — a "
                  "hole in the suite. Same as `python -m evals strength`."))
    folders = list_packs(settings.pack_dir.parent)
    if settings.pack_dir not in folders:
        folders = [settings.pack_dir, *folders]
    c1, c2, c3 = st.columns(3)
    pack_dir = c1.selectbox(t("Pack"), folders, index=folders.index(settings.pack_dir), key="strength_pack",
                            format_func=lambda folder: folder.name)
    cores = os.cpu_count() or 1
    workers = int(c2.number_input(t("Workers"), min_value=1, max_value=max(cores, 8), value=cores, step=1,
                                  key="strength_workers",
                                  help=t("Mutants replayed at once, one process each ({n} cores here).", n=cores)))
    per_operator = int(c3.number_input(t("Mutants per operator"), min_value=1, max_value=30, value=6, step=1,
                                       key="strength_per_operator",
                                       help=t("How many defects each operator seeds (deterministic: the same pack "
                                              "gives the same mutants).")))
    planned = strength_mutants(pack_dir, per_operator=per_operator)
    goldens = len(golden_files(suite_for_pack(pack_dir)))
    operators = sorted({m.operator for m in planned})
    st.caption(t("{n} mutants from {ops} operators against {goldens} goldens of {pack}; a killed mutant stops at "
                 "its first failing golden, a survivor replays them all.", n=len(planned), ops=len(operators),
                 goldens=goldens, pack=pack_dir.name))
    with st.expander(t("Mutants to run ({n})", n=len(planned))):
        st.dataframe(pd.DataFrame([{t("mutant"): m.id, t("operator"): m.operator, t("file"): m.file,
                                    t("defect"): describe(m.description)} for m in planned]), hide_index=True, width="stretch")

    if st.button(t("Start"), type="primary", icon=":material/bug_report:", disabled=not planned or not goldens,
                 key="strength_run"):
        bar = st.progress(0.0, text=t("Starting {n} mutants on {workers} workers…", n=len(planned), workers=workers))
        live = st.empty()
        done: list[MutantResult] = []

        def progress(i: int, n: int, result: MutantResult) -> None:
            done.append(result)
            bar.progress(i / n, text=t("mutant {i}/{n}", i=i, n=n) + f" · {result.mutant.id}: {verdict(result)} "
                         f"({number(result.seconds, 1)} s)")
            live.dataframe(pd.DataFrame(result_rows(done[-8:])), hide_index=True, width="stretch")

        report = run_strength(pack_dir, workers=workers, per_operator=per_operator, progress=progress)
        live.empty()
        st.session_state.strength_report = report
        (st.success if report.killed == len(report.results) else st.warning)(
            t("{killed}/{n} mutants killed ({rate}) in {seconds} s.", killed=report.killed, n=len(report.results),
              rate=percent(report.rate), seconds=number(report.seconds, 0)))

    last: StrengthReport | None = st.session_state.get("strength_report")
    if last is not None:
        if Path(last.pack).name != pack_dir.name:
            st.caption(t("Last run: pack {pack}.", pack=Path(last.pack).name))
        show_report(last)
    else:
        st.info(t("No run yet in this session: a full run takes minutes (each mutant replays goldens)."))
