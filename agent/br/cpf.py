"""CPF handling: normalisation, check-digit validation, formatting and masking.

A CPF has 11 digits; the last two are mod-11 check digits. We validate before any API call
so a typo never reaches the consultation API.
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D")


def digits(value: str) -> str:
    """Keep only the digits of ``value``."""
    return _NON_DIGITS.sub("", value or "")


def _check_digit(numbers: str) -> int:
    weight = len(numbers) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(numbers))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def is_valid(value: str) -> bool:
    """True when ``value`` holds 11 digits with correct check digits (repeated digits rejected)."""
    number = digits(value)
    if len(number) != 11 or number == number[0] * 11:
        return False
    first = _check_digit(number[:9])
    second = _check_digit(number[:9] + str(first))
    return number[9:] == f"{first}{second}"


def complete(base9: str) -> str:
    """Return the 11-digit CPF formed by nine base digits and their check digits."""
    base = digits(base9)
    if len(base) != 9:
        raise ValueError("a CPF base has 9 digits")
    first = _check_digit(base)
    return f"{base}{first}{_check_digit(base + str(first))}"


def format_cpf(value: str) -> str:
    """Format 11 digits as ``000.000.000-00``."""
    n = digits(value)
    return f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}" if len(n) == 11 else value


def mask(value: str) -> str:
    """Mask a CPF for logs and traces: ``***.602.846-**`` (the deck's example keeps the middle)."""
    n = digits(value)
    if len(n) != 11:
        return "***"
    return f"***.{n[3:6]}.{n[6:9]}-**"


_CPF_IN_TEXT = re.compile(r"(?<!\d)(\d{3})[.\s]?(\d{3})[.\s]?(\d{3})[-.\s/]?(\d{2})(?!\d)")


def mask_in_text(text: str) -> str:
    """Mask every CPF-looking number inside free text."""
    return _CPF_IN_TEXT.sub(lambda m: mask("".join(m.groups())), text or "")
