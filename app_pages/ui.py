"""Helpers the pages share to show the agent's text (not a page: app.py lists the pages explicitly).

UI-only formatting lives here, not in ``agent/``: the agent knows nothing about Markdown or HTML views.
"""

from __future__ import annotations

import html
import re

from agent import placeholders

# WhatsApp's own markers: a marker next to a non-space inside, not inside a word outside.
_SPAN = re.compile(r"(?<![\w*])\*(?!\s)(?P<b>[^*\n]+?)(?<!\s)\*(?![\w*])"
                   r"|(?<![\w_])_(?!\s)(?P<i>[^_\n]+?)(?<!\s)_(?![\w_])"
                   r"|(?<![\w~])~(?!\s)(?P<s>[^~\n]+?)(?<!\s)~(?![\w~])")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>]+[^\s<>.,;:!?)\]'\"]")
# What Markdown (and Streamlit: "$…$" is LaTeX) would read as syntax in plain text.
_MD_SPECIAL = re.compile(r"([\\`*_~$\[\]])")
_HEADING = re.compile(r"^(\s*)#", re.M)
# Every "$…" run that could be a placeholder; agent.placeholders decides which ones are (the agent
# owns the template syntax: "$$", "R$ 500", "${name}").
_DOLLAR = re.compile(r"\$(?:\$|\{[^}$\s]*\}|[A-Za-z0-9_]*)")


def _escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _spans(text: str) -> str:
    out, last = [], 0
    for match in _SPAN.finditer(text):
        out.append(_escape(text[last:match.start()]))
        kind = match.lastgroup or "b"
        body = _escape(match.group(kind))
        out.append({"b": f"**{body}**", "i": f"_{body}_", "s": f"~~{body}~~"}[kind])
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def whatsapp_markdown(text: str) -> str:
    """WhatsApp text → Markdown, shown as WhatsApp shows it: ``*bold*`` → ``**bold**``, ``_italic_``,
    ``~strike~`` → ``~~strike~~``, line breaks kept. Everything else is literal: a lone ``*``
    (``2 * 3``), masked values (``•••.602.846-••``, an old ``***.602.846-**``), ``snake_case`` in an
    e-mail, ``R$`` amounts (Streamlit would read ``$…$`` as LaTeX), a ``#`` opening a line; URLs as typed.
    """
    out, last = [], 0
    for url in _URL.finditer(text):
        out.append(_spans(text[last:url.start()]))
        out.append(url.group(0))
        last = url.end()
    out.append(_spans(text[last:]))
    return _HEADING.sub(r"\1\\#", "".join(out)).replace("\n", "  \n")


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
