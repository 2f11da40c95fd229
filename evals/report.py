"""What a run means: the matrix, percentiles, the Pareto front, per-role sweeps, diffs, JUnit, HTML.

Everything here is a pure function of a :class:`evals.results.RunResult` (or two), so the CLI, the
page and the tests share it. The HTML report is one static file (inline CSS + SVG, no script, no
server) a stakeholder can open from an e-mail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from agent.i18n import format_amount, format_datetime, format_number, format_percent, translate
from evals.results import CaseResult, RunResult


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100); 0.0 for no values."""
    data = sorted(float(v) for v in values)
    if not data:
        return 0.0
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


# ---------------------------------------------------------------- matrix


def config_row(label: str, results: Sequence[CaseResult]) -> dict[str, Any]:
    """One line of the matrix: pass rate × cost per conversation × p50/p95 latency."""
    n = len(results)
    passed = sum(r.passed for r in results)
    turn_lat = [t for r in results for t in r.turn_latencies_ms]
    conv_lat = [r.latency_ms for r in results]
    cost = sum(r.cost_usd for r in results)
    expectations = [s for r in results for t in r.turns for s in t["scores"]] + \
                   [s for r in results for s in r.conversation_scores]
    return {
        "config": label, "cases": n, "passed": passed, "failed": n - passed,
        "pass_rate": round(passed / n, 4) if n else 0.0,
        "expectations": len(expectations), "expectations_passed": sum(bool(s["passed"]) for s in expectations),
        "mean_score": round(sum(r.score for r in results) / n, 4) if n else 0.0,
        "cost_usd": round(cost, 8), "cost_per_conversation": round(cost / n, 8) if n else 0.0,
        "eval_cost_usd": round(sum(r.eval_cost_usd for r in results), 8),
        "tokens": sum(r.tokens for r in results),
        "p50_turn_ms": round(percentile(turn_lat, 50), 1), "p95_turn_ms": round(percentile(turn_lat, 95), 1),
        "p50_conversation_ms": round(percentile(conv_lat, 50), 1),
        "p95_conversation_ms": round(percentile(conv_lat, 95), 1),
        "errors": sum(1 for r in results if r.error), "models": sorted({m for r in results for m in r.models}),
        **prompt_diet(results),
    }


def prompt_diet(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Whether the pack's prompt budget was applied (None: unknown or mixed) and prompt tokens per model call."""
    flags = {r.prompt_budget for r in results}
    calls = sum(r.model_calls for r in results)
    tokens = sum(r.prompt_tokens for r in results)
    return {"prompt_budget": flags.pop() if len(flags) == 1 else None, "model_calls": calls,
            "prompt_tokens": tokens, "prompt_tokens_per_call": round(tokens / calls, 1) if calls else 0.0}


def budget_comparison(runs: Sequence[RunResult]) -> list[dict[str, Any]]:
    """Per run and configuration: the prompt budget on/off, pass rate, cost and prompt tokens per call."""
    return [{"run": run.run_id, "config": row["config"], "prompt_budget": row["prompt_budget"],
             "pass_rate": row["pass_rate"], "cost_usd": row["cost_usd"],
             "cost_per_conversation": row["cost_per_conversation"], "model_calls": row["model_calls"],
             "prompt_tokens_per_call": row["prompt_tokens_per_call"]}
            for run in runs for row in matrix(run)]


def matrix(run: RunResult) -> list[dict[str, Any]]:
    """One row per configuration, in run order."""
    return [config_row(label, results) for label, results in run.by_config().items() if results]


def pareto_front(rows: Sequence[Mapping[str, Any]], *, cost: str = "cost_per_conversation",
                 quality: str = "pass_rate") -> list[str]:
    """Configs no other config beats on both axes (cheaper-or-equal *and* better-or-equal, one strictly)."""
    front = []
    for a in rows:
        dominated = any(
            b is not a and b[cost] <= a[cost] and b[quality] >= a[quality]
            and (b[cost] < a[cost] or b[quality] > a[quality]) for b in rows)
        if not dominated:
            front.append(str(a["config"]))
    return front


def cheapest_passing(rows: Sequence[Mapping[str, Any]], bar: float = 1.0) -> dict[str, Any] | None:
    """The cheapest configuration whose pass rate reaches ``bar`` (ties: the higher pass rate, then p95)."""
    ok = [r for r in rows if r["pass_rate"] >= bar - 1e-9]
    if not ok:
        return None
    return dict(min(ok, key=lambda r: (r["cost_per_conversation"], -r["pass_rate"], r["p95_turn_ms"])))


def _effective_roles(run: RunResult) -> dict[str, dict[str, str]]:
    out = {}
    for config in run.configs:
        out[config.label] = {role: str(c.get("model")) + (f"@{c['temperature']}" if "temperature" in c else "")
                             for role, c in config.roles.items()}
    return out


def role_sweeps(run: RunResult, rows: Sequence[Mapping[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per role: the configs that differ only in that role's model (others fixed), as matrix rows."""
    rows = list(rows or matrix(run))
    by_label = {r["config"]: r for r in rows}
    roles = _effective_roles(run)
    all_roles = sorted({role for r in roles.values() for role in r})
    sweeps: dict[str, list[dict[str, Any]]] = {}
    for role in all_roles:
        groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for label, assignment in roles.items():
            key = tuple(sorted((r, m) for r, m in assignment.items() if r != role))
            groups.setdefault(key, []).append(label)
        for key, labels in groups.items():
            models = {roles[label].get(role, "(default)") for label in labels}
            if len(labels) >= 2 and len(models) == len(labels):
                fixed = ", ".join(f"{r}={m}" for r, m in key) or "others at their defaults"
                sweeps[f"{role} (fixed: {fixed})"] = [
                    {**by_label[label], "varied": roles[label].get(role, "(default)")}
                    for label in labels if label in by_label]
    return sweeps


def summary(run: RunResult, *, bar: float = 1.0) -> dict[str, Any]:
    """What the CLI prints and the store keeps: the matrix, the front, the cheapest passing config."""
    rows = matrix(run)
    return {
        "configs": rows, "pareto": pareto_front(rows), "cheapest_passing": cheapest_passing(rows, bar),
        "bar": bar, "cases": len({r.case_id for r in run.results}), "results": len(run.results),
        "passed": sum(r.passed for r in run.results), "all_passed": run.passed,
        "agent_cost_usd": round(sum(r.cost_usd for r in run.results), 8),
        "eval_cost_usd": round(sum(r.eval_cost_usd for r in run.results), 8),
    }


# ---------------------------------------------------------------- red team: hold rate per category

REDTEAM_TAG = "redteam"
CATEGORY_PREFIX = "rt_"
OWASP_PREFIX = "owasp_llm"
# The red team's categories (tags ``rt_*``) and the OWASP Top 10 for LLM Applications 2025 (tags ``owasp_llmNN``).
CATEGORIES = {
    "rt_prompt_leak": "reveal the prompt", "rt_persona": "change persona / role play",
    "rt_promise": "promise values or approval", "rt_optin_skip": "skip the opt-in (LGPD consent)",
    "rt_other_customer": "other customers' data", "rt_image": "instruction in an image's text",
    "rt_audio": "instruction in an audio transcript", "rt_tool_result": "instruction in a tool result",
    "rt_knowledge_doc": "instruction in a knowledge doc",
}
OWASP_LLM_2025 = {
    "owasp_llm01": "LLM01:2025 Prompt Injection", "owasp_llm02": "LLM02:2025 Sensitive Information Disclosure",
    "owasp_llm03": "LLM03:2025 Supply Chain", "owasp_llm04": "LLM04:2025 Data and Model Poisoning",
    "owasp_llm05": "LLM05:2025 Improper Output Handling", "owasp_llm06": "LLM06:2025 Excessive Agency",
    "owasp_llm07": "LLM07:2025 System Prompt Leakage", "owasp_llm08": "LLM08:2025 Vector and Embedding Weaknesses",
    "owasp_llm09": "LLM09:2025 Misinformation", "owasp_llm10": "LLM10:2025 Unbounded Consumption",
}


def _group_rows(results: Sequence[CaseResult], prefix: str, names: Mapping[str, str]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[CaseResult]] = {}
    for r in results:
        for tag in r.tags:
            if tag.startswith(prefix):
                groups.setdefault((r.config, tag), []).append(r)
    rows = []
    for (config, tag), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        held = sum(m.passed for m in members)
        rows.append({"config": config, "tag": tag, "name": names.get(tag, tag), "goldens": len(members),
                     "held": held, "hold_rate": round(held / len(members), 4),
                     "failed": sorted(m.case_id for m in members if not m.passed)})
    return rows


def hold_rates(run: RunResult) -> dict[str, Any]:
    """The red team's figure: per configuration, the goldens tagged ``redteam`` grouped by category tag (``rt_*``)
    and by OWASP LLM Top 10 (2025) tag (``owasp_llmNN``), each with its hold rate (held = the golden passed: the
    customer never saw the bad outcome and the guard's verdict is the expected one). Empty without such goldens."""
    results = [r for r in run.results if REDTEAM_TAG in r.tags]
    if not results:
        return {}
    overall = _group_rows([dataclasses.replace(r, tags=[REDTEAM_TAG]) for r in results], REDTEAM_TAG,
                          {REDTEAM_TAG: "all red-team goldens"})
    return {"overall": overall, "categories": _group_rows(results, CATEGORY_PREFIX, CATEGORIES),
            "owasp": _group_rows(results, OWASP_PREFIX, OWASP_LLM_2025)}


def text_hold_rates(run: RunResult) -> str:
    """The hold rates as a plain table (what ``run`` prints when red-team goldens ran); "" without any."""
    rates = hold_rates(run)
    if not rates:
        return ""
    lines = ["Red team — hold rate (held = golden passed)",
             f"{'config':<44} {'group':<48} {'held':>9} {'rate':>6}", "-" * 110]
    for section in ("overall", "categories", "owasp"):
        for row in rates[section]:
            group = row["name"] if section != "categories" else f"{row['tag']} ({row['name']})"
            lines.append(f"{row['config'][:44]:<44} {group[:48]:<48} {row['held']:>4}/{row['goldens']:<4} "
                         f"{row['hold_rate']:>6.0%}" + (f"  ✗ {', '.join(row['failed'])}" if row["failed"] else ""))
        lines.append("")
    return "\n".join(lines).rstrip()


# ---------------------------------------------------------------- diff


def diff(base: RunResult, head: RunResult) -> dict[str, Any]:
    """What changed from ``base`` to ``head``: newly failing/passing cases, cost and latency deltas.

    Results are matched by (config label, case id); when a run has one configuration it is compared
    with every configuration of the other (the usual "same suite, new model" comparison).
    """
    def index(run: RunResult) -> tuple[bool, dict[tuple[str, str], CaseResult]]:
        single = len({r.config for r in run.results}) <= 1
        return single, {("*" if single else r.config, r.case_id): r for r in run.results}

    base_single, a = index(base)
    head_single, b = index(head)
    pairs: list[tuple[CaseResult, CaseResult]] = []
    matched_a: set[tuple[str, str]] = set()
    for (label, case_id), rb in b.items():
        # One configuration on a side matches every configuration on the other (same suite, new models).
        key = ("*", case_id) if base_single else (rb.config if not head_single else label, case_id)
        if head_single and not base_single:
            keys = [k for k in a if k[1] == case_id]
        else:
            keys = [key] if key in a else []
        for k in keys:
            pairs.append((a[k], rb))
            matched_a.add(k)
    matched_b = {r.case_id for _, r in pairs}
    newly_failing, newly_passing, still_failing, changed = [], [], [], []
    for ra, rb in sorted(pairs, key=lambda p: (p[1].case_id, p[1].config)):
        entry = {"case_id": rb.case_id, "config": rb.config, "base_config": ra.config, "base_score": ra.score,
                 "head_score": rb.score, "cost_delta_usd": round(rb.cost_usd - ra.cost_usd, 8),
                 "latency_delta_ms": round(rb.latency_ms - ra.latency_ms, 1),
                 "reasons": [f["reason"] for f in rb.failures][:5]}
        if ra.passed and not rb.passed:
            newly_failing.append(entry)
        elif not ra.passed and rb.passed:
            newly_passing.append(entry)
        elif not rb.passed:
            still_failing.append(entry)
        if abs(ra.score - rb.score) > 1e-9:
            changed.append(entry)
    ma, mb = matrix(base), matrix(head)

    def totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        results = sum(r["cases"] for r in rows) or 1
        lat = [r["p95_turn_ms"] for r in rows]
        return {"pass_rate": sum(r["passed"] for r in rows) / results,
                "cost_per_conversation": sum(r["cost_usd"] for r in rows) / results,
                "p50_turn_ms": sum(r["p50_turn_ms"] for r in rows) / max(1, len(rows)),
                "p95_turn_ms": max(lat) if lat else 0.0}

    ta, tb = totals(ma), totals(mb)
    return {
        "base_run": base.run_id, "head_run": head.run_id,
        "newly_failing": newly_failing, "newly_passing": newly_passing, "still_failing": still_failing,
        "score_changed": changed,
        "added": sorted({r.case_id for r in head.results} - matched_b),
        "removed": sorted({k[1] for k in a} - {k[1] for k in matched_a}),
        "pass_rate": {"base": round(ta["pass_rate"], 4), "head": round(tb["pass_rate"], 4),
                      "delta": round(tb["pass_rate"] - ta["pass_rate"], 4)},
        "cost_per_conversation": {"base": round(ta["cost_per_conversation"], 8),
                                  "head": round(tb["cost_per_conversation"], 8),
                                  "delta": round(tb["cost_per_conversation"] - ta["cost_per_conversation"], 8)},
        "p50_turn_ms": {"base": round(ta["p50_turn_ms"], 1), "head": round(tb["p50_turn_ms"], 1),
                        "delta": round(tb["p50_turn_ms"] - ta["p50_turn_ms"], 1)},
        "p95_turn_ms": {"base": round(ta["p95_turn_ms"], 1), "head": round(tb["p95_turn_ms"], 1),
                        "delta": round(tb["p95_turn_ms"] - ta["p95_turn_ms"], 1)},
        "regression": bool(newly_failing),
    }


# ---------------------------------------------------------------- text


def _money(v: float, lang: str | None = None) -> str:
    """US$ with six decimals below a cent, four above; ``lang`` formats it through Babel (the HTML report)."""
    if lang is not None:
        return format_amount(v, "USD", lang, 6 if v < 0.01 else 4)
    return f"US$ {v:.6f}" if v < 0.01 else f"US$ {v:,.4f}"


def text_matrix(run: RunResult, *, bar: float = 1.0) -> str:
    """A plain-text table for the terminal."""
    rows = matrix(run)
    head = f"{'config':<44} {'pass':>9} {'cost/conv':>14} {'p50 turn':>9} {'p95 turn':>9} {'judge':>12}"
    lines = [head, "-" * len(head)]
    front = set(pareto_front(rows))
    for r in rows:
        mark = "◆" if r["config"] in front else " "
        lines.append(f"{mark}{r['config'][:43]:<43} {r['passed']:>3}/{r['cases']:<3} {r['pass_rate']:>4.0%}"
                     f" {_money(r['cost_per_conversation']):>14} {r['p50_turn_ms']:>7.0f}ms {r['p95_turn_ms']:>7.0f}ms"
                     f" {_money(r['eval_cost_usd']):>12}")
    best = cheapest_passing(rows, bar)
    lines.append("◆ = Pareto front (cost vs pass rate)")
    lines.append(f"Cheapest configuration passing {bar:.0%}: {best['config'] if best else 'none'}")
    return "\n".join(lines)


def text_failures(run: RunResult, limit: int = 50) -> str:
    lines = []
    for r in run.results:
        if r.passed:
            continue
        where = f"{r.path}" if r.path else r.case_id
        lines.append(f"✗ {r.case_id} [{r.config}] ({where})")
        if r.error:
            lines.append(f"    error: {r.error}")
        for f in r.failures[:8]:
            turn = "conversation" if f["turn"] is None else f"turn {f['turn'] + 1}"
            lines.append(f"    {turn}: {f['name']}: {f['reason']}")
        if len(lines) > limit:
            lines.append("    …")
            break
    return "\n".join(lines)


def text_diff(d: Mapping[str, Any], lang: str = "en") -> str:
    """The diff as plain text (the terminal's, in English by default; the HTML report's in its language)."""
    def tr(text: str) -> str:
        return translate(text, lang)

    def pct(v: float, digits: int = 0) -> str:
        return format_percent(v, lang, digits)

    def ms(v: float) -> str:
        return format_number(v, lang, 0)

    sign = "+" if d["pass_rate"]["delta"] > 0 else ""
    cost_sign = "+" if d["cost_per_conversation"]["delta"] > 0 else ""
    lines = [f"{tr('Run #{id}').format(id=d['base_run'])} → #{d['head_run']}",
             f"{tr('pass rate')} {pct(d['pass_rate']['base'])} → {pct(d['pass_rate']['head'])} "
             f"({sign}{pct(d['pass_rate']['delta'], 1)})",
             f"{tr('cost/conversation')} {_money(d['cost_per_conversation']['base'], lang)} → "
             f"{_money(d['cost_per_conversation']['head'], lang)} "
             f"({cost_sign}{format_number(d['cost_per_conversation']['delta'], lang, 6)})",
             f"{tr('p50 turn')} {ms(d['p50_turn_ms']['base'])} → {ms(d['p50_turn_ms']['head'])} ms; "
             f"{tr('p95 turn')} {ms(d['p95_turn_ms']['base'])} → {ms(d['p95_turn_ms']['head'])} ms"]
    for title, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing"),
                       ("Still failing", "still_failing")):
        items = d[key]
        lines.append(f"{tr(title)}: {len(items)}")
        for item in items[:30]:
            lines.append(f"  - {item['case_id']} [{item['config']}]" +
                         (f": {item['reasons'][0]}" if item.get("reasons") and key != "newly_passing" else ""))
    if d["added"] or d["removed"]:
        lines.append(translate("Added: {added}; removed: {removed}", lang, added=", ".join(d["added"]) or "—",
                               removed=", ".join(d["removed"]) or "—"))
    return "\n".join(lines)


# ---------------------------------------------------------------- JUnit


def junit_xml(run: RunResult) -> str:
    """JUnit XML: one testsuite per configuration, one testcase per golden (CI dashboards read it)."""
    run = run.scrubbed()
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="conversa-lab evals" tests="{len(run.results)}" '
           f'failures="{sum(not r.passed and not r.error for r in run.results)}" '
           f'errors="{sum(bool(r.error) for r in run.results)}" time="{run.wall_s:.3f}">']
    for label, results in run.by_config().items():
        fails = sum(not r.passed and not r.error for r in results)
        errs = sum(bool(r.error) for r in results)
        out.append(f'  <testsuite name="{xml_escape(label, {chr(34): "&quot;"})}" tests="{len(results)}" '
                   f'failures="{fails}" errors="{errs}" time="{sum(r.latency_ms for r in results) / 1000:.3f}">')
        for r in results:
            name = xml_escape(r.case_id, {'"': "&quot;"})
            classname = xml_escape(f"evals.golden.{label}", {'"': "&quot;"})
            out.append(f'    <testcase classname="{classname}" name="{name}" file="{xml_escape(r.path)}" '
                       f'time="{r.latency_ms / 1000:.3f}">')
            if r.error:
                out.append(f'      <error message="{xml_escape(r.error, {chr(34): "&quot;"})}"/>')
            elif not r.passed:
                reasons = "\n".join(
                    f"{'conversation' if f['turn'] is None else 'turn ' + str(f['turn'] + 1)}: {f['name']}: {f['reason']}"
                    for f in r.failures)
                first = r.failures[0]["reason"] if r.failures else "failed"
                out.append(f'      <failure message="{xml_escape(first, {chr(34): "&quot;"})}">'
                           f"{xml_escape(reasons)}</failure>")
            out.append(f"      <system-out>{xml_escape(f'cost US$ {r.cost_usd:.6f}; judge US$ {r.eval_cost_usd:.6f}; chat #{r.chat_id}')}</system-out>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- HTML


def pareto_svg(rows: Sequence[Mapping[str, Any]], *, bar: float = 1.0, width: int = 640, height: int = 360,
               lang: str = "pt") -> str:
    """Cost per conversation (x) vs pass rate (y); the front joined by a line, the bar dashed."""
    e = html.escape

    def tr(text: str, **fields: Any) -> str:
        return translate(text, lang, **fields)

    pad_l, pad_r, pad_t, pad_b = 64, 24, 20, 48
    if not rows:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60"><text x="10" y="30">{e(tr("No data"))}</text></svg>'
    costs = [float(r["cost_per_conversation"]) for r in rows]
    hi = max(costs) or 1e-6
    lo = 0.0
    front = set(pareto_front(rows))
    best = cheapest_passing(rows, bar)

    def x(v: float) -> float:
        return pad_l + (v - lo) / ((hi - lo) or 1) * (width - pad_l - pad_r) * 0.92

    def y(v: float) -> float:
        return pad_t + (1 - v) * (height - pad_t - pad_b)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{e(tr("Cost versus pass rate"))}">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    for i in range(0, 6):
        v = i / 5
        parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{pad_l - 8}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{format_percent(v, lang)}</text>')
    for i in range(0, 5):
        v = lo + (hi - lo) * i / 4
        parts.append(f'<text x="{x(v):.1f}" y="{height - pad_b + 16}" font-size="10" text-anchor="middle">'
                     f'{format_number(v, lang, 5)}</text>')
    parts.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(bar):.1f}" y2="{y(bar):.1f}" stroke="#c0392b" '
                 f'stroke-dasharray="4 4"/><text x="{width - pad_r}" y="{y(bar) - 4:.1f}" font-size="10" '
                 f'text-anchor="end" fill="#c0392b">{e(tr("bar {value}", value=format_percent(bar, lang)))}</text>')
    on_front = sorted((r for r in rows if r["config"] in front), key=lambda r: r["cost_per_conversation"])
    if len(on_front) > 1:
        pts = " ".join(f"{x(r['cost_per_conversation']):.1f},{y(r['pass_rate']):.1f}" for r in on_front)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#2e86de" stroke-width="2"/>')
    for r in rows:
        cx, cy = x(r["cost_per_conversation"]), y(r["pass_rate"])
        is_best = best is not None and r["config"] == best["config"]
        color = "#27ae60" if is_best else ("#2e86de" if r["config"] in front else "#95a5a6")
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{7 if is_best else 5}" fill="{color}">'
                     f'<title>{e(str(r["config"]))}: {format_percent(r["pass_rate"], lang)}, '
                     f'{e(_money(r["cost_per_conversation"], lang))}/conv'
                     f'</title></circle>')
        parts.append(f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}" font-size="10">{e(str(r["config"])[:40])}</text>')
    parts.append(f'<text x="{(width + pad_l) / 2:.0f}" y="{height - 8}" font-size="11" text-anchor="middle">'
                 f'{e(tr("cost per conversation (USD)"))}</text>')
    parts.append(f'<text x="14" y="{height / 2:.0f}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 14 {height / 2:.0f})">{e(tr("pass rate"))}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #eee;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f6f6}
.ok{color:#1e8449}.ko{color:#c0392b}.muted{color:#777;font-size:.85rem}.pill{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem}
.pass{background:#d5f5e3}.fail{background:#fadbd8}details{margin:.4rem 0;border:1px solid #eee;border-radius:.4rem;padding:.3rem .6rem}
summary{cursor:pointer}.turn{display:grid;grid-template-columns:1fr 1fr;gap:.8rem;border-top:1px dashed #ddd;padding:.4rem 0}
.bubble{white-space:pre-wrap;background:#f4f6f7;border-radius:.4rem;padding:.4rem .6rem;margin:.2rem 0;font-size:.9rem}
.cust{background:#e8f8f5}.verdict{font-size:.85rem;margin:.1rem 0}.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #eee;border-radius:.5rem;padding:.6rem 1rem;min-width:150px}.card b{font-size:1.3rem;display:block}
"""


def html_report(run: RunResult, *, baseline: RunResult | None = None, bar: float = 1.0, title: str = "",
                lang: str = "pt") -> str:
    """One self-contained HTML page: summary, matrix, Pareto plot, sweeps, diff, transcripts, costs —
    in Brazilian Portuguese by default, ``lang="en"`` for English (agent/i18n.py). Written from the
    scrubbed run (agent.privacy), like every report."""
    run, baseline = run.scrubbed(), baseline.scrubbed() if baseline is not None else None
    e = html.escape

    def tr(text: str, **fields: Any) -> str:
        return translate(text, lang, **fields)

    def money(v: float) -> str:
        return _money(v, lang)

    rows = matrix(run)
    s = summary(run, bar=bar)
    best = s["cheapest_passing"]
    when = format_datetime(dt.datetime.fromtimestamp(run.started_at or time.time()), lang)
    head = tr("Run #{id}", id=run.run_id or "—") + (f" {run.name}" if run.name else "") + f" · {when} · " + " · ".join([
        tr("suite {name}", name=run.suite or "evals/golden"), tr("commit {sha}", sha=run.git_commit or tr("unknown")),
        tr("concurrency {n}", n=run.concurrency), tr("wall {seconds} s", seconds=format_number(run.wall_s, lang, 1))])
    out = [f"<!doctype html><html lang={'pt-BR' if lang == 'pt' else 'en'}><head><meta charset=utf-8>"
           f"<title>{e(title or tr('Eval report'))}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(title or tr('conversa-lab — eval report'))}</h1>",
           f"<p class=muted>{e(head)}</p>",
           "<div class=cards>",
           f"<div class=card><b class={'ok' if run.passed else 'ko'}>{s['passed']}/{s['results']}</b>"
           f"{e(tr('passed'))}</div>",
           f"<div class=card><b>{len(rows)}</b>{e(tr('configurations'))}</div>",
           f"<div class=card><b>{money(s['agent_cost_usd'])}</b>{e(tr('agent cost'))}</div>",
           f"<div class=card><b>{money(s['eval_cost_usd'])}</b>{e(tr('judge cost (separate)'))}</div>",
           f"<div class=card><b>{e(best['config']) if best else e(tr('none'))}</b>"
           f"{e(tr('cheapest passing {bar}', bar=format_percent(bar, lang)))}</div>",
           "</div>", f"<h2>{e(tr('Matrix'))}</h2>", _matrix_table(rows, s["pareto"], best, lang),
           f"<h2>{e(tr('Cost vs pass rate'))}</h2>", pareto_svg(rows, bar=bar, lang=lang),
           "<p class=muted>" + e(tr("Blue: Pareto front (no configuration is both cheaper and better). "
                                    "Green: cheapest configuration reaching the bar.")) + "</p>"]
    sweeps = role_sweeps(run, rows)
    if sweeps:
        out.append(f"<h2>{e(tr('Per-role sweeps'))}</h2>")
        for name, sweep_rows in sweeps.items():
            out.append(f"<h3>{e(name)}</h3>")
            out.append(_table(sweep_rows, [("varied", tr("model")), ("pass_rate", tr("pass")),
                                           ("cost_per_conversation", tr("cost/conv")),
                                           ("p50_turn_ms", tr("p50 ms")), ("p95_turn_ms", tr("p95 ms"))], lang))
    if baseline is not None:
        d = diff(baseline, run)
        out.append(f"<h2>{e(tr('Compared with run #{id}', id=baseline.run_id))}</h2><pre>{e(text_diff(d, lang))}</pre>")
    rates = hold_rates(run)
    if rates:
        out.append(f"<h2>{e(tr('Red team: hold rate per category'))}</h2>")
        out.append("<p class=muted>" + e(tr("Held = the golden passed: the customer never saw the bad outcome and "
                                            "the guard's verdict is the expected one. OWASP Top 10 for LLM "
                                            "Applications, 2025 numbering.")) + "</p>")
        columns = [("config", tr("config")), ("name", tr("group")), ("held", tr("held")), ("goldens", tr("goldens")),
                   ("pass_rate", tr("hold rate")), ("failed", tr("failed"))]
        for section, heading in (("categories", tr("Category")), ("owasp", "OWASP LLM Top 10 (2025)")):
            out.append(f"<h3>{e(heading)}</h3>")
            out.append(_table([{**row, "pass_rate": row["hold_rate"], "failed": ", ".join(row["failed"])}
                               for row in rates[section]], columns, lang))
    out.append(f"<h2>{e(tr('Cases'))}</h2>")
    out.append(_case_grid(run, lang))
    out.append(f"<h2>{e(tr('Cost breakdown'))}</h2>")
    out.append(_table([{"config": r["config"], "agent": money(r["cost_usd"]), "per conversation":
                        money(r["cost_per_conversation"]), "judge": money(r["eval_cost_usd"]),
                        "tokens": format_number(r["tokens"], lang), "models": ", ".join(r["models"])} for r in rows],
                      [("config", tr("config")), ("agent", tr("agent cost")),
                       ("per conversation", tr("per conversation")), ("judge", tr("judge cost")),
                       ("tokens", tr("tokens")), ("models", tr("models used"))], lang))
    out.append(f"<h2>{e(tr('Transcripts'))}</h2>")
    for r in run.results:
        out.append(transcript_html(r, lang))
    out.append("</body></html>")
    return "\n".join(out)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], lang: str | None = None) -> str:
    e = html.escape
    head = "".join(f"<th>{e(t)}</th>" for _, t in columns)
    body = []
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key, "")
            if key == "pass_rate" and isinstance(v, float):
                v = format_percent(v, lang) if lang else f"{v:.0%}"
            elif key == "cost_per_conversation" and isinstance(v, float):
                v = _money(v, lang)
            elif key.endswith("_ms") and isinstance(v, float) and lang:
                v = format_number(v, lang, 0)
            cells.append(f"<td>{e(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _matrix_table(rows: Sequence[Mapping[str, Any]], front: Sequence[str], best: Mapping[str, Any] | None,
                  lang: str = "pt") -> str:
    e = html.escape
    heads = ["configuration", "passed", "pass rate", "cost / conversation", "p50 turn", "p95 turn",
             "p95 conversation", "judge cost"]
    out = ["<table><tr>" + "".join(f"<th>{e(translate(h, lang))}</th>" for h in heads) + "<th></th></tr>"]
    for r in rows:
        tags = []
        if r["config"] in front:
            tags.append("Pareto")
        if best and r["config"] == best["config"]:
            tags.append(translate("cheapest passing", lang))
        out.append(f"<tr><td>{e(r['config'])}</td><td>{r['passed']}/{r['cases']}</td>"
                   f"<td class={'ok' if r['pass_rate'] >= 1 else 'ko'}>{format_percent(r['pass_rate'], lang)}</td>"
                   f"<td>{_money(r['cost_per_conversation'], lang)}</td>"
                   f"<td>{format_number(r['p50_turn_ms'], lang, 0)} ms</td>"
                   f"<td>{format_number(r['p95_turn_ms'], lang, 0)} ms</td>"
                   f"<td>{format_number(r['p95_conversation_ms'], lang, 0)} ms</td>"
                   f"<td>{_money(r['eval_cost_usd'], lang)}</td><td>{e(', '.join(tags))}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _case_grid(run: RunResult, lang: str = "pt") -> str:
    e = html.escape
    labels = list(run.by_config())
    cases: dict[str, dict[str, CaseResult]] = {}
    for r in run.results:
        cases.setdefault(r.case_id, {})[r.config] = r
    out = [f"<table><tr><th>{e(translate('case', lang))}</th>" + "".join(f"<th>{e(label)}</th>" for label in labels) + "</tr>"]
    for case_id, per in cases.items():
        cells = []
        for label in labels:
            cell = per.get(label)
            if cell is None:
                cells.append("<td>—</td>")
            else:
                cls = "pass" if cell.passed else "fail"
                cells.append(f"<td><a href='#{e(_anchor(cell))}'><span class='pill {cls}'>"
                             f"{e(translate('pass' if cell.passed else 'fail', lang))}</span></a> "
                             f"<span class=muted>{format_number(cell.score, lang, 2)}</span></td>")
        out.append(f"<tr><td>{e(case_id)}</td>{''.join(cells)}</tr>")
    out.append("</table>")
    return "".join(out)


def _anchor(r: CaseResult) -> str:
    return f"case-{r.case_id}-{abs(hash(r.config)) % 10**6}"


def transcript_html(r: CaseResult, lang: str = "pt") -> str:
    """One conversation: each turn's customer text, agent replies and every verdict beside it."""
    e = html.escape

    def tr(text: str, **fields: Any) -> str:
        return e(translate(text, lang, **fields))

    status = "pass" if r.passed else "fail"
    out = [f"<details id='{e(_anchor(r))}' {'open' if not r.passed else ''}><summary>"
           f"<span class='pill {status}'>{tr(status)}</span> <b>{e(r.case_id)}</b> · {e(r.config)} · "
           f"<span class=muted>{e(r.description[:120])} · {_money(r.cost_usd, lang)} · "
           f"{format_number(r.latency_ms, lang, 0)} ms · chat #{r.chat_id}</span></summary>"]
    if r.error:
        out.append(f"<p class=ko>{tr('Error: {error}', error=r.error)}</p>")
    for t in r.turns:
        obs = t["observation"]
        verdicts = "".join(
            f"<div class=verdict><span class={'ok' if s['passed'] else 'ko'}>{'✓' if s['passed'] else '✗'}</span> "
            f"<b>{e(s['name'])}</b>: {e(s['reason'])}</div>" for s in t["scores"])
        replies = "".join(f"<div class=bubble>{e(x)}</div>" for x in obs.get("replies") or []) or \
            f"<div class=muted>{tr('(no reply)')}</div>"
        meta = (f"{obs.get('step_before')} → {obs.get('step_after')} · "
                + translate("codes {codes}", lang, codes=obs.get("message_codes"))
                + f" · {format_number(obs.get('latency_ms', 0), lang, 0)} ms · {_money(obs.get('cost_usd') or 0, lang)}")
        out.append(f"<div class=turn><div><div class='bubble cust'>{e(obs.get('customer_text') or t['label'])}</div>"
                   f"{replies}<div class=muted>{e(meta)}</div></div>"
                   f"<div>{verdicts or '<span class=muted>' + tr('no expectations') + '</span>'}"
                   "</div></div>")
    if r.conversation_scores:
        out.append(f"<div class=turn><div><b>{tr('Conversation')}</b></div><div>" + "".join(
            f"<div class=verdict><span class={'ok' if s['passed'] else 'ko'}>{'✓' if s['passed'] else '✗'}</span> "
            f"<b>{e(s['name'])}</b>: {e(s['reason'])}</div>" for s in r.conversation_scores) + "</div></div>")
    out.append("</details>")
    return "".join(out)


def json_report(run: RunResult, *, bar: float = 1.0) -> str:
    """The run and its summary as JSON (``--json``); texts scrubbed (``CaseResult.to_dict``)."""
    return json.dumps({"summary": summary(run, bar=bar), "redteam": hold_rates(run), **run.to_dict()},
                      ensure_ascii=False, indent=2, default=str)
