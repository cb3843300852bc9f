#!/usr/bin/env bash
# TUI benchmark, in one run:
# 1. the embedded engine with ENGINE_N running containers (a temporary root): time until the
#    list is on screen, CPU of the TUI and of every monitor of the root while idle over IDLE
#    seconds, the TUI's RSS; then key-to-frame times (DOCKHAND_FRAME_LOG) of 200 list keys
#    while a terminal pane streams `yes` beside the list;
# 2. a real dockerd with N running containers, dockhand and oxker measured one after the
#    other, each in its own tmux server:
#   - time from launch until the container list is on screen,
#   - the tool's CPU while idle over IDLE seconds, and its RSS at the end,
#   - CPU of dockerd + containerd + the shims over the same idle window.
# Usage: scripts/bench-tui.sh [N=500] [IDLE_SECONDS=30] [ENGINE_N=2000]
# Prints a Markdown table for docs/benchmarks.md. Everything it starts is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

N=${1:-500}
IDLE=${2:-30}
ENGINE_N=${3:-2000}
LABEL=dh-bench
IMAGE=dh-bench-busybox:latest
SOCK=dh-bench-$$
HZ=$(getconf CLK_TCK)

ensure_packages "${BUILD_PACKAGES[@]}" tmux docker.io busybox-static
ensure_cargo
ensure_dockerd
cargo build --release --locked --quiet
DH=$PWD/target/release/dockhand
if ! command -v oxker >/dev/null; then
    cargo install oxker --locked
fi

cleanup() {
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    if [ -d "$WORK/engine" ]; then
        "$DH" --root "$WORK/engine" system reset -f >/dev/null 2>&1 || true
    fi
    "$DH" -H docker ps -a -q --filter "label=$LABEL" | xargs -r -n 50 "$DH" -H docker rm -f >/dev/null 2>&1 || true
    "$DH" -H docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    stop_dockerd
}
WORK=$(mktemp -d)
export TMUX_TMPDIR=$WORK
trap cleanup EXIT

# A one-layer busybox image, imported through dockhand itself.
mkdir -p "$WORK/rootfs/bin"
cp /bin/busybox "$WORK/rootfs/bin/"
for a in sh sleep yes; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
ticks() { # utime+stime of the given pids, in clock ticks
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}
daemon_pids() { pgrep -x dockerd; pgrep -x containerd; pgrep -f containerd-shim; }

measure() { # name command…
    local name=$1
    shift
    local start now pid
    start=$(date +%s%N)
    tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 -s bench "$*"
    # The list is on screen when container names show.
    until tmux -L "$SOCK" capture-pane -p -t bench 2>/dev/null | grep -q 'dh-bench-'; do
        sleep 0.01
        now=$(date +%s%N)
        if [ $(((now - start) / 1000000000)) -gt 120 ]; then
            echo "$name did not show the list within 120 s" >&2
            tmux -L "$SOCK" capture-pane -p -t bench >&2 || true
            exit 1
        fi
    done
    now=$(date +%s%N)
    local first_ms=$(((now - start) / 1000000))
    pid=$(pgrep -n -f "^$1" || pgrep -n -x "$(basename "$1")")
    sleep 5
    local daemons
    daemons=$(daemon_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    local t0 d0 t1 d1
    t0=$(ticks "$pid")
    d0=$(ticks $daemons)
    sleep "$IDLE"
    t1=$(ticks "$pid")
    # shellcheck disable=SC2086
    d1=$(ticks $daemons)
    local rss
    rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    awk -v n="$name" -v f="$first_ms" -v t=$((t1 - t0)) -v d=$((d1 - d0)) -v s="$IDLE" -v hz="$HZ" -v r="$rss" \
        'BEGIN { printf "| %s | %d ms | %.2f %% | %s MiB | %.1f %% |\n", n, f, 100 * t / (s * hz), r, 100 * d / (s * hz) }'
    sleep 3
}

baseline() { # the daemons' own CPU with no client
    local daemons d0 d1
    daemons=$(daemon_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    d0=$(ticks $daemons)
    sleep "$IDLE"
    # shellcheck disable=SC2086
    d1=$(ticks $daemons)
    awk -v d=$((d1 - d0)) -v s="$IDLE" -v hz="$HZ" \
        'BEGIN { printf "| (no client) | | | | %.1f %% |\n", 100 * d / (s * hz) }'
}

engine_pids() { pgrep -f "dockhand __monitor $ENGINE_ROOT "; }

engine_phase() {
    ENGINE_ROOT=$WORK/engine
    local e=("$DH" --root "$ENGINE_ROOT")
    "${e[@]}" import -c 'CMD ["sleep", "infinity"]' "$WORK/rootfs.tar" "$IMAGE" >/dev/null
    echo "starting $ENGINE_N containers on the engine…" >&2
    seq 1 "$ENGINE_N" | xargs -P 2 -I{} "${e[@]}" run -d --network none --name "dh-bench-{}" "$IMAGE" >/dev/null
    local running
    running=$("${e[@]}" ps -q | wc -l)
    [ "$running" -eq "$ENGINE_N" ] || { echo "only $running of $ENGINE_N containers run" >&2; exit 1; }
    sleep 5
    local start now pid first_ms
    start=$(date +%s%N)
    tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 -s bench "${e[*]} --config /dev/null"
    until tmux -L "$SOCK" capture-pane -p -t bench 2>/dev/null | grep -q 'dh-bench-'; do sleep 0.01; done
    now=$(date +%s%N)
    first_ms=$(((now - start) / 1000000))
    pid=$(pgrep -n -f "^$DH --root $ENGINE_ROOT --config")
    sleep 5
    local monitors t0 m0 t1 m1 rss
    monitors=$(engine_pids | tr '\n' ' ')
    # shellcheck disable=SC2086
    t0=$(ticks "$pid"); m0=$(ticks $monitors)
    sleep "$IDLE"
    # shellcheck disable=SC2086
    t1=$(ticks "$pid"); m1=$(ticks $monitors)
    rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    echo "| engine, $ENGINE_N running | list on screen | idle CPU: TUI | idle CPU: monitors | TUI RSS |"
    echo "|---|---|---|---|---|"
    awk -v f="$first_ms" -v t=$((t1 - t0)) -v m=$((m1 - m0)) -v s="$IDLE" -v hz="$HZ" -v r="$rss" \
        'BEGIN { printf "| dockhand | %d ms | %.2f %% | %.2f %% | %s MiB |\n", f, 100 * t / (s * hz), 100 * m / (s * hz), r }'
    echo

    # Key to frame: list keys while a terminal pane beside the list streams `yes`.
    local frames=$WORK/frames
    tmux -L "$SOCK" -f /dev/null new-session -d -x 200 -y 50 -s bench \
        "DOCKHAND_FRAME_LOG=$frames ${e[*]} --config /dev/null"
    until tmux -L "$SOCK" capture-pane -p -t bench 2>/dev/null | grep -q 'dh-bench-'; do sleep 0.01; done
    tmux -L "$SOCK" send-keys -t bench : && sleep 0.2
    tmux -L "$SOCK" send-keys -t bench -l "exec dh-bench-1 yes" && tmux -L "$SOCK" send-keys -t bench Enter
    sleep 2
    tmux -L "$SOCK" send-keys -t bench C-] && sleep 1
    : >"$frames"
    local i
    for i in $(seq 1 100); do
        tmux -L "$SOCK" send-keys -t bench j; sleep 0.05
        tmux -L "$SOCK" send-keys -t bench k; sleep 0.05
    done
    sleep 1
    tmux -L "$SOCK" capture-pane -p -t bench | grep -q '^│y' || { echo "the pane did not stream yes" >&2; exit 1; }
    tmux -L "$SOCK" kill-server 2>/dev/null || true
    echo "| key to frame, a pane streaming yes | keys | median | p95 | max | of the slowest, handling before the draw |"
    echo "|---|---|---|---|---|---|"
    sort -n "$frames" | awk '{ v[NR] = $1; h[NR] = $2 } END {
        printf "| dockhand | %d | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n", NR, v[int(NR * 0.5 + 0.5)] / 1000, v[int(NR * 0.95 + 0.5)] / 1000, v[NR] / 1000, h[NR] / 1000 }'
    echo
    "${e[@]}" system reset -f >/dev/null
}

docker_phase() {
    "$DH" -H docker import -c 'CMD ["sleep", "infinity"]' "$WORK/rootfs.tar" "$IMAGE" >/dev/null
    echo "starting $N containers on dockerd…" >&2
    seq 1 "$N" | xargs -P 4 -I{} "$DH" -H docker run -d --label "$LABEL=1" --name "dh-bench-{}" "$IMAGE" >/dev/null
    local running
    running=$("$DH" -H docker ps -q --filter "label=$LABEL" | wc -l)
    [ "$running" -eq "$N" ] || { echo "only $running of $N containers run" >&2; exit 1; }
    sleep 5
    echo "| tool ($N containers, idle ${IDLE} s) | list on screen | idle CPU | RSS | dockerd+containerd+shims CPU |"
    echo "|---|---|---|---|---|"
    baseline
    measure dockhand "$DH" -H docker --config /dev/null
    measure oxker "$(command -v oxker)"
}

engine_phase
docker_phase
