#!/usr/bin/env bash
# Builds every C check of checks/c/ into OUTDIR:
#
#   OUTDIR/<check>.wasm                   a component of world `check` (one per
#                                         folder checks/c/<check>/ with .c files)
#   OUTDIR/plugins/<plugin>.wasm          a classic Nagios plugin
#                                         (checks/c/plugins/<plugin>.c) as a
#                                         WASI preview1 command module
#   OUTDIR/plugins/<plugin>.component.wasm  the same plugin as a wasi:cli/run
#                                         component (preview1 command adapter)
#
# How: clang-19 compiles for wasm32-wasi (preview1, Debian's wasi-libc);
# `wasmon-wasm-c bindgen-c` generates the C bindings of sdk/c/wit/world.wit
# (wit-bindgen 0.57's C generator), and `wasmon-wasm-c component-new` wraps
# the core module into a component with wasmtime 48's preview1 adapter
# (reactor for checks, command for plugins). Intermediate files go to
# OUTDIR/.c-build/; nothing is written into the source tree. Only what
# changed is rebuilt.
#
# Exit status: 0 built; 2 the toolchain is missing (run checks/c/install.sh);
# 1 anything else, with the failing tool's output.
#
# Environment: WASMON_WASM_C=path of a built wasmon-wasm-c, to skip cargo
# (needed when cargo already holds the lock of the target dir, e.g. when a
# build script of the root workspace calls this with the same
# CARGO_TARGET_DIR). CARGO_TARGET_DIR is honoured.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
sdk="$repo/sdk/c"

if [ $# -ne 1 ]; then
    echo "usage: checks/c/build.sh OUTDIR" >&2
    exit 1
fi

CC=clang-19
missing=()
command -v "$CC" >/dev/null 2>&1 || missing+=(clang-19)
[ -x /usr/lib/llvm-19/bin/wasm-ld ] || missing+=(lld-19)
[ -f /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a ] ||
    missing+=(libclang-rt-19-dev-wasm32)
[ -f /usr/lib/wasm32-wasi/crt1-reactor.o ] || missing+=(wasi-libc)
if [ -z "${WASMON_WASM_C:-}" ]; then
    command -v cargo >/dev/null 2>&1 || missing+=(cargo)
elif [ ! -x "$WASMON_WASM_C" ]; then
    missing+=("wasmon-wasm-c at $WASMON_WASM_C")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing toolchain: ${missing[*]}; run checks/c/install.sh" >&2
    exit 2
fi

# From here on any failure is exit status 1 (the tool printed why).
set -E
trap 'exit 1' ERR

mkdir -p "$1"
out=$(cd "$1" && pwd)
work="$out/.c-build"
mkdir -p "$work/bindings" "$work/obj" "$out/plugins"

wasm_c() {
    if [ -n "${WASMON_WASM_C:-}" ]; then
        "$WASMON_WASM_C" "$@"
    else
        cargo run -q --manifest-path "$repo/Cargo.toml" -p wasmon-wasm-c -- "$@"
    fi
}

# Whether $1 is missing or older than any of the other files.
stale() {
    local target=$1
    shift
    [ -e "$target" ] || return 0
    local f
    for f in "$@"; do
        [ "$f" -nt "$target" ] && return 0
    done
    return 1
}

# -mexec-model and the stack are set at link time: a 64 KiB stack, stated
# explicitly, keeps the per-run instance small (128 KiB of linear memory for
# redis), and placed first an overflow traps instead of corrupting data.
# --strip-debug drops wasi-libc's DWARF (60% of the module) but keeps the
# `name` section for the host's backtraces.
CFLAGS=(--target=wasm32-wasi -O2 -std=c11 -Wall -Wextra -I "$sdk" -I "$work/bindings")
LDFLAGS=(--target=wasm32-wasi -O2 -Wl,-z,stack-size=65536 -Wl,--stack-first -Wl,--strip-debug -lm)

# compile SOURCE OBJECT [extra flags]: compiles when the source or a header changed.
compile() {
    local src=$1 obj=$2
    shift 2
    if stale "$obj" "$src" "$sdk/wasmon_check.h" "$work/bindings/check.h"; then
        "$CC" "${CFLAGS[@]}" "$@" -c "$src" -o "$obj"
    fi
}

# A component is remade when the helper that makes it changes.
tool_src=("$repo/tools/wasm-c/src/main.rs" "$repo/tools/wasm-c/Cargo.toml")

# The bindings of the SDK's world; files are rewritten only when they change.
wasm_c bindgen-c --dep "$repo/wit/check.wit" --wit "$sdk/wit" --world check --out "$work/bindings"

compile "$work/bindings/check.c" "$work/obj/check.o" -Wno-unused-parameter
compile "$sdk/wasmon_check.c" "$work/obj/wasmon_check.o"
compile "$sdk/wasmon_check_wasi.c" "$work/obj/wasmon_check_wasi.o"
sdk_objs=("$work/obj/check.o" "$work/bindings/check_component_type.o"
    "$work/obj/wasmon_check.o" "$work/obj/wasmon_check_wasi.o")

built=()
for dir in "$here"/*/; do
    name=$(basename "$dir")
    [ "$name" = plugins ] && continue
    sources=("$dir"*.c)
    [ -e "${sources[0]}" ] || continue
    objs=()
    for src in "${sources[@]}"; do
        obj="$work/obj/$name-$(basename "$src" .c).o"
        compile "$src" "$obj"
        objs+=("$obj")
    done
    core="$work/$name.core.wasm"
    if stale "$core" "${objs[@]}" "${sdk_objs[@]}"; then
        "$CC" "${LDFLAGS[@]}" -mexec-model=reactor "${objs[@]}" "${sdk_objs[@]}" -o "$core"
    fi
    if stale "$out/$name.wasm" "$core" "${tool_src[@]}"; then
        wasm_c component-new "$core" -o "$out/$name.wasm" --adapter reactor
    fi
    built+=("$name.wasm")
done

# Classic plugins: main() and argv, no SDK glue and no WIT world; they may
# use the portable part of the SDK (ranges, perfdata).
for src in "$here"/plugins/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    obj="$work/obj/plugin-$name.o"
    compile "$src" "$obj"
    module="$out/plugins/$name.wasm"
    if stale "$module" "$obj" "$work/obj/wasmon_check.o"; then
        "$CC" "${LDFLAGS[@]}" -mexec-model=command "$obj" "$work/obj/wasmon_check.o" -o "$module"
    fi
    if stale "$out/plugins/$name.component.wasm" "$module" "${tool_src[@]}"; then
        wasm_c component-new "$module" -o "$out/plugins/$name.component.wasm" --adapter command
    fi
    built+=("plugins/$name.wasm" "plugins/$name.component.wasm")
done

echo "built in $out: ${built[*]}"
