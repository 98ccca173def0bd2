#!/bin/sh
# Installs the Python check toolchain: componentize-py (which bundles CPython
# built for WASI 0.2 and the component tooling) in a virtual environment
# under <repo>/.toolchains/python. Idempotent: does nothing when the pinned
# version is already there. Needs python3 (3.10+) with the venv module; on
# Debian without it, installs python3-venv through apt (sudo when not root).
set -eu

# Pinned: the version checks/python/build.sh and the tests were verified with.
COMPONENTIZE_PY_VERSION=0.25.1

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv="$repo/.toolchains/python/venv"

if [ -x "$venv/bin/componentize-py" ] &&
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null)" = "$COMPONENTIZE_PY_VERSION" ]; then
    echo "componentize-py $COMPONENTIZE_PY_VERSION is installed in $venv"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv
fi

rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet "componentize-py==$COMPONENTIZE_PY_VERSION"
echo "installed componentize-py $COMPONENTIZE_PY_VERSION in $venv"
