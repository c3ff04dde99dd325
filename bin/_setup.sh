# Sourced by bin/run and bin/test: installs whatever is missing, idempotently.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python 3.11+ is needed (found: $("$PYTHON" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2; exit 1; }
command -v node >/dev/null || { echo "Node.js 20+ is needed for the web client (https://nodejs.org)." >&2; exit 1; }

# pdm in its own venv, pinned: newer pdm releases break against unearth 0.19 / hishel 2.
PDM="$ROOT/.tools/pdm/bin/pdm"
if [ ! -x "$PDM" ]; then
  say "installing pdm into .tools/pdm"
  "$PYTHON" -m venv "$ROOT/.tools/pdm"
  "$ROOT/.tools/pdm/bin/pip" install -q --disable-pip-version-check "pdm==2.26.9" "unearth<0.19" "hishel<1.2"
fi
export PDM_CHECK_UPDATE=false

python_deps() {  # python_deps prod|test: what runs, or that and the test tools
  local sum; sum="$(cat pdm.lock pyproject.toml | sha1sum | cut -c1-12)"
  # A test install serves a run too; switching between bin/run and bin/test installs nothing.
  if [ -e ".venv/.installed-$sum-test" ] || [ -e ".venv/.installed-$sum-$1" ]; then return; fi
  if [ "$1" = test ]; then say "installing Python dependencies (pdm.lock, with the test tools)"
  else say "installing Python dependencies (pdm.lock, without the test tools)"; fi
  [ -d .venv ] || "$PDM" venv create -w venv "$PYTHON" >/dev/null 2>&1 || "$PYTHON" -m venv .venv
  "$PDM" use -f .venv >/dev/null
  if [ "$1" = test ]; then
    "$PDM" install --frozen-lockfile -G test
  else
    "$PDM" install --frozen-lockfile --prod
  fi
  rm -f .venv/.installed-*; touch ".venv/.installed-$sum-$1"
}

frontend_build() {
  local lock_sum; lock_sum="$(sha1sum frontend/package-lock.json | cut -c1-12)"
  if [ ! -e "frontend/node_modules/.installed-$lock_sum" ]; then
    say "installing the web client's packages (npm ci)"
    npm ci --prefix frontend --no-audit --no-fund
    touch "frontend/node_modules/.installed-$lock_sum"
  fi
  local src_sum; src_sum="$(find frontend -path frontend/node_modules -prune -o -path frontend/dist -prune -o -type f -print0 | sort -z | xargs -0 cat | sha1sum | cut -c1-12)"
  if [ ! -e "frontend/dist/.built-$src_sum" ]; then
    say "building the web client (vite build)"
    npm run --prefix frontend build
    touch "frontend/dist/.built-$src_sum"
  fi
}

debian_package() {  # debian_package <command> <package> <what for>: install it when missing
  # As root on Debian only; a package that cannot be installed leaves its tests to say they
  # are skipped (set -e must not end the run here).
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's $2 for $3"
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq || true; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || say "could not install $2"
  fi
  return 0
}

export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
VENV_BIN="$ROOT/.venv/bin"
