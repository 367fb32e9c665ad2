#!/usr/bin/env bash
# Install the peers bench/read.py compares against: Debian's Tesseract 5 (apt) and RapidOCR
# (rapidocr_onnxruntime, pinned below) in its own venv, bench/.venv-peers: it needs opencv-python,
# which fights the main .venv's opencv-python-headless over `cv2`. Idempotent; always exits 0 and
# says which peer is missing, so `make bench` still runs (bench/read.py reports a missing peer).
# Also Debian's handwriting fonts, for bench/read_validation.py's `handfonts` numbers.
set -u
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PEERS_VENV="bench/.venv-peers"
RAPIDOCR_PIN="rapidocr_onnxruntime==1.4.4"
missing=""

# --- Tesseract 5 (Debian tesseract-ocr; the English data it brings holds the digits) ---
ensure_tesseract() {
  if command -v tesseract >/dev/null 2>&1; then
    echo "ensure-bench-peers: tesseract present: $(tesseract --version 2>&1 | head -n 1)"
    return 0
  fi
  bash scripts/apt-install.sh ensure-bench-peers tesseract-ocr
  if command -v tesseract >/dev/null 2>&1; then
    echo "ensure-bench-peers: installed $(tesseract --version 2>&1 | head -n 1)"
  else
    echo "ensure-bench-peers: apt-get could not install tesseract-ocr." >&2
    return 1
  fi
}

# --- handwriting fonts (Debian), which bench/read_validation.py writes held-out numbers in ---
HANDWRITING_FONTS="fonts-bwht fonts-dkg-handwriting fonts-breip fonts-humor-sans fonts-dancingscript fonts-comic-neue"
ensure_handwriting_fonts() {
  if [ -e /usr/share/fonts/truetype/fifthhorseman/dkg.ttf ] && [ -d /usr/share/fonts/opentype/bwht ]; then
    echo "ensure-bench-peers: handwriting fonts present"
    return 0
  fi
  # shellcheck disable=SC2086
  bash scripts/apt-install.sh ensure-bench-peers $HANDWRITING_FONTS
  [ -d /usr/share/fonts/opentype/bwht ] || {
    echo "ensure-bench-peers: apt-get could not install $HANDWRITING_FONTS." >&2; return 1; }
}

# --- RapidOCR in bench/.venv-peers ---
rapidocr_works() {
  "$PEERS_VENV/bin/python" - "$RAPIDOCR_PIN" >/dev/null 2>&1 <<'EOF'
import sys
from importlib.metadata import version
import cv2  # noqa: F401  (fails when opencv-python lacks libGL)
import rapidocr_onnxruntime  # noqa: F401
name, pinned = sys.argv[1].split("==")
sys.exit(version(name) != pinned)
EOF
}

ensure_rapidocr() {
  if [ -x "$PEERS_VENV/bin/python" ] && rapidocr_works; then
    echo "ensure-bench-peers: RapidOCR present in $PEERS_VENV ($RAPIDOCR_PIN)"
    return 0
  fi
  if [ ! -x "$PEERS_VENV/bin/python" ]; then
    echo "ensure-bench-peers: creating $PEERS_VENV..."
    "$PYTHON" -m venv "$PEERS_VENV" || {
      echo "ensure-bench-peers: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)." >&2
      rm -rf "$PEERS_VENV"; return 1; }
  fi
  echo "ensure-bench-peers: installing $RAPIDOCR_PIN into $PEERS_VENV (models come in the wheel)..."
  "$PEERS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$RAPIDOCR_PIN" || {
    echo "ensure-bench-peers: pip could not install $RAPIDOCR_PIN." >&2; return 1; }
  if ! "$PEERS_VENV/bin/python" -c "import cv2" >/dev/null 2>&1; then
    # opencv-python is the GUI build and needs libGL; the headless build provides the same cv2.
    echo "ensure-bench-peers: opencv-python cannot load (no libGL?); switching $PEERS_VENV to opencv-python-headless..."
    "$PEERS_VENV/bin/python" -m pip uninstall --quiet -y opencv-python
    "$PEERS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check opencv-python-headless
  fi
  if rapidocr_works; then
    echo "ensure-bench-peers: RapidOCR ready in $PEERS_VENV ($RAPIDOCR_PIN)"
  else
    echo "ensure-bench-peers: $RAPIDOCR_PIN is installed but does not import; see: $PEERS_VENV/bin/python -c 'import rapidocr_onnxruntime'" >&2
    return 1
  fi
}

ensure_tesseract || missing="$missing tesseract"
ensure_rapidocr || missing="$missing rapidocr"
ensure_handwriting_fonts || missing="$missing handwriting-fonts"
if [ -n "$missing" ]; then
  echo "ensure-bench-peers: missing peer(s):$missing; bench/read.py will report them as unavailable." >&2
else
  echo "ensure-bench-peers: all peers ready (tesseract, rapidocr, handwriting fonts)."
fi
exit 0
