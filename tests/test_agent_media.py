"""Voice notes and photos inside the journey (offline: faster-whisper + Tesseract)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.core.session import AgentSession
from agent.types import Attachment

MEDIA = Path(__file__).parent / "fixtures" / "media"
needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="tesseract-ocr not installed (scripts/install_system_deps.sh)")


def attachment(name: str) -> Attachment:
    kind = "image" if name.endswith((".png", ".jpg")) else "audio"
    return Attachment(kind=kind, filename=name, data=(MEDIA / name).read_bytes())  # type: ignore[arg-type]


def session_at_collect(base_env, **env) -> AgentSession:
    settings = load_settings(env={**base_env, "BURST_MODE": "false", **env}, dotenv_path=None)
    session = AgentSession.new(settings)
    session.send("oi")
    session.send("aceito")
    return session


def test_voice_note_starts_the_journey(base_env) -> None:
    settings = load_settings(env={**base_env, "BURST_MODE": "false"}, dotenv_path=None)
    session = AgentSession.new(settings)
    result = session.send("", [attachment("saque.ogg")])
    assert "saque" in result.customer_text.lower()
    assert result.step_after == "optin" and result.replies
    media = result.trace.media[0]
    assert media["kind"] == "audio" and media["model"] == "local/whisper" and media["seconds"] > 3
    customer = [m for m in session.messages if m.role == "customer"][-1]
    assert customer.source == "audio" and customer.meta["media"][0]["text"]
    rows = session.store.cost_rows(chat_id=session.chat_id)
    stt = [r for r in rows if r["feature_name"] == "Transcrição de áudio"]
    assert len(stt) == 1 and stt[0]["audio_seconds"] > 3 and stt[0]["price"] == 0


@needs_tesseract
def test_photo_of_cpf_document_fills_the_data(base_env) -> None:
    session = session_at_collect(base_env)
    result = session.send("", [attachment("cpf_document.jpg")])
    assert "•••.602.846-••" in result.customer_text and "073.602.846-35" not in result.customer_text  # scrubbed
    assert result.attributes["cpf"] == "•••.602.846-••"
    assert result.attributes.get("birth_month") == 3
    assert result.trace.media[0]["model"] == "local/tesseract"


def test_audio_and_two_texts_in_one_burst_make_one_turn(base_env) -> None:
    settings = load_settings(env={**base_env, "BURST_MODE": "true", "BURST_WINDOW_SECONDS": "5"}, dotenv_path=None)
    session = AgentSession.new(settings)
    assert session.send("oi", now=10.0) is None
    assert session.send("", [attachment("saque.wav")], now=11.0) is None
    assert session.send("pode me ajudar?", now=12.0) is None
    result = session.flush(now=20.0)
    assert result is not None and len(result.replies) == 1
    assert [c.feature for c in result.trace.calls].count("Classificação de jornada") == 1
    assert result.customer_text.startswith("oi\n") and "saque" in result.customer_text.lower()


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("nota.ogg", b"", "vazio"),
    ("nota.ogg", b"OggS" + b"\x00garbage" * 50, "enviar de novo"),
    ("foto.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "enviar de novo"),
])
def test_bad_media_gets_a_clear_reply_and_the_conversation_goes_on(base_env, name, data, expected) -> None:
    session = session_at_collect(base_env)
    kind = "image" if name.endswith(".png") else "audio"
    result = session.send("", [Attachment(kind=kind, filename=name, data=data)])  # type: ignore[arg-type]
    assert result.replies and expected in result.text.lower()
    assert result.trace.media[0]["error"]  # operator-facing reason
    assert result.step_after == "collect_data"
    assert session.send("Maria Souza").attributes["name"] == "Maria Souza"


@needs_tesseract
def test_image_with_no_text(base_env) -> None:
    session = session_at_collect(base_env)
    result = session.send("", [attachment("blank.png")])
    assert result.replies and result.trace.media[0]["code"]


def test_media_status_reports_engines(base_env) -> None:
    from agent import media_status

    settings = load_settings(env=base_env, dotenv_path=None)
    status = {s.role: s for s in media_status(settings)}
    assert status["transcription"].ready
    if shutil.which("tesseract"):
        assert status["vision"].ready and "Tesseract" in status["vision"].detail
    else:
        assert not status["vision"].ready and "apt-get install" in status["vision"].detail
