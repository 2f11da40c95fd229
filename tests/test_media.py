"""Media basics and OCR: format sniffing, data URLs, image bad-input cases, Tesseract on fixtures."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from agent.adapters import media
from agent.adapters.media import (
    CorruptMediaError,
    EmptyMediaError,
    FormatMismatchError,
    ImageTooLargeError,
    MediaError,
    MediaText,
    NoTextInImageError,
    TesseractMissingError,
    UnsupportedFormatError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "media"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))


def _tesseract_ready() -> str | None:
    """None when tesseract + por are installed, else the reason to skip."""
    try:
        media.tesseract_status("por")
    except TesseractMissingError as exc:
        return f"{exc.operator_reason} (CI installs it via .ci/run)"
    return None


needs_tesseract = pytest.mark.skipif(
    bool(_tesseract_ready()), reason=_tesseract_ready() or "tesseract available"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def assert_explained(error: MediaError) -> None:
    """Both audiences get a message: the customer in Portuguese (resend or type), the operator in
    English (what went wrong)."""
    assert error.customer_message and error.operator_reason
    assert error.customer_message != error.operator_reason
    lowered = error.customer_message.lower()
    assert any(w in lowered for w in ("enviar", "mandar", "gravar", "escrever", "digitar")), lowered
    assert str(error) == error.operator_reason


# ------------------------------------------------------------------------------------- sniffing
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cpf.wav", "wav"),
        ("cpf.ogg", "ogg"),
        ("saque.webm", "webm"),
        ("saque.mp3", "mp3"),
        ("saque.m4a", "m4a"),
        ("fgts_app.png", "png"),
        ("cpf_document.jpg", "jpeg"),
    ],
)
def test_sniff_format_reads_the_bytes(name: str, expected: str) -> None:
    assert media.sniff_format(fixture(name)) == expected


def test_sniff_other_signatures() -> None:
    assert media.sniff_format(b"%PDF-1.7\n...") == "pdf"
    assert media.sniff_format(b"\x00\x00\x00\x18ftypheic\x00\x00") == "heic"
    assert media.sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert media.sniff_format(b"\xff\xfb\x90\x00" + b"\x00" * 20) == "mp3"  # no ID3 tag
    assert media.sniff_format(b"\xff\xf1\x50\x80" + b"\x00" * 20) == "aac"
    assert media.sniff_format(b"#!AMR\n\x00") == "amr"
    assert media.sniff_format(b"hello world") is None
    assert media.sniff_format(b"") is None


@pytest.mark.parametrize(
    ("filename", "expected"),
    [("PTT-20250101-WA0001.opus", "ogg"), ("voz.OGG", "ogg"), ("a.m4a", "m4a"), ("b.mp4", "m4a"),
     ("foto.JPG", "jpeg"), ("print.png", "png"), ("x.heic", "heic"), ("semextensao", None),
     ("", None), ("arquivo.xyz", None)],
)
def test_declared_format_from_filename(filename: str, expected: str | None) -> None:
    assert media.declared_format(filename) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("cpf.wav", "wav"), ("saque.ogg", "ogg"), ("saque.webm", "webm"), ("saque.mp3", "mp3"),
     ("saque.m4a", "m4a")],
)
def test_audio_format_for_api(name: str, expected: str) -> None:
    assert media.audio_format_for_api(fixture(name)) == expected


def test_audio_format_for_api_refuses_images() -> None:
    with pytest.raises(UnsupportedFormatError):
        media.audio_format_for_api(fixture("fgts_app.png"))


@pytest.mark.parametrize("name", [n for n in MANIFEST["audio"]])
def test_probe_audio_seconds_matches_fixture(name: str) -> None:
    expected = MANIFEST["audio"][name]["seconds"]
    assert media.probe_audio_seconds(fixture(name)) == pytest.approx(expected, abs=0.15)


def test_probe_audio_seconds_on_garbage_is_corrupt() -> None:
    with pytest.raises(CorruptMediaError):
        media.probe_audio_seconds(b"not audio at all" * 10)


# ------------------------------------------------------------------------------------ data URLs
def test_image_data_url_sniffs_mime_and_round_trips() -> None:
    data = fixture("cpf_document.jpg")
    url = media.image_data_url(data)
    assert url.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == data
    assert media.image_data_url(fixture("fgts_app.png"), "image/png").startswith("data:image/png;")


def test_image_data_url_refuses_non_images() -> None:
    with pytest.raises(UnsupportedFormatError):
        media.image_data_url(fixture("saque.ogg"))
    with pytest.raises(EmptyMediaError):
        media.image_data_url(b"")


def test_media_text_is_frozen() -> None:
    result = MediaText(text="oi", kind="image", engine="x", latency_ms=1.0, detected_format="png")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.text = "tchau"  # type: ignore[misc]


# ------------------------------------------------------------------------------ metrics helpers
def test_error_rate_and_digits_helpers() -> None:
    assert media.error_rate("Saque-aniversário do FGTS", "saque aniversario do fgts") == 0.0
    assert media.error_rate("um dois três quatro", "um dois tres") == pytest.approx(0.25)
    assert media.error_rate("abcd", "abed", unit="char") == pytest.approx(0.25)
    assert media.digits_from_speech("CPF zero, sete, 3. Seis 02-8") == "0736028"


# ------------------------------------------------------------------------- image bad-input cases
def test_empty_image() -> None:
    with pytest.raises(EmptyMediaError) as info:
        media.ocr_local(b"", "foto.jpg")
    assert_explained(info.value)


def test_audio_named_as_image_is_a_format_mismatch() -> None:
    with pytest.raises(FormatMismatchError) as info:
        media.ocr_local(fixture("saque.ogg"), "foto.jpg")
    assert "ogg" in info.value.operator_reason and "jpeg" in info.value.operator_reason
    assert_explained(info.value)


def test_pdf_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError) as info:
        media.ocr_local(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "extrato.pdf")
    assert not isinstance(info.value, FormatMismatchError)
    assert_explained(info.value)


def test_heic_is_unsupported_with_its_own_message() -> None:
    with pytest.raises(UnsupportedFormatError) as info:
        media.ocr_local(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "IMG_0001.HEIC")
    assert "HEIC" in info.value.customer_message
    assert_explained(info.value)


def test_unknown_bytes_with_unknown_extension_are_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError) as info:
        media.ocr_local(b"\x01\x02\x03 binary blob" * 4, "dados.xyz")
    assert_explained(info.value)


def _png_header_claiming(width: int, height: int) -> bytes:
    """A syntactically valid PNG start whose header claims a huge size (no pixel data needed)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def test_huge_image_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError) as info:
        media.ocr_local(_png_header_claiming(60_000, 40_000), "enorme.png")
    assert "60000x40000" in info.value.operator_reason
    assert_explained(info.value)


def test_max_pixels_is_a_parameter() -> None:
    with pytest.raises(ImageTooLargeError):
        media.ocr_local(fixture("fgts_app.png"), "print.png", max_pixels=100_000)


@needs_tesseract
def test_truncated_image_is_corrupt() -> None:
    data = fixture("fgts_app.png")
    with pytest.raises(CorruptMediaError) as info:
        media.ocr_local(data[: len(data) // 2], "print.png")
    assert_explained(info.value)


@needs_tesseract
def test_blank_image_has_no_text() -> None:
    with pytest.raises(NoTextInImageError) as info:
        media.ocr_local(fixture("blank.png"), "blank.png")
    assert_explained(info.value)


# ------------------------------------------------------------------------------ tesseract state
def test_missing_tesseract_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    monkeypatch.setattr(media, "_tesseract_ok", {})
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(TesseractMissingError) as info:
        media.ocr_local(fixture("fgts_app.png"), "print.png")
    assert info.value.install_command == "sudo apt-get install -y tesseract-ocr tesseract-ocr-por"
    assert info.value.install_command in info.value.operator_reason
    assert_explained(info.value)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")
def test_missing_portuguese_model_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    monkeypatch.setattr(media, "_tesseract_ok", {})
    monkeypatch.setattr(pytesseract, "get_languages", lambda config="": ["eng", "osd"])
    with pytest.raises(TesseractMissingError) as info:
        media.tesseract_status("por")
    assert info.value.install_command == "sudo apt-get install -y tesseract-ocr-por"
    assert "eng" in info.value.operator_reason


# ---------------------------------------------------------------------------------- OCR quality
@needs_tesseract
def test_ocr_fgts_screenshot_reads_the_balance() -> None:
    result = media.ocr_local(fixture("fgts_app.png"), "print.png")
    assert result.kind == "image" and result.detected_format == "png"
    assert not result.format_mismatch
    assert "R$ 3.456,78" in result.text
    plain = media.normalise_for_match(result.text)
    assert "saldo disponivel" in plain and "saque aniversario" in plain
    assert result.engine.startswith("tesseract-") and result.engine.endswith(":por")
    assert result.confidence is not None and result.confidence > 0.8
    reference = MANIFEST["images"]["fgts_app.png"]["reference"]
    assert media.error_rate(reference, result.text, unit="char") < 0.05


@needs_tesseract
def test_ocr_document_photo_reads_the_cpf() -> None:
    result = media.ocr_local(fixture("cpf_document.jpg"), "documento.jpg")
    assert "073.602.846-35" in result.text or "07360284635" in media.digits_from_speech(result.text)
    assert "MARIA JOS" in result.text
    reference = MANIFEST["images"]["cpf_document.jpg"]["reference"]
    assert media.error_rate(reference, result.text, unit="char") < 0.1


@needs_tesseract
def test_lying_image_extension_is_recorded_not_fatal() -> None:
    result = media.ocr_local(fixture("fgts_app.png"), "print.jpg")
    assert result.format_mismatch and result.detected_format == "png"
    assert result.declared_format == "jpeg"
    assert any("jpeg" in w and "png" in w for w in result.warnings)
    assert "3.456,78" in result.text


@needs_tesseract
def test_dark_mode_screenshot_is_inverted_and_read() -> None:
    img = ImageOps.invert(Image.open(io.BytesIO(fixture("fgts_app.png"))).convert("RGB"))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    result = media.ocr_local(buffer.getvalue(), "dark.png")
    assert "3.456,78" in result.text
    assert any("inverted" in w for w in result.warnings)


@needs_tesseract
def test_very_wide_image_is_downscaled_then_read() -> None:
    img = Image.new("L", (5200, 700), 255)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 150)
    except OSError:
        font = ImageFont.load_default(150)
    draw.text((80, 250), "Saldo disponível R$ 3.456,78", font=font, fill=0)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    result = media.ocr_local(buffer.getvalue(), "largo.png")
    assert any("downscaled" in w for w in result.warnings)
    assert "3.456,78" in result.text
