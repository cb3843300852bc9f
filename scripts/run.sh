#!/usr/bin/env bash
# Installs what is missing, builds dockhand in release mode and opens the TUI.
# Extra arguments go to dockhand. The embedded engine is not in this build yet, so the TUI
# opens on the built-in demo data (--demo) unless -H or another backend option is given.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_cargo
cargo build --release --locked
if [ $# -eq 0 ]; then
    set -- --demo
fi
exec ./target/release/dockhand "$@"
