"""CPF handling: normalisation, check-digit validation, formatting and masking.

A CPF has 11 digits; the last two are mod-11 check digits. We validate before any API call
so a typo never reaches the consultation API.
"""

from __future__ import annotations

import re
from typing import Any

from agent.br.spoken import words_to_digits

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


# The masking character: "•" is plain text everywhere. "*" is not: WhatsApp and Markdown read
# "***.602.846-**" as bold/italic markers and show fragments of it in bold.
MASK_CHAR = "•"
MASKED = MASK_CHAR * 3


def is_masked(value: Any) -> bool:
    """True when ``value`` is already masked (the current form or the older ``***`` one)."""
    return MASK_CHAR in str(value) or "*" in str(value)


def mask(value: str) -> str:
    """Mask a CPF for logs, traces and replies: ``•••.602.846-••`` (the deck's example keeps the middle)."""
    n = digits(value)
    if len(n) != 11:
        return MASKED
    return f"{MASKED}.{n[3:6]}.{n[6:9]}-{MASK_CHAR * 2}"


_CPF_IN_TEXT = re.compile(r"(?<!\d)(\d{3})[.\s]?(\d{3})[.\s]?(\d{3})[-.\s/]?(\d{2})(?!\d)")


def mask_in_text(text: str) -> str:
    """Mask every CPF-looking number inside free text."""
    return _CPF_IN_TEXT.sub(lambda m: mask("".join(m.groups())), text or "")


class InvalidCpf(ValueError):
    """A CPF that fails a check; ``reason`` is ``length`` or ``check_digits``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse(value: Any) -> str | None:
    """The 11 digits of a CPF as typed or dictated ("zero sete três…"); None when nothing CPF-like is
    there; ``InvalidCpf`` when it has the wrong length or check digits. A pack's attribute validator."""
    number = digits(words_to_digits(str(value)))
    if not number:
        return None
    if len(number) != 11:
        raise InvalidCpf("length")
    if not is_valid(number):
        raise InvalidCpf("check_digits")
    return number


def mask_any(value: Any) -> str:
    """``mask`` for 11 digits, ``•••`` for anything else (a rejected attempt is never shown in clear)."""
    number = digits(str(value))
    return mask(number) if len(number) == 11 else MASKED


def checked_digits(value: Any) -> tuple[str, str | None]:
    """The digits of ``value`` and, when they are not a valid CPF, the sentence that says what to ask the
    customer (for a tool's argument check: a model's CPF is checked before any API call)."""
    number = digits(str(value))
    if len(number) != 11:
        return number, f"CPF must have 11 digits, got {len(number)}: ask the customer to type it again"
    if not is_valid(number):
        return number, "CPF check digits do not match: ask the customer to check the number"
    return number, None
