#!/usr/bin/env bash
# Engine benchmark: the same busybox image (imported from one rootfs tarball) run by
# dockhand's engine, by docker and by bare runc (a prepared bundle), in one run:
#   - `run --rm IMAGE true` (each on its default bridge network) and with `--network none`,
#     median of ROUNDS,
#   - `exec CTR true`, median of ROUNDS (dockhand and docker),
#   - resident memory of each container's monitor (dockhand) or shim (docker), 10 running,
#   - 100 detached starts (`run -d IMAGE sleep 600`), total time.
# Usage: scripts/bench-engine.sh [ROUNDS=10]
# Prints Markdown for docs/benchmarks.md. Everything it starts is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ROUNDS=${1:-10}
ensure_packages "${BUILD_PACKAGES[@]}" docker.io busybox-static runc bc
ensure_cargo
ensure_dockerd
cargo build --release --locked --quiet
DH=$PWD/target/release/dockhand
WORK=$(mktemp -d)
# The engine's data root where its default is and where docker keeps its own (/var/lib): on
# a file system that is filling up, where a directory sits decides how long making files in
# it takes (here /tmp is ~4x slower to create in than /var/lib).
ROOTDIR=$(mktemp -d -p /var/lib dockhand-bench.XXXXXX)
export DOCKHAND_ROOT=$ROOTDIR/root
IMAGE=dh-bench-engine:1
LABEL=dh-bench-engine
cleanup() {
    "$DH" system reset -f >/dev/null 2>&1 || true
    docker ps -a -q --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
    for c in $(runc list -q 2>/dev/null | grep '^dh-bench-' || true); do runc delete -f "$c" >/dev/null 2>&1 || true; done
    rm -rf "$WORK" "$ROOTDIR"
    stop_dockerd
}
trap cleanup EXIT

mkdir -p "$WORK/rootfs/bin"
cp /bin/busybox "$WORK/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
"$DH" import "$WORK/rootfs.tar" "$IMAGE" >/dev/null
docker import "$WORK/rootfs.tar" "$IMAGE" >/dev/null
mkdir -p "$WORK/bundle"
cp -a "$WORK/rootfs" "$WORK/bundle/rootfs"
(cd "$WORK/bundle" && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' "$WORK/bundle/config.json"
grep -q '"true"' "$WORK/bundle/config.json"

# Nanoseconds from bash itself: a `date` process per sample would add a millisecond or two.
now() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Each sample starts on a quiet machine: dockerd and containerd go on working for a while
# after a docker command returns, and on 2 cores that would be charged to whoever comes next.
settle() { sleep 0.5; }
dh_run=(); docker_run=(); runc_run=(); dh_none=(); docker_none=()
for i in $(seq "$ROUNDS"); do
    settle; t0=$(now); "$DH" run --rm "$IMAGE" true; t1=$(now); dh_run+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); docker run --rm "$IMAGE" true; t1=$(now); docker_run+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); (cd "$WORK/bundle" && runc run "dh-bench-$i" </dev/null); t1=$(now); runc_run+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); "$DH" run --rm --network none "$IMAGE" true; t1=$(now); dh_none+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); docker run --rm --network none "$IMAGE" true; t1=$(now); docker_none+=("$(ms "$t0" "$t1")")
done

"$DH" run -d --name dh-bench-exec "$IMAGE" sleep 600 >/dev/null
docker run -d --label "$LABEL" --name dh-bench-exec "$IMAGE" sleep 600 >/dev/null
dh_exec=(); docker_exec=()
for i in $(seq "$ROUNDS"); do
    settle; t0=$(now); "$DH" exec dh-bench-exec true; t1=$(now); dh_exec+=("$(ms "$t0" "$t1")")
    settle; t0=$(now); docker exec dh-bench-exec true; t1=$(now); docker_exec+=("$(ms "$t0" "$t1")")
done
# The same back to back: the kernel's grace period for the exec's cgroup move is shorter on a
# busy machine than on one waking from idle.
dh_exec_hot=(); docker_exec_hot=()
for i in $(seq "$ROUNDS"); do
    t0=$(now); "$DH" exec dh-bench-exec true; t1=$(now); dh_exec_hot+=("$(ms "$t0" "$t1")")
done
for i in $(seq "$ROUNDS"); do
    t0=$(now); docker exec dh-bench-exec true; t1=$(now); docker_exec_hot+=("$(ms "$t0" "$t1")")
done

# Memory: ten running containers each.
for i in $(seq 10); do
    "$DH" run -d "$IMAGE" sleep 600 >/dev/null
    docker run -d --label "$LABEL" "$IMAGE" sleep 600 >/dev/null
done
sleep 1
rss_of() { # average VmRSS in KiB of processes whose command line matches $1
    local total=0 n=0 pid
    for pid in $(pgrep -f "$1"); do
        total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] && echo "scale=1; $total / $n / 1024" | bc || echo 0
}
dh_rss=$(rss_of "dockhand __monitor $DOCKHAND_ROOT")
shim_rss=$(rss_of "containerd-shim")

# 100 detached starts, each batch after a quiet spell.
sleep 2
t0=$(now); for i in $(seq 100); do "$DH" run -d "$IMAGE" sleep 600 >/dev/null; done; t1=$(now)
dh_100=$(echo "scale=2; ($t1 - $t0) / 1000000000" | bc)
sleep 2
t0=$(now); for i in $(seq 100); do docker run -d --label "$LABEL" "$IMAGE" sleep 600 >/dev/null; done; t1=$(now)
docker_100=$(echo "scale=2; ($t1 - $t0) / 1000000000" | bc)

r_dh=$(median "${dh_run[@]}"); r_docker=$(median "${docker_run[@]}"); r_runc=$(median "${runc_run[@]}")
n_dh=$(median "${dh_none[@]}"); n_docker=$(median "${docker_none[@]}")
e_dh=$(median "${dh_exec[@]}"); e_docker=$(median "${docker_exec[@]}")
h_dh=$(median "${dh_exec_hot[@]}"); h_docker=$(median "${docker_exec_hot[@]}")
echo
echo "| what (median of $ROUNDS) | dockhand | docker | runc | dockhand/docker | dockhand/runc |"
echo "|---|---|---|---|---|---|"
printf '| `run --rm IMAGE true` | %s ms | %s ms | %s ms | %.3f | %.2f |\n' "$r_dh" "$r_docker" "$r_runc" \
    "$(echo "$r_dh / $r_docker" | bc -l)" "$(echo "$r_dh / $r_runc" | bc -l)"
printf '| `run --rm --network none IMAGE true` | %s ms | %s ms | %s ms | %.3f | %.2f |\n' "$n_dh" "$n_docker" "$r_runc" \
    "$(echo "$n_dh / $n_docker" | bc -l)" "$(echo "$n_dh / $r_runc" | bc -l)"
printf '| `exec CTR true` | %s ms | %s ms | | %.3f | |\n' "$e_dh" "$e_docker" "$(echo "$e_dh / $e_docker" | bc -l)"
printf '| `exec CTR true`, back to back | %s ms | %s ms | | %.3f | |\n' "$h_dh" "$h_docker" "$(echo "$h_dh / $h_docker" | bc -l)"
printf '| RSS per running container (monitor / containerd-shim) | %s MiB | %s MiB | | %.2f | |\n' "$dh_rss" "$shim_rss" \
    "$(echo "$dh_rss / $shim_rss" | bc -l)"
printf '| 100 detached starts | %s s | %s s | | %.3f | |\n' "$dh_100" "$docker_100" "$(echo "$dh_100 / $docker_100" | bc -l)"
