"""No repeated text: the engine rule (steps.without_repeats + the packs' short_codes), the ``repeats``
scorer (``not-repeats`` on every golden customer turn by default) and the bad-text entries that must
never leave a message stuck in the queue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.core.session import AgentSession
from agent.text import repeated_sentences, sentences, without_sentences
from evals.cases import golden_text, parse_case, parse_yaml
from evals.scorers import TurnObservation, evaluate

ROOT = Path(__file__).resolve().parent.parent


def new_session(base_env, database_url: str | None = None) -> AgentSession:  # noqa: ANN001
    env = {**base_env, "BURST_MODE": "false"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return AgentSession.new(load_settings(env=env, dotenv_path=None))


# ---------------------------------------------------------------- the sentence rule


def test_sentences_normalise_markup_and_skip_short_ones() -> None:
    assert sentences("Olá! Responda *sim*   ou _não_, por favor.\nOk.") == ["responda sim ou não, por favor."]
    assert sentences("Prazer, Maria! Tudo certo?") == []  # short sentences may come back


def test_sentences_are_kept_per_text_and_each_caller_gets_its_own_list() -> None:
    from agent import text as text_module

    message = "Para começar, qual é o seu *nome* completo? Depois eu peço o CPF, tudo bem?"
    first = sentences(message)
    first.append("changed by a caller")
    assert sentences(message) == text_module._sentences(message) == first[:-1]
    assert all(isinstance(key, bytes) for key in text_module._SENTENCES)  # digests, never the messages


def test_repeated_sentences_against_the_previous_message_and_within_the_turn() -> None:
    previous = ["Para começar, qual é o seu nome completo?"]
    assert repeated_sentences(["De nada! 😊", "Para começar,  qual é o seu *nome* completo?"], previous) == [
        "para começar, qual é o seu nome completo?"]
    assert repeated_sentences(["Quer que eu tente de novo agora?", "Quer que eu tente de novo agora?"], []) == [
        "quer que eu tente de novo agora?"]
    assert repeated_sentences(["Olá!", "Olá!"], ["Olá!"]) == []


def test_without_sentences_keeps_the_rest_of_the_lines() -> None:
    text = "Vamos conferir antes de consultar:\n• Nome: Ana\n\nEstá tudo certo? Responda sim ou não agora."
    drop = {"vamos conferir antes de consultar:", "responda sim ou não agora."}
    assert without_sentences(text, drop) == "• Nome: Ana\n\nEstá tudo certo?"


# ---------------------------------------------------------------- the scorer and the golden default


def _obs(replies: list[str], previous: list[str]) -> TurnObservation:
    return TurnObservation(index=1, label="x", replies=replies, previous_replies=previous)


def test_repeats_scorer_sentences() -> None:
    ok = evaluate("not-repeats", True, _obs(["E o seu CPF, Maria? Pode mandar só os números."],
                                             ["Prazer, Maria! Agora me informe o seu CPF, por favor."]))
    assert ok.passed
    bad = evaluate("not-repeats", True, _obs(["Prazer, Maria! Agora me informe o seu CPF, por favor."],
                                              ["Prazer, Maria! Agora me informe o seu CPF, por favor."]))
    assert not bad.passed and 'repeated "agora me informe o seu cpf, por favor."' in bad.reason
    assert evaluate("repeats", True, _obs(["a b c d e."], ["A  b c d *e*."])).passed


def test_repeats_scorer_triple_line_breaks() -> None:
    result = evaluate("not-repeats", True, _obs(["Obrigada!\n\n\nPara começar, qual é o seu nome?"], []))
    assert not result.passed and "triple line break" in result.reason


def test_every_customer_turn_checks_not_repeats_unless_it_opts_out() -> None:
    case = parse_case(parse_yaml("""
id: x
turns:
  - customer: oi
  - customer: sim
    expect: {step: optin}
  - customer: de novo
    # opting out: this turn repeats on purpose (say why)
    expect: {not-repeats: false}
  - event: idle
    hours: 25
"""))
    names = [[e.name for e in t.expect] for t in case.turns]
    assert names == [["not-repeats"], ["step", "not-repeats"], [], []]
    from evals.cases import dump_case
    assert "repeats" not in dump_case(case)  # the default is not written back


def test_golden_files_load_whatever_the_bytes() -> None:
    raw = b'\xef\xbb\xbfid: x\nturns:\n  - customer: "oi\\x00 \\udc80sim"\x01\n  - \xff\xfeaceito\n'
    case = parse_case(parse_yaml(golden_text(raw)))
    assert case.turns[0].messages[0].text == "oi\x00 \udc80sim"  # escapes reach the agent, which cleans them
    assert case.turns[1].messages[0].text.endswith("aceito")


# ---------------------------------------------------------------- the engine


def test_detours_use_short_forms_and_never_the_long_one_again(base_env) -> None:  # noqa: ANN001
    session = new_session(base_env)
    for text in ("oi", "aceito"):
        session.send(text)
    first = session.send("Maria Souza")
    assert first is not None and "Prazer, Maria" in first.replies[-1].text
    previous = [m.text for m in first.replies]
    for detour in ("quanto custa?", "vc é robô?", "como funciona o saque-aniversário?", "valeu"):
        result = session.send(detour)
        assert result is not None and result.step_after == "collect_data"
        texts = [m.text for m in result.replies]
        assert "Prazer" not in "\n".join(texts) and "CPF" in texts[-1], texts
        assert repeated_sentences(texts, previous) == [], texts
        previous = texts


def test_a_bad_byte_never_stays_stuck_in_the_queue(base_env, database_url) -> None:  # noqa: ANN001
    session = new_session(base_env, database_url)
    session.send("oi")
    result = session.send("\udcff\udcfe aceito\x00")
    assert result is not None and result.step_after == "collect_data" and session.save_error is None
    session.send("Maria\x00 Souza\x1b[0m")
    assert session.save_error is None and not session._unsaved
    stored = [row["text"] for row in session.store.list_messages(session.chat_id) if row["role"] == "customer"]
    assert stored == ["oi", "aceito", "Maria Souza"]


def test_a_message_of_nothing_but_garbage_is_still_answered(base_env) -> None:  # noqa: ANN001
    session = new_session(base_env)
    session.send("oi")
    result = session.send("\x00\x01\udcff")
    assert result is not None and result.replies and result.step_after == "optin"


@pytest.mark.parametrize("env_extra", [{}, {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}])
def test_cli_survives_invalid_utf8(base_env, env_extra) -> None:  # noqa: ANN001
    stdin = b"oi\n\xff\xfe aceito\nMaria Souza\n/state\n"
    result = subprocess.run([sys.executable, "-m", "agent", "chat"], input=stdin, capture_output=True,
                            cwd=ROOT, env={**base_env, "PYTHONPATH": str(ROOT), **env_extra}, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = result.stdout.decode()
    assert '"step": "collect_data"' in out and '"name": "Maria Souza"' in out
    assert "[erro]" not in result.stderr.decode(errors="replace")


def test_a_models_rewrite_drops_what_the_previous_message_said() -> None:
    from types import SimpleNamespace

    from agent.core.steps import unrepeated
    from agent.types import Message

    ts = SimpleNamespace(history=[Message("customer", "oi"),
                                  Message("agent", "Para começar, qual é o seu nome completo?")], notes=[])
    replies = unrepeated(ts, ["Sem problema, é rapidinho!\n\n\n\nPara começar, qual é o seu nome completo?"])
    assert replies == ["Sem problema, é rapidinho!"] and ts.notes
    # Nothing but the repeat: the reply stays (never silent), only its blank lines are tidied.
    assert unrepeated(ts, ["Para começar, qual é o seu nome completo?"]) == ["Para começar, qual é o seu nome completo?"]
