#!/usr/bin/env bash
# Network benchmark: dockhand's engine and docker side by side, in one run, with the same
# busybox image (imported from one rootfs tarball):
#   - 20 containers started one after the other on a user-defined network, then removed
#     together: total time, median of ROUNDS;
#   - a 200 MB file downloaded with curl from busybox httpd in a container, through a port
#     published on 127.0.0.1: throughput, median of ROUNDS.
# Usage: scripts/bench-network.sh [ROUNDS=3]
# Prints Markdown for docs/benchmarks.md. Everything it starts is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ROUNDS=${1:-3}
ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" docker.io busybox-static bc curl
ensure_cargo
ensure_dockerd
cargo build --release --locked --quiet
DH=$PWD/target/release/dockhand
WORK=$(mktemp -d)
ROOTDIR=$(mktemp -d -p /var/lib dockhand-bench.XXXXXX)
export DOCKHAND_ROOT=$ROOTDIR/root
IMAGE=dh-bench-net:1
LABEL=dh-bench-net
NET=dh-bench-net
cleanup() {
    "$DH" system reset -f >/dev/null 2>&1 || true
    docker ps -a -q --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    rm -rf "$WORK" "$ROOTDIR"
    stop_dockerd
}
trap cleanup EXIT

mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/www"
cp /bin/busybox "$WORK/rootfs/bin/"
for a in sh true sleep httpd dd; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
"$DH" import "$WORK/rootfs.tar" "$IMAGE" >/dev/null
docker import "$WORK/rootfs.tar" "$IMAGE" >/dev/null
"$DH" network create "$NET" >/dev/null
docker network create "$NET" >/dev/null

now() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }
secs() { echo "scale=2; ($2 - $1) / 1000000000" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 20 up on the network, then all 20 removed at once.
twenty() { # $1: the command (dockhand or docker), $2: extra run flags
    local ids=() t0 t1 i
    t0=$(now)
    for i in $(seq 20); do
        # shellcheck disable=SC2086
        ids+=("$($1 run -d --network "$NET" $2 "$IMAGE" sleep 600)")
    done
    $1 rm -f "${ids[@]}" >/dev/null
    t1=$(now)
    secs "$t0" "$t1"
}
dh_20=(); docker_20=()
for i in $(seq "$ROUNDS"); do
    sleep 2; dh_20+=("$(twenty "$DH" "")")
    sleep 2; docker_20+=("$(twenty docker "--label $LABEL")")
done

# Throughput through 127.0.0.1: the file is made in a tmpfs inside the container.
serve='dd if=/dev/zero of=/www/big bs=1M count=200 2>/dev/null && exec httpd -f -p 80 -h /www'
"$DH" run -d --name dh-bench-web --tmpfs /www:size=256m -p 127.0.0.1::80 "$IMAGE" sh -c "$serve" >/dev/null
docker run -d --label "$LABEL" --name dh-bench-web --tmpfs /www:size=256m -p 127.0.0.1::80 "$IMAGE" sh -c "$serve" >/dev/null
dh_port=$("$DH" port dh-bench-web 80/tcp | head -1)
docker_port=$(docker port dh-bench-web 80/tcp | grep 127.0.0.1 | head -1)
ready() { for _ in $(seq 100); do curl -sf -o /dev/null -r 0-0 "http://$1/big" && return; sleep 0.1; done; echo "no answer on $1" >&2; exit 1; }
ready "$dh_port"; ready "$docker_port"
speed() { # MB/s of one download
    echo "scale=0; $(curl -s -o /dev/null -w '%{speed_download}' "http://$1/big") / 1000000" | bc
}
dh_mb=(); docker_mb=()
for i in $(seq "$ROUNDS"); do
    sleep 1; dh_mb+=("$(speed "$dh_port")")
    sleep 1; docker_mb+=("$(speed "$docker_port")")
done

t_dh=$(median "${dh_20[@]}"); t_docker=$(median "${docker_20[@]}")
m_dh=$(median "${dh_mb[@]}"); m_docker=$(median "${docker_mb[@]}")
echo
echo "| what (median of $ROUNDS) | dockhand | docker | dockhand/docker |"
echo "|---|---|---|---|"
printf '| 20 containers on a user network, up then removed | %s s | %s s | %.3f |\n' "$t_dh" "$t_docker" \
    "$(echo "$t_dh / $t_docker" | bc -l)"
printf '| 200 MB through a port published on 127.0.0.1 | %s MB/s | %s MB/s | %.2f |\n' "$m_dh" "$m_docker" \
    "$(echo "$m_dh / $m_docker" | bc -l)"
