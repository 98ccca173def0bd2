#!/usr/bin/env bash
# Installs the JavaScript check toolchain: Node.js (>= 20; from Debian when
# missing, which is new enough from Debian 13 on) and the npm packages pinned in checks/js/package-lock.json
# (@bytecodealliance/componentize-js and what it needs: jco, wizer, weval
# and their platform binaries) into checks/js/node_modules with `npm ci`.
# Idempotent: does nothing when the installed tree matches the lock file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
        [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]
}

if ! node_ok; then
    echo "installing nodejs and npm from Debian" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    if ! node_ok; then
        echo "checks/js/install.sh: Node.js >= 20 is needed, found $(node --version 2>/dev/null || echo none)" \
            "(Debian 12 ships 18: install Node.js 20 from NodeSource or Debian 13)" >&2
        exit 1
    fi
fi

# npm ci always deletes and rewrites node_modules; skip it when the tree
# npm recorded at the last install is the one the lock file describes.
lock="$here/package-lock.json"
stamp="$here/node_modules/.wasmon-installed"
lock_sum=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] &&
    [ -f "$here/node_modules/@bytecodealliance/componentize-js/package.json" ]; then
    echo "checks/js: node_modules matches package-lock.json" >&2
    exit 0
fi

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
echo "$lock_sum" >"$stamp"
echo "checks/js: installed $(node -p 'require("./node_modules/@bytecodealliance/componentize-js/package.json").version' ) of @bytecodealliance/componentize-js with node $(node --version)" >&2
