#!/usr/bin/env bash
# Sets up what is missing for `npm start` and `npm test`, then returns:
#  - Debian packages (Jupyter server, nbclient, kernel test suite, chromium,
#    the wheel's build tools) with apt-get when root; otherwise says what to install;
#  - npm packages from package-lock.json (npm ci) when node_modules is stale;
#  - the build (tsc -b is incremental; the worker bundle takes milliseconds);
#  - JupyterLab (lab/) and the oldest supported JupyterLab (lab/oldest/), and
#    the prebuilt extension both load.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-jupyter-server python3-jupyterlab-server python3-jupyter-client bubblewrap
  python3-nbclient python3-jupyter-kernel-test python3-ipykernel jupyter-nbconvert chromium redis-server
  python3-build python3-hatchling python3-pip)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# npm ci when node_modules is missing or older than the lock file.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "setup: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building (tsc -b, the worker bundle)"
npm run -s build

# JupyterLab (lab/): the app bundle when missing or older than its sources,
# the prebuilt extension when older than the compiled extension or its styles.
newer_than() { [ -n "$(find "${@:2}" -newer "$1" -print -quit 2>/dev/null)" ]; }
app=lab/build/static/main.js
if [ ! -f "$app" ] || newer_than "$app" lab/src lab/rspack.config.mjs lab/package.json; then
  echo "setup: building JupyterLab (lab/build)"
  node lab/build.mjs
fi
ext=lab/labextensions/jupyterlab-serverless/package.json
if [ ! -f "$ext" ] || newer_than "$ext" extension/lib style extension/schema extension/package.json \
  extension/compat.json lab/oldest/package.json; then
  echo "setup: building the prebuilt extension"
  node lab/build-extension.mjs --no-tsc
fi

# The oldest JupyterLab the extension supports (lab/oldest/: its own package.json and
# lock file; the browser test runs against it too): installed when its node_modules is
# missing or older than its lock file, built when missing or older than its sources.
oldest_stamp=lab/oldest/node_modules/.package-lock.json
if [ ! -f "$oldest_stamp" ] || [ lab/oldest/package-lock.json -nt "$oldest_stamp" ]; then
  echo "setup: installing the oldest supported JupyterLab (lab/oldest) from its package-lock.json"
  npm ci --prefix lab/oldest --no-audit --no-fund --loglevel=error
fi
oldest_app=lab/oldest/build/static/main.js
if [ ! -f "$oldest_app" ] || newer_than "$oldest_app" lab/src lab/rspack.config.mjs "$oldest_stamp"; then
  echo "setup: building the oldest supported JupyterLab (lab/oldest/build)"
  node lab/build.mjs --oldest
fi
