#!/usr/bin/env bash
# Debian packages for offline OCR (tesseract + Portuguese model). Installs them when we are root
# with apt; otherwise prints the one command to run. The app still starts without them and says so.
set -u
pkgs="tesseract-ocr tesseract-ocr-por"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing:$missing"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; }
else
  echo "Offline OCR needs:$missing — run: sudo apt-get install -y$missing"
fi
