#!/bin/sh
# Install the OHIF viewer (v3) that the heartprint service serves at /viewer/.
#
# Fetches the pinned @ohif/app release from the npm registry (npm pack: the package's built
# dist/ only, no dependencies), checks its SHA-512 against the pinned value and unpacks dist/ to
# DEST (default .ohif/dist, which is not committed). The pin lives in
# src/heartprint/service/_viewer.py (OHIF_VERSION, OHIF_INTEGRITY).
#
#   tools/install_ohif.sh [DEST]
#
# Then start the service from the repository root (or set HEARTPRINT_VIEWER_DIR=DEST).
set -eu
cd "$(dirname "$0")/.."
DEST="${1:-.ohif/dist}"
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
command -v npm >/dev/null 2>&1 || { echo "install_ohif: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }
exec "$PYTHON" -c 'import sys
from heartprint.service._viewer import OHIF_PACKAGE, OHIF_VERSION, install
print(f"installing {OHIF_PACKAGE}@{OHIF_VERSION} into {sys.argv[1]} ...", file=sys.stderr)
print(install(sys.argv[1]))' "$DEST"
