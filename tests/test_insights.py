"""Insights on local/rules: pt-BR sentiment per message (negation, intensifiers, WhatsApp spelling, repeated
letters, typos, emojis, irony), objections, satisfaction, summary, the assertiveness score's components on real
conversations, the ledger rows per feature, the cache and its erasure, the live detractor alert."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agent.adapters import adversary
from agent.br.sentiment import analyse
from agent.config import load_settings
from agent.core.session import AgentSession
from agent.insights import conversation_insights, message_emotion, session_insights

ROOT = Path(__file__).resolve().parent.parent
ELIGIBLE = "200.000.002-99"
HAPPY = ["oi", "aceito", "Maria Souza", ELIGIBLE, "julho", "sim", "quero sim"]


def session_for(base_env, **env) -> AgentSession:  # noqa: ANN001
    settings = load_settings(env={**base_env, "BURST_MODE": "false", **env}, dotenv_path=None)
    return AgentSession.new(settings)


def play(session: AgentSession, lines: list[str]) -> None:
    for line in lines:
        session.send(line)


def component(insights, name: str):  # noqa: ANN001, ANN201
    return next(c for c in insights.score.components if c.name == name)


# ---------------------------------------------------------------------- sentiment per message


@pytest.mark.parametrize("text", ["não gostei", "nao gostei nada disso", "n gostei", "não foi bom", "nunca é rápido"])
def test_negation_turns_praise_into_complaint(text: str) -> None:
    assert analyse(text).polarity < 0


@pytest.mark.parametrize("text", ["nao é ruim", "não é tão ruim assim", "sem problema", "não foi difícil"])
def test_negation_softens_a_complaint(text: str) -> None:
    assert analyse(text).polarity > 0


@pytest.mark.parametrize(("plain", "stronger"), [("ruim", "muito ruim"), ("bom", "mto bom"), ("rápido", "super rapido"),
                                                 ("bom", "bom demais"), ("chato", "bem chato")])
def test_intensifiers_make_it_stronger(plain: str, stronger: str) -> None:
    assert abs(analyse(stronger).polarity) > abs(analyse(plain).polarity) > 0


@pytest.mark.parametrize(("written", "meant"), [("pessimo atendimento", "péssimo atendimento"),
                                                ("pessimooo", "péssimo"), ("horriveeeel", "horrível"),
                                                ("pesimo", "péssimo"), ("horivel", "horrível"),
                                                ("obirgado", "obrigado"), ("muuuito bom", "muito bom"),
                                                ("vlw", "valeu"), ("brigadaaa", "obrigada")])
def test_whatsapp_spelling_repeated_letters_and_typos_read_as_the_word(written: str, meant: str) -> None:
    assert analyse(written).polarity == pytest.approx(analyse(meant).polarity)
    assert analyse(written).polarity != 0


@pytest.mark.parametrize(("text", "label"), [("😡😡", "raiva"), ("tô muito irritado 🤬", "raiva"),
                                             ("👍", "alegria"), ("obrigada 🙏", "alegria"), ("😭😭", "frustracao"),
                                             ("😰 será que cai mesmo?", "ansiedade"),
                                             ("tô preocupada, preciso muito desse dinheiro", "ansiedade")])
def test_emojis_and_feelings_get_their_label(text: str, label: str) -> None:
    assert analyse(text).label == label


@pytest.mark.parametrize("text", ["ótimo, mais uma vez sem resposta 🙄", "parabéns pela demora",
                                  "que maravilha, de novo esperando", "adorei esperar 2 horas, só que não",
                                  "obrigado por nada", "otimo atendimento sqn", "show de bola 🙄"])
def test_irony_is_a_complaint(text: str) -> None:
    reading = analyse(text)
    assert reading.irony and reading.polarity < 0 and reading.label in {"frustracao", "raiva"}


@pytest.mark.parametrize("text", ["ótimo, obrigado!", "parabéns pelo atendimento", "show, deu certo"])
def test_praise_without_a_complaint_is_no_irony(text: str) -> None:
    reading = analyse(text)
    assert not reading.irony and reading.label == "alegria"


@pytest.mark.parametrize("text", ["vou no procon", "vcs são uns ladrões", "isso é golpe!", "vou processar vocês",
                                  "PÉSSIMO ATENDIMENTO, VOCÊS SÃO LENTOS", "reclame aqui neles"])
def test_threats_insults_accusations_and_shouting_are_strongly_negative(text: str) -> None:
    assert analyse(text).strong_negative


@pytest.mark.parametrize("text", ["isso é golpe?", "tô preocupado", "é seguro?", "não gostei muito", "QUERO SABER O SALDO"])
def test_worry_and_mild_complaints_are_not_strongly_negative(text: str) -> None:
    assert not analyse(text).strong_negative


def test_names_and_data_are_not_feelings() -> None:
    for text in ["me chamo Debora Nunes", "Carlos Eduardo Lima", "cpf errado, o certo é 200.000.002-99", "julho",
                 "https://site.com/?cpf=1", "bom dia", "nao sei decorado"]:
        assert analyse(text).label in {"neutro", "duvida"}, text


def test_message_emotion_scrubs_the_excerpt() -> None:
    reading = message_emotion("péssimo, meu cpf é 200.000.002-99 😡")
    assert "200.000.002-99" not in reading.text and reading.polarity < 0 and reading.source == "lexicon"


# ---------------------------------------------------------------------- conversations on local/rules


def test_happy_path_scores_high_and_costs_two_insights_calls(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, HAPPY)
    insights = session_insights(session)
    assert insights.summary.completed and component(insights, "progress").value == 1.0
    assert component(insights, "handoff").value == 1.0 and component(insights, "correct_info").value == 1.0
    assert insights.score.score is not None and insights.score.score >= 80
    judge = component(insights, "judge")
    assert judge.value is None and "offline" in judge.why
    assert insights.satisfaction.score >= 4 and len(insights.emotions) == len(HAPPY)
    features = [r["feature_name"] for r in session.store.cost_rows(chat_id=session.chat_id, limit=1000)]
    assert features.count("Satisfação e objeções") == 1 and features.count("Resumo da conversa") == 1
    assert features.count("Analise de Emoção") == len(HAPPY) and "Score de assertividade" not in features
    assert all(c.weight > 0 for c in insights.score.components) and all(c.why for c in insights.score.components)


def test_cache_hit_adds_no_ledger_rows_and_a_new_turn_recomputes(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, ["oi", "aceito"])
    first = session_insights(session)
    rows = session.store.cost_count()
    again = conversation_insights(session.settings, session.chat_id)
    assert again.cached and not first.cached and session.store.cost_count() == rows
    assert again.score == first.score and again.emotions == first.emotions
    session.send("Maria Souza")
    assert not session_insights(session).cached and session.store.cost_count() > rows


def test_opt_out_closes_the_journey_half_way(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, ["oi", "não quero passar meus dados"])
    insights = session_insights(session)
    assert session.state.step == "optout"
    assert component(insights, "progress").value == 0.5 and not insights.summary.completed


def test_asked_handoff_and_insult_handoff_weigh_differently(base_env) -> None:  # noqa: ANN001
    asked = session_for(base_env)
    play(asked, ["oi", "quero falar com um atendente"])
    angry = session_for(base_env)
    play(angry, ["oi", "aceito", "vocês são uns ladrões, vou no procon"])
    calm, furious = session_insights(asked), session_insights(angry)
    assert component(calm, "handoff").value == 0.7 and component(furious, "handoff").value == 0.4
    assert furious.summary.handoff == "strong_negative" and calm.summary.handoff == "asked"
    assert component(furious, "tone").value < component(calm, "tone").value
    assert "com calma" in component(furious, "tone").why  # a fixed handoff message, not a model's rewrite
    assert furious.satisfaction.score <= 2 and furious.score.score < calm.score.score
    assert furious.emotions[-1].strong_negative and furious.alerts[0]["action"] == "handoff"


@pytest.mark.parametrize(("line", "category"), [("tem taxa?", "price"), ("quanto de juros vcs cobram", "price"),
                                                ("isso é golpe?", "trust"), ("é seguro mesmo?", "trust"),
                                                ("agora não, depois eu vejo", "not_now"),
                                                ("prefiro sacar no aniversário", "money_later"),
                                                ("vou fazer pelo app da Caixa", "bank_preference"),
                                                ("e se eu for demitido?", "lose_rescission")])
def test_objections_from_the_packs_trigger_phrases(base_env, line: str, category: str) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, ["oi", line])
    insights = session_insights(session, use_cache=False)
    found = {o.category: o for o in insights.objections}
    assert category in found and found[category].turn == 1 and found[category].action
    assert found[category].action in insights.summary.actions


def test_irony_lowers_satisfaction_and_is_in_the_summary(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, ["oi", "aceito", "ótimo, mais uma vez sem resposta 🙄", "parabéns pela demora"])
    insights = session_insights(session)
    assert [e.irony for e in insights.emotions][-2:] == [True, True]
    assert insights.satisfaction.score <= 2 and "ironia do cliente" in insights.satisfaction.evidence
    assert "piorou" in insights.summary.text


def test_the_contrato_pack_has_its_own_objections(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env, PACK_DIR=str(ROOT / "prompts" / "contrato"))
    play(session, ["oi", "esses juros são abusivos, não reconheço esse contrato"])
    insights = session_insights(session)
    assert {"price", "dispute"} <= {o.category for o in insights.objections}
    assert insights.pack == "contrato" and insights.score.score is not None


# ---------------------------------------------------------------------- a model on the insights role


def test_a_models_valid_answer_is_used_and_an_invalid_one_falls_back(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env, INSIGHTS_MODEL="local/adversary")
    play(session, ["oi", "aceito"])
    answer = {"satisfaction": 2, "evidence": ["cliente reclamou"], "objections": [{"category": "price",
                                                                                  "excerpt": "caro"}]}
    with adversary.scripted(session.chat_id, {"insights": json.dumps(answer)}):
        insights = session_insights(session, use_cache=False)
    assert insights.satisfaction.score == 2 and [o.category for o in insights.objections] == ["price"]
    # The same JSON is no summary: the deterministic one is kept, and the note says why.
    assert insights.summary.text.startswith("Conversa com 2") and any("validation" in n for n in insights.notes)
    with adversary.scripted(session.chat_id, {"insights": "Claro! O cliente parece satisfeito."}):
        prose = session_insights(session, use_cache=False)
    assert prose.satisfaction.score == 3 and any("invalid JSON" in n for n in prose.notes)
    wrong = {"satisfaction": 9, "evidence": [], "objections": [{"category": "weather", "excerpt": "x"}]}
    with adversary.scripted(session.chat_id, {"insights": json.dumps(wrong)}):
        assert session_insights(session, use_cache=False).satisfaction.score == 3


# ---------------------------------------------------------------------- cache table, erasure (SQLite + PostgreSQL)


def test_insights_are_cached_sealed_and_forgotten_with_the_chat(base_env, database_url) -> None:  # noqa: ANN001
    from agent.adapters.crypto import generate_key
    from agent.adapters.store import Store

    settings = load_settings(env={**base_env, "BURST_MODE": "false", "DATABASE_URL": database_url}, dotenv_path=None)
    session = AgentSession.new(settings, store=Store(database_url, keys=generate_key()))
    play(session, [*HAPPY[:4], "tem taxa? meu cpf é 200.000.002-99"])
    first = session_insights(session)
    store = session.store
    key = f"{first.models['insights']}|{first.models['judge']}"
    cached = store.chat_insights(session.chat_id, 5, key)
    assert cached is not None and cached["score"]["score"] == first.score.score
    from sqlalchemy import select

    from agent.adapters.schema import chat_insights

    with store.engine.connect() as conn:
        raw = conn.execute(select(chat_insights.c.insights)).scalars().all()
    assert raw and all("200.000.002" not in str(r) and "taxa" not in str(r) for r in raw)  # sealed
    from agent import privacy_rights

    exported = privacy_rights.export_holder(store, ELIGIBLE)["conversations"][0]["insights"]
    assert [e["turns"] for e in exported] == [5] and exported[0]["insights"]["score"] == cached["score"]
    counts = session.forget()
    assert counts["insights"] == 1 and store.chat_insights(session.chat_id, 5, key) is None
    assert store.list_chat_insights(session.chat_id) == []


# ---------------------------------------------------------------------- live detractor alert


def pack_copy(tmp_path: Path, detractor: str) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(ROOT / "prompts" / "fgts", folder, ignore=shutil.ignore_patterns("__pycache__"))
    spec = (folder / "insights.yaml").read_text(encoding="utf-8")
    start = spec.index("detractor:")
    (folder / "insights.yaml").write_text(spec[:start] + detractor, encoding="utf-8")
    return folder


def test_offer_keeps_the_agent_on_and_raises_the_alert(base_env, tmp_path) -> None:  # noqa: ANN001
    folder = pack_copy(tmp_path, "detractor: {on_strong_negative: offer, on_low_score: none}\n")
    session = session_for(base_env, PACK_DIR=str(folder))
    play(session, ["oi", "aceito"])
    result = session.send("que palhaçada, vocês são uns incompetentes")
    assert result.step_after != "handoff" and not session.state.handoff
    assert result.alert is not None and result.alert["kind"] == "strong_negative" and result.alert["action"] == "offer"
    assert result.trace.alert == result.alert
    assert session.request_handoff().step_after == "handoff"  # what the Chat page's button does


def test_a_low_running_score_hands_off_when_the_pack_says_so(base_env, tmp_path) -> None:  # noqa: ANN001
    folder = pack_copy(tmp_path, "detractor: {on_strong_negative: handoff, on_low_score: handoff, "
                                 "score_threshold: 101, min_turns: 2}\n")
    session = session_for(base_env, PACK_DIR=str(folder))
    assert session.send("oi").alert is None  # under min_turns
    result = session.send("aceito")
    assert result.alert is not None and result.alert["kind"] == "low_score" and "101" in result.alert["reason"]
    assert result.step_after == "handoff" and 40 in result.message_codes and session.state.handoff


def test_the_default_pack_only_offers_on_a_low_score(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, ["oi", "aceito", "Maria Souza"])
    replies = [m.text for m in session.messages if m.role == "agent"]
    results = [session.send(t) for t in ["que demora 😤", "pessimo isso, nao gostei nada 😭", "horrível 😞"]]
    low = [r.alert for r in results if r.alert]
    assert low and all(a["kind"] == "low_score" and a["action"] == "offer" for a in low)
    assert not session.state.handoff and replies == [m.text for m in session.messages if m.role == "agent"][:len(replies)]


# ---------------------------------------------------------------------- terminal chat


def test_terminal_chat_prints_insights_as_one_json_line(base_env, tmp_path) -> None:  # noqa: ANN001
    script = "oi\naceito\nparabéns pela demora 🙄\n/insights\n/quit\n"
    done = subprocess.run([sys.executable, "-m", "agent", "chat"], input=script, capture_output=True, text=True,
                          cwd=ROOT, env=base_env, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("{"))
    data = json.loads(line)
    assert [e["irony"] for e in data["emotions"]] == [False, False, True]
    assert {"satisfaction", "objections", "summary", "score"} <= set(data)
    assert {c["name"] for c in data["score"]["components"]} == {"progress", "correct_info", "tone", "turns",
                                                                 "handoff", "judge"}
    help_text = subprocess.run([sys.executable, "-m", "agent", "chat"], input="/help\n/quit\n", capture_output=True,
                               text=True, cwd=ROOT, env=base_env, timeout=120).stdout
    assert "/insights" in help_text


# ---------------------------------------------------------------------- the judge component (a real model's HTTP)


def judge_env(stub, model: str) -> dict[str, str]:  # noqa: ANN001
    return {"OPENAI_API_KEY": "sk-test", "MAX_RETRIES": "0", "REQUEST_TIMEOUT_SECONDS": "5",
            "JUDGE_MODEL": f"openai/{model}", "JUDGE_API_BASE": stub.url}


def test_a_judge_model_adds_its_component_and_its_ledger_row(base_env, openai_stub) -> None:  # noqa: ANN001
    session = session_for(base_env, **judge_env(openai_stub, "score"))
    play(session, ["oi", "aceito"])
    insights = session_insights(session)
    judge = component(insights, "judge")
    assert judge.value == 0.8 and "calma" in judge.why and judge.weight == 0.2
    features = [r["feature_name"] for r in session.store.cost_rows(chat_id=session.chat_id, limit=1000)]
    assert features.count("Score de assertividade") == 1
    without = [c for c in insights.score.components if c.name != "judge"]
    assert insights.score.score != round(100 * sum(c.value * c.weight for c in without)
                                         / sum(c.weight for c in without), 1)


def test_a_judge_answer_that_is_no_score_is_not_faked(base_env, openai_stub) -> None:  # noqa: ANN001
    session = session_for(base_env, **judge_env(openai_stub, "badjson"))
    play(session, ["oi"])
    insights = session_insights(session)
    judge = component(insights, "judge")
    assert judge.value is None and "válida" in judge.why and openai_stub.calls["badjson"] == 2
    assert any("invalid JSON (attempt 2)" in n for n in insights.notes)


def test_without_model_calls_nothing_is_paid_and_the_cache_can_be_read_alone(base_env) -> None:  # noqa: ANN001
    from agent.insights import cached_insights

    session = session_for(base_env)
    play(session, ["oi", "aceito", "tem taxa?"])
    rows = session.store.cost_count()
    free = conversation_insights(session.settings, session.chat_id, model_calls=False)
    assert session.store.cost_count() == rows and cached_insights(session.settings, session.chat_id) is None
    assert [o.category for o in free.objections] == ["price"] and component(free, "judge").value is None
    paid = session_insights(session)
    assert cached_insights(session.settings, session.chat_id) == replace(paid, cached=True)
    assert free.score.score == paid.score.score and free.emotions == paid.emotions  # local/rules: the same reading


def test_everyday_words_raise_no_objection(base_env) -> None:  # noqa: ANN001
    session = session_for(base_env)
    play(session, ["oi", "cara, quanto tempo depois cai o dinheiro?", "quero de verdade antecipar"])
    assert session_insights(session).objections == ()


def test_a_handoff_on_the_first_message_is_not_journey_progress(settings) -> None:  # noqa: ANN001
    from agent.core.session import AgentSession
    from agent.insights import session_insights

    session = AgentSession.new(settings.with_changes(burst_mode=False))
    session.send("oi")
    session.send("que porcaria, ninguém responde 😡")
    assert session.state.step == "handoff"
    progress = next(c for c in session_insights(session).score.components if c.name == "progress")
    assert progress.value is not None and progress.value < 0.5, progress


def test_a_message_is_read_once_per_lexicon_and_reads_as_a_fresh_reading() -> None:
    from agent.br import sentiment

    text = "que absurdo, vou no procon 😡"
    first = sentiment.analyse(text)
    assert sentiment.analyse(text) is first  # kept by digest
    assert first == sentiment._analyse(text, sentiment.load_lexicon())
    other = sentiment.load_lexicon.__wrapped__()  # another lexicon object: read again with it
    again = sentiment.analyse(text, other)
    assert again is not first and again == first
    assert all(isinstance(key, bytes) for key in sentiment._READ)  # never the customer's words
