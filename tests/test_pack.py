"""The Pack boundary: what a pack owns, the domain-free core, typed tools, the typed trace, the engine cache."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Annotated, Any

import pytest

from agent.adapters.tools import Tool, ToolArgumentError, ToolSet
from agent.config import PROJECT_ROOT, Settings
from agent.core.pack import PackError, get_pack, import_pack_module, list_packs
from agent.core.session import AgentSession, EngineCache
from agent.core.trace import TurnTrace

CORE = ["agent/core/engine.py", "agent/core/session.py", "agent/core/journey.py", "agent/core/guardrails.py",
        "agent/core/pack.py", "agent/core/trace.py", "agent/core/prompts.py", "agent/adapters/gateway.py",
        "agent/adapters/store.py", "agent/adapters/schema.py", "agent/adapters/migrations.py",
        "agent/adapters/tools.py", "agent/core/assess.py", "agent/insights.py", "agent/audit.py",
        "agent/adapters/reviews.py"]
DOMAIN = re.compile(r"fgts|cpf|saque|aniversar", re.IGNORECASE)


@pytest.mark.parametrize("path", CORE)
def test_the_core_names_no_domain(path: str) -> None:
    text = (PROJECT_ROOT / path).read_text(encoding="utf-8")
    hits = [f"{path}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if DOMAIN.search(line)]
    assert not hits, "domain knowledge belongs in the pack:\n" + "\n".join(hits)


def test_fgts_pack_owns_its_domain() -> None:
    pack = get_pack()
    assert pack.name == "fgts" and pack.module is not None
    assert set(pack.attributes) == {"name", "cpf", "birth_month", "birth_date", "balance"}
    assert list(pack.tools) == ["consultar_fgts"]
    assert "offer" in pack.completed_steps and "finalized" in pack.terminal_steps
    assert pack.codes.faq == 30 and pack.codes.safe == 0 and 40 in pack.fixed_codes
    assert pack.mask_attributes({"cpf": "07360284635", "name": "Ana"}) == {"cpf": "•••.602.846-••", "name": "Ana"}
    # The journey refuses what the pack's validators refuse (defence in depth).
    assert pack.journey.attributes["cpf"].accept("073.602.846-36") is None
    assert pack.journey.attributes["cpf"].accept("073.602.846-35") == "07360284635"


def test_pack_settings_explicit_over_env_over_default(settings: Settings) -> None:
    pack = get_pack()
    # advance_years has no default (the FGTS rules in force decide); a value is the bank's own lower limit.
    assert pack.resolve_settings(settings)["advance_years"] is None
    env = settings.with_changes(env={**settings.env, "ADVANCE_YEARS": "3", "CONVERSATION_DATE": "2025-06-15"})
    assert pack.resolve_settings(env)["advance_years"] == "3"  # untyped default: the pack reads it as a number
    assert pack.resolve_settings(env)["today"] == "2025-06-15"
    assert pack.resolve_settings(env.with_pack_settings(advance_years=7))["advance_years"] == 7


def test_list_packs_finds_every_pack_folder() -> None:
    names = [p.name for p in list_packs()]
    assert "fgts" in names and all((PROJECT_ROOT / "prompts" / n / "pack.yaml").exists() for n in names)


def test_a_folder_without_pack_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackError, match="pack.yaml"):
        get_pack(tmp_path)


def test_a_copied_pack_is_its_own_package(tmp_path: Path) -> None:
    copy = tmp_path / "fgts_copy"
    shutil.copytree(PROJECT_ROOT / "prompts" / "fgts", copy)
    original, copied = get_pack(), get_pack(copy)
    assert copied.module is not original.module and copied.module.__name__ != original.module.__name__
    assert import_pack_module(copy, "rules").yearly_withdrawal(1000).to_eng_string() == "450.00"


def test_pack_yaml_naming_unknown_steps_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(PROJECT_ROOT / "prompts" / "fgts", copy)
    spec = copy / "pack.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("terminal_steps: [finalized, optout]",
                                                              "terminal_steps: [finalized, nowhere]"), encoding="utf-8")
    with pytest.raises(PackError, match="nowhere"):
        get_pack(copy)


# ---------------------------------------------------------------------- tools from typed functions


def _lookup(code: Annotated[str, "Contract code, 6 digits"], year: int = 2025) -> dict[str, Any]:
    """Look a contract up.

    Second paragraph: not part of the description."""
    if not code.isdigit():
        raise ToolArgumentError("code must be digits", field="code", outcome="bad_code")
    return {"code": code, "year": year}


def test_tool_schema_comes_from_the_typed_function() -> None:
    tool = Tool.from_function(_lookup, endpoint="/x", codes={200: "ok"}, events={"ok": "found"})
    fn = tool.schema()["function"]
    assert fn["name"] == "_lookup" and fn["description"] == "Look a contract up."
    assert fn["parameters"] == {
        "type": "object", "additionalProperties": False, "required": ["code"],
        "properties": {"code": {"type": "string", "description": "Contract code, 6 digits"},
                       "year": {"type": "integer"}},
    }
    tools = ToolSet([tool])
    assert tools.validate_args("_lookup", '{"code": "123456"}') == {"code": "123456", "year": 2025}
    with pytest.raises(ToolArgumentError, match="digits") as info:
        tools.validate_args("_lookup", {"code": "abc"})
    assert info.value.outcome == "bad_code" and info.value.tool == "_lookup"
    with pytest.raises(ToolArgumentError, match="unexpected"):
        tools.validate_args("_lookup", {"code": "1", "cpf": "x"})
    assert tool.event_for("ok") == "found" and tool.outcome_for_code("201") == "api_error"


# ---------------------------------------------------------------------- the typed trace


def test_trace_round_trips_and_old_rows_load(settings: Settings) -> None:
    session = AgentSession.new(settings)
    session.send("oi")
    result = session.send("aceito")
    trace = result.trace
    stored = json.loads(json.dumps(trace.to_json()))
    assert TurnTrace.from_json(stored) == trace
    assert stored["state_before"]["step"] == trace.step_before and stored["turn"] == 1
    # A row written before the typed trace: a plain dict with fewer keys and the old decision shape.
    old = {"state_before": {"step": "collect_data"}, "state_after": {"step": "collect_data"},
           "calls": [{"role": "decision", "feature": "Classificação de jornada", "model": "local/rules"}],
           "decision": {"intent": "provide_data", "confidence": 0.9, "invalid_cpfs": ["•••.602.846-••"]},
           "event": {"name": "cpf_invalid", "attributes": {}}, "turn": 3, "something_new": 1}
    loaded = TurnTrace.from_json(old)
    assert loaded.step_before == "collect_data" and loaded.calls[0].model == "local/rules"
    assert loaded.decision and loaded.decision.rejected[0]["attribute"] == "cpf"
    assert loaded.event and loaded.event.name == "cpf_invalid" and loaded.turn == 3


def test_a_turns_stored_trace_is_built_once_and_evolves_like_a_fresh_one(settings: Settings) -> None:
    session = AgentSession.new(settings)
    session.send("oi")
    trace = session.send("aceito").trace
    fresh = TurnTrace.from_json(json.loads(json.dumps(trace.to_json())))  # no stored form carried
    assert trace.to_json() is trace.to_json()  # built once (the session stored it, the runner observes it)
    assert json.dumps(trace.to_json()) == json.dumps(fresh.to_json())  # same keys, same order
    for changes in ({"turn": 7}, {"alert": {"kind": "low_score"}}, {"alert": None, "emotion": None},
                    {"system_event": "idle_timeout", "replies": ("a", "b")}):
        evolved, rebuilt = trace.evolve(**changes), fresh.evolve(**changes)
        assert evolved == rebuilt
        assert json.dumps(evolved.to_json()) == json.dumps(TurnTrace.from_json(rebuilt.to_json()).to_json())
    stored = trace.to_json(mask=lambda data: {**data, "masked": True})
    assert stored["masked"] and "masked" not in trace.to_json()  # a masked form is never kept


def test_reloaded_session_has_typed_traces(settings: Settings) -> None:
    session = AgentSession.new(settings)
    session.send("oi")
    again = AgentSession.load(settings, session.chat_id)
    assert [type(t) for t in again.traces] == [TurnTrace] and again.traces[0].turn == 0


# ---------------------------------------------------------------------- one engine cache


def test_engine_cache_keys_on_what_builds_an_engine(settings: Settings) -> None:
    from agent.adapters.store import Store

    cache = EngineCache(maxsize=2)
    store = Store.open(settings.database_url)
    first = cache.get(settings, store)
    assert cache.get(settings.with_role("conversation", temperature=1.1), store) is first  # per call
    assert cache.get(settings.with_changes(env={**settings.env, "PATH": "/x"}), store) is first  # incidental env
    changed = cache.get(settings.with_pack_settings(advance_years=3), store)  # the engine reads it
    assert changed is not first
    assert cache.get(settings.with_changes(env={**settings.env, "ADVANCE_YEARS": "4"}), store) is not changed


def test_engine_cache_is_bounded_and_closes_what_it_drops(settings: Settings) -> None:
    from agent.adapters.store import Store

    cache = EngineCache(maxsize=2)
    store = Store.open(settings.database_url)
    first = cache.get(settings, store)
    first.tools._sync_client()  # an open HTTP pool
    for years in (2, 3):
        cache.get(settings.with_pack_settings(advance_years=years), store)
    assert len(cache._engines) == 2 and first.tools._client is None  # dropped → closed


def test_changing_a_pack_setting_changes_the_answer(settings: Settings) -> None:
    """advance_years and today reach the estimate at once (a cached engine never keeps an old value)."""
    fixed = {"*": {"code": 200, "description": "ok", "balance": 4000.0, "birth_month": 7}}

    def estimate(s: Settings) -> str:
        from agent.adapters.gateway import Gateway
        from agent.adapters.store import Store
        from agent.core.engine import Engine

        store = Store.open(s.database_url)
        engine = Engine(s, Gateway(s, store), tools=get_pack().tool_registry(s, fixed_responses=fixed))
        session = AgentSession.new(s, engine=engine, store=store)
        for text in ("oi", "aceito", "Maria Souza", "073.602.846-35", "julho"):
            session.send(text)
        return session.send("sim").text

    first_year = settings.with_pack_settings(today="2025-12-10")  # the first 12 months of the new rules: 5
    five, two = estimate(first_year), estimate(first_year.with_pack_settings(advance_years=2))
    three = estimate(settings.with_pack_settings(today="2026-11-29"))  # after them: 3
    assert "5 saques anuais" in five and "2 saques anuais" in two and "3 saques anuais" in three


def test_no_import_cycles() -> None:
    """agent → sandbox (through tools.py) and evals.runner ↔ evals.report were cycles; none may come back."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "import_cycles.py")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tool_http_semantics_and_post(tmp_path: Path) -> None:
    """A business refusal sent with a 4xx keeps its outcome; a success body with a 4xx is an error; POST
    tools send their arguments as JSON. Against a real local HTTP server."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from agent.adapters.tools import ToolRegistry

    seen: list[tuple[str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            seen.append((self.command, self.path, body))
            status, payload = {"/refused": (403, {"code": 701}), "/contradiction": (409, {"code": 200})}.get(
                self.path.split("?")[0], (200, {"code": 200}))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def make(endpoint: str, method: str = "GET") -> Tool:
        def ask(code: Annotated[str, "code"]) -> dict[str, Any]:
            """Ask."""
            return {"code": code}

        return Tool.from_function(ask, endpoint=endpoint, method=method, codes={200: "ok", 701: "refused"},
                                  events={"ok": "done", "refused": "no", "api_error": "api_error"})

    try:
        for endpoint, outcome, status in (("/refused", "refused", "ok"), ("/contradiction", "api_error", "error")):
            with ToolRegistry(url, tools=ToolSet([make(endpoint)]), retries=0) as registry:
                result = registry.call("ask", {"code": "1"})
            assert (result.outcome, result.status, result.http_status) == (outcome, status, int(
                {"/refused": 403, "/contradiction": 409}[endpoint]))
        with ToolRegistry(url, tools=ToolSet([make("/send", "POST")]), retries=0) as registry:
            assert registry.call("ask", {"code": "42"}).outcome == "ok"
        assert seen[-1][0] == "POST" and json.loads(seen[-1][2]) == {"code": "42"}
        assert seen[0][0] == "GET" and "code=1" in seen[0][1]
    finally:
        server.shutdown()


@pytest.mark.parametrize(("old", "new", "message"), [
    ("codes: {faq: 30,", "codes: {fq: 30,", "codes.fq"),
    ("fixed_codes: [0,", "fixd_codes: [0,", "fixd_codes"),
    ("fixed_codes: [0,", "fixed_codes: [999, 0,", "999"),
])
def test_pack_yaml_mistakes_say_what_is_wrong(tmp_path: Path, old: str, new: str, message: str) -> None:
    copy = tmp_path / "typo"
    shutil.copytree(PROJECT_ROOT / "prompts" / "fgts", copy)
    spec = copy / "pack.yaml"
    text = spec.read_text(encoding="utf-8")
    assert old in text
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PackError, match=message):
        get_pack(copy)


# -- issue 10: names, corrections and whose CPF, decided by the fgts pack for any model -----------------


def _fgts_event(text: str, step: str, expecting: str | None = None, model_values: dict[str, Any] | None = None):
    from agent.brain import nlu
    from agent.core.turn import reading_of

    pack = get_pack()
    intent = nlu.classify(text, pack.directory)
    reading = reading_of(text, intent.intent, intent.confidence, nlu.extract(text, expecting), pack, model_values)
    return reading, pack.to_event(reading, step)


@pytest.mark.parametrize(("value", "accepted"), [
    ("Maria", "Maria"), ("“Maria Souza” 😊", "Maria Souza"), ("maria da silva", "Maria da Silva"),
    ("João Pedro!", "João Pedro"), ("Vocês!", None), ("vocês são uns ladrões", None), ("Ana 2", None),
    ("sou de agosto", None), ("golpistas", None), ("isso é um absurdo", None), ("", None),
])
def test_the_name_validator_strips_decoration_and_refuses_sentences(value: str, accepted: str | None) -> None:
    assert get_pack().attributes["name"].accept(value) == accepted


def test_a_models_name_goes_through_the_validator() -> None:
    # A model that reads the insult as a name: refused, reported, never captured.
    reading, event = _fgts_event("Vocês!", "collect_data", "name", {"name": "Vocês"})
    assert "name" not in reading.attributes
    assert [(r.attribute, r.reason) for r in reading.rejected] == [("name", "not_a_name")]
    assert "name" not in event.attributes
    reading, _ = _fgts_event("sou a maria", "collect_data", "name", {"name": "“maria”"})
    assert reading.attributes["name"] == "Maria"


@pytest.mark.parametrize(("text", "event", "attributes"), [
    ("não, o mês é agosto", "provide_data", {"birth_month": 8}),
    ("na verdade é agosto", "provide_data", {"birth_month": 8}),
    ("errei, é 08", "provide_data", {"birth_month": 8}),
    ("o nome ta errado, é Maria Souza Lima", "provide_data", {"name": "Maria Souza Lima"}),
    ("cpf errado, o certo é 073.602.846-35", "provide_data", {"cpf": "07360284635"}),
    ("não", "confirm_no", {}),
    ("tá errado", "confirm_no", {}),
    ("não, o cpf está errado", "cpf_wrong", {}),
    ("esse cpf é da minha mãe", "cpf_not_own", {}),
    ("sim", "confirm_yes", {}),
])
def test_a_correction_at_the_confirmation_is_one_attribute(text: str, event: str, attributes: dict) -> None:
    _, found = _fgts_event(text, "confirm_data")
    assert (found.name, dict(found.attributes)) == (event, attributes)


@pytest.mark.parametrize(("text", "step", "event"), [
    ("esse é o cpf da minha mãe 200.000.002-99", "collect_data", "cpf_unclear"),
    ("https://site.com/?cpf=12345678909", "collect_data", "cpf_unclear"),
    ("200.000.002-99 ou 073.602.846-35", "confirm_data", "cpf_unclear"),
    ("quero ver o fgts do meu marido", "collect_data", "cpf_not_own"),
    ("é meu", "cpf_owner", "confirm_yes"),
    ("sim, é meu mesmo", "cpf_owner", "confirm_yes"),
    ("não é meu", "cpf_owner", "cpf_not_own"),
    ("é dela", "cpf_owner", "cpf_not_own"),
    ("nao, do meu pai", "cpf_owner", "cpf_not_own"),
    ("o meu é 200.000.002-99", "cpf_owner", "provide_data"),
    ("esse é o cpf da minha mãe 200.000.002-99", "optin", "cpf_invalid"),  # before consent: 19, nothing kept
])
def test_whose_cpf(text: str, step: str, event: str) -> None:
    _, found = _fgts_event(text, step, "cpf" if step == "collect_data" else None)
    assert found.name == event
    if event != "provide_data":
        assert "cpf" not in found.attributes


def test_a_third_party_cpf_read_only_by_a_model_is_not_kept() -> None:
    # The offline NLU misses the CPF (spelled oddly); the model reads it: the pack still asks whose it is.
    text = "esse é o documento da minha mãe, dois zero zero ponto zero zero zero ponto zero zero dois traço 99"
    reading, event = _fgts_event(text, "collect_data", "cpf", {"cpf": "200.000.002-99"})
    assert reading.attributes.get("cpf") == "20000000299"
    assert event.name == "cpf_unclear" and "cpf" not in event.attributes
    _, event = _fgts_event("https://x.com/?c=20000000299", "collect_data", "cpf", {"cpf": "20000000299"})
    assert event.name == "cpf_unclear"
