#!/usr/bin/env bash
# Installs the toolchain of wasmon checks written in C, from Debian 12's
# main archive (apt, sudo when not root), pinned to the versions the checks,
# the SDK and the tests were verified with:
#
#   clang-19, lld-19              C compiler and wasm-ld for wasm32-wasi
#   libclang-rt-19-dev-wasm32     compiler-rt builtins for wasm32
#   wasi-libc                     the C library for WASI preview1 (2022 snapshot)
#
# and builds the small Rust helper `wasmon-wasm-c` (tools/wasm-c/ in the root
# workspace: C bindings of the WIT world, and preview1 module -> component
# with the wasmtime 48 adapter), so that the first build.sh is not a cold
# cargo build. Idempotent: apt runs only when a pinned package is missing or
# at another version; cargo only rebuilds what changed.
#
# Debian 12's default clang is 14; clang-19 is in the same archive
# (bookworm main, 1:19.1.7-3~deb12u1), and is what build.sh calls.
# Set WASMON_C_SKIP_TOOL=1 to install the packages only.
set -euo pipefail

LLVM_VERSION="1:19.1.7-3~deb12u1"
WASI_LIBC_VERSION="0.0~git20220510.9886d3d-2"
PACKAGES=(
    "clang-19=$LLVM_VERSION"
    "lld-19=$LLVM_VERSION"
    "libclang-rt-19-dev-wasm32=$LLVM_VERSION"
    "wasi-libc=$WASI_LIBC_VERSION"
)

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

needed=()
for spec in "${PACKAGES[@]}"; do
    name=${spec%%=*}
    want=${spec#*=}
    have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
    if [ "$have" != "install ok installed $want" ]; then
        needed+=("$spec")
    fi
done

if [ ${#needed[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${needed[@]}" >/dev/null
    echo "installed: ${needed[*]}"
else
    echo "clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc are installed at the pinned versions"
fi

if [ "${WASMON_C_SKIP_TOOL:-}" != 1 ]; then
    cargo build -q --manifest-path "$repo/Cargo.toml" -p wasmon-wasm-c
    echo "built wasmon-wasm-c (tools/wasm-c)"
fi
