#!/usr/bin/env bash
# Debian packages for the offline media backends: tesseract + its Portuguese model (OCR) and
# espeak-ng (pt-BR speech for the test fixtures, tests/fixtures/media/make_fixtures.py).
# Installs what is missing when we are root with apt; otherwise prints the one command to run.
# No ffmpeg: PyAV (pulled in by faster-whisper) bundles its own FFmpeg libraries.
# The app still starts without them and says what is missing.
set -u
pkgs="tesseract-ocr tesseract-ocr-por espeak-ng"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing:$missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; }
else
  echo "Offline OCR/test audio need:$missing — run: sudo apt-get install -y$missing"
fi
