#!/usr/bin/env bash
# Installs what is missing, builds dockhand in release mode and opens the TUI on the embedded
# engine (which needs root: run as root, or this script asks sudo). Extra arguments go to
# dockhand instead, e.g. `-H docker` for the local Docker or `--demo` for sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}"
ensure_cargo
cargo build --release --locked
if [ $# -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "the embedded engine needs root: run this as root, or give -H docker or --demo" >&2; exit 1; }
    exec sudo ./target/release/dockhand
fi
exec ./target/release/dockhand "$@"
