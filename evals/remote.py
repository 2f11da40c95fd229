"""Replay goldens against a deployed agent: every turn through ``POST /chat`` (``python -m evals run --target URL``).

The server must run with ``SERVER_EVAL_HOOKS=1``: each request carries the golden's simulated clock (``at``: a
message's own time, the turn's flush time), its settings (the pack, ``today``, …) and asks for the turn's stored
trace (``trace: true``), so the same scorers read the same observation as in process. What a golden does in
process only — scripted fake model replies, priced fake usage, media attachments — cannot be
sent over ``/chat``: such a golden is skipped with its reason (:func:`remote_skip_reason`), never passed. A golden's
pinned API answers (``api_responses``) travel with each request (the server answers from them, as the runner does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from agent.config import Settings
from agent.core.trace import TurnTrace
from agent.core.turn import json_safe
from agent.types import Message, Usage
from evals.cases import Case, Turn, scripted_roles
from evals.results import CaseResult, RunConfig
from evals.scorers import ConversationObservation, ScoreContext, TurnObservation

LEDGER_KEYS = ("feature_name", "model", "role", "status", "error", "input_tokens", "output_tokens", "price",
               "usage_source")


def remote_skip_reason(case: Case) -> str | None:
    """Why this golden cannot be replayed through ``POST /chat`` (None: it can)."""
    if scripted_roles(case):
        return "scripts model replies (local/adversary) in process"
    if case.price_as or case.usage:
        return "prices a fake model's usage in process"
    if any(t.kind in {"audio", "image"} or any(m.load_attachment() is not None for m in t.messages)
           for t in case.turns):
        return "sends media (POST /chat takes text)"
    return None


@dataclass
class _Result:
    """A turn as ``POST /chat`` returned it (its stored trace), shaped like a TurnResult for ``observe``."""

    trace: TurnTrace
    replies: list[Message]
    step_before: str
    step_after: str
    customer_text: str
    message_codes: list[int]
    tool_calls: list[dict[str, Any]]
    usage: Usage
    errors: list[str] = field(default_factory=list)
    guard_violations: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Result:
        """One entry of ``POST /chat``'s ``turns``."""
        usage = data.get("usage") or {}
        return cls(trace=TurnTrace.from_json(data.get("trace") or {}),
                   replies=[Message("agent", t) for t in data.get("replies") or ()],
                   step_before=str(data.get("step_before") or ""), step_after=str(data.get("step_after") or ""),
                   customer_text=str(data.get("customer_text") or ""),
                   message_codes=[c for c in data.get("message_codes") or () if isinstance(c, int)],
                   tool_calls=[dict(c) for c in data.get("tool_calls") or ()],
                   usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0),
                               float(usage.get("cost_usd") or 0.0)),
                   errors=list(data.get("errors") or ()), guard_violations=list(data.get("guard_violations") or ()))


class _Chat:
    """One golden's conversation on the server: its chat id, last answer and the transcript so far."""

    def __init__(self, client: Any, settings: dict[str, Any], api_responses: Mapping[str, Any]) -> None:
        self.client = client
        self.settings = settings
        self.api_responses = dict(api_responses)
        self.chat_id: int | None = None
        self.body: dict[str, Any] = {"step": "", "state": {}}
        self.messages: list[Message] = []

    def post(self, payload: dict[str, Any]) -> list[_Result]:
        body: dict[str, Any] = {**payload, "settings": self.settings, "trace": True}
        if self.api_responses:
            body["api_responses"] = self.api_responses
        if self.chat_id is None:
            body["source"] = "eval"
        else:
            body["chat_id"] = self.chat_id
        # ASCII JSON: a golden's lone surrogates travel as \u escapes, as the chat would receive them.
        response = self.client.post("/chat", content=json.dumps(body), headers={"content-type": "application/json"})
        if response.status_code != 200:
            raise RuntimeError(f"POST /chat answered {response.status_code}: {response.text[:300]}")
        self.body = response.json()
        self.chat_id = int(self.body["chat_id"])
        results = [_Result.from_json(t) for t in self.body.get("turns") or ()]
        for r in results:
            self.messages.append(Message("customer", r.customer_text))
            self.messages.extend(r.replies)
        return results

    @property
    def state(self) -> SimpleNamespace:
        return SimpleNamespace(step=self.body.get("step") or "", attributes=dict(self.body.get("raw_attributes") or {}))

    def state_view(self) -> dict[str, Any]:
        return dict(self.body.get("state") or {})


def _play(turn: Turn, chat: _Chat, clock: list[float], settings: Settings) -> tuple[list[_Result], str]:
    """``runner._play`` over HTTP: the same bursts at the same simulated instants."""
    if turn.kind == "event":
        if turn.event == "idle":
            clock[0] += (turn.hours * 3600) if turn.hours else settings.reengagement_after_s + 60
        if turn.event == "operator_reply":
            chat.post({"event": "operator_reply", "text": turn.event_text, "at": clock[0]})
            chat.messages.append(Message("operator", turn.event_text))  # what "not repeats" compares with
            return [], f"[operator] {turn.event_text}"
        return chat.post({"event": turn.event, "at": clock[0]}), turn.label
    window = settings.burst_window_s if settings.burst_mode else 0.0
    results: list[_Result] = []
    burst: list[dict[str, Any]] = []
    for message in turn.messages:
        clock[0] += message.after_s
        if burst and clock[0] >= burst[-1]["at"] + window:
            results += chat.post({"messages": burst, "at": clock[0]})
            burst = []
        burst.append({"text": message.text, "at": clock[0]})
        if window <= 0:
            results += chat.post({"messages": burst, "at": clock[0]})
            burst = []
    if burst:
        clock[0] = max(clock[0], burst[-1]["at"] + window)
        results += chat.post({"messages": burst, "at": clock[0]})
    return results, ""


def run_case_remote(case: Case, config: RunConfig, base: Settings, client: Any, *, store: Any = None,
                    kit: Any) -> CaseResult:
    """Replay one golden through ``client`` (an ``httpx.Client`` on the deployment) and score it as in process;
    the judge and embeddings, if any, run here on ``base``'s models. ``kit``: the runner's scoring pieces
    (``evals.runner.scoring_kit()``; passed in, so this module does not import the runner that imports it)."""
    from agent.adapters.gateway import Gateway
    from agent.adapters.store import Store
    from agent.core.pack import get_pack
    from agent.core.steps import previous_agent_message
    EVAL_EPOCH, SIMILARITY_FEATURE, Judge = kit.EVAL_EPOCH, kit.SIMILARITY_FEATURE, kit.Judge  # noqa: N806
    case_settings = kit.case_settings

    result = CaseResult(case_id=case.id, config=config.label, passed=False, score=0.0, tags=list(case.tags),
                        description=case.description, path=str(case.path or ""))
    try:
        settings = case_settings(case, config, base)
        store = store or Store.open(base.database_url)
        gateway = Gateway(settings, store)
        pack = get_pack(settings.pack_dir)
        # The burst window stays here: the runner closes bursts (the server answers each POST at once).
        overrides = {k: v for k, v in case.settings.items() if k not in {"burst_window_s", "burst_mode"}}
        chat = _Chat(client, {**overrides, "pack": settings.pack_dir.name}, json_safe(case.api_responses))
        ctx = ScoreContext(judge=Judge(settings, gateway, None), completed_steps=pack.completed_steps)
        if settings.embedding_model:
            ctx.embed = lambda texts: gateway.embed(texts, None, feature=SIMILARITY_FEATURE)
            ctx.embedding_model = settings.embedding_model
        clock = [EVAL_EPOCH]
        observations: list[TurnObservation] = []
        for index, turn in enumerate(case.turns):
            clock[0] += turn.wait_s
            started = time.perf_counter()
            previous = previous_agent_message(chat.messages)
            results, note = _play(turn, chat, clock, settings)
            observations.append(kit.score_turn(result, ctx, index, turn, results, chat, started, previous, note))
        result.chat_id = chat.chat_id
        ledger = [{k: row.get(k) for k in LEDGER_KEYS} for row in chat.body.get("ledger") or ()]
        conversation = ConversationObservation(observations, final_step=chat.state.step, state=chat.state_view(),
                                               ledger=ledger, usd_brl=settings.usd_brl)
        # Never recorded from a deployment: a snapshot is the in-process transcript's.
        kit.finish_result(result, case, observations, conversation, ctx, chat.state.step, record_snapshot=False)
    except Exception as exc:  # noqa: BLE001  (one broken case must not stop the run)
        result.error = f"{type(exc).__name__}: {exc}"
        result.passed = False
    return result


def split_remote(cases: Sequence[Case]) -> tuple[list[Case], list[dict[str, str]]]:
    """The goldens ``POST /chat`` can replay, and the others with the reason each is skipped."""
    runnable, skipped = [], []
    for case in cases:
        reason = remote_skip_reason(case)
        if reason is None:
            runnable.append(case)
        else:
            skipped.append({"case_id": case.id, "reason": reason})
    return runnable, skipped
