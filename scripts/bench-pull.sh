#!/usr/bin/env bash
# Pull benchmark: a four-layer image of about 100 MB (compressed) in a registry on loopback
# (Debian docker-registry), pulled by dockhand's engine and by `docker pull`, each starting
# from an empty store, alternating, ROUNDS times. Prints a Markdown table for
# docs/benchmarks.md. Everything it starts is removed at the end.
# Usage: scripts/bench-pull.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ROUNDS=${1:-3}
ensure_packages "${BUILD_PACKAGES[@]}" docker.io docker-registry python3 bc
ensure_cargo
ensure_dockerd
cargo build --release --locked --quiet
DH=$PWD/target/release/dockhand

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
IMAGE=127.0.0.1:$PORT/dh-bench-pull:1
cleanup() {
    [ -n "${REG_PID:-}" ] && kill "$REG_PID" 2>/dev/null || true
    docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    stop_dockerd
}
trap cleanup EXIT

cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$WORK/registry.yml" >/dev/null 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

# Four layers of real files (programs and libraries of this machine), about 60 MB each.
python3 - "$WORK" <<'PY'
import os, sys, tarfile
work = sys.argv[1]
files = []
for top in ["/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/share"]:
    for d, _, names in os.walk(top):
        for n in sorted(names):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files.append(p)
layer, size, limit = 0, 0, 60 << 20
tar = tarfile.open(f"{work}/l0.tar", "w")
for p in files:
    if layer == 4:
        break
    tar.add(p, arcname=p.lstrip("/"))
    size += os.path.getsize(p)
    if size >= limit:
        tar.close()
        layer, size = layer + 1, 0
        if layer < 4:
            tar = tarfile.open(f"{work}/l{layer}.tar", "w")
PY
printf 'FROM scratch\nADD l0.tar /\nADD l1.tar /\nADD l2.tar /\nADD l3.tar /\n' >"$WORK/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$WORK" >/dev/null
docker push "$IMAGE" >/dev/null
docker rmi "$IMAGE" >/dev/null
compressed=$(du -sb "$WORK/registry/docker/registry/v2/blobs" | cut -f1)

now() { date +%s.%N; }
docker_times=()
dh_times=()
for round in $(seq "$ROUNDS"); do
    t0=$(now)
    docker pull -q "$IMAGE" >/dev/null
    t1=$(now)
    docker rmi "$IMAGE" >/dev/null
    docker_times+=("$(echo "$t1 - $t0" | bc)")

    ROOT=$WORK/dh-root-$round
    t0=$(now)
    DOCKHAND_ROOT=$ROOT "$DH" pull "$IMAGE" >/dev/null
    t1=$(now)
    rm -rf "$ROOT"
    dh_times+=("$(echo "$t1 - $t0" | bc)")
    printf 'round %s: docker %.2f s, dockhand %.2f s\n' "$round" "${docker_times[-1]}" "${dh_times[-1]}" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median "${docker_times[@]}")
h=$(median "${dh_times[@]}")
mb=$(echo "scale=1; $compressed / 1048576" | bc)
echo
echo "| pull of a 4-layer image, $mb MiB compressed (median of $ROUNDS) | time | throughput |"
echo "|---|---|---|"
printf '| docker pull | %.2f s | %.1f MiB/s |\n' "$d" "$(echo "$mb / $d" | bc -l)"
printf '| dockhand pull | %.2f s | %.1f MiB/s |\n' "$h" "$(echo "$mb / $h" | bc -l)"
echo
printf 'dockhand / docker time: %.2f\n' "$(echo "$h / $d" | bc -l)"
