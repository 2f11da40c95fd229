"""Audio and images into the journey (deck slide 2.5): the right engine per role, costed, never fatal.

Transcription role: ``local/whisper`` (faster-whisper, offline) or any LiteLLM transcription model.
Vision role: ``local/tesseract`` (OCR, offline) or any vision model via LiteLLM (image as data URL,
prompt ``image_description.txt`` from the pack). Each read writes one ledger row under its own
feature name, so speech-to-text and OCR costs never mix with chat cost.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from agent.adapters import media
from agent.config import LOCAL_TRANSCRIPTION_MODEL, LOCAL_VISION_MODEL, Settings
from agent.errors import GatewayError
from agent.core.prompts import PromptPack
from agent.types import Attachment, Usage

TRANSCRIPTION_FEATURE = "Transcrição de áudio"
VISION_FEATURE = "Leitura de imagem"


@dataclass
class MediaRead:
    """Text read from one attachment, or the reply that asks the customer to resend/type."""

    text: str = ""
    usage: Usage = field(default_factory=Usage)
    customer_reply: str | None = None
    trace: dict[str, Any] = field(default_factory=dict)


def read_attachment(settings: Settings, gateway: Any, pack: PromptPack, attachment: Attachment,
                    chat_id: int | None, *, transcription_prompt: str = "") -> MediaRead:
    """Turn one attachment into text for the journey (``transcription_prompt``: domain words to expect)."""
    if attachment.kind == "audio":
        return _read_audio(settings, gateway, attachment, chat_id, transcription_prompt)
    return _read_image(settings, gateway, pack, attachment, chat_id)


def _trace(attachment: Attachment, model: str, **extra: Any) -> dict[str, Any]:
    return {"kind": attachment.kind, "filename": attachment.filename, "bytes": len(attachment.data),
            "model": model, **extra}


def _failed(gateway: Any, role: str, feature: str, model: str, chat_id: int | None, attachment: Attachment,
            exc: media.MediaError, started: float) -> MediaRead:
    latency = (time.perf_counter() - started) * 1000
    gateway.record_usage(role, feature, model, chat_id, usage=Usage(calls=1, source="none"), latency_ms=latency,
                         status=getattr(exc, "code", "media_error"), error=exc.operator_reason)
    return MediaRead(customer_reply=exc.customer_message,
                     trace=_trace(attachment, model, error=exc.operator_reason, code=getattr(exc, "code", ""),
                                  latency_ms=round(latency, 1)))


def _read_locally(gateway: Any, role: str, feature: str, model: str, chat_id: int | None,
                  attachment: Attachment, result: media.MediaText) -> MediaRead:
    """A successful offline read (whisper or OCR): one free ledger row, the text and its trace."""
    usage = Usage(calls=1, source="provider", audio_seconds=float(result.seconds or 0.0))
    gateway.record_usage(role, feature, model, chat_id, usage=usage, latency_ms=result.latency_ms,
                         request_id=uuid.uuid4().hex[:16])
    extra = {"seconds": result.seconds} if result.kind == "audio" else {}
    return MediaRead(text=result.text, usage=usage, trace=_trace(
        attachment, model, text=result.text, format=result.detected_format,
        warnings=list(result.warnings), confidence=result.confidence, latency_ms=round(result.latency_ms, 1),
        **extra))


def _read_audio(settings: Settings, gateway: Any, attachment: Attachment, chat_id: int | None,
                prompt: str) -> MediaRead:
    role = "transcription"
    model = settings.role(role).model
    started = time.perf_counter()
    try:
        if model == LOCAL_TRANSCRIPTION_MODEL:
            result = media.transcribe_local(
                attachment.data, attachment.filename, initial_prompt=prompt or None,
                max_seconds=settings.max_audio_seconds, model_dir=settings.whisper_model_dir)
            return _read_locally(gateway, role, TRANSCRIPTION_FEATURE, model, chat_id, attachment, result)
        seconds = media.probe_audio_seconds(attachment.data)
        if seconds > settings.max_audio_seconds:
            raise media.AudioTooLongError(f"{seconds:.0f}s > {settings.max_audio_seconds:.0f}s",
                                          limit_seconds=settings.max_audio_seconds)
        # Transcription APIs trust the file name's extension: name the file after what the bytes are.
        api_name = f"audio.{media.audio_format_for_api(attachment.data)}"
        completion = gateway.transcribe(role, TRANSCRIPTION_FEATURE, attachment.data, api_name, chat_id,
                                        seconds=seconds, prompt=prompt or None)
        return MediaRead(text=completion.text, usage=completion.usage, trace=_trace(
            attachment, model, text=completion.text, seconds=seconds,
            latency_ms=round(completion.latency_ms, 1)))
    except media.MediaError as exc:
        return _failed(gateway, role, TRANSCRIPTION_FEATURE, model, chat_id, attachment, exc, started)
    except GatewayError as exc:
        return MediaRead(
            customer_reply="Não consegui ouvir seu áudio agora. Pode escrever a mensagem, por favor?",
            trace=_trace(attachment, model, error=exc.user_message))


def _read_image(settings: Settings, gateway: Any, pack: PromptPack, attachment: Attachment,
                chat_id: int | None) -> MediaRead:
    role = "vision"
    model = settings.role(role).model
    started = time.perf_counter()
    try:
        if model == LOCAL_VISION_MODEL:
            result = media.ocr_local(attachment.data, attachment.filename, max_pixels=settings.max_image_pixels)
            return _read_locally(gateway, role, VISION_FEATURE, model, chat_id, attachment, result)
        fmt = media.sniff_format(attachment.data)
        if fmt not in media.IMAGE_FORMATS:
            raise media.UnsupportedFormatError(f"not an image we can send to a vision model: {fmt or 'unknown'}")
        url = media.image_data_url(attachment.data, attachment.mime or None)
        messages = [{"role": "user", "content": [
            {"type": "text", "text": pack.render("image_description")},
            {"type": "image_url", "image_url": {"url": url}},
        ]}]
        completion = gateway.complete(role, VISION_FEATURE, messages, chat_id, context={"task": "vision"})
        text = completion.text.strip()
        if not text or "sem texto legível" in text.lower():
            raise media.NoTextInImageError("the vision model found no readable text")
        return MediaRead(text=text, usage=completion.usage, trace=_trace(
            attachment, model, text=text, latency_ms=round(completion.latency_ms, 1)))
    except media.MediaError as exc:
        return _failed(gateway, role, VISION_FEATURE, model, chat_id, attachment, exc, started)
    except GatewayError as exc:
        return MediaRead(
            customer_reply="Não consegui ver sua imagem agora. Pode escrever o que ela mostra, por favor?",
            trace=_trace(attachment, model, error=exc.user_message))


@dataclass(frozen=True)
class EngineStatus:
    """Whether an offline media engine can run, and the one command that fixes it if not."""

    role: str
    model: str
    ready: bool
    detail: str


def media_status(settings: Settings) -> list[EngineStatus]:
    """Readiness of the offline media engines the settings use (cheap; for a UI banner)."""
    out: list[EngineStatus] = []
    if settings.role("transcription").model == LOCAL_TRANSCRIPTION_MODEL:
        try:
            from agent.adapters import whisper_model

            if settings.whisper_model_dir:
                whisper_model.resolve_model_dir(settings.whisper_model_dir)
            else:
                whisper_model.part_files()
            out.append(EngineStatus("transcription", LOCAL_TRANSCRIPTION_MODEL, True, "faster-whisper base"))
        except Exception as exc:  # noqa: BLE001  (any reason: report it, never crash the page)
            out.append(EngineStatus("transcription", LOCAL_TRANSCRIPTION_MODEL, False, str(exc)))
    if settings.role("vision").model == LOCAL_VISION_MODEL:
        try:
            version = media.tesseract_status()
            out.append(EngineStatus("vision", LOCAL_VISION_MODEL, True, f"Tesseract {version} (por)"))
        except media.MediaError as exc:
            out.append(EngineStatus("vision", LOCAL_VISION_MODEL, False, exc.operator_reason))
    return out
