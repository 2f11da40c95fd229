"""Synthetic Brazilian names for pseudonymised datasets (the fine-tuning export): common first names and
surnames, none tied to a real customer. A name is picked from an HMAC of the real one, so the same real
name gets the same synthetic one under one key."""

from __future__ import annotations

import hashlib
import hmac

FEMALE_NAMES: tuple[str, ...] = (
    "Ana", "Beatriz", "Camila", "Daniela", "Eduarda", "Fernanda", "Gabriela", "Helena", "Isabela", "Juliana",
    "Larissa", "Luana", "Natália", "Patrícia", "Renata", "Sofia", "Tatiane", "Vanessa",
)
MALE_NAMES: tuple[str, ...] = (
    "André", "Bruno", "Carlos", "Diego", "Eduardo", "Felipe", "Gustavo", "Henrique", "Igor", "Leonardo",
    "Marcelo", "Rafael", "Rodrigo", "Thiago", "Vinícius", "Otávio",
)
FIRST_NAMES: tuple[str, ...] = FEMALE_NAMES + MALE_NAMES
SURNAMES: tuple[str, ...] = (
    "Almeida", "Barbosa", "Cardoso", "Castro", "Correia", "Dias", "Duarte", "Farias", "Freitas", "Gomes",
    "Lacerda", "Macedo", "Martins", "Medeiros", "Moreira", "Nogueira", "Pereira", "Pinto", "Ramos",
    "Rezende", "Rocha", "Sampaio", "Teixeira", "Vasconcelos", "Vieira",
)


def _pick(options: tuple[str, ...], key: bytes, label: str, avoid: str) -> str:
    digest = hmac.new(key, label.encode("utf-8"), hashlib.sha256).digest()
    choice = options[int.from_bytes(digest[:4], "big") % len(options)]
    if choice.lower() == avoid.lower():  # never the real word itself
        choice = options[(options.index(choice) + 1) % len(options)]
    return choice


def synthetic_name(real: str, key: bytes) -> list[str]:
    """One synthetic word per word of ``real`` (the first a first name of the same likely gender, the others
    surnames); connectors ("da", "dos"…) are kept."""
    words = real.split()
    out = []
    for i, word in enumerate(words):
        if word.lower() in {"da", "de", "do", "das", "dos", "e"}:
            out.append(word)
            continue
        # A first name ending in "a" is most often a woman's in Portuguese (Maria, Ana, Josefa): the agent's
        # replies may agree with it ("bem-vinda"), so the synthetic one keeps it.
        options = (FEMALE_NAMES if word.lower().endswith("a") else MALE_NAMES) if i == 0 else SURNAMES
        out.append(_pick(options, key, f"{i}:{word.lower()}", word))
    return out
