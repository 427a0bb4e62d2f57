#!/usr/bin/env sh
# Install the launcher and icon for the current user (Linux, freedesktop.org menus).
# Usage: packaging/install-desktop-entry.sh   (after `make install`, with .venv/bin on PATH or installed system-wide)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
install -D -m 644 "$here/packaging/gradia-desktop.desktop" "$data/applications/gradia-desktop.desktop"
install -D -m 644 "$here/resources/icons/gradia.svg" "$data/icons/hicolor/scalable/apps/gradia-desktop.svg"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
echo "installed GRADIA Desktop launcher in $data/applications"
