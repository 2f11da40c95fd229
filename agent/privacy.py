"""Personal data in free text: found and masked before it is stored, logged or shown.

Today: Brazilian CPFs (``***.602.846-**``) and e-mail addresses (``ma***@gmail.com``). One place, so
every writer (traces, messages, media transcripts, reports) masks the same way and a new detector
reaches all of them.
"""

from __future__ import annotations

from agent.br import email
from agent.br.cpf import mask_in_text


def mask_pii(text: str) -> str:
    """``text`` with every personal identifier masked."""
    return email.mask_in_text(mask_in_text(text))
