"""Helpers the pages share to show the agent's text (not a page: app.py lists the pages explicitly).

UI-only formatting lives here, not in ``agent/``: the agent knows nothing about Markdown or HTML views.
"""

from __future__ import annotations

import html
import re

from agent import placeholders

_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
# Every "$…" run that could be a placeholder; agent.placeholders decides which ones are (the agent
# owns the template syntax: "$$", "R$ 500", "${name}").
_DOLLAR = re.compile(r"\$(?:\$|\{[^}$\s]*\}|[A-Za-z0-9_]*)")


def whatsapp_markdown(text: str) -> str:
    """WhatsApp text → Markdown: ``*bold*`` → ``**bold**``, ``~strike~`` → ``~~strike~~``, line breaks kept.

    ``_italic_`` is the same in both; a lone ``*`` (``2 * 3``) is left alone.
    """
    text = _BOLD.sub(r"**\1**", text)
    text = _STRIKE.sub(r"~~\1~~", text)
    return text.replace("\n", "  \n")


def highlight_variables(text: str, known: set[str] | frozenset[str] = frozenset(),
                        globals_: set[str] | frozenset[str] = frozenset()) -> str:
    """HTML of ``text`` with each ``$var`` in a span: class ``var-global``, ``var`` or ``var-missing``."""
    out: list[str] = []
    last = 0
    for match in _DOLLAR.finditer(text):
        token = match.group(0)
        names = placeholders(token)
        if not names:
            continue
        name = names[0]
        css = "var-global" if name in globals_ else ("var" if not known or name in known else "var-missing")
        out.append(html.escape(text[last:match.start()], quote=False))
        out.append(f'<span class="{css}">{html.escape(token, quote=False)}</span>')
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)
