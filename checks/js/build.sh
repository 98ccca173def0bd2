#!/usr/bin/env bash
# Builds every JavaScript check, checks/js/<name>/check.js, into
# OUTDIR/<name>.wasm: a component of world `check` (wit/check.wit), made by
# componentize-js (SpiderMonkey/StarlingMonkey) as pinned in package-lock.json.
#
#   checks/js/build.sh OUTDIR
#
# Exit 2 with "missing toolchain: ..." when node or the npm packages are not
# installed (run checks/js/install.sh); exit 1 on any other failure, with the
# tool's output. Unchanged checks are copied from the cache in
# checks/js/node_modules/.cache/wasmon-js/ without rebuilding.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: checks/js/build.sh OUTDIR" >&2
    exit 1
fi

if ! command -v node >/dev/null 2>&1; then
    echo "missing toolchain: node (>= 20); run checks/js/install.sh" >&2
    exit 2
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "missing toolchain: node >= 20 (found $(node --version)); run checks/js/install.sh" >&2
    exit 2
fi

# The version package.json pins must be the one installed.
wanted=$(node -p 'require(process.argv[1]).dependencies["@bytecodealliance/componentize-js"]' "$here/package.json")
installed_json="$here/node_modules/@bytecodealliance/componentize-js/package.json"
if [ ! -f "$installed_json" ]; then
    echo "missing toolchain: @bytecodealliance/componentize-js $wanted in checks/js/node_modules; run checks/js/install.sh" >&2
    exit 2
fi
installed=$(node -p 'require(process.argv[1]).version' "$installed_json")
if [ "$installed" != "$wanted" ]; then
    echo "missing toolchain: @bytecodealliance/componentize-js $wanted (found $installed); run checks/js/install.sh" >&2
    exit 2
fi

exec node "$here/build.mjs" "$1"
