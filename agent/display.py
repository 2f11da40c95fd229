"""Small text helpers for showing the agent's WhatsApp-formatted replies in Markdown UIs."""

from __future__ import annotations

import re

_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")


def whatsapp_markdown(text: str) -> str:
    """WhatsApp text → Markdown: ``*bold*`` → ``**bold**``, ``~strike~`` → ``~~strike~~``, line breaks kept.

    ``_italic_`` is the same in both; a lone ``*`` (``2 * 3``) is left alone.
    """
    text = _BOLD.sub(r"**\1**", text)
    text = _STRIKE.sub(r"~~\1~~", text)
    return text.replace("\n", "  \n")
