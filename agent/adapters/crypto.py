"""Encryption at rest: Fernet tokens for the customer's text, the journey state and the traces.

``CONVERSA_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated: the first encrypts, any of
them decrypts (``MultiFernet``), so a key is rotated by putting the new one first, running
``python -m agent keys rotate`` and then dropping the old one. A value is stored as
``enc:v1:<token>`` (a text column, or a JSON string in a JSON column); anything without that prefix is
a clear row (written before a key was set) and reads as it is. No key: every value is stored in clear.

The chat's journey state keeps its step in clear next to the token (``{"step": …, "enc": "enc:v1:…"}``):
the Costs page filters and groups chats by step in SQL, and a step name is the journey's, not the
customer's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from agent.errors import ConfigError, StoreError

KEY_ENV = "CONVERSA_ENCRYPTION_KEY"
PREFIX = "enc:v1:"
# Every Fernet token starts with its version byte (0x80) and a 64-bit timestamp whose top bytes are
# zero until 2106: base64url "gAAAAA". A clear text that merely starts with the prefix is not a token.
_TOKEN_START = "gAAAAA"
STATE_TOKEN = "enc"  # the key of the sealed journey state in chats.state


class EncryptionKeyError(ConfigError):
    """``CONVERSA_ENCRYPTION_KEY`` is not a list of Fernet keys."""


class DecryptionError(StoreError):
    """A stored value is encrypted but no configured key opens it."""


@dataclass(frozen=True)
class Cipher:
    """The configured keys: ``primary`` encrypts, ``keys`` (MultiFernet) decrypt."""

    primary: Fernet
    keys: MultiFernet
    count: int

    @classmethod
    def from_keys(cls, raw: str | None) -> Cipher | None:
        """The cipher for a comma-separated key list; None when it is empty. Raises EncryptionKeyError."""
        parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
        if not parts:
            return None
        fernets: list[Fernet] = []
        for index, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part.encode("ascii")))
            except (ValueError, UnicodeEncodeError) as exc:
                which = f"key {index} of {len(parts)}" if len(parts) > 1 else "the key"
                raise EncryptionKeyError(
                    f"{KEY_ENV}: {which} is not a Fernet key (44 characters of url-safe base64, 32 bytes). "
                    "Generate one with `python -m agent keys generate`; several keys are separated by commas, "
                    "the newest first.") from exc
        return cls(primary=fernets[0], keys=MultiFernet(fernets), count=len(fernets))

    def encrypt(self, text: str) -> str:
        """``enc:v1:<token>`` for a text."""
        return PREFIX + self.primary.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str, where: str = "a stored value") -> str:
        """The text of an ``enc:v1:`` value. Raises DecryptionError when no key opens it."""
        try:
            return self.keys.decrypt(value[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise DecryptionError(
                f"{where} is encrypted with a key that is not in {KEY_ENV}: put the key it was written with "
                "back in the list (after the current one).") from exc

    def is_current(self, value: str) -> bool:
        """True when an ``enc:v1:`` value was encrypted with the first (current) key."""
        try:
            self.primary.decrypt(value[len(PREFIX):].encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, value: str, where: str = "a stored value") -> str:
        """The same text encrypted with the current key (decrypted with any)."""
        try:
            return PREFIX + self.keys.rotate(value[len(PREFIX):].encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise DecryptionError(
                f"{where} is encrypted with a key that is not in {KEY_ENV}: keep the old key in the list "
                "(after the new one) until `python -m agent keys rotate` has finished.") from exc


def generate_key() -> str:
    """A new random Fernet key (for ``.env``)."""
    return Fernet.generate_key().decode("ascii")


def is_sealed(value: Any) -> bool:
    """True for an ``enc:v1:`` token (a clear text that only starts with the prefix is not one)."""
    return isinstance(value, str) and value.startswith(PREFIX) and value[len(PREFIX):].startswith(_TOKEN_START)


def _no_key(where: str) -> DecryptionError:
    return DecryptionError(f"{where} is encrypted but {KEY_ENV} is not set: add the key it was written with "
                           "to .env (or the environment) and restart.")


# ---------------------------------------------------------------- values, with or without a cipher


def seal_text(cipher: Cipher | None, text: str) -> str:
    """A text column's stored form: encrypted with a key, as is without one (or when empty)."""
    if cipher is None or not text:
        return text
    return cipher.encrypt(text)


def open_text(cipher: Cipher | None, value: Any, where: str = "a stored text") -> Any:
    """A text column's value: decrypted when sealed, as is when clear (rows from before the key)."""
    if not is_sealed(value):
        return value
    if cipher is None:
        raise _no_key(where)
    return cipher.decrypt(value, where)


def seal_json(cipher: Cipher | None, value: Any) -> Any:
    """A JSON column's stored form: a sealed JSON string with a key; empty values (None, {}, []) as is."""
    if cipher is None or not value:
        return value
    return cipher.encrypt(json.dumps(value, ensure_ascii=False, default=str))


def open_json(cipher: Cipher | None, value: Any, where: str = "a stored value") -> Any:
    """A JSON column's value: the decoded JSON when sealed, as is when clear."""
    if not is_sealed(value):
        return value
    if cipher is None:
        raise _no_key(where)
    return json.loads(cipher.decrypt(value, where))


def seal_state(cipher: Cipher | None, state: Mapping[str, Any] | None) -> Any:
    """``chats.state``: ``{"step": …, "enc": "enc:v1:…"}`` with a key (the step stays queryable)."""
    if cipher is None or not state:
        return dict(state) if state is not None else None
    return {"step": state.get("step"), STATE_TOKEN: seal_json(cipher, dict(state))}


def open_state(cipher: Cipher | None, value: Any, where: str = "a chat's state") -> Any:
    """``chats.state`` as the journey wrote it, from either stored form."""
    if isinstance(value, Mapping) and is_sealed(value.get(STATE_TOKEN)):
        return open_json(cipher, value[STATE_TOKEN], where)
    return value


# ---------------------------------------------------------------- where the key comes from


def key_from_environment(dotenv_path: Path | None = None) -> str:
    """``CONVERSA_ENCRYPTION_KEY`` from the process environment, else from ``.env`` (the project's)."""
    if KEY_ENV in os.environ:
        return os.environ[KEY_ENV]
    if dotenv_path is None:
        from agent.config import PROJECT_ROOT

        dotenv_path = PROJECT_ROOT / ".env"
    if not dotenv_path.exists():
        return ""
    from dotenv import dotenv_values

    return dotenv_values(dotenv_path).get(KEY_ENV) or ""


def default_cipher() -> Cipher | None:
    """The cipher of the configured key list (None: no key). Raises EncryptionKeyError on a bad key."""
    return Cipher.from_keys(key_from_environment())


@dataclass(frozen=True)
class EncryptionStatus:
    """What the UI and the CLI say about encryption at rest."""

    enabled: bool
    keys: int = 0
    error: str | None = None


def encryption_status() -> EncryptionStatus:
    """Whether a key is configured (and how many), or why the configured one is unusable."""
    try:
        cipher = default_cipher()
    except EncryptionKeyError as exc:
        return EncryptionStatus(enabled=False, error=str(exc))
    return EncryptionStatus(enabled=cipher is not None, keys=cipher.count if cipher else 0)
