# Shared helpers for the scripts in this folder. Source it; it changes nothing by itself.

# Installs the Debian packages given that are not installed yet (apt-get update first).
ensure_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
        sudo="sudo"
    fi
    echo "installing: ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Fails with a hint when the Rust toolchain is missing.
ensure_cargo() {
    if ! command -v cargo >/dev/null; then
        echo "cargo is not installed: install Rust 1.85 or newer (https://rustup.rs), then run this again" >&2
        return 1
    fi
}

# Packages needed to build dockhand.
BUILD_PACKAGES=(gcc pkg-config libseccomp-dev)

# Packages the engine runs with: iptables sets the rules of its bridge networks.
RUNTIME_PACKAGES=(iptables)

# Starts dockerd in the background unless a daemon already answers on /var/run/docker.sock.
# Sets DOCKERD_STARTED to its pid when this call started it (stop_dockerd stops it again).
DOCKERD_STARTED=""
ensure_dockerd() {
    local docker=/usr/bin/docker
    [ -x "$docker" ] || docker=docker
    if "$docker" version >/dev/null 2>&1; then
        return 0
    fi
    echo "starting dockerd (log: /tmp/dockhand-test-dockerd.log)"
    nohup dockerd >/tmp/dockhand-test-dockerd.log 2>&1 &
    DOCKERD_STARTED=$!
    local i
    for i in $(seq 1 60); do
        if "$docker" version >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    echo "dockerd did not start within 60 s; see /tmp/dockhand-test-dockerd.log" >&2
    tail -20 /tmp/dockhand-test-dockerd.log >&2 || true
    return 1
}

# Stops the dockerd that ensure_dockerd started, if it did.
stop_dockerd() {
    [ -n "$DOCKERD_STARTED" ] || return 0
    kill "$DOCKERD_STARTED" 2>/dev/null || true
    local i
    for i in $(seq 1 30); do
        kill -0 "$DOCKERD_STARTED" 2>/dev/null || return 0
        sleep 1
    done
}
