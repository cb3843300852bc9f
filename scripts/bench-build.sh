#!/usr/bin/env bash
# Build benchmark: one two-stage Dockerfile (a RUN in each stage, a COPY of ~1 MB of context,
# a COPY --from) over the same busybox image, built by dockhand's engine and by docker with
# BuildKit (the daemon's own, through Debian's docker 20.10 client), in one run:
#   - `build --no-cache`, median of ROUNDS,
#   - a rebuild where every step is cached, median of ROUNDS.
# Usage: scripts/bench-build.sh [ROUNDS=10]
# Prints Markdown for docs/benchmarks.md. Everything it makes is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ROUNDS=${1:-10}
ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" docker.io busybox-static bc
ensure_cargo
ensure_dockerd
cargo build --release --locked --quiet
DH=$PWD/target/release/dockhand
# Debian's client: its BuildKit is built in (a newer client wants the buildx plugin).
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
WORK=$(mktemp -d)
# On /var/lib, as docker's own data root (see bench-engine.sh).
ROOTDIR=$(mktemp -d -p /var/lib dockhand-bench.XXXXXX)
export DOCKHAND_ROOT=$ROOTDIR/root
BASE=dh-bench-build-base:1
TAG=dh-bench-build:1
cleanup() {
    "$DH" system reset -f >/dev/null 2>&1 || true
    "$DOCKER" rmi -f "$TAG" "$BASE" >/dev/null 2>&1 || true
    "$DOCKER" builder prune -a -f >/dev/null 2>&1 || true
    rm -rf "$WORK" "$ROOTDIR"
    stop_dockerd
}
trap cleanup EXIT

mkdir -p "$WORK/rootfs/bin"
cp /bin/busybox "$WORK/rootfs/bin/"
for a in sh cat wc ls echo; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
"$DH" import "$WORK/rootfs.tar" "$BASE" >/dev/null
"$DOCKER" import "$WORK/rootfs.tar" "$BASE" >/dev/null

CTX=$WORK/ctx
mkdir -p "$CTX/data"
for i in $(seq 16); do head -c 65536 /dev/urandom > "$CTX/data/part$i"; done
cat > "$CTX/Dockerfile" <<EOF
FROM $BASE AS build
COPY data/ /src/
RUN cat /src/* | wc -c > /size && echo built > /marker
FROM $BASE
COPY --from=build /size /marker /out/
COPY data/ /data/
RUN ls /data > /list
CMD ["cat", "/out/size"]
EOF

now() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# dockerd and BuildKit go on working after a build returns; each sample starts on a quiet
# machine.
settle() { sleep 1; }

dh_cold=(); docker_cold=(); dh_warm=(); docker_warm=()
for i in $(seq "$ROUNDS"); do
    settle; t0=$(now); "$DH" build -q --no-cache -t "$TAG" "$CTX" >/dev/null; t1=$(now); dh_cold+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); "$DOCKER" build -q --no-cache -t "$TAG" "$CTX" >/dev/null; t1=$(now); docker_cold+=("$(ms "$t0" "$t1")")
done
# The cache is full now: every step of a rebuild comes from it.
for i in $(seq "$ROUNDS"); do
    settle; t0=$(now); "$DH" build -q -t "$TAG" "$CTX" >/dev/null; t1=$(now); dh_warm+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); "$DOCKER" build -q -t "$TAG" "$CTX" >/dev/null; t1=$(now); docker_warm+=("$(ms "$t0" "$t1")")
done
# Both made an image that runs.
[ "$("$DH" run --rm --network none "$TAG")" = 1048576 ]
[ "$("$DOCKER" run --rm --network none "$TAG")" = 1048576 ]

c_dh=$(median "${dh_cold[@]}"); c_docker=$(median "${docker_cold[@]}")
w_dh=$(median "${dh_warm[@]}"); w_docker=$(median "${docker_warm[@]}")
echo
echo "| what (median of $ROUNDS) | dockhand | docker (BuildKit) | dockhand/docker |"
echo "|---|---|---|---|"
printf '| `build --no-cache` | %s ms | %s ms | %.3f |\n' "$c_dh" "$c_docker" "$(echo "$c_dh / $c_docker" | bc -l)"
printf '| rebuild, every step cached | %s ms | %s ms | %.3f |\n' "$w_dh" "$w_docker" "$(echo "$w_dh / $w_docker" | bc -l)"
