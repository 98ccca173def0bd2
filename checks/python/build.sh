#!/bin/sh
# Builds every Python check in checks/python/<name>/ (a folder with app.py)
# into OUTDIR/<name>.wasm with componentize-py: a component of world `check`
# of wit/check.wit, or of the world in <name>/wit/world.wit, which includes
# it and adds WASI imports (such as wasi:http).
#
# Usage: checks/python/build.sh OUTDIR
#
# A check is rebuilt only when its sources, the SDK (sdk/python/wasmon_check),
# the WIT or the componentize-py version changed; the inputs' digest is kept
# in OUTDIR/.<name>.inputs. Nothing is written into the source tree: sources
# are staged in a temporary folder (without test_*.py) and bytecode writing is
# off.
#
# Exit codes: 0 built (or up to date); 2 the toolchain is missing (one line on
# stderr says so); 1 any other failure, with componentize-py's output.
set -eu

# The version checks/python/install.sh installs.
COMPONENTIZE_PY_VERSION=0.25.1

if [ "$#" -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv="$repo/.toolchains/python/venv"
tool="$venv/bin/componentize-py"

installed=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null || true)
if [ ! -x "$tool" ] || [ "$installed" != "$COMPONENTIZE_PY_VERSION" ]; then
    echo "missing toolchain: componentize-py $COMPONENTIZE_PY_VERSION in .toolchains/python; run checks/python/install.sh" >&2
    exit 2
fi

mkdir -p "$1"
out=$(cd "$1" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/wasmon-python-build.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM

# The digest of a list of files (their names and contents) and the tool version.
digest() {
    {
        echo "componentize-py $COMPONENTIZE_PY_VERSION"
        for f in "$@"; do
            echo "$f"
            cat "$f"
        done
    } | $sha256 | cut -d' ' -f1
}
if command -v sha256sum >/dev/null 2>&1; then sha256=sha256sum; else sha256="shasum -a 256"; fi

sources() {
    find "$@" -type f \( -name '*.py' -o -name '*.wit' \) ! -name 'test_*.py' ! -path '*/__pycache__/*' | LC_ALL=C sort
}

built=0
for dir in "$here"/*/; do
    dir=${dir%/}
    [ -f "$dir/app.py" ] || continue
    name=$(basename "$dir")
    wasm="$out/$name.wasm"
    stamp="$out/.$name.inputs"

    wit_args="-d $repo/wit"
    world=check
    if [ -f "$dir/wit/world.wit" ]; then
        package=$(sed -n 's/^package \([^;]*\);.*/\1/p' "$dir/wit/world.wit" | head -n 1)
        world_name=$(sed -n 's/^world \([a-z0-9-]*\).*/\1/p' "$dir/wit/world.wit" | head -n 1)
        if [ -z "$package" ] || [ -z "$world_name" ]; then
            echo "$dir/wit/world.wit: expected a 'package ...;' line and a 'world ...' line" >&2
            exit 1
        fi
        # wasmon:http-json@0.1.0 and world http-json: wasmon:http-json/http-json@0.1.0
        world="${package%@*}/$world_name@${package#*@}"
        wit_args="$wit_args -d $dir/wit"
    fi

    # shellcheck disable=SC2046 # file names in this repository have no blanks
    inputs=$(digest $(sources "$repo/sdk/python/wasmon_check" "$repo/wit" "$dir"))
    if [ -f "$wasm" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
        continue
    fi

    rm -rf "$stage/py"
    mkdir -p "$stage/py/wasmon_check"
    cp "$repo"/sdk/python/wasmon_check/*.py "$stage/py/wasmon_check/"
    for f in "$dir"/*.py; do
        case $(basename "$f") in test_*) ;; *) cp "$f" "$stage/py/" ;; esac
    done

    log="$stage/$name.log"
    # shellcheck disable=SC2086 # wit_args holds separate words
    if ! (cd "$stage" && PYTHONDONTWRITEBYTECODE=1 "$tool" $wit_args -w "$world" --full-names \
        componentize -p "$stage/py" -o "$wasm.tmp" app) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$wasm.tmp"
        echo "building $name failed" >&2
        exit 1
    fi
    mv "$wasm.tmp" "$wasm"
    echo "$inputs" >"$stamp"
    built=$((built + 1))
    echo "built $wasm"
done
[ "$built" -gt 0 ] || echo "python checks in $out are up to date"
