#!/usr/bin/env bash
# Renders the TUI over the demo data into assets/screenshot.svg (needs tmux and python3).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
sock="dockhand-shot-$$"
TMUX_TMPDIR=$(mktemp -d)
export TMUX_TMPDIR
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$TMUX_TMPDIR"' EXIT
tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 34 -s shot \
    "TERM=xterm-256color ./target/release/dockhand --demo --config /dev/null"
sleep 1.5
# Select the web container and show its logs with timestamps.
for k in G k t; do tmux -L "$sock" send-keys -t shot "$k"; sleep 0.2; done
sleep 0.5
tmux -L "$sock" capture-pane -e -p -t shot | python3 scripts/ansi2svg.py 120 34 > assets/screenshot.svg
echo "wrote assets/screenshot.svg"
