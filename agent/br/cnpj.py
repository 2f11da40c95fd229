"""CNPJ (company registry number): check digits, formatting and masking.

14 digits, ``00.000.000/0000-00``: 8 of the company, 4 of the branch (``0001`` is the head office) and
two mod-11 check digits.
"""

from __future__ import annotations

import re

from agent.br.cpf import MASK_CHAR, digits

_WEIGHTS_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_WEIGHTS_2 = (6, *_WEIGHTS_1)

# Formatted (with the "/" of the branch) or 14 bare digits.
# ``(?<![\d/.])(?:\d{2}\.?\d{3}\.?\d{3}/\d{4}-?\d{2}|\d{14})(?![\d/])`` with its first digit before the look-behind:
# the regex engine skips to digits instead of trying every position of a long text. Same matches.
CNPJ_IN_TEXT = re.compile(r"\d(?<![\d/.]\d)(?:\d\.?\d{3}\.?\d{3}/\d{4}-?\d{2}|\d{13})(?![\d/])")


def _check_digit(numbers: str, weights: tuple[int, ...]) -> int:
    rest = sum(int(d) * w for d, w in zip(numbers, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def complete(base12: str) -> str:
    """The 14-digit CNPJ formed by twelve base digits and their check digits."""
    base = digits(base12)
    if len(base) != 12:
        raise ValueError("a CNPJ base has 12 digits")
    first = _check_digit(base, _WEIGHTS_1)
    return f"{base}{first}{_check_digit(base + str(first), _WEIGHTS_2)}"


def is_valid(value: str) -> bool:
    """True when ``value`` holds 14 digits with correct check digits (repeated digits rejected)."""
    number = digits(value)
    return len(number) == 14 and number != number[0] * 14 and complete(number[:12]) == number


def format_cnpj(value: str) -> str:
    """14 digits as ``00.000.000/0000-00``."""
    n = digits(value)
    return f"{n[:2]}.{n[2:5]}.{n[5:8]}/{n[8:12]}-{n[12:]}" if len(n) == 14 else value


def mask(value: str) -> str:
    """``11.222.333/0001-81`` → ``••.•••.333/0001-••`` (the branch and three digits stay, like a masked CPF)."""
    n = digits(value)
    if len(n) != 14:
        return MASK_CHAR * 3
    return f"{MASK_CHAR * 2}.{MASK_CHAR * 3}.{n[5:8]}/{n[8:12]}-{MASK_CHAR * 2}"
