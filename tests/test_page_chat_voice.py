"""A voice note in the Chat page (issue 12: its bubble showed the transcript twice)."""

from __future__ import annotations

from test_page_chat import MEDIA, open_chat, say, settle


def test_a_voice_note_shows_its_transcript_once(app_env) -> None:
    at = say(open_chat(), "oi")
    settle(at.chat_input[0].upload("saque.ogg", (MEDIA / "saque.ogg").read_bytes(), "audio/ogg").run(), timeout=120)
    bubble = [m for m in at.chat_message if m.name == "user"][-1]
    texts = [md.value.lower() for md in bubble.markdown]
    assert sum("saque" in text for text in texts) == 1, texts  # the quoted transcript under the note only
    assert any("saque.ogg" in c.value for c in bubble.caption)


def test_a_caption_with_a_voice_note_is_kept(app_env) -> None:
    at = say(open_chat(), "oi")
    box = at.chat_input[0]
    box.upload("saque.ogg", (MEDIA / "saque.ogg").read_bytes(), "audio/ogg")
    settle(box.set_value("escuta isso").run(), timeout=120)
    bubble = [m for m in at.chat_message if m.name == "user"][-1]
    texts = [md.value.lower() for md in bubble.markdown]
    assert any("escuta isso" in text for text in texts) and sum("saque" in text for text in texts) == 1, texts


def test_a_blank_submit_starts_no_empty_conversation(app_env) -> None:
    """A submit with nothing to send (blank text) leaves no empty chat behind in Past conversations
    (issue 12: orphan empty chat rows); the first real message starts the conversation."""
    from agent import list_conversations
    from agent.config import load_settings
    from test_page_chat import open_chat

    at = open_chat()
    settle(at.chat_input[0].set_value("   ").run())
    assert "chat_id" not in at.session_state
    assert list_conversations(load_settings(), sources=None) == []
    settle(say(at, "oi"))
    assert len(list_conversations(load_settings())) == 1
