"""Audio → text and image → text, offline: faster-whisper for speech, Tesseract for images.

These are the embedded (no key, no network) backends. They never call a model API and never write
ledger rows: ``agent/gateway.py`` wraps them (and the LiteLLM transcription / vision paths) so every
call is costed. Every refusal is a :class:`MediaError` carrying a pt-BR ``customer_message`` (what
to tell the customer: resend or type) and an English ``operator_reason`` (for the trace).

The real format is sniffed from the bytes: customers and WhatsApp exports often name files wrongly.
A wrong extension is recorded (``MediaText.format_mismatch``) but does not stop a decodable file.
"""

from __future__ import annotations

import base64
import contextlib
import io
import math
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # heavy imports, done lazily at run time
    import numpy as np
    import numpy.typing as npt
    from av.audio.frame import AudioFrame
    from av.container import InputContainer
    from PIL.Image import Image as PILImage

MediaKind = Literal["audio", "image"]

DEFAULT_MAX_AUDIO_SECONDS = 180.0
DEFAULT_MAX_AUDIO_BYTES = 25 * 1024 * 1024  # the OpenAI transcription limit; plenty for voice notes
DEFAULT_MAX_PIXELS = 40_000_000  # ~ a 48 MP photo is refused, a 12 MP phone photo is fine
OCR_MAX_SIDE = 3500  # longer sides are downscaled before OCR (text stays legible, 4x faster)
OCR_MIN_SIDE = 1000  # images whose longest side is smaller are upscaled (Tesseract wants ~30 px caps)
DEFAULT_INITIAL_PROMPT = (
    "Atendimento sobre o saque-aniversário do FGTS. O cliente informa o CPF e pergunta sobre a "
    "antecipação na Caixa."
)
# When a decode went wrong, by Whisper's own yardsticks (the openai/whisper defaults): a compression
# ratio above 2.4 is text repeating itself ("0, 7, 6, 6, 6, 6…"); an average log-probability below
# -1 is the model guessing.
LOOP_COMPRESSION_RATIO = 2.4
UNSURE_AVG_LOGPROB = -1.0
TESSERACT_INSTALL = "sudo apt-get install -y tesseract-ocr tesseract-ocr-por"
TESSERACT_POR_INSTALL = "sudo apt-get install -y tesseract-ocr-por"

_RESEND_OR_TYPE = "Pode enviar de novo ou, se preferir, escrever sua mensagem?"


# ---------------------------------------------------------------------------------------- errors
class MediaError(Exception):
    """A media file could not be turned into text. Safe to show ``customer_message``."""

    code = "media_error"
    default_customer_message = f"Não consegui processar o arquivo que você enviou. {_RESEND_OR_TYPE}"

    def __init__(self, operator_reason: str, *, customer_message: str | None = None) -> None:
        super().__init__(operator_reason)
        self.operator_reason = operator_reason
        self.customer_message = customer_message or self.default_customer_message


class EmptyMediaError(MediaError):
    code = "empty_file"
    default_customer_message = f"O arquivo chegou vazio. {_RESEND_OR_TYPE}"


class SilentAudioError(MediaError):
    code = "silent_audio"
    default_customer_message = (
        "Não consegui ouvir nada no seu áudio. Pode gravar de novo, falando perto do celular, "
        "ou escrever sua mensagem?"
    )


class AudioTooLongError(MediaError):
    code = "audio_too_long"

    def __init__(self, operator_reason: str, *, limit_seconds: float) -> None:
        minutes = max(1, int(limit_seconds // 60))
        limit = f"{minutes} minuto{'s' if minutes > 1 else ''}" if limit_seconds >= 60 else (
            f"{int(limit_seconds)} segundos"
        )
        super().__init__(
            operator_reason,
            customer_message=(
                f"Seu áudio ficou longo demais para mim (o limite é de {limit}). Pode mandar um "
                "áudio mais curto ou escrever sua mensagem?"
            ),
        )
        self.limit_seconds = limit_seconds


class CorruptMediaError(MediaError):
    code = "corrupt_file"
    default_customer_message = (
        f"Não consegui abrir o arquivo, parece que ele chegou corrompido. {_RESEND_OR_TYPE}"
    )


class UnsupportedFormatError(MediaError):
    code = "unsupported_format"
    default_customer_message = (
        "Não consigo ler esse tipo de arquivo. Pode mandar um áudio (como os do WhatsApp) ou uma "
        "foto/print da tela, ou escrever sua mensagem?"
    )


class FormatMismatchError(UnsupportedFormatError):
    """The extension claims one kind of media but the bytes are another we cannot use here."""

    code = "format_mismatch"


class NoTextInImageError(MediaError):
    code = "no_text_in_image"
    default_customer_message = (
        "Não encontrei nenhum texto na imagem. Pode mandar uma foto mais nítida, com boa luz e o "
        "texto inteiro aparecendo, ou digitar a informação?"
    )


class ImageTooLargeError(MediaError):
    code = "image_too_large"
    default_customer_message = (
        "A imagem é grande demais para eu ler. Pode mandar um print da tela ou uma foto com "
        "resolução menor, ou digitar a informação?"
    )


class MediaEngineUnavailableError(MediaError):
    """The local engine is not installed; ``install_command`` fixes it (for the operator)."""

    code = "engine_unavailable"

    def __init__(self, operator_reason: str, *, install_command: str, kind: MediaKind) -> None:
        what = "ouvir áudios" if kind == "audio" else "ler imagens"
        super().__init__(
            f"{operator_reason} Fix: {install_command}",
            customer_message=f"No momento não consigo {what}. Pode escrever sua mensagem?",
        )
        self.install_command = install_command


class TesseractMissingError(MediaEngineUnavailableError):
    code = "tesseract_missing"


class WhisperModelMissingError(MediaEngineUnavailableError):
    code = "whisper_model_missing"


# ---------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class MediaText:
    """Text recovered from one audio or image, with what the operator needs to judge it."""

    text: str
    kind: MediaKind
    engine: str
    latency_ms: float
    detected_format: str
    declared_format: str | None = None  # from the file name; None when it has no known extension
    format_mismatch: bool = False
    seconds: float | None = None  # audio duration
    speech_seconds: float | None = None  # audio left after voice-activity detection
    language: str | None = None
    confidence: float | None = None  # 0..1: exp(avg_logprob) for audio, mean word conf for OCR
    avg_logprob: float | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)  # English, for the trace


# ------------------------------------------------------------------------------------- sniffing
AUDIO_FORMATS = frozenset({"wav", "ogg", "webm", "mp3", "m4a", "flac", "aac", "amr"})
IMAGE_FORMATS = frozenset({"png", "jpeg", "webp", "gif", "bmp", "tiff"})
_EXTENSIONS = {
    "wav": "wav", "wave": "wav", "ogg": "ogg", "oga": "ogg", "opus": "ogg", "webm": "webm",
    "weba": "webm", "mkv": "webm", "mka": "webm", "mp3": "mp3", "m4a": "m4a", "mp4": "m4a",
    "aac": "aac", "flac": "flac", "amr": "amr", "png": "png", "jpg": "jpeg", "jpeg": "jpeg",
    "jfif": "jpeg", "webp": "webp", "gif": "gif", "bmp": "bmp", "tif": "tiff", "tiff": "tiff",
    "heic": "heic", "heif": "heic", "pdf": "pdf", "txt": "text", "zip": "zip",
}
_MIME = {
    "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
    "bmp": "image/bmp", "tiff": "image/tiff",
}


def sniff_format(data: bytes) -> str | None:
    """Name the container from magic bytes: wav, ogg, webm, mp3, m4a, flac, aac, amr, png, jpeg,
    webp, gif, bmp, tiff, heic, pdf, zip — or None when unknown. m4a covers every MP4 audio."""
    head = data[:64]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"  # EBML: webm or matroska, both decode the same way
    if head[:4] == b"fLaC":
        return "flac"
    if head[:6] == b"#!AMR\n" or head[:9] == b"#!AMR-WB\n":
        return "amr"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
            return "heic"
        return "m4a"
    if head[:3] == b"ID3":
        return "mp3"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(data) > 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:5] == b"%PDF-":
        return "pdf"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"  # ADTS sync word, layer 0
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3"  # MPEG audio frame sync without an ID3 tag
    return None


def declared_format(filename: str) -> str | None:
    """The format a file name claims (``voice.opus`` → ``ogg``), or None."""
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    return _EXTENSIONS.get(suffix)


def _kind_of(fmt: str | None) -> str | None:
    if fmt in AUDIO_FORMATS:
        return "audio"
    if fmt in IMAGE_FORMATS:
        return "image"
    return None


def _check_format(data: bytes, filename: str, kind: MediaKind) -> tuple[str | None, str | None]:
    """Return (sniffed, declared); raise when the bytes are clearly not ``kind`` media."""
    if not data:
        raise EmptyMediaError(f"{filename or 'upload'}: 0 bytes received")
    sniffed, declared = sniff_format(data), declared_format(filename)
    sniffed_kind, declared_kind = _kind_of(sniffed), _kind_of(declared)
    if sniffed is not None and sniffed_kind != kind:
        reason = f"{filename!r}: content is {sniffed}, not {kind}"
        if declared_kind == kind:
            raise FormatMismatchError(f"{reason} (the .{declared} extension lies)")
        if sniffed == "heic":
            raise UnsupportedFormatError(
                f"{reason}: HEIC/HEIF photos are not supported by the local OCR (no decoder)",
                customer_message="Não consigo abrir fotos no formato HEIC. Pode mandar um print "
                "da tela ou a foto em JPG, ou digitar a informação?",
            )
        raise UnsupportedFormatError(reason)
    if sniffed is None and declared_kind != kind:
        raise UnsupportedFormatError(
            f"{filename!r}: unknown content (first bytes {data[:8].hex()}) and extension "
            f"{PurePath(filename or '').suffix or '(none)'} is not a supported {kind} format"
        )
    return sniffed, declared


def _mismatch_warning(filename: str, sniffed: str | None, declared: str | None) -> list[str]:
    if sniffed and declared and sniffed != declared:
        return [f"extension of {filename!r} says {declared} but the content is {sniffed}"]
    return []


# ---------------------------------------------------------------------------------------- audio
def _open_container(data: bytes) -> InputContainer:
    import av

    try:
        return av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise CorruptMediaError(f"audio container cannot be opened: {exc}") from exc


def probe_audio_seconds(data: bytes) -> float:
    """Duration of an audio file in seconds, from the container header when it has one, else by
    decoding (browser webm recordings carry no duration). Raises CorruptMediaError."""
    import av

    if not data:
        raise EmptyMediaError("0 bytes received")
    with _open_container(data) as container:
        if not container.streams.audio:
            raise CorruptMediaError("container has no audio stream")
        stream = container.streams.audio[0]
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / 1_000_000
        try:
            samples = sum(frame.samples for frame in container.decode(stream))
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(f"audio stream cannot be decoded: {exc}") from exc
        return samples / (stream.rate or 1)


def audio_format_for_api(data: bytes) -> str:
    """The real file extension to send to a transcription API (they go by the name): wav, ogg,
    webm, mp3, m4a, flac. Raises UnsupportedFormatError for anything else."""
    fmt = sniff_format(data)
    if fmt in {"wav", "ogg", "webm", "mp3", "m4a", "flac"}:
        return str(fmt)
    raise UnsupportedFormatError(f"content is {fmt or 'unknown'}, not an API-supported audio")


def _decode(data: bytes, max_seconds: float) -> npt.NDArray[np.float32]:
    """Decode to 16 kHz mono float32 like faster-whisper's ``decode_audio``, but stop as soon as
    the audio passes ``max_seconds``: a header can lie about the duration, and a 25 MB opus file
    can hold hours that would decode to gigabytes."""
    import gc

    import av
    import numpy as np

    limit = int(max_seconds * 16000)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    chunks: list[np.ndarray] = []
    total = 0

    def take(frames: list[AudioFrame]) -> None:
        nonlocal total
        for out in frames:
            samples = out.to_ndarray().reshape(-1)
            chunks.append(samples)
            total += samples.size
        if total > limit:
            raise AudioTooLongError(
                f"audio decodes past {max_seconds:.0f} s (the header said otherwise)",
                limit_seconds=max_seconds,
            )

    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise CorruptMediaError("container has no audio stream")
            packets = container.demux(container.streams.audio[0])
            for packet in packets:
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    continue  # one damaged packet in a voice note should not lose the rest
                for frame in frames:
                    frame.pts = None
                    take(resampler.resample(frame))
            take(resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"audio cannot be decoded: {type(exc).__name__}: {exc}") from exc
    finally:
        del resampler
        gc.collect()  # PyAV resamplers leak without it (faster-whisper does the same)
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def transcribe_local(
    data: bytes,
    filename: str = "",
    *,
    language: str = "pt",
    initial_prompt: str | None = DEFAULT_INITIAL_PROMPT,
    max_seconds: float = DEFAULT_MAX_AUDIO_SECONDS,
    max_bytes: int = DEFAULT_MAX_AUDIO_BYTES,
    model_dir: str | None = None,
    beam_size: int = 5,
) -> MediaText:
    """Transcribe speech with faster-whisper (bundled Whisper base unless ``model_dir`` /
    ``WHISPER_MODEL_DIR``), VAD on. Raises a MediaError subclass for every unusable input.

    Deterministic: the same audio gives the same text on every run. Beam search at temperature 0;
    a decode that loops, says the initial prompt back or is unsure is decoded again with the fixed
    changes of ``_RETRIES`` (never by sampling), and ``warnings`` tell which decode was kept."""
    from agent.adapters import whisper_model

    started = time.perf_counter()
    sniffed, declared = _check_format(data, filename, "audio")
    if len(data) > max_bytes:
        raise AudioTooLongError(
            f"{len(data)} bytes exceeds the {max_bytes} byte limit", limit_seconds=max_seconds
        )
    warnings = _mismatch_warning(filename, sniffed, declared)
    seconds = probe_audio_seconds(data)
    if seconds > max_seconds:  # refuse before decoding the whole thing
        raise AudioTooLongError(
            f"audio lasts {seconds:.1f} s, limit is {max_seconds:.0f} s", limit_seconds=max_seconds
        )
    audio = _decode(data, max_seconds)
    if audio.size == 0:
        raise CorruptMediaError("audio decoded to 0 samples")
    seconds = audio.size / 16000
    peak = float(abs(audio).max())
    if peak < 1e-3:  # digital silence: skip the model altogether
        raise SilentAudioError(f"{seconds:.1f} s of silence (peak amplitude {peak:.5f})")
    try:
        directory = whisper_model.resolve_model_dir(model_dir)
        model = whisper_model.load_model(directory)
    except whisper_model.ModelUnavailableError as exc:
        raise WhisperModelMissingError(
            str(exc), install_command=whisper_model.INSTALL_HINT, kind="audio"
        ) from exc
    prompt = initial_prompt or None
    attempts = [_decode_speech(model, audio, language, prompt, beam_size, "beam search")]
    for label, change in _RETRIES:
        if not attempts[-1].problems or not attempts[0].spoken:
            break  # a clean transcript, or nothing said at all (more decodes will not find speech)
        if "initial_prompt" in change and prompt is None:
            continue
        attempts.append(_decode_speech(model, audio, language, prompt, beam_size, label, **change))
    chosen = _best_decode(attempts)
    speech = float(getattr(attempts[0].info, "duration_after_vad", seconds))
    if chosen is None:
        found = "; ".join(f"with {a.label}: {', '.join(a.problems)}" for a in attempts if a.spoken)
        raise SilentAudioError(
            f"no speech found: {seconds:.1f} s of audio, {speech:.1f} s after VAD, "
            + (f"no usable segment text (decoded {found})" if found else "no segment text")
        )
    warnings += [f"decode with {a.label} {' and '.join(a.problems)}" for a in attempts if a.problems]
    if len(attempts) > 1:
        warnings.append(f"transcript from the decode with {chosen.label}")
    text = " ".join(s.text.strip() for s in chosen.kept)
    avg_logprob = chosen.avg_logprob
    info = chosen.info
    return MediaText(
        text=text,
        kind="audio",
        engine=f"faster-whisper:{directory.name}",
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        detected_format=sniffed or declared or "unknown",
        declared_format=declared,
        format_mismatch=bool(sniffed and declared and sniffed != declared),
        seconds=round(seconds, 3),
        speech_seconds=round(speech, 3),
        language=info.language,
        confidence=round(math.exp(avg_logprob), 3),
        avg_logprob=round(avg_logprob, 4),
        warnings=tuple(warnings),
    )


# Deterministic retries for a decode that went wrong, tried in order until one is clean. (faster-
# whisper's default instead decodes again *sampling* at rising temperatures, 0.2, 0.4 … 1.0: the
# same voice note then gave a different transcript on every run, right or wrong by chance.)
_RETRIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("a repetition penalty", {"repetition_penalty": 1.1}),  # breaks "6, 6, 6, 6…" loops
    ("no initial prompt", {"initial_prompt": None}),  # when the model only says the prompt back
)


@dataclass
class _Decode:
    """One decode of the whole clip: its segments with text, and what is wrong with it."""

    label: str
    info: Any  # faster-whisper TranscriptionInfo
    spoken: list[Any]  # segments with text
    kept: list[Any]  # the same, minus echoes of the initial prompt
    problems: list[str]
    avg_logprob: float
    loops: bool


def _decode_speech(model: Any, audio: npt.NDArray[np.float32], language: str, prompt: str | None,
                   beam_size: int, label: str, **change: Any) -> _Decode:
    options: dict[str, Any] = {"initial_prompt": prompt, **change}
    segments, info = model.transcribe(
        audio,
        language=language or None,
        vad_filter=True,
        beam_size=beam_size,
        temperature=0.0,  # one temperature: beam search only, never sampling (see _RETRIES)
        condition_on_previous_text=False,  # stops one misheard phrase from echoing on and on
        **options,
    )
    spoken = [s for s in segments if s.text.strip()]
    kept = [s for s in spoken if not _echoes_prompt(s.text, options["initial_prompt"])]
    problems = []
    if len(kept) < len(spoken):
        problems.append("repeated its initial prompt")
    ratio = max((s.compression_ratio for s in kept), default=0.0)
    if ratio > LOOP_COMPRESSION_RATIO:
        problems.append(f"repeated itself (compression ratio {ratio:.1f})")
    weights = [max(s.end - s.start, 0.01) for s in kept]
    avg_logprob = -math.inf
    if kept:
        avg_logprob = sum(s.avg_logprob * w for s, w in zip(kept, weights, strict=True)) / sum(weights)
    if kept and avg_logprob < UNSURE_AVG_LOGPROB:
        problems.append(f"was unsure (average log-probability {avg_logprob:.2f})")
    return _Decode(label, info, spoken, kept, problems, avg_logprob, ratio > LOOP_COMPRESSION_RATIO)


def _best_decode(attempts: list[_Decode]) -> _Decode | None:
    """The first clean decode; else the surest one with text that does not loop; else None."""
    for attempt in attempts:
        if attempt.kept and not attempt.problems:
            return attempt
    usable = [a for a in attempts if a.kept and not a.loops]
    return max(usable, key=lambda a: a.avg_logprob, default=None)


def _normalise_words(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _echoes_prompt(segment: str, prompt: str | None) -> bool:
    """Whisper sometimes 'hears' its own initial prompt, in noise or instead of unclear speech, and
    stitches its pieces together ("O cliente informa o saque-aniversário." for "Eu quero antecipar
    o saque-aniversário."): a segment of three words or more whose every word pair is in the prompt."""
    if not prompt:
        return False
    words = _normalise_words(segment).split()
    if len(words) < 3:
        return False
    prompt_words = _normalise_words(prompt).split()
    pairs = set(pairwise(prompt_words))
    return all(pair in pairs for pair in pairwise(words))


# ---------------------------------------------------------------------------------------- images
_tesseract_ok: dict[str, str] = {}
_tesseract_lock = threading.Lock()


def tesseract_status(lang: str = "por") -> str:
    """Return the Tesseract version when it and ``lang`` are installed; else raise
    TesseractMissingError with the exact install command. Success is cached per process."""
    with _tesseract_lock:
        if lang in _tesseract_ok:
            return _tesseract_ok[lang]
        import pytesseract

        if not shutil.which(pytesseract.pytesseract.tesseract_cmd):
            raise TesseractMissingError(
                f"tesseract binary {pytesseract.pytesseract.tesseract_cmd!r} not found on PATH.",
                install_command=TESSERACT_INSTALL,
                kind="image",
            )
        try:
            version = str(pytesseract.get_tesseract_version())
            languages = set(pytesseract.get_languages(config=""))
        except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError) as exc:
            raise TesseractMissingError(
                f"tesseract cannot run: {exc}.", install_command=TESSERACT_INSTALL, kind="image"
            ) from exc
        if lang not in languages:
            raise TesseractMissingError(
                f"tesseract {version} has no '{lang}' language data "
                f"(installed: {', '.join(sorted(languages)) or 'none'}).",
                install_command=TESSERACT_POR_INSTALL if lang == "por" else
                f"sudo apt-get install -y tesseract-ocr-{lang}",
                kind="image",
            )
        _tesseract_ok[lang] = version
        return version


def image_data_url(data: bytes, mime: str | None = None) -> str:
    """``data:image/...;base64,...`` for vision models; the MIME type is sniffed when omitted."""
    if not data:
        raise EmptyMediaError("0 bytes received")
    if mime is None:
        fmt = sniff_format(data)
        if fmt not in _MIME:
            raise UnsupportedFormatError(f"content is {fmt or 'unknown'}, not a supported image")
        mime = _MIME[fmt]
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _prepare_image(data: bytes, max_pixels: int, warnings: list[str]) -> PILImage:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with _pillow_guard_off():  # we apply our own, clearer, max_pixels check just below
            img: PILImage = Image.open(io.BytesIO(data))  # lazy: reads the header only
    except UnidentifiedImageError as exc:
        raise CorruptMediaError(f"image cannot be identified: {exc}") from exc
    width, height = img.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height / 1e6:.1f} MP, "
            f"limit is {max_pixels / 1e6:.1f} MP"
        )
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptMediaError(f"image data is truncated or corrupt: {exc}") from exc
    img = ImageOps.exif_transpose(img)  # phone photos are often stored sideways
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, "white")
        img = Image.alpha_composite(background, rgba)
    img = img.convert("L")
    longest = max(img.size)
    if longest > OCR_MAX_SIDE:
        scale = OCR_MAX_SIDE / longest
        warnings.append(f"downscaled {img.width}x{img.height} by {scale:.2f} before OCR")
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    elif longest < OCR_MIN_SIDE:
        scale = min(3.0, OCR_MIN_SIDE / longest)
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    img = ImageOps.autocontrast(img, cutoff=1)
    if _mean(img) < 110:  # dark-mode screenshot: Tesseract reads dark text on light far better
        img = ImageOps.invert(img)
        warnings.append("inverted a dark image before OCR")
    return img


_pillow_lock = threading.Lock()


@contextlib.contextmanager
def _pillow_guard_off() -> Iterator[None]:
    """Pillow refuses > 179 MP at open() with a generic message; we check sizes ourselves."""
    from PIL import Image

    with _pillow_lock:
        previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def _mean(img: PILImage) -> float:
    histogram = img.histogram()
    total = sum(histogram) or 1
    return sum(i * n for i, n in enumerate(histogram)) / total


def ocr_local(
    data: bytes,
    filename: str = "",
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    lang: str = "por",
    timeout_s: float = 30.0,
) -> MediaText:
    """Read the text of a photo or screenshot with Tesseract (``por``), after light preprocessing
    (grayscale, upscale small images, autocontrast, invert dark mode). Raises MediaError."""
    import pytesseract

    started = time.perf_counter()
    sniffed, declared = _check_format(data, filename, "image")
    warnings = _mismatch_warning(filename, sniffed, declared)
    # The image first: a corrupt or huge one gets its own reply ("send it again") on every machine.
    img = _prepare_image(data, max_pixels, warnings)
    version = tesseract_status(lang)
    try:
        table = pytesseract.image_to_data(
            img, lang=lang, config="--psm 3", output_type=pytesseract.Output.DICT,
            timeout=timeout_s,
        )
    except RuntimeError as exc:  # pytesseract raises RuntimeError on its timeout
        raise CorruptMediaError(f"tesseract failed or timed out after {timeout_s} s: {exc}") from exc
    text, confidence = _text_from_table(table)
    if sum(c.isalnum() for c in text) < 2:
        raise NoTextInImageError(
            f"tesseract found no text in the {img.width}x{img.height} image "
            f"({len(text)} chars of output)"
        )
    return MediaText(
        text=text,
        kind="image",
        engine=f"tesseract-{version}:{lang}",
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        detected_format=sniffed or declared or "unknown",
        declared_format=declared,
        format_mismatch=bool(sniffed and declared and sniffed != declared),
        language=lang,
        confidence=confidence,
        warnings=tuple(warnings),
    )


def _text_from_table(table: dict[str, list[Any]]) -> tuple[str, float | None]:
    """Rebuild lines from Tesseract's word table; mean confidence (0..1) of the kept words."""
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for i, word in enumerate(table["text"]):
        word = (word or "").strip()
        conf = float(table["conf"][i])
        if not word or conf < 0:
            continue
        if conf < 20 and not any(c.isalnum() for c in word):
            continue  # speckles read as punctuation
        key = (table["block_num"][i], table["par_num"][i], table["line_num"][i])
        lines.setdefault(key, []).append(word)
        confidences.append(conf)
    text = "\n".join(" ".join(words) for _, words in sorted(lines.items()))
    confidence = round(sum(confidences) / len(confidences) / 100, 3) if confidences else None
    return text, confidence


# ------------------------------------------------------------------------------ quality metrics
_DIGIT_WORDS = {
    "zero": "0", "um": "1", "uma": "1", "dois": "2", "duas": "2", "tres": "3", "quatro": "4",
    "cinco": "5", "seis": "6", "meia": "6", "sete": "7", "oito": "8", "nove": "9",
}


def normalise_for_match(text: str) -> str:
    """Lower case, no accents, punctuation → spaces: for tolerant comparisons of transcripts."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def digits_from_speech(text: str) -> str:
    """Every digit in order, spoken digit words included: "zero, sete, 3" → "073".

    Customers dictate a CPF digit by digit and Whisper writes some as words, some as figures.
    """
    out = []
    for token in normalise_for_match(text).split():
        if token.isdigit():
            out.append(token)
        elif token in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[token])
    return "".join(out)


def _edit_distance(a: list[str] | str, b: list[str] | str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]


def _canonical_words(text: str) -> list[str]:
    """Words for WER: digit words and figures both become single digits ("36" → "3 6")."""
    words: list[str] = []
    for token in normalise_for_match(text).split():
        if token.isdigit():
            words.extend(token)
        else:
            words.append(_DIGIT_WORDS.get(token, token))
    return words


def error_rate(reference: str, hypothesis: str, *, unit: Literal["word", "char"] = "word") -> float:
    """Word (WER) or character (CER) error rate, 0.0 is perfect. Case, accents and punctuation are
    ignored and a digit counts the same written as a figure or a word ("sete" = "7")."""
    ref_words, hyp_words = _canonical_words(reference), _canonical_words(hypothesis)
    if unit == "word":
        ref_units: list[str] | str = ref_words
        hyp_units: list[str] | str = hyp_words
    else:
        ref_units, hyp_units = " ".join(ref_words), " ".join(hyp_words)
    if not ref_units:
        return 0.0 if not hyp_units else 1.0
    return _edit_distance(ref_units, hyp_units) / len(ref_units)


__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_INITIAL_PROMPT",
    "DEFAULT_MAX_AUDIO_SECONDS",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_FORMATS",
    "AudioTooLongError",
    "CorruptMediaError",
    "EmptyMediaError",
    "FormatMismatchError",
    "ImageTooLargeError",
    "MediaEngineUnavailableError",
    "MediaError",
    "MediaText",
    "NoTextInImageError",
    "SilentAudioError",
    "TesseractMissingError",
    "UnsupportedFormatError",
    "WhisperModelMissingError",
    "audio_format_for_api",
    "declared_format",
    "digits_from_speech",
    "error_rate",
    "image_data_url",
    "normalise_for_match",
    "ocr_local",
    "probe_audio_seconds",
    "sniff_format",
    "tesseract_status",
    "transcribe_local",
]
