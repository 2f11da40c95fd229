"""WhatsApp → Markdown for the chat and compare pages."""

from __future__ import annotations

from agent.display import whatsapp_markdown


def test_whatsapp_markdown() -> None:
    assert whatsapp_markdown("Responda *sim* ou _não_\n• *Nome*: 2 * 3") == (
        "Responda **sim** ou _não_  \n• **Nome**: 2 * 3")
    assert whatsapp_markdown("~errado~") == "~~errado~~"
