#!/usr/bin/env bash
# Installs whatever is missing and prepares the project; safe to run again (it skips what is done).
#   scripts/setup.sh dev   - everything `make dev` needs
#   scripts/setup.sh test  - the same plus Chromium for the browser tests
# As root on Debian/Ubuntu it installs system packages with apt-get; otherwise it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-dev}"
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31mError:\033[0m %s\n' "$*" >&2; exit 1; }

# --- system packages ------------------------------------------------------------------------
pg_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

missing=()
if [ -z "${DATABASE_URL:-}" ] && [ -z "$(pg_bindir)" ]; then missing+=(postgresql postgresql-contrib); fi
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then missing+=(redis-server); fi
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
# Debian/Ubuntu split venv and pip out of python3.
if command -v python3 >/dev/null 2>&1; then
  python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
fi
if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
# Chinese glyphs for the browser tests' screenshots.
if [ "$mode" = test ] && ! fc-list :lang=zh 2>/dev/null | grep -q .; then missing+=(fonts-noto-cjk); fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing system packages: ${missing[*]} (run as root to install them, or install them with your package manager)"
  fi
fi

# --- Python 3.12+ and the virtualenv ------------------------------------------------------------
find_python() {
  local want c
  want="$(tr -d '[:space:]' < .python-version)"
  if command -v pyenv >/dev/null 2>&1; then
    c="$(pyenv which python 2>/dev/null || true)"
    [ -n "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$c"; return; }
  fi
  for c in "python$want" python3.13 python3.12 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$c"; return
    fi
  done
}

if [ ! -x .venv/bin/python ]; then
  py="$(find_python)"
  if [ -z "$py" ] && command -v python3 >/dev/null 2>&1; then
    # Debian 12 ships Python 3.11: get a 3.12 through uv (itself from PyPI).
    say "Python 3.12+ not found; installing one with uv"
    python3 -m pip install --quiet --user uv 2>/dev/null \
      || python3 -m pip install --quiet --user --break-system-packages uv
    uv="$(python3 -m site --user-base)/bin/uv"
    "$uv" python install 3.12 && py="$("$uv" python find 3.12)"
  fi
  [ -n "$py" ] || die "Python 3.12 or newer is needed (see .python-version); install it (for example with pyenv) and run again."
  say "Creating .venv with $($py --version)"
  "$py" -m venv .venv || die "could not create the virtualenv (on Debian: apt-get install python3-venv)"
fi
deps_stamp=".venv/.crm-deps-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$deps_stamp" ]; then
  say "Installing Python packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  rm -f .venv/.crm-deps-* && touch "$deps_stamp"
fi

# --- front-end packages from the npm registry (node_modules/ is git-ignored) -------------------
npm_stamp="node_modules/.crm-stamp-$(cat package.json package-lock.json | sha256sum | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
  say "Installing front-end packages from the npm registry"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$npm_stamp"
fi

# --- local secrets (.env is git-ignored; real environment variables win over it) ---------------
if [ ! -f .env ]; then
  say "Writing .env with fresh local secrets"
  .venv/bin/python - <<'PY'
import secrets
from cryptography.fernet import Fernet
lines = [
    "# Local settings written by scripts/setup.sh; see .env.example for every setting.",
    "DEBUG=1",
    f"SECRET_KEY={secrets.token_urlsafe(50)}",
    f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}",
    f"LOCAL_DB_PASSWORD={secrets.token_urlsafe(18)}",
    f"LOCAL_REDIS_PASSWORD={secrets.token_urlsafe(18)}",
    f"DEMO_PASSWORD=demo-{secrets.token_urlsafe(9)}",
]
with open(".env", "w") as fh:
    fh.write("\n".join(lines) + "\n")
PY
  chmod 600 .env
fi

# --- translations -------------------------------------------------------------------------------
.venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0
