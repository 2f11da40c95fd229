"""Settings: built once from the environment, `.env` and Streamlit secrets, then passed in.

Nothing here imports litellm or streamlit: the app passes ``st.secrets`` as a plain mapping.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACK_DIR = PROJECT_ROOT / "prompts" / "fgts"

ROLES: tuple[str, ...] = ("decision", "conversation", "transcription", "vision", "insights", "judge")

LOCAL_CHAT_MODEL = "local/rules"
LOCAL_GGUF_MODEL = "local/gguf"
LOCAL_TRANSCRIPTION_MODEL = "local/whisper"
LOCAL_VISION_MODEL = "local/tesseract"

# Which environment variable unlocks which provider prefix.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "maritaca": ("MARITACA_API_KEY",),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "gemini": ("GEMINI_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
}

MARITACA_API_BASE = "https://chat.maritaca.ai/api"


@dataclass(frozen=True)
class RoleConfig:
    """One role: a LiteLLM model string, its temperature and optional endpoint/fallback."""

    model: str
    temperature: float = 0.2
    api_base: str | None = None
    api_key_env: str | None = None
    fallback_model: str | None = None

    @property
    def is_local(self) -> bool:
        return self.model.startswith("local/")


# Settings an engine is built from (everything else is per call or per session).
ENGINE_FIELDS: tuple[str, ...] = (
    "database_url", "pack_dir", "max_message_chars", "usd_brl", "request_timeout_s", "max_retries",
    "retry_backoff_s", "tool_timeout_s", "whisper_model_dir", "max_audio_seconds", "max_image_pixels",
    "gguf_model_path", "embedding_model",
)
# Environment entries that change what a call does: credentials, endpoints, and the pack's *_URL settings.
ENGINE_ENV_SUFFIXES: tuple[str, ...] = ("_API_KEY", "_KEY_ID", "_SECRET_ACCESS_KEY", "_API_BASE", "_URL",
                                        "_REGION_NAME", "_TOKEN")
# Variables the process sets for itself (agent.adapters.offline, before LiteLLM loads: where LiteLLM
# finds its bundled price map and tokenizer files; whisper_model, before CTranslate2 starts: its OpenMP
# threads' idle policy). Plumbing, never a setting: they are not read into
# ``Settings.env``, so settings loaded before and after the first LiteLLM import are equal (and so are
# their engine keys — a browser tab opened after the warm-up finds the engine the warm-up built).
PROCESS_ENV: frozenset[str] = frozenset({"LITELLM_LOCAL_MODEL_COST_MAP", "LITELLM_TELEMETRY", "TIKTOKEN_CACHE_DIR",
                                         "OMP_WAIT_POLICY"})


@dataclass(frozen=True)
class Settings:
    """Everything the agent needs to run, frozen. Build with :func:`load_settings`."""

    roles: Mapping[str, RoleConfig]
    database_url: str
    pack_dir: Path
    burst_window_s: float = 4.0
    burst_mode: bool = True
    reengagement_after_s: float = 24 * 3600.0
    max_message_chars: int = 1200
    usd_brl: float = 5.52
    currency: str = "BRL"
    request_timeout_s: float = 30.0
    max_retries: int = 2
    retry_backoff_s: float = 0.5
    tool_timeout_s: float = 8.0
    whisper_model_dir: str | None = None
    max_audio_seconds: float = 120.0
    max_image_pixels: int = 40_000_000
    gguf_model_path: str | None = None
    embedding_model: str | None = None
    # The pack's per-role token budget (``prompt_budget:``); PROMPT_BUDGET=off renders prompts in full.
    prompt_budget: bool = True
    # LGPD retention: conversations idle longer are forgotten (agent/privacy_rights.py); None keeps them.
    retention_days: float | None = None
    # Explicit values for the pack's own settings (``settings:`` in pack.yaml), over env and defaults.
    pack_settings: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def role(self, name: str) -> RoleConfig:
        try:
            return self.roles[name]
        except KeyError as exc:
            raise ConfigError(f"Unknown role {name!r}; roles are: {', '.join(ROLES)}") from exc

    def with_role(self, name: str, **changes: Any) -> Settings:
        """A copy with one role changed (the UI uses this to switch models live)."""
        roles = dict(self.roles)
        roles[name] = replace(self.role(name), **changes)
        return replace(self, roles=roles)

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def with_pack_settings(self, **values: Any) -> Settings:
        """A copy with some of the pack's settings set (evals, the UI, tests)."""
        return replace(self, pack_settings={**self.pack_settings, **values})

    def engine_key(self) -> tuple[Any, ...]:
        """What an engine is built from. Roles (model, temperature) are per call and left out; so is
        the process environment, except the credentials and endpoints a provider call reads (never the
        variables the process sets for itself, :data:`PROCESS_ENV`)."""
        env = tuple(sorted((k, v) for k, v in self.env.items()
                           if k.endswith(ENGINE_ENV_SUFFIXES) and k not in PROCESS_ENV))
        return (*(getattr(self, name) for name in ENGINE_FIELDS), tuple(sorted(self.pack_settings.items())), env)

    @property
    def all_local(self) -> bool:
        return all(cfg.is_local for cfg in self.roles.values())


def _read_env(env: Mapping[str, str] | None, secrets: Mapping[str, Any] | None, dotenv_path: Path | None) -> dict[str, str]:
    """Merge sources. Precedence: real environment > st.secrets > .env file. The process's own
    variables (:data:`PROCESS_ENV`) are left out: whether LiteLLM was imported yet changes nothing."""
    merged: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.exists():
        from dotenv import dotenv_values

        merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    if secrets:
        merged.update({k: str(v) for k, v in secrets.items() if isinstance(v, (str, int, float))})
    merged.update(os.environ if env is None else env)
    for name in PROCESS_ENV:
        merged.pop(name, None)
    return merged


def has_key(values: Mapping[str, str], provider: str) -> bool:
    return all(values.get(k) for k in PROVIDER_KEYS.get(provider, ()))


def _default_models(values: Mapping[str, str]) -> dict[str, str]:
    if has_key(values, "openai"):
        # The deck's split: a cheap model decides, a better one converses.
        return {
            "decision": "gpt-4o-mini",
            "conversation": "gpt-4o",
            "transcription": "whisper-1",
            "vision": "gpt-4o-mini",
            "insights": "gpt-4o-mini",
            "judge": "gpt-4o-mini",
        }
    if has_key(values, "anthropic"):
        chat = {"decision": "claude-3-haiku-20240307", "conversation": "claude-3-5-sonnet-20240620"}
        return {
            **chat,
            "transcription": LOCAL_TRANSCRIPTION_MODEL,
            "vision": "claude-3-haiku-20240307",
            "insights": "claude-3-haiku-20240307",
            "judge": "claude-3-haiku-20240307",
        }
    return {
        "decision": LOCAL_CHAT_MODEL,
        "conversation": LOCAL_CHAT_MODEL,
        "transcription": LOCAL_TRANSCRIPTION_MODEL,
        "vision": LOCAL_VISION_MODEL,
        "insights": LOCAL_CHAT_MODEL,
        "judge": LOCAL_CHAT_MODEL,
    }


_DEFAULT_TEMPERATURE = {"decision": 0.0, "conversation": 0.4, "judge": 0.0}


def _float(values: Mapping[str, str], key: str, default: float) -> float:
    raw = values.get(key)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key}={raw!r} is not a number; fix it in .env") from exc


def _bool(values: Mapping[str, str], key: str, default: bool) -> bool:
    raw = values.get(key)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on", "sim"}


def _retention(values: Mapping[str, str]) -> float | None:
    """``RETENTION_DAYS``: empty (or unset) keeps every conversation; a number of days, 0 or more."""
    if (values.get("RETENTION_DAYS") or "").strip() == "":
        return None
    days = _float(values, "RETENTION_DAYS", 0.0)
    if days < 0:
        raise ConfigError(f"RETENTION_DAYS={values['RETENTION_DAYS']!r} must be 0 or more days (empty: keep)")
    return days


def _role_config(values: Mapping[str, str], role: str, default_model: str) -> RoleConfig:
    prefix = role.upper()
    model = values.get(f"{prefix}_MODEL") or default_model
    api_base = values.get(f"{prefix}_API_BASE") or None
    api_key_env = values.get(f"{prefix}_API_KEY_ENV") or None
    if model.startswith("maritaca/"):
        # Maritaca speaks the OpenAI protocol: route through LiteLLM's openai provider.
        model = "openai/" + model.split("/", 1)[1]
        api_base = api_base or values.get("MARITACA_API_BASE") or MARITACA_API_BASE
        api_key_env = api_key_env or "MARITACA_API_KEY"
    return RoleConfig(
        model=model,
        temperature=_float(values, f"{prefix}_TEMPERATURE", _DEFAULT_TEMPERATURE.get(role, 0.2)),
        api_base=api_base,
        api_key_env=api_key_env,
        fallback_model=values.get(f"{prefix}_FALLBACK_MODEL") or None,
    )


def _default_database_url(values: Mapping[str, str]) -> str:
    data_dir = Path(values.get("CONVERSA_DATA_DIR") or PROJECT_ROOT / "data")
    return f"sqlite:///{data_dir / 'conversa.db'}"


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, Any] | None = None,
    dotenv_path: Path | None = PROJECT_ROOT / ".env",
) -> Settings:
    """Build settings once. ``env`` replaces ``os.environ`` (tests); ``secrets`` is ``st.secrets``."""
    values = _read_env(env, secrets, dotenv_path)
    defaults = _default_models(values)
    roles = {role: _role_config(values, role, defaults[role]) for role in ROLES}
    pack = Path(values.get("PACK_DIR") or DEFAULT_PACK_DIR)
    if not pack.is_absolute():
        pack = PROJECT_ROOT / pack
    return Settings(
        roles=roles,
        database_url=values.get("DATABASE_URL") or _default_database_url(values),
        pack_dir=pack,
        burst_window_s=_float(values, "BURST_WINDOW_SECONDS", 4.0),
        burst_mode=_bool(values, "BURST_MODE", True),
        reengagement_after_s=_float(values, "REENGAGEMENT_AFTER_HOURS", 24.0) * 3600.0,
        max_message_chars=int(_float(values, "MAX_MESSAGE_CHARS", 1200)),
        usd_brl=_float(values, "USD_BRL", 5.52),
        currency=(values.get("CURRENCY") or "BRL").upper(),
        request_timeout_s=_float(values, "REQUEST_TIMEOUT_SECONDS", 30.0),
        max_retries=int(_float(values, "MAX_RETRIES", 2)),
        retry_backoff_s=_float(values, "RETRY_BACKOFF_SECONDS", 0.5),
        tool_timeout_s=_float(values, "TOOL_TIMEOUT_SECONDS", 8.0),
        whisper_model_dir=values.get("WHISPER_MODEL_DIR") or None,
        max_audio_seconds=_float(values, "MAX_AUDIO_SECONDS", 120.0),
        max_image_pixels=int(_float(values, "MAX_IMAGE_PIXELS", 40_000_000)),
        gguf_model_path=values.get("GGUF_MODEL_PATH") or None,
        embedding_model=values.get("EMBEDDING_MODEL") or None,
        prompt_budget=_bool(values, "PROMPT_BUDGET", True),
        retention_days=_retention(values),
        env=values,
    )


# ---------------------------------------------------------------- which models can run now


@dataclass(frozen=True)
class ModelOption:
    """A model the UI may offer, whether it can run now, and how to enable it if not."""

    model: str
    label: str
    provider: str
    usable: bool
    hint: str = ""
    roles: tuple[str, ...] = ("decision", "conversation", "insights", "judge")
    api_base: str | None = None
    api_key_env: str | None = None


_CHAT_CATALOG: tuple[tuple[str, str, str], ...] = (
    ("gpt-4o-mini", "GPT-4o-mini", "openai"),
    ("gpt-4o", "GPT-4o", "openai"),
    ("gpt-3.5-turbo-0125", "GPT-3.5 Turbo (0125)", "openai"),
    ("gpt-4-1106-preview", "GPT-4 Turbo (1106)", "openai"),
    ("claude-3-haiku-20240307", "Claude 3 Haiku", "anthropic"),
    ("claude-3-sonnet-20240229", "Claude 3 Sonnet", "anthropic"),
    ("openai/sabia-2-small", "Maritaca Sabiá 2 Small", "maritaca"),
    ("openai/sabia-3", "Maritaca Sabiá 3", "maritaca"),
    ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", "Claude 3 Haiku (Bedrock)", "bedrock"),
)


def ollama_models(host: str = "127.0.0.1", port: int = 11434, timeout: float = 0.2) -> list[str]:
    """Names of the models a local Ollama serves, or [] when none answers (cheap check)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError:
        return []
    import httpx

    try:
        reply = httpx.get(f"http://{host}:{port}/api/tags", timeout=1.0)
        return [m["name"] for m in reply.json().get("models", [])]
    except (httpx.HTTPError, ValueError, KeyError):
        return []


def _gguf_available(settings: Settings) -> tuple[bool, str]:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return False, "pip install llama-cpp-python (compiles ~5 min), then set GGUF_MODEL_PATH"
    if not settings.gguf_model_path or not Path(settings.gguf_model_path).exists():
        return False, "set GGUF_MODEL_PATH in .env to a .gguf file"
    return True, ""


def available_models(settings: Settings, *, probe_ollama: bool = True) -> list[ModelOption]:
    """Every model the UI knows, with ``usable`` telling whether it can run right now."""
    values = settings.env
    options = [
        ModelOption(LOCAL_CHAT_MODEL, "local/rules (offline, deterministic)", "local", True),
    ]
    gguf_ok, gguf_hint = _gguf_available(settings)
    options.append(ModelOption(LOCAL_GGUF_MODEL, "local/gguf (llama.cpp)", "local", gguf_ok, gguf_hint))
    for model, label, provider in _CHAT_CATALOG:
        usable = has_key(values, provider)
        keys = " and ".join(PROVIDER_KEYS[provider])
        api_base: str | None = None
        api_key_env: str | None = None
        if provider == "maritaca":
            api_base, api_key_env = values.get("MARITACA_API_BASE") or MARITACA_API_BASE, "MARITACA_API_KEY"
        options.append(
            ModelOption(model, label, provider, usable, "" if usable else f"add {keys} to .env",
                        api_base=api_base, api_key_env=api_key_env)
        )
    if probe_ollama:
        for name in ollama_models():
            options.append(ModelOption(f"ollama_chat/{name}", f"Ollama {name}", "ollama", True))
    options.append(
        ModelOption(LOCAL_TRANSCRIPTION_MODEL, "faster-whisper base (offline)", "local", True, roles=("transcription",))
    )
    options.append(
        ModelOption(
            "whisper-1", "OpenAI whisper-1", "openai", has_key(values, "openai"),
            "" if has_key(values, "openai") else "add OPENAI_API_KEY to .env", roles=("transcription",),
        )
    )
    options.append(ModelOption(LOCAL_VISION_MODEL, "Tesseract OCR (offline)", "local", True, roles=("vision",)))
    for model, label, provider in (("gpt-4o-mini", "GPT-4o-mini vision", "openai"), ("gpt-4o", "GPT-4o vision", "openai"),
                                   ("claude-3-haiku-20240307", "Claude 3 Haiku vision", "anthropic")):
        usable = has_key(values, provider)
        options.append(
            ModelOption(model, label, provider, usable,
                        "" if usable else f"add {PROVIDER_KEYS[provider][0]} to .env", roles=("vision",))
        )
    # A model configured by hand in .env is offered even if it is not in the catalogue.
    known = {o.model for o in options}
    for role, cfg in settings.roles.items():
        if cfg.model not in known:
            options.append(ModelOption(cfg.model, cfg.model, "custom", True, roles=(role,),
                                       api_base=cfg.api_base, api_key_env=cfg.api_key_env))
            known.add(cfg.model)
    return options


def models_for_role(options: list[ModelOption], role: str) -> list[ModelOption]:
    return [o for o in options if role in o.roles]
