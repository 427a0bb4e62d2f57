#!/usr/bin/env bash
# Build the one-folder bundle: dist/gradia-desktop/ (see docs/user-guide/install.md).
# Usage: packaging/build-bundle.sh PYTHON   (a Python whose environment has GRADIA Desktop and PyInstaller)
set -euo pipefail
python=$(command -v "${1:?usage: packaging/build-bundle.sh PYTHON}")
python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")"  # absolute, links kept (a venv's python is one)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
start=$(date +%s)
cd "$here"
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$repo/dist" --workpath "$repo/build/pyinstaller" gradia-desktop.spec
ln -sf gradia-desktop "$repo/dist/gradia-desktop/gradia"
echo "built $repo/dist/gradia-desktop in $(( $(date +%s) - start )) s, $(du -sh "$repo/dist/gradia-desktop" | cut -f1)"
