#!/usr/bin/env bash
# `make test`: the set-up of `make dev` without demo data, then the whole suite against real
# PostgreSQL and Redis (a real Celery worker in the integration tests), then the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
source scripts/services.sh
trap services_stop EXIT
export DJANGO_SETTINGS_MODULE=crm.settings_test
services_start

echo "==> Checks"
.venv/bin/ruff check .
.venv/bin/python manage.py check --fail-level WARNING
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
  || { echo "A model change has no migration: run manage.py makemigrations" >&2; exit 1; }

echo "==> Test suite"
.venv/bin/pytest -m "not e2e" "$@"
echo "==> Browser tests (headless Chromium)"
.venv/bin/pytest -m e2e "$@"
