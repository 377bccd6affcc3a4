#!/usr/bin/env bash
# `make dev`: set up, start PostgreSQL and Redis, migrate, load demo data, then run the web
# server, a Celery worker, beat and a local mail catcher in the foreground. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
source scripts/services.sh
trap services_stop EXIT
services_start

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py demo_data

port="${CRM_PORT:-8000}"
password="$(sed -n 's/^DEMO_PASSWORD=//p' .env | tail -n 1)"
cat <<MSG

  CRM is starting on http://127.0.0.1:$port/
  Demo logins (password for each: $password):
    admin@example.com     Admin
    manager@example.com   Manager
    sales@example.com     Sales
    marketing@example.com Marketing
    support@example.com   Support (also support2@ and support3@example.com)
    analyst@example.com   Analyst
  Public pages (no login): http://127.0.0.1:$port/forms/contact-us/ (web-to-lead form)
                           http://127.0.0.1:$port/support/ (service request form)
  E-mails the app sends are printed here by the "mail" process.
  Press Ctrl-C to stop everything.

MSG
export CRM_PORT="$port"
.venv/bin/honcho -f Procfile.dev start || [ $? -eq 130 ]  # 130: stopped with Ctrl-C
