#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite as CI does:
# cargo fmt --check, cargo clippy -D warnings, every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# tmux drives the real binary in the end-to-end tests; busybox-static builds test images;
# the Docker backend is tested against a real dockerd, and over TLS against a second one in
# a network namespace of its own (openssl makes its certificates, iproute2 the namespace).
# util-linux's unshare gives the pure cgroup v2 test a mount namespace of its own; procps
# has the kill the tests send signals with; attr's getfattr reads the unpacker's xattrs;
# libc6-dev lets gcc link the seccomp test's static helper.
if [ "$(id -u)" -ne 0 ]; then
    echo "the tests need root (namespaces, cgroups, overlay, bridges): run this as root" >&2
    exit 1
fi
ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" busybox-static tmux docker.io docker-registry skopeo apache2-utils libc6-dev \
    openssl iproute2 util-linux procps attr
ensure_cargo
for tool in rustfmt clippy; do
    if ! cargo "${tool/rustfmt/fmt}" --version >/dev/null 2>&1; then
        echo "cargo ${tool/rustfmt/fmt} is missing: install it with \`rustup component add $tool\`, then run this again" >&2
        exit 1
    fi
done
ensure_dockerd
# A daemon started here is stopped again, whatever the outcome.
trap stop_dockerd EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
cargo test --locked --all-targets
