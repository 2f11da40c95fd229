"""The one place that calls LiteLLM: completions, transcriptions and embeddings.

role → model (+ temperature, api_base, key), timeouts, retries with back-off on 429/5xx, optional
fallback model, typed errors a user can act on, usage + cost → one ledger row per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import agent.adapters.offline  # noqa: F401  (must precede litellm)
from agent import errors
from agent.config import RoleConfig, Settings
from agent.privacy import scrubbed_logger
from agent.adapters.pricing import Price, compute_cost, price_for
from agent.adapters.providers import register_local_providers
from agent.adapters.store import CostRow, Store
from agent.types import Completion, ToolCall, Usage, UsageSource

log = scrubbed_logger(__name__)  # agent.privacy: no raw value in a log line

_LITELLM_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def load_litellm() -> Any:
    """LiteLLM, imported and set up on first use (≈ 3 s of CPU); a warm-up with a provider's model calls it
    ahead. ``local/*`` models are answered in process, so an offline engine, the app's warm-up and an eval
    worker on ``local/rules`` never load it."""
    with _LITELLM_LOCK:  # lru_cache alone lets two first callers both set it up
        import litellm as module

        module.suppress_debug_info = True
        module.telemetry = False
        module.drop_params = True  # a temperature or response_format a provider lacks is dropped, not fatal
        register_local_providers(module)
        return module


class _LazyLiteLLM:
    """Stands for the ``litellm`` module in this file: the first attribute read imports it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(load_litellm(), name)


litellm: Any = _LazyLiteLLM()

_RETRYABLE = (errors.RateLimited, errors.ProviderServerError, errors.ProviderTimeout)
_FALLBACK_ON = (*_RETRYABLE, errors.ProviderUnreachable, errors.MissingKeyError, errors.AuthenticationFailed)


@dataclass(frozen=True)
class CallSpec:
    """Everything needed for one attempt against one model."""

    role: str
    feature: str
    model: str
    kwargs: Mapping[str, Any]
    chat_id: int | None
    request_id: str
    expect_json: bool
    messages: Sequence[Mapping[str, Any]] = field(repr=False)


def _strip_fences(text: str) -> str:
    match = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    return match.group(1) if match else text


def parse_json_reply(text: str) -> dict[str, Any]:
    """Parse a model's JSON answer (tolerating ```json fences); raise MalformedResponse if it is not JSON."""
    candidate = _strip_fences(text or "").strip()
    if not candidate.startswith("{"):
        start, end = candidate.find("{"), candidate.rfind("}")
        candidate = candidate[start : end + 1] if start != -1 and end > start else candidate
    try:
        value = json.loads(candidate)
    except (json.JSONDecodeError, TypeError) as exc:
        raise errors.MalformedResponse(
            "The model answered with invalid JSON — retrying or using the deterministic extractor.",
            detail=(text or "")[:300],
        ) from exc
    if not isinstance(value, dict):
        raise errors.MalformedResponse("The model's JSON answer is not an object.", detail=(text or "")[:300])
    return value


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


# A 2xx body the client could not parse, as LiteLLM words it ("… - Unterminated string starting at …,
# Received response - <APIResponse [200 OK] …>").
_UNREADABLE_BODY = re.compile(r"Received response - <APIResponse \[2\d\d|Expecting value|Unterminated string|"
                              r"Expecting '.' delimiter|Extra data: line|JSONDecodeError")


def translate_error(exc: BaseException, model: str, key_env: str | None = None) -> errors.GatewayError:
    """Turn a LiteLLM/httpx exception into a typed error whose message says what to do next."""
    if isinstance(exc, errors.GatewayError):
        return exc
    text = str(exc)
    short = text.splitlines()[0][:300] if text else type(exc).__name__
    key_hint = key_env or "the provider's API key"
    if isinstance(exc, litellm.AuthenticationError):
        return errors.AuthenticationFailed(
            f"The provider refused the key for {model} — check {key_hint} in .env or pick local/rules.",
            model=model, detail=short)
    if isinstance(exc, litellm.RateLimitError):
        return errors.RateLimited(
            f"{model} is rate-limiting us (429) — wait a moment, lower concurrency, or switch model.",
            model=model, detail=short)
    if isinstance(exc, litellm.Timeout):
        return errors.ProviderTimeout(
            f"{model} did not answer in time — try again, raise REQUEST_TIMEOUT_SECONDS, or switch model.",
            model=model, detail=short)
    if isinstance(exc, litellm.NotFoundError) or "LLM Provider NOT provided" in text or "model_not_found" in text:
        return errors.UnknownModelError(
            f"Unknown model '{model}' — use a LiteLLM model string such as gpt-4o-mini, "
            "anthropic/claude-3-haiku-20240307, ollama_chat/llama3 or local/rules.",
            model=model, detail=short)
    if "Connection error" in text or "Connection refused" in text or (
        isinstance(exc, litellm.APIConnectionError) and "connect" in text.lower() and "json" not in text.lower()
    ):
        return errors.ProviderUnreachable(
            f"Cannot reach the provider of {model} — check the network or its api_base.", model=model, detail=short)
    if isinstance(exc, litellm.InternalServerError) and _UNREADABLE_BODY.search(text):
        # LiteLLM reports a 200 whose body failed to parse as an internal error: say what it was.
        return errors.UnreadableReply(
            f"{model}'s provider answered with a body that is not a complete JSON reply (truncated or not JSON) "
            "— retry in a moment or switch model.", model=model, detail=short)
    if isinstance(exc, (litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.BadGatewayError)):
        return errors.ProviderServerError(
            f"{model}'s provider had an internal error — retry in a moment or switch model.", model=model, detail=short)
    if isinstance(exc, (json.JSONDecodeError, ValueError)) or "JSONDecodeError" in text or "Expecting value" in text:
        return errors.MalformedResponse(
            f"{model}'s provider sent a reply we could not read — retry, or switch model.", model=model, detail=short)
    if isinstance(exc, litellm.APIConnectionError):
        return errors.ProviderUnreachable(
            f"Cannot reach the provider of {model} — check the network or its api_base.", model=model, detail=short)
    if isinstance(exc, litellm.BadRequestError):
        return errors.GatewayError(f"{model} rejected the request: {short}", model=model, detail=short)
    status = getattr(exc, "status_code", None)
    if status == 404:
        return errors.UnknownModelError(f"{short} ", model=model, detail=short)
    if isinstance(status, int) and status >= 500:
        return errors.ProviderServerError(
            f"{model}'s provider had an internal error — retry in a moment or switch model.", model=model, detail=short)
    return errors.GatewayError(f"The call to {model} failed: {short}", model=model, detail=short)


class Gateway:
    """Calls models for a role and writes the ledger. Cheap to build; share one per settings."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_call: Callable[[Completion | errors.GatewayError], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else Store.open(settings.database_url)
        self._sleep = sleep
        self._on_call = on_call
        self._price_overrides: dict[str, Price] | None = None
        self._prices_read_at = 0.0
        self._local = threading.local()

    # ------------------------------------------------------------------ public API
    def complete(
        self,
        role: str,
        feature: str,
        messages: Sequence[Mapping[str, Any]],
        chat_id: int | None = None,
        **opts: Any,
    ) -> Completion:
        """One chat completion for ``role``; raises a GatewayError subclass on failure."""
        cfg = self._role(role, opts.pop("model", None))
        try:
            return self._run_sync(self._spec(role, feature, cfg.model, cfg, messages, chat_id, opts))
        except _FALLBACK_ON as exc:
            spec = self._fallback_spec(exc, role, feature, cfg, messages, chat_id, opts)
            return replace(self._run_sync(spec), fallback_used=True)

    async def acomplete(
        self,
        role: str,
        feature: str,
        messages: Sequence[Mapping[str, Any]],
        chat_id: int | None = None,
        **opts: Any,
    ) -> Completion:
        """Async twin of :meth:`complete`."""
        cfg = self._role(role, opts.pop("model", None))
        try:
            return await self._run_async(self._spec(role, feature, cfg.model, cfg, messages, chat_id, opts))
        except _FALLBACK_ON as exc:
            spec = self._fallback_spec(exc, role, feature, cfg, messages, chat_id, opts)
            return replace(await self._run_async(spec), fallback_used=True)

    def _fallback_spec(self, exc: errors.GatewayError, role: str, feature: str, cfg: RoleConfig,
                       messages: Sequence[Mapping[str, Any]], chat_id: int | None,
                       opts: dict[str, Any]) -> CallSpec:
        """The call on the role's fallback model, or re-raise ``exc`` when the role has none."""
        if not cfg.fallback_model:
            raise exc
        log.warning("falling back from %s to %s: %s", cfg.model, cfg.fallback_model, exc)
        # The fallback uses its own provider's defaults, not the failed model's endpoint or key.
        return self._spec(role, feature, cfg.fallback_model, replace(cfg, api_base=None, api_key_env=None),
                          messages, chat_id, opts)

    def record_usage(
        self,
        role: str,
        feature: str,
        model: str,
        chat_id: int | None,
        *,
        usage: Usage,
        latency_ms: float,
        status: str = "ok",
        error: str | None = None,
        request_id: str | None = None,
    ) -> int | None:
        """Ledger row for a call made outside LiteLLM's chat path (local STT/OCR, transcription)."""
        price = self.price(model)
        cost = compute_cost(usage.input_tokens, usage.output_tokens, price, usd_brl=self.settings.usd_brl,
                            audio_seconds=usage.audio_seconds)
        return self._write_ledger(CostRow(
            feature_name=feature, model=model, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
            price=cost, fk_id_chat=chat_id, feat_request_id=request_id or uuid.uuid4().hex[:16],
            latency_ms=latency_ms, status=status, error=error, role=role, usage_source=usage.source,
            audio_seconds=usage.audio_seconds or None, model_price=price,
        ))

    def transcribe(self, role: str, feature: str, audio: bytes, filename: str, chat_id: int | None = None,
                   *, seconds: float = 0.0, language: str = "pt", prompt: str | None = None) -> Completion:
        """Speech-to-text through LiteLLM (whisper-1 or any LiteLLM transcription model)."""
        cfg = self._role(role, None)
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        usage = Usage(audio_seconds=seconds, calls=1, source="provider")
        try:
            kwargs = self._provider_kwargs(cfg, cfg.model)
            result = litellm.transcription(model=cfg.model, file=(filename, audio), language=language,
                                           prompt=prompt, timeout=self.settings.request_timeout_s, **kwargs)
        except Exception as exc:  # noqa: BLE001  (translated below)
            error = translate_error(exc, cfg.model, cfg.api_key_env)
            self.record_usage(role, feature, cfg.model, chat_id, usage=usage, request_id=request_id,
                              latency_ms=(time.perf_counter() - started) * 1000, status=error.kind,
                              error=error.user_message)
            raise error from exc
        latency = (time.perf_counter() - started) * 1000
        cost = compute_cost(0, 0, self.price(cfg.model), usd_brl=self.settings.usd_brl, audio_seconds=seconds)
        usage = replace(usage, cost_usd=float(cost))
        ledger_id = self.record_usage(role, feature, cfg.model, chat_id, usage=usage, latency_ms=latency,
                                      request_id=request_id)
        return Completion(text=getattr(result, "text", "") or "", model=cfg.model, role=role, feature=feature,
                          usage=usage, latency_ms=latency, request_id=request_id, ledger_id=ledger_id)

    def embed(self, texts: Sequence[str], chat_id: int | None = None, feature: str = "Embeddings") -> list[list[float]]:
        """Embeddings with ``EMBEDDING_MODEL``; ledgered like any call."""
        model = self.settings.embedding_model
        if not model:
            raise errors.ConfigError("No EMBEDDING_MODEL set — add one to .env to use embeddings.")
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        try:
            result = litellm.embedding(model=model, input=list(texts), timeout=self.settings.request_timeout_s)
        except Exception as exc:  # noqa: BLE001
            error = translate_error(exc, model)
            self.record_usage("embedding", feature, model, chat_id, usage=Usage(calls=1),
                              latency_ms=(time.perf_counter() - started) * 1000, status=error.kind,
                              error=error.user_message, request_id=request_id)
            raise error from exc
        tokens = int(getattr(getattr(result, "usage", None), "prompt_tokens", 0) or 0)
        self.record_usage("embedding", feature, model, chat_id,
                          usage=Usage(input_tokens=tokens, calls=1, source="provider"),
                          latency_ms=(time.perf_counter() - started) * 1000, request_id=request_id)
        return [item["embedding"] for item in result.data]

    # local/* models run in process (same handler, same usage and ledger row); False routes them
    # through litellm.completion like any provider (tests check both give the same answer).
    local_fast_path = True

    # Prices edited on the Costs page (possibly by another process) apply within this many seconds.
    PRICE_REFRESH_S = 5.0

    def price(self, model: str) -> Price:
        """Price of ``model``: the user's edits (re-read every few seconds) over the data file and LiteLLM."""
        now = time.monotonic()
        if self._price_overrides is None or now - self._prices_read_at > self.PRICE_REFRESH_S:
            try:
                self._price_overrides = self.store.price_overrides()
            except Exception as exc:  # noqa: BLE001  (a locked DB must not stop a reply)
                log.warning("could not read edited prices, using the last ones read: %s", exc)
                self._price_overrides = self._price_overrides or {}
            self._prices_read_at = now
        return price_for(model, self._price_overrides)

    def refresh_prices(self) -> None:
        self._price_overrides = None

    # ------------------------------------------------------------------ internals
    def _role(self, role: str, model_override: str | None) -> RoleConfig:
        roles = getattr(self._local, "roles", None)
        cfg = roles[role] if roles is not None and role in roles else self.settings.role(role)
        return replace(cfg, model=model_override) if model_override else cfg

    def _provider_kwargs(self, cfg: RoleConfig, model: str) -> dict[str, Any]:
        """api_base/api_key for the call, or MissingKeyError before any network traffic."""
        kwargs: dict[str, Any] = {}
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if model.startswith("local/"):
            return kwargs
        env = self.settings.env
        if cfg.api_key_env:
            key = env.get(cfg.api_key_env)
            if not key:
                raise errors.MissingKeyError(
                    f"{cfg.api_key_env} is missing — add it to .env or pick local/rules.", model=model)
            kwargs["api_key"] = key
            return kwargs
        try:
            # LiteLLM's check reads os.environ: key the cache on which credentials are set there.
            needed = _needed_keys(model, _present_credentials())
        except Exception as exc:  # noqa: BLE001  (unknown provider prefix)
            raise translate_error(exc, model) from exc
        missing = [k for k in needed if not env.get(k)]
        if missing and not cfg.api_base:
            raise errors.MissingKeyError(f"{' and '.join(missing)} is missing — add it to .env or pick local/rules.",
                                         model=model)
        if len(needed) == 1 and env.get(needed[0]):
            kwargs["api_key"] = env[needed[0]]
        return kwargs

    def _spec(self, role: str, feature: str, model: str, cfg: RoleConfig, messages: Sequence[Mapping[str, Any]],
              chat_id: int | None, opts: dict[str, Any]) -> CallSpec:
        opts = dict(opts)
        context = opts.pop("context", None)
        expect_json = bool(opts.pop("expect_json", False))
        request_id = opts.pop("request_id", None) or uuid.uuid4().hex[:16]
        response_format = opts.pop("response_format", None)
        if expect_json and response_format is None:
            response_format = {"type": "json_object"}
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in messages],
            "temperature": opts.pop("temperature", cfg.temperature),
            "timeout": opts.pop("timeout", self.settings.request_timeout_s),
            # We retry ourselves so that every attempt's back-off is visible and testable.
            "num_retries": 0,
            "max_retries": 0,
            "metadata": {"task": (context or {}).get("task", feature), "context": context or {},
                         "feature": feature, "role": role, "chat_id": chat_id, "request_id": request_id},
        }
        if response_format is not None and (model.startswith("local/") or _supports_response_format(model)):
            kwargs["response_format"] = response_format
        kwargs.update(opts)
        spec = CallSpec(role, feature, model, kwargs, chat_id, request_id, expect_json, messages)
        try:
            kwargs.update(self._provider_kwargs(cfg, model))
        except errors.GatewayError as exc:
            self._ledger_failure(spec, exc, 0.0)
            raise
        return spec

    def _backoff(self, attempt: int, exc: errors.GatewayError) -> float:
        hinted = _retry_after(exc.__cause__) if exc.__cause__ else None
        return min(hinted if hinted is not None else self.settings.retry_backoff_s * (2**attempt), 30.0)

    def _call_local(self, spec: CallSpec) -> Any:
        """``local/*`` in process: the same handler LiteLLM would dispatch to, minus LiteLLM's own
        per-call work (~1.5 ms: logging objects, cost lookups), which dominated offline turns."""
        from agent.adapters.providers.local import local_reply

        params = {k: spec.kwargs[k] for k in ("temperature", "response_format", "tools") if k in spec.kwargs}
        reply = local_reply(spec.model.split("/", 1)[1], spec.kwargs["messages"], spec.kwargs["metadata"], params)
        return _LocalResponse(reply.text, reply.prompt_tokens, reply.completion_tokens, reply.usage_source)

    def _run_sync(self, spec: CallSpec) -> Completion:
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                if spec.model.startswith("local/") and self.local_fast_path:
                    completion = self._finish(spec, self._call_local(spec), started)
                elif _CALLS_ON_LOOP and not spec.model.startswith("local/"):  # local/*: the caller's context
                    completion = self._finish(spec, _call_loop().run(litellm.acompletion(**spec.kwargs)), started)
                else:
                    completion = self._finish(spec, litellm.completion(**spec.kwargs), started)
            except errors.MalformedResponse:
                raise
            except Exception as exc:  # noqa: BLE001  (translated and re-raised)
                error = translate_error(exc, spec.model, None)
                if isinstance(error, _RETRYABLE) and attempt < self.settings.max_retries:
                    self._sleep(self._backoff(attempt, _chain(error, exc)))
                    attempt += 1
                    continue
                self._ledger_failure(spec, error, (time.perf_counter() - started) * 1000, attempts=attempt + 1)
                raise error from exc
            return self._notify(completion)

    async def _run_async(self, spec: CallSpec) -> Completion:
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                if spec.model.startswith("local/") and self.local_fast_path:
                    completion = self._finish(spec, self._call_local(spec), started)
                else:
                    completion = self._finish(spec, await litellm.acompletion(**spec.kwargs), started)
            except errors.MalformedResponse:
                raise
            except Exception as exc:  # noqa: BLE001
                error = translate_error(exc, spec.model, None)
                if isinstance(error, _RETRYABLE) and attempt < self.settings.max_retries:
                    await asyncio.sleep(self._backoff(attempt, _chain(error, exc)))
                    attempt += 1
                    continue
                self._ledger_failure(spec, error, (time.perf_counter() - started) * 1000, attempts=attempt + 1)
                raise error from exc
            return self._notify(completion)

    def _notify(self, completion: Completion) -> Completion:
        """The observer hears of a call once its ledger row is written — outside the provider's try:
        an observer that raises is no provider failure (no retry, no second ledger row)."""
        if self._on_call:
            self._on_call(completion)
        return completion

    def _usage(self, spec: CallSpec, response: Any, text: str) -> Usage:
        raw = getattr(response, "usage", None)
        prompt = int(getattr(raw, "prompt_tokens", 0) or 0)
        completion = int(getattr(raw, "completion_tokens", 0) or 0)
        if prompt > 0:
            # "scripted": a golden's fixed usage on a priced fake (local/adversary:<model>), not a provider's.
            source: UsageSource = "scripted" if getattr(raw, "usage_source", None) == "scripted" else "provider"
            return Usage(input_tokens=prompt, output_tokens=completion, calls=1, source=source)
        return Usage(
            input_tokens=count_tokens(spec.model, messages=spec.messages),
            output_tokens=count_tokens(spec.model, text=text),
            calls=1,
            source="estimate",
        )

    def _finish(self, spec: CallSpec, response: Any, started: float) -> Completion:
        latency = (time.perf_counter() - started) * 1000
        try:
            message = response.choices[0].message
            text = message.content or ""
            tool_calls = tuple(
                ToolCall(name=call.function.name, arguments=json.loads(call.function.arguments or "{}"), id=call.id or "")
                for call in (getattr(message, "tool_calls", None) or [])
            )
        except (AttributeError, IndexError, json.JSONDecodeError, TypeError) as exc:
            error = errors.MalformedResponse(
                f"{spec.model}'s provider sent a reply we could not read — retry, or switch model.",
                model=spec.model, detail=str(exc)[:300])
            self._ledger_failure(spec, error, latency)
            raise error from exc
        usage = self._usage(spec, response, text)
        price = self.price(spec.model)
        cost = compute_cost(usage.input_tokens, usage.output_tokens, price, usd_brl=self.settings.usd_brl)
        usage = replace(usage, cost_usd=float(cost))
        parsed: dict[str, Any] | None = None
        status, error_text = "ok", None
        json_error: errors.MalformedResponse | None = None
        if spec.expect_json and not tool_calls:
            try:
                parsed = parse_json_reply(text)
            except errors.MalformedResponse as exc:
                json_error = exc
                status, error_text = "malformed_json", exc.user_message
        ledger_id = self._write_ledger(CostRow(
            feature_name=spec.feature, model=spec.model, input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens, price=cost, fk_id_chat=spec.chat_id,
            feat_request_id=spec.request_id, latency_ms=latency, status=status, error=error_text,
            role=spec.role, usage_source=usage.source, model_price=price, temperature=_temperature(spec),
        ))
        completion = Completion(
            text=text, model=spec.model, role=spec.role, feature=spec.feature, usage=usage, latency_ms=latency,
            request_id=spec.request_id, json=parsed, tool_calls=tool_calls, ledger_id=ledger_id,
            raw_messages=tuple(dict(m) for m in spec.messages), temperature=_temperature(spec),
        )
        if json_error is not None:
            raise errors.MalformedResponse(json_error.user_message, model=spec.model, detail=json_error.detail,
                                           completion=completion) from json_error
        return completion

    def _ledger_failure(self, spec: CallSpec, error: errors.GatewayError, latency_ms: float, attempts: int = 1) -> None:
        detail = f"{error.user_message} [{error.detail}]" if error.detail else error.user_message
        if attempts > 1:
            detail += f" (after {attempts} attempts)"
        self._write_ledger(CostRow(
            feature_name=spec.feature, model=spec.model, input_tokens=0, output_tokens=0, price=Decimal(0),
            fk_id_chat=spec.chat_id, feat_request_id=spec.request_id, latency_ms=latency_ms,
            status=error.kind, error=detail[:2000], role=spec.role, usage_source="none",
            temperature=_temperature(spec),
        ))
        if self._on_call:
            self._on_call(error)

    @contextlib.contextmanager
    def using_roles(self, roles: Mapping[str, RoleConfig]) -> Iterator[None]:
        """This thread's calls use ``roles`` (model, temperature per role) instead of the gateway's own:
        roles are per call, so switching a model or a temperature needs no new gateway or engine."""
        previous = getattr(self._local, "roles", None)
        self._local.roles = roles
        try:
            yield
        finally:
            self._local.roles = previous

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Collect this thread's ledger rows and write them in one transaction at the end (a turn's
        calls): one SQLite commit per turn instead of one per call. Rows are still one per call."""
        if getattr(self._local, "rows", None) is not None:
            yield  # already batching (nested)
            return
        self._local.rows = []
        try:
            yield
        finally:
            rows, self._local.rows = self._local.rows, None
            try:
                self.store.record_costs(rows)
            except errors.StoreError as exc:
                self._ledger_write_failed(exc)

    @contextlib.contextmanager
    def deferred_ledger(self) -> Iterator[list[CostRow]]:
        """Collect this thread's ledger rows for the caller to write in its own transaction (a turn's
        messages, state and trace: ``Store.record_turn(costs=…)``), so a crash never leaves a turn's
        rows without the turn. If the block raises, they are written on their own: a failed attempt
        is still paid for and still has its rows."""
        if getattr(self._local, "rows", None) is not None:
            raise RuntimeError("deferred_ledger inside a ledger batch: the outer block owns the rows")
        rows: list[CostRow] = []
        self._local.rows = rows
        try:
            yield rows
        except BaseException:
            self._local.rows = None
            try:
                self.store.record_costs(rows)
            except errors.StoreError as exc:
                self._ledger_write_failed(exc)
            raise
        finally:
            self._local.rows = None

    def _write_ledger(self, row: CostRow) -> int | None:
        buffered = getattr(self._local, "rows", None)
        if buffered is not None:
            buffered.append(row)
            return None
        try:
            return self.store.record_cost(row)
        except errors.StoreError as exc:
            self._ledger_write_failed(exc)
            return None

    def _ledger_write_failed(self, exc: errors.StoreError) -> None:
        # The reply still reaches the customer; the rows wait in store.pending_costs for the next write.
        log.warning("ledger write failed, %d row(s) kept for the next write: %s",
                    len(self.store.pending_costs), exc)


# The blocking complete() awaits LiteLLM's acompletion on one event loop per process (its aiohttp transport, one
# shared session) instead of calling litellm.completion on the caller's thread: with an eval worker's 25-50
# threads, the sync path's httpx pool serialises on one lock (py-spy: half the threads waiting in httpcore's
# ThreadLock) and each call hands its logging to a thread pool. Measured on the stub, concurrency 50, 2 workers:
# 15.3-17.6 ms CPU/call vs 18.5-18.7 (interleaved runs, load 8-16), wall 0.7×. CONVERSA_GATEWAY_LOOP=0: the old way.
_CALLS_ON_LOOP = os.environ.get("CONVERSA_GATEWAY_LOOP", "1") != "0"


class _CallLoop:
    """One event loop per process on a daemon thread, running the blocking ``complete``'s provider calls
    (a forked child makes its own: the pid is checked)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="gateway-calls", daemon=True).start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


_CALL_LOOP: _CallLoop | None = None
_CALL_LOOP_LOCK = threading.Lock()


def _call_loop() -> _CallLoop:
    global _CALL_LOOP
    with _CALL_LOOP_LOCK:
        if _CALL_LOOP is None or _CALL_LOOP.pid != os.getpid():
            _CALL_LOOP = _CallLoop()
        return _CALL_LOOP


def _temperature(spec: CallSpec) -> float | None:
    value = spec.kwargs.get("temperature")
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class _LocalMessage:
    content: str
    tool_calls: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _LocalChoice:
    message: _LocalMessage


@dataclass(frozen=True)
class _LocalUsage:
    prompt_tokens: int
    completion_tokens: int
    usage_source: str = "provider"


class _LocalResponse:
    """The shape of a LiteLLM ModelResponse that ``_finish`` reads."""

    def __init__(self, text: str, prompt_tokens: int, completion_tokens: int, usage_source: str = "provider") -> None:
        self.choices = [_LocalChoice(_LocalMessage(text))]
        self.usage = _LocalUsage(prompt_tokens, completion_tokens, usage_source)


_CREDENTIAL_SUFFIXES = ("_KEY", "_KEY_ID", "_SECRET", "_TOKEN", "_SECRET_ACCESS_KEY")
_CREDENTIAL_SUFFIXES_B = tuple(s.encode() for s in _CREDENTIAL_SUFFIXES)


def _present_credentials() -> tuple[bytes | str, ...]:
    """The credential-like variables set in os.environ (the key of ``_needed_keys``' cache), read per call: from
    the encoded mapping os.environ keeps in step (CPython, POSIX) — ``os.environ.items()`` decodes every
    variable, ~0.2 ms of a call's profile."""
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict):  # bytes keys and values
        return tuple(sorted(k for k, v in data.items() if v and k.endswith(_CREDENTIAL_SUFFIXES_B)))
    return tuple(sorted(k for k, v in os.environ.items() if v and k.endswith(_CREDENTIAL_SUFFIXES)))


@functools.lru_cache(maxsize=256)
def _needed_keys(model: str, _present: tuple[bytes | str, ...]) -> tuple[str, ...]:
    """Environment variables the provider of ``model`` needs (LiteLLM's check is slow: cache it)."""
    return tuple(litellm.validate_environment(model, api_key=None).get("missing_keys", []))


def _chain(error: errors.GatewayError, cause: BaseException) -> errors.GatewayError:
    error.__cause__ = cause
    return error


@functools.lru_cache(maxsize=256)
def _supports_response_format(model: str) -> bool:
    """Whether ``model`` takes ``response_format`` (LiteLLM's lookup costs ~0.1 ms per JSON call: cached;
    it reads LiteLLM's bundled model map, which the gateway never changes)."""
    try:
        return bool(litellm.supports_response_schema(model=model)) or model.startswith(("gpt-", "openai/"))
    except Exception as exc:  # noqa: BLE001  (a model LiteLLM does not know: the prompt asks for JSON anyway)
        log.debug("no response_format for %s: %s", model, exc)
        return False


def count_tokens(model: str, *, messages: Sequence[Mapping[str, Any]] | None = None, text: str | None = None) -> int:
    """Token estimate with the model's tokenizer (tiktoken files bundled with litellm; offline)."""
    try:
        if messages is not None:
            return int(litellm.token_counter(model=model, messages=[dict(m) for m in messages]))
        return int(litellm.token_counter(model=model, text=text or ""))
    except Exception as exc:  # noqa: BLE001  (unknown model → cl100k via gpt-3.5)
        log.debug("no tokenizer for %s, counting with gpt-3.5-turbo's: %s", model, exc)
        if messages is not None:
            return int(litellm.token_counter(model="gpt-3.5-turbo", messages=[dict(m) for m in messages]))
        return int(litellm.token_counter(model="gpt-3.5-turbo", text=text or ""))


def encoding_tokens(text: str, encoding: str = "o200k_base") -> int:
    """Count tokens with a named tiktoken encoding (cl100k_base, o200k_base) — offline."""
    import tiktoken

    return len(tiktoken.get_encoding(encoding).encode(text))
